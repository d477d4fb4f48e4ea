//! Idle keys leave Redis: every write sets PX to the time the state becomes fresh (plus the
//! grace; a sliding log one window and grace more), so after a short wait the database is empty
//! again but for the epoch key.

use crate::server::{Server, connect, runtime};
use spillway_core::limit::{Algorithm, Demand, LayerSpec, LimitSpec, Scope, Subject, Unit};
use spillway_core::{Duration, Time};
use spillway_redis::{RedisLayered, RedisLimiter};

fn spec(algorithm: Algorithm) -> LimitSpec {
    LimitSpec {
        algorithm,
        limit: 5,
        window: Duration::from_millis(150),
        burst: None,
    }
}

#[test]
fn keys_vanish_once_their_state_is_fresh() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    rt.block_on(async {
        let mut config = server.config();
        config.expiry_grace = Duration::from_millis(50);
        config.dedupe_ttl = std::time::Duration::from_millis(300);
        let store = connect(config).await;
        let t = Time::from_secs(10);
        for algorithm in [
            Algorithm::TokenBucket,
            Algorithm::SlidingLog,
            Algorithm::SlidingCounter,
        ] {
            let l = RedisLimiter::new(&store, &format!("{algorithm:?}"), spec(algorithm)).unwrap();
            for user in 0..20 {
                let key = format!("user{user}");
                assert!(l.acquire(&key, t, 2).await.unwrap().decision.is_allowed());
                l.refund(&key, t, 1).await.unwrap();
            }
        }
        let layers = [Scope::Global, Scope::User].map(|scope| LayerSpec {
            name: format!("{scope:?}"),
            scope,
            unit: Unit::Requests,
            limit: spec(Algorithm::SlidingLog),
        });
        let layered = RedisLayered::new(&store, "lay", layers.to_vec()).unwrap();
        for user in 0..3 {
            let subject = Subject {
                user,
                ..Subject::default()
            };
            let _ = layered
                .acquire(
                    t,
                    &subject,
                    Demand {
                        requests: 1,
                        tokens: 0,
                    },
                )
                .await
                .unwrap();
        }
        // 20 bucket keys, 20 logs, 20 counters, 1 global log + 3 user logs.
        // Every key carries an expiry no later than its state's freshness plus the grace:
        // counters are fresh two windows after their last count (300 ms) + 50 ms grace; request
        // id records live `dedupe_ttl` (300 ms); a log is fresh one window after its newest
        // entry and keeps a window and a grace to spare (150 + 50 + 150 + 50 ms). Only the
        // epoch key (one per prefix) stays.
        let mut admin = server.admin();
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut admin).unwrap();
        assert!(!keys.is_empty());
        for key in keys.iter().filter(|k| *k != "spillway:epoch") {
            let pttl: i64 = redis::cmd("PTTL").arg(key).query(&mut admin).unwrap();
            assert!(pttl <= 400, "{key} expires in {pttl} ms (-1: never)");
        }
        // Wait (bounded) for Redis to reclaim them; DBSIZE also counts expired keys not yet
        // reclaimed, so poll instead of asserting after one fixed sleep.
        let mut left = server.dbsize();
        for _ in 0..60 {
            if left == 1 {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            left = server.dbsize();
        }
        assert_eq!(left, 1, "idle keys left behind (the epoch key stays)");
    });
}
