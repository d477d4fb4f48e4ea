//! Windows near the documented maximum (2^51 ns, ~26 days), where the script's instants are
//! furthest apart: the sliding counter must still tell "the next window" (the previous count
//! still weighs) from "two windows on" (everything forgotten) exactly as spillway-core does.

use crate::server::{Server, connect, runtime};
use spillway_core::limit::{Algorithm, Decision, LimitSpec, Limiter};
use spillway_core::{Duration, Time};
use spillway_redis::{MAX_WINDOW_NS, RedisLimiter};

/// Found by the large-values differential test (seed kept in differential-large.txt): a count
/// made in window 1 was forgotten in window 2 once `now` was more than 4e6 s past window 1's
/// start, though 2W is up to 2^52 ns (~4.5e6 s).
#[test]
fn the_previous_window_still_weighs_just_before_two_windows_pass() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let w = MAX_WINDOW_NS;
    let spec = LimitSpec {
        algorithm: Algorithm::SlidingCounter,
        limit: 10,
        window: Duration::from_nanos(w),
        burst: None,
    };
    let mut core = spec.build().expect("valid spec");
    let rt = runtime();
    rt.block_on(async {
        let store = connect(server.config()).await;
        let redis = RedisLimiter::new(&store, "long", spec).unwrap();
        let denied = Decision::Denied {
            retry_at: Time::from_nanos(3 * w),
        };
        let steps = [
            // Fills window 1.
            (w, Decision::Allowed),
            // 1 s before window 3: window 1's count still weighs (by 1 s / W), past the old
            // 4e6 s cut.
            (3 * w - 1_000_000_000, denied),
            // Two windows on, it is forgotten.
            (3 * w, Decision::Allowed),
        ];
        for (at, expected) in steps {
            let t = Time::from_nanos(at);
            assert_eq!(core.check(t, 10).unwrap(), expected, "core check at {at}");
            let checked = redis.check("k", t, 10).await.unwrap().decision;
            assert_eq!(checked, expected, "redis check at {at}");
            assert_eq!(
                core.acquire(t, 10).unwrap(),
                expected,
                "core acquire at {at}"
            );
            let acquired = redis.acquire("k", t, 10).await.unwrap().decision;
            assert_eq!(acquired, expected, "redis acquire at {at}");
        }
    });
}
