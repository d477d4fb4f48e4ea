//! Idle keys leave Redis: every key carries an expiry at the time its state becomes fresh
//! (plus the grace), set with a spare (a token bucket's refill time or a log's window, at most
//! 10 s) and a grace of margin, and moved only when that runs out, so an idle key lives at most
//! need + spare + two graces, and after a short wait the database is empty again but for the epoch key.

use crate::server::{Server, connect, runtime};
use spillway_core::limit::{Algorithm, Charge, Demand, LayerSpec, LimitSpec, Scope, Subject, Unit};
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
                l.refund(&key, t, Charge { at: t, cost: 2 }, 1)
                    .await
                    .unwrap();
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

/// The spare is capped (10 s, `SPARE_MS` in hot.lua): a 1-day log or a bucket refilling in a
/// day does not keep an idle key a whole extra day. The expiry Redis reports covers the state's
/// need (so it is not lost early) and exceeds it by at most the grace, the cap, and the grace
/// of margin kept for lagging callers (before the cap: a whole day more).
#[test]
fn a_long_window_keeps_its_key_no_more_than_the_capped_spare() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    const DAY_MS: i64 = 86_400_000;
    const GRACE_MS: i64 = 50;
    const CAP_MS: i64 = 10_000;
    let rt = runtime();
    rt.block_on(async {
        let mut config = server.config();
        config.expiry_grace = Duration::from_millis(GRACE_MS as u64);
        let store = connect(config).await;
        let t = Time::from_secs(10);
        // Need from t: the log's one entry for a window (1 day); the bucket's TAT, 2 of 5
        // per day (ms rounded up: + 1).
        for (algorithm, need) in [
            (Algorithm::SlidingLog, DAY_MS),
            (Algorithm::TokenBucket, 2 * DAY_MS / 5 + 1),
        ] {
            let spec = LimitSpec {
                algorithm,
                limit: 5,
                window: Duration::from_secs(86_400),
                burst: None,
            };
            let l = RedisLimiter::new(&store, &format!("day{algorithm:?}"), spec).unwrap();
            assert!(l.acquire("k", t, 2).await.unwrap().decision.is_allowed());
            let key = format!("spillway:day{algorithm:?}:{{k}}");
            let pttl: i64 = redis::cmd("PTTL")
                .arg(&key)
                .query(&mut server.admin())
                .unwrap();
            assert!(
                pttl > need - 1_000 && pttl <= need + 2 * GRACE_MS + CAP_MS,
                "{key} expires in {pttl} ms, need {need} + 2 × grace {GRACE_MS} + cap {CAP_MS}"
            );
        }
    });
}
