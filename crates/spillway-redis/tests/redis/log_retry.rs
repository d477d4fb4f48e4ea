//! A denied sliding log reads its live entries in growing chunks (16, 32, …) until the retry
//! instant is known: answers that lie in the first chunk, the second, or past what expired must
//! match spillway-core's exactly.

use crate::server::{Server, connect, runtime};
use spillway_core::limit::{Algorithm, LimitSpec, Limiter};
use spillway_core::{Duration, Time};
use spillway_redis::RedisLimiter;

#[test]
fn a_denial_reads_enough_chunks_for_its_retry_instant() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let spec = LimitSpec {
        algorithm: Algorithm::SlidingLog,
        limit: 40,
        window: Duration::from_secs(10),
        burst: None,
    };
    let mut core = spec.build().expect("valid spec");
    let rt = runtime();
    rt.block_on(async {
        let store = connect(server.config()).await;
        let redis = RedisLimiter::new(&store, "chunks", spec).unwrap();
        let ms = |m: u64| Time::from_nanos(1_000_000_000 + m * 1_000_000);
        // 40 entries, one per ms: a full log.
        for i in 0..40 {
            assert!(core.acquire(ms(i), 1).unwrap().is_allowed());
            assert!(
                redis
                    .acquire("k", ms(i), 1)
                    .await
                    .unwrap()
                    .decision
                    .is_allowed()
            );
        }
        // At 100 ms nothing expired; at 10_004.5 ms (in µs steps below) the first 5 did, so
        // the check reads from index 5 and the acquire from a pruned log.
        let mut denied = 0;
        for (at, cost) in [
            (100, 1),
            (100, 16),
            (100, 17),
            (100, 30),
            (100, 40),
            (10_004, 30),
        ] {
            let t = Time::from_nanos(ms(at).as_nanos() + 500_000);
            let expected = core.check(t, cost).unwrap();
            let checked = redis.check("k", t, cost).await.unwrap().decision;
            assert_eq!(checked, expected, "check of {cost} at {at} ms");
            let expected = core.acquire(t, cost).unwrap();
            let acquired = redis.acquire("k", t, cost).await.unwrap().decision;
            assert_eq!(acquired, expected, "acquire of {cost} at {at} ms");
            denied += usize::from(!expected.is_allowed());
        }
        assert_eq!(denied, 6, "every step is a denial");
    });
}
