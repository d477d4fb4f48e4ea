//! A single limiter's reservation that Redis admitted settles in Redis, on the key it was
//! reserved for: the refund (actual below the estimate) and the commit (above it) both land
//! there, and another key is untouched. The reservation carries key and estimate, so a settle
//! names neither (`settle_outage.rs` has the reservations the failure policy admitted).

use crate::outage::store_with;
use crate::server::{Server, runtime};
use crate::settle_outage::{LIMIT, assert_room, spec};
use spillway_core::Time;
use spillway_core::limit::Algorithm;
use spillway_redis::{FailurePolicy, KeyReservation, RedisLimiter, ServedBy};

const ESTIMATE: u64 = 30;
const T: Time = Time::from_secs(100);

#[test]
fn a_redis_reservation_settles_in_redis_on_its_own_key() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    for algorithm in [Algorithm::SlidingLog, Algorithm::TokenBucket] {
        // A refund and a commit.
        for actual in [10, 45] {
            let case = format!("{algorithm:?} actual {actual}");
            rt.block_on(async {
                let store = store_with(&server, FailurePolicy::FailOpen).await;
                let name = format!("{algorithm:?}{actual}");
                let limiter = RedisLimiter::new(&store, &name, spec(algorithm)).unwrap();
                let v = limiter.reserve("a", T, ESTIMATE).await.unwrap();
                assert_eq!(v.served_by, ServedBy::Redis, "{case}");
                let reservation = v.decision.expect("an empty limiter admits the estimate");
                let reserved = KeyReservation {
                    key: "a".into(),
                    estimate: ESTIMATE,
                    charged_at: T,
                };
                assert_eq!(reservation.reservation(), &reserved, "{case}");
                assert_eq!(reservation.charged_by(), ServedBy::Redis, "{case}");
                let settled = limiter.settle(T, reservation, actual).await.unwrap();
                assert_eq!(settled, ServedBy::Redis, "{case}");

                let case = case.as_str();
                let fits = |key: &'static str| {
                    let limiter = &limiter;
                    move |n| async move {
                        let v = limiter.check(key, T, n).await.unwrap();
                        assert_eq!(v.served_by, ServedBy::Redis, "{case}");
                        v.decision.is_allowed()
                    }
                };
                assert_room(case, LIMIT - actual, fits("a")).await;
                // The whole limit is the most a key ever admits (capacity): all of it fits.
                assert!(fits("b")(LIMIT).await, "{case}: another key was charged");
            });
        }
    }
}
