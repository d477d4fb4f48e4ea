//! Differential test of [`Gcra`] against governor, the reference GCRA implementation, on
//! virtual time (`FakeRelativeClock`): same decisions, and the same earliest retry instant.
//!
//! Mapping: governor's quota "one cell per `p` ns, burst `b`" is our bucket of capacity `b`
//! refilling 1 token per period `p`. Both clocks start at 0.

use governor::clock::FakeRelativeClock;
use governor::{Quota, RateLimiter};
use proptest::prelude::*;
use spillway_core::limit::{Decision, Gcra, LimitError, Limiter};
use spillway_core::{Duration, Time};
use std::num::NonZeroU32;

fn pair(burst: u32, period_ns: u64) -> (Gcra, FakeRelativeClock, Quota) {
    let quota = Quota::with_period(std::time::Duration::from_nanos(period_ns))
        .expect("non-zero period")
        .allow_burst(NonZeroU32::new(burst).expect("non-zero burst"));
    let ours = Gcra::new(u64::from(burst), 1, Duration::from_nanos(period_ns)).expect("valid");
    (ours, FakeRelativeClock::default(), quota)
}

proptest! {
    #![proptest_config(crate::config("differential"))]

    /// Cost 1, integer-millisecond times: identical allow/deny, and our retry_at equals
    /// governor's `earliest_possible()`.
    #[test]
    fn gcra_agrees_with_governor_for_single_cells(
        burst in 1u32..20, period_ns in 1u64..2_000_000_000,
        gaps_ms in prop::collection::vec(0u64..400, 1..300)
    ) {
        let (mut ours, clock, quota) = pair(burst, period_ns);
        let theirs = RateLimiter::direct_with_clock(quota, clock.clone());
        let mut t_ms = 0u64;
        for gap in gaps_ms {
            t_ms += gap;
            clock.advance(std::time::Duration::from_millis(gap));
            let now = Time::from_nanos(t_ms * 1_000_000);
            match (ours.acquire(now, 1), theirs.check()) {
                (Ok(Decision::Allowed), Ok(())) => {}
                (Ok(Decision::Denied { retry_at }), Err(not_until)) => {
                    prop_assert_eq!(retry_at.as_nanos(), not_until.earliest_possible().as_u64());
                }
                (a, b) => prop_assert!(false, "at {} ms: ours {:?}, governor {:?}", t_ms, a, b),
            }
        }
    }

    /// Batches (`check_n`, all or nothing), including ones larger than the burst: the same
    /// decisions, the same retry instant, and "can never fit" on both sides together.
    #[test]
    fn gcra_agrees_with_governor_for_batches(
        burst in 1u32..20, period_ns in 1u64..2_000_000_000,
        reqs in prop::collection::vec((0u64..400, 1u32..24), 1..300)
    ) {
        let (mut ours, clock, quota) = pair(burst, period_ns);
        let theirs = RateLimiter::direct_with_clock(quota, clock.clone());
        let mut t_ms = 0u64;
        for (gap, n) in reqs {
            t_ms += gap;
            clock.advance(std::time::Duration::from_millis(gap));
            let now = Time::from_nanos(t_ms * 1_000_000);
            let batch = NonZeroU32::new(n).expect("n ≥ 1");
            match (ours.acquire(now, u64::from(n)), theirs.check_n(batch)) {
                (Ok(Decision::Allowed), Ok(Ok(()))) => {}
                (Ok(Decision::Denied { retry_at }), Ok(Err(not_until))) => {
                    prop_assert_eq!(retry_at.as_nanos(), not_until.earliest_possible().as_u64());
                }
                (Err(LimitError::CostExceedsCapacity { .. }), Err(_)) => {}
                (a, b) => prop_assert!(false, "at {} ms, n {}: ours {:?}, governor {:?}", t_ms, n, a, b),
            }
        }
    }
}
