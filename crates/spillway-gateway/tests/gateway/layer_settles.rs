//! The shared layers' settlements: applied at shutdown before the runtime goes (a refund lost
//! with the process would keep a call's estimate charged for a whole window), and counted when
//! Redis never takes them.

use super::store_outage::{config, meta, start, tokens_layer};
use rand_chacha::ChaCha8Rng;
use spillway_core::engine::{Completion, NoSpend, Response};
use spillway_core::limit::{Demand, Subject};
use spillway_gateway::{Runtime, ServeLayers, SharedLayers, Step};
use spillway_testkit::redis_server::RedisProcess;
use std::time::Duration;

pub(crate) const SUBJECT: Subject = Subject {
    user: 1,
    team: 0,
    feature: 0,
    api_key: 0,
};

pub(crate) fn demand(tokens: u64) -> Demand {
    Demand {
        requests: 1,
        tokens,
    }
}

/// A gateway on `shared`; admits a call of 300 estimated tokens (the whole bucket), which
/// completes having used 1 after `before_settle` ran: its settle (a refund of 299) is queued,
/// not yet applied.
async fn a_settled_call(
    shared: SharedLayers,
    before_settle: impl AsyncFnOnce(),
) -> Runtime<(), ServeLayers, NoSpend, ChaCha8Rng> {
    a_call_settled_to(shared, 300, 1, before_settle).await
}

/// [`a_settled_call`] of `estimate` tokens that used `used` (shared with `settle_policies`).
pub(crate) async fn a_call_settled_to(
    shared: SharedLayers,
    estimate: u64,
    used: u64,
    before_settle: impl AsyncFnOnce(),
) -> Runtime<(), ServeLayers, NoSpend, ChaCha8Rng> {
    let handle = shared.store();
    let rt = start(config(10), ServeLayers::Shared(shared));
    let verdict = handle.reserve(rt.now(), &SUBJECT, demand(estimate)).await;
    let mut call = rt
        .admit_prepaid(meta(0, estimate), Some(verdict), |_| {})
        .expect("admitted");
    assert!(matches!(call.next().await, Step::Send(_)), "sent");
    call.respond(&Response {
        accepted: true,
        status: 200,
        ..Default::default()
    });
    before_settle().await;
    call.complete(Completion {
        input_tokens: used,
        output_tokens: 0,
        failed: false,
    });
    rt
}

async fn layers(url: &str, name: &str, horizon: Duration) -> SharedLayers {
    layers_on(spillway_redis::RedisConfig::new(url), name, horizon).await
}

/// The layers `name` on the Redis of `config`, their settlements retried for `horizon`.
pub(crate) async fn layers_on(
    config: spillway_redis::RedisConfig,
    name: &str,
    horizon: Duration,
) -> SharedLayers {
    let store = spillway_redis::RedisStore::connect(config)
        .await
        .expect("redis");
    SharedLayers::with_settle_horizon(
        spillway_redis::RedisLayered::new(&store, name, tokens_layer()).expect("layers"),
        horizon,
    )
}

#[test]
fn queued_layer_settlements_are_applied_when_closed_at_shutdown() {
    let Some(redis) = RedisProcess::start(&[], "the layers' settle queue") else {
        return;
    };
    // One thread: the settle task runs only when this test awaits, so what `close` does not
    // apply dies with the runtime.
    let serving = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    serving.block_on(async {
        let shared = layers(&redis.url(), "settles-close", Duration::from_secs(5)).await;
        let closer = shared.closer();
        a_settled_call(shared, async || {}).await.close();
        assert!(
            closer.close(Duration::from_secs(10)).await,
            "flushed in time"
        );
    });
    drop(serving);
    let probing = tokio::runtime::Runtime::new().unwrap();
    let probe = probing.block_on(async {
        let fresh = layers(&redis.url(), "settles-close", Duration::from_secs(5)).await;
        fresh
            .store()
            .reserve(store_now(), &SUBJECT, demand(250))
            .await
    });
    assert!(
        probe.is_ok(),
        "the refund of 299 tokens queued at shutdown was lost: {:?}",
        probe.err()
    );
}

/// Wall-clock now, as the runtime reads it (ns since the Unix epoch).
pub(crate) fn store_now() -> spillway_core::Time {
    spillway_core::clock::Clock::now(&spillway_core::clock::WallClock::new())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_layer_settlement_redis_never_takes_is_given_up_and_counted() {
    let Some(mut redis) = RedisProcess::start(&[], "the layers' settle queue") else {
        return;
    };
    let shared = layers(&redis.url(), "settles-give-up", Duration::from_millis(150)).await;
    let closer = shared.closer();
    // Redis goes away after the admission, before the settle.
    let rt = a_settled_call(shared, async || {
        redis.kill();
    })
    .await;
    assert!(closer.close(Duration::from_secs(30)).await, "closed");
    let given_up = rt.with_state(|s, _| s.engine.limiter().settles_given_up());
    rt.close();
    assert_eq!(given_up, Some(1));
}

/// A settle whose reply is lost may have run: sending it again could apply its difference
/// once more (a layers' settle carries no request id to dedupe it), so it is not retried.
/// Here Redis holds the settle (an extra charge of 100) while writes are paused, past the
/// response timeout, then runs it; a retry sent meanwhile would run too and charge 100 more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_layer_settlement_whose_reply_was_lost_is_not_sent_again() {
    let Some(redis) = RedisProcess::start(&[], "the layers' settle queue") else {
        return;
    };
    let shared = layers(&redis.url(), "settles-lost-reply", Duration::from_secs(5)).await;
    let closer = shared.closer();
    let port = redis.port().to_string();
    // 100 estimated, 200 used: the settle charges 100 more (300 in all is the whole bucket).
    let rt = a_call_settled_to(shared, 100, 200, async || {
        let paused = std::process::Command::new("redis-cli")
            .args(["-p", &port, "CLIENT", "PAUSE", "1500", "WRITE"])
            .output()
            .expect("redis-cli");
        assert!(paused.status.success(), "{paused:?}");
    })
    .await;
    assert!(closer.close(Duration::from_secs(30)).await, "closed");
    rt.close();
    // The pause is over: whatever was sent has run.
    tokio::time::sleep(Duration::from_millis(1800)).await;
    let fresh = layers(&redis.url(), "settles-lost-reply", Duration::from_secs(5)).await;
    let probe = fresh
        .store()
        .reserve(store_now(), &SUBJECT, demand(90))
        .await;
    assert!(
        probe.is_ok(),
        "the extra charge of 100 was applied more than once: {:?}",
        probe.err()
    );
}
