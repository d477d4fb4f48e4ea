//! A shared-layers settlement Redis surely did not run (its connection refused) is retried and,
//! once its horizon passes, given up and counted, under every `--redis-failure`: fail open and
//! the local fallback record its extra charge on their local share, but Redis still never got
//! it (before, only failing closed retried it; open and local counted it applied). A retry
//! records nothing more on the local share: the extra charge is there once.

use super::store_outage::{LIMIT, config, meta, start, tokens_layer};
use spillway_core::engine::{Completion, Response};
use spillway_core::limit::{Demand, Subject};
use spillway_gateway::{ServeLayers, SharedLayers, Step};
use spillway_redis::{FailurePolicy, RedisConfig, RedisLayered, RedisStore};
use spillway_testkit::redis_server::RedisProcess;
use std::time::Duration;

const SUBJECT: Subject = Subject {
    user: 1,
    team: 0,
    feature: 0,
    api_key: 0,
};

/// The call's estimate, and what it used: its settle charges `USED − ESTIMATE` more.
const ESTIMATE: u64 = 100;
const USED: u64 = 200;

fn demand(tokens: u64) -> Demand {
    Demand {
        requests: 1,
        tokens,
    }
}

/// One case: a call Redis admitted settles after Redis is killed, its settle retried for
/// 1.5 s. Returns the settlements given up, and the shared layers' handle (Redis still down).
async fn settled_while_refused(
    redis: &mut RedisProcess,
    policy: FailurePolicy,
) -> (Option<u64>, spillway_gateway::SharedStore) {
    let mut redis_config = RedisConfig::new(redis.url());
    redis_config.failure_policy = policy;
    let store = RedisStore::connect(redis_config).await.expect("redis");
    let layered = RedisLayered::new(&store, "settle-policies", tokens_layer()).expect("layers");
    let shared = SharedLayers::with_settle_horizon(layered, Duration::from_millis(1_500));
    let (handle, closer) = (shared.store(), shared.closer());
    let rt = start(config(10), ServeLayers::Shared(shared));
    let verdict = handle.reserve(rt.now(), &SUBJECT, demand(ESTIMATE)).await;
    let mut call = rt
        .admit_prepaid(meta(0, ESTIMATE), Some(verdict), |_| {})
        .expect("admitted");
    assert!(matches!(call.next().await, Step::Send(_)), "sent");
    call.respond(&Response {
        accepted: true,
        status: 200,
        ..Default::default()
    });
    redis.kill();
    // The first call after the kill finds the old connection dropped (its reply lost); from
    // then on connections are refused. One token, answered by the failure policy.
    let _ = handle.reserve(rt.now(), &SUBJECT, demand(1)).await;
    call.complete(Completion {
        input_tokens: USED,
        output_tokens: 0,
        failed: false,
    });
    assert!(closer.close(Duration::from_secs(30)).await, "closed");
    let given_up = rt.with_state(|s, _| s.engine.limiter().settles_given_up());
    rt.close();
    (given_up, handle)
}

/// Whether the local share admits `tokens` now (Redis is down).
async fn local_fits(handle: &spillway_gateway::SharedStore, tokens: u64) -> bool {
    let now = spillway_core::clock::Clock::now(&spillway_core::clock::WallClock::new());
    matches!(
        handle.reserve(now, &SUBJECT, demand(tokens)).await,
        Ok(Ok(_))
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_layer_settlement_is_retried_then_counted_under_every_failure_policy() {
    let policies = [
        FailurePolicy::FailClosed {
            retry_after: spillway_core::Duration::from_secs(1),
        },
        FailurePolicy::FailOpen,
        FailurePolicy::LocalFallback { instances: 1 },
    ];
    for policy in policies {
        let Some(mut redis) = RedisProcess::start(&[], "the layers' settle queue") else {
            return;
        };
        let (given_up, handle) = settled_while_refused(&mut redis, policy).await;
        assert_eq!(given_up, Some(1), "{policy:?}: given up and counted");
        if matches!(policy, FailurePolicy::FailClosed { .. }) {
            continue;
        }
        // The local share holds the absorbing call's 1 and the extra charge once, whatever
        // the retries (each would have charged it again).
        let room = LIMIT - 1 - (USED - ESTIMATE);
        assert!(
            !local_fits(&handle, room + 1).await,
            "{policy:?}: more room"
        );
        assert!(
            local_fits(&handle, room).await,
            "{policy:?}: charged more than once"
        );
    }
}
