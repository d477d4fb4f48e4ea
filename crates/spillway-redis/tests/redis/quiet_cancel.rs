//! A store that makes no further call after losing a reply still delivers the cancellation:
//! its background task sends it once Redis answers again, so a replica gone quiet after an
//! outage does not leave the lost acquire charged (taking room from every other replica)
//! until the window ends.

use crate::outage::store_with;
use crate::server::{Server, runtime};
use crate::settle_outage::{LIMIT, spec};
use spillway_core::Time;
use spillway_core::limit::Algorithm;
use spillway_redis::{FailurePolicy, RedisLimiter, RedisStore, ServedBy, StoreStats};

const T: Time = Time::from_secs(100);

/// The store's stats once `done` holds, polled without calling the store (a call would flush
/// the cancellations itself); `None` if that never happens within a generous bound.
pub(crate) async fn once(
    store: &RedisStore,
    done: impl Fn(&StoreStats) -> bool,
) -> Option<StoreStats> {
    for _ in 0..1_500 {
        let stats = store.stats();
        if done(&stats) {
            return Some(stats);
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    None
}

#[test]
fn a_quiet_store_delivers_its_cancellations_in_the_background() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    runtime().block_on(async {
        for algorithm in [Algorithm::TokenBucket, Algorithm::SlidingLog] {
            let store = store_with(&server, FailurePolicy::FailOpen).await;
            let name = format!("quiet{algorithm:?}");
            let limiter = RedisLimiter::new(&store, &name, spec(algorithm)).unwrap();
            let stall = server.stall();
            let lost = limiter.acquire("k", T, 40).await.unwrap();
            assert_eq!(lost.served_by, ServedBy::FailOpen, "{algorithm:?}");
            // The acquire runs in Redis now: charged there, its reply long given up on.
            stall.resume();

            let delivered = once(&store, |s| s.cancels_delivered > 0).await;
            let stats = delivered.unwrap_or_else(|| {
                panic!(
                    "{algorithm:?}: the cancellation was never sent: {:?}",
                    store.stats()
                )
            });
            assert_eq!(
                (stats.cancels_delivered, stats.phantom_refunds),
                (1, 1),
                "{algorithm:?}: the landed acquire was refunded"
            );
            // The whole limit is free again in Redis.
            let v = limiter.check("k", T, LIMIT).await.unwrap();
            assert_eq!(v.served_by, ServedBy::Redis, "{algorithm:?}");
            assert!(v.decision.is_allowed(), "{algorithm:?}: {v:?}");
        }
    });
}
