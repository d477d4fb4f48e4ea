//! A shared-layers settlement Redis surely did not run (its connection refused) is retried and,
//! once its horizon passes, given up and counted, under every `--redis-failure`: fail open and
//! the local fallback record its extra charge on their local share, but Redis still never got
//! it (before, only failing closed retried it; open and local counted it applied). A retry
//! records nothing more on the local share: the extra charge is there once.

use super::layer_settles::{SUBJECT, a_call_settled_to, demand, layers_on, store_now};
use super::store_outage::LIMIT;
use spillway_gateway::SharedStore;
use spillway_redis::{FailurePolicy, RedisConfig};
use spillway_testkit::redis_server::RedisProcess;
use std::time::Duration;

/// The call's estimate, and what it used: its settle charges `USED − ESTIMATE` more.
const ESTIMATE: u64 = 100;
const USED: u64 = 200;

/// One case: a call Redis admitted settles after Redis is killed, its settle retried for
/// 1.5 s. Returns the settlements given up, and the shared layers' handle (Redis still down).
async fn settled_while_refused(
    redis: &mut RedisProcess,
    policy: FailurePolicy,
) -> (Option<u64>, SharedStore) {
    let mut config = RedisConfig::new(redis.url());
    config.failure_policy = policy;
    let horizon = Duration::from_millis(1_500);
    let shared = layers_on(config, "settle-policies", horizon).await;
    let (handle, closer) = (shared.store(), shared.closer());
    let rt = a_call_settled_to(shared, ESTIMATE, USED, async || {
        redis.kill();
        // The first call after the kill finds the old connection dropped (its reply lost);
        // from then on connections are refused. One token, answered by the failure policy.
        let _ = handle.reserve(store_now(), &SUBJECT, demand(1)).await;
    })
    .await;
    assert!(closer.close(Duration::from_secs(30)).await, "closed");
    let given_up = rt.with_state(|s, _| s.engine.limiter().settles_given_up());
    rt.close();
    (given_up, handle)
}

/// Whether the local share admits `tokens` now (Redis is down).
async fn local_fits(handle: &SharedStore, tokens: u64) -> bool {
    let verdict = handle.reserve(store_now(), &SUBJECT, demand(tokens)).await;
    matches!(verdict, Ok(Ok(_)))
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
