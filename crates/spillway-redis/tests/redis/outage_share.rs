//! Review10: an outage admits at most this instance's share per key and window
//! (`RedisConfig::replicas`, lib.rs "Bounded outages"), even when reservations that Redis
//! admitted before the outage are settled during it.
//!
//! Sequence: Redis admits a reservation of `ESTIMATE`; Redis dies; the failure policy's local
//! share admits up to its share (`LIMIT`, one instance); the Redis reservation is settled
//! with nothing used. The share must not hand out more: before the fix, `settle` sent its
//! refund to the local share (Redis being away), which never charged it, and the share handed
//! out `ESTIMATE` more (`LIMIT + ESTIMATE` admitted by one instance in one instant of one
//! window). Now the refund is dropped: Redis keeps the estimate, over-charged on the safe side.

use crate::outage::store_with;
use crate::server::{Server, runtime};
use crate::settle_outage::{LIMIT, spec};
use spillway_core::Time;
use spillway_core::limit::{Algorithm, Demand, LayerSpec, LayeredDecision, Scope, Subject, Unit};
use spillway_redis::{FailurePolicy, RedisLayered, RedisLimiter, ServedBy};

const ESTIMATE: u64 = 80;
const STEP: u64 = 10;
const T: Time = Time::from_secs(100);

fn policies() -> [FailurePolicy; 2] {
    // One instance: the share is the whole limit.
    [
        FailurePolicy::FailOpen,
        FailurePolicy::LocalFallback { instances: 1 },
    ]
}

#[test]
fn a_redis_reservation_settled_during_an_outage_gives_the_local_share_no_extra_room() {
    let rt = runtime();
    let mut over = Vec::new();
    for algorithm in [Algorithm::TokenBucket, Algorithm::SlidingLog] {
        for policy in policies() {
            let Some(mut server) = Server::start(&[]) else {
                return;
            };
            let case = format!("{algorithm:?} {policy:?}");
            rt.block_on(async {
                let store = store_with(&server, policy).await;
                let limiter = RedisLimiter::new(&store, "share", spec(algorithm)).unwrap();
                let v = limiter.reserve("k", T, ESTIMATE).await.unwrap();
                assert_eq!(v.served_by, ServedBy::Redis, "{case}");
                let reservation = v.decision.expect("Redis admits the estimate");
                server.kill();
                let mut admitted = 0;
                let mut drain = async || {
                    for _ in 0..2 * LIMIT / STEP {
                        let v = limiter.acquire("k", T, STEP).await.unwrap();
                        assert_ne!(v.served_by, ServedBy::Redis, "{case}");
                        if !v.decision.is_allowed() {
                            break;
                        }
                        admitted += STEP;
                    }
                };
                drain().await;
                let settled = limiter.settle(T, reservation, 0).await.unwrap();
                assert_ne!(settled, ServedBy::Redis, "{case}");
                drain().await;
                if admitted > LIMIT {
                    over.push(format!("{case}: {admitted}"));
                }
            });
        }
    }
    assert!(
        over.is_empty(),
        "tokens the outage admitted at one instant, share {LIMIT}: {over:?}"
    );
}

#[test]
fn a_layered_redis_reservation_settled_during_an_outage_gives_the_local_share_no_extra_room() {
    let Some(mut server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    rt.block_on(async {
        let store = store_with(&server, FailurePolicy::LocalFallback { instances: 1 }).await;
        let layer = LayerSpec {
            name: "tokens".into(),
            scope: Scope::User,
            unit: Unit::Tokens,
            limit: spec(Algorithm::TokenBucket),
        };
        let layered = RedisLayered::new(&store, "share", vec![layer]).unwrap();
        let user = Subject {
            user: 7,
            ..Subject::default()
        };
        let tokens = |n| Demand {
            requests: 1,
            tokens: n,
        };
        let v = layered.reserve(T, &user, tokens(ESTIMATE)).await.unwrap();
        assert_eq!(v.served_by, ServedBy::Redis);
        let reservation = v.decision.expect("Redis admits the estimate");
        server.kill();
        let mut admitted = 0;
        let mut drain = async || {
            for _ in 0..2 * LIMIT / STEP {
                let v = layered.acquire(T, &user, tokens(STEP)).await.unwrap();
                assert_eq!(v.served_by, ServedBy::LocalFallback);
                if v.decision != LayeredDecision::Allowed {
                    break;
                }
                admitted += STEP;
            }
        };
        drain().await;
        let settled = layered.settle(T, reservation, tokens(0)).await.unwrap();
        assert_eq!(settled, ServedBy::LocalFallback);
        drain().await;
        assert!(
            admitted <= LIMIT,
            "the outage admitted {admitted} tokens at one instant, share {LIMIT}"
        );
    });
}
