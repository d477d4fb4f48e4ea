//! What each algorithm promises about admitted volume, checked over arbitrary request sequences
//! (non-decreasing times, costs up to the capacity).

use crate::{prefix_sums, requests, sum_in, times};
use proptest::prelude::*;
use spillway_core::Duration;
use spillway_core::limit::{
    Decision, FixedWindow, Gcra, Limiter, SlidingWindowCounter, SlidingWindowLog,
};

/// Feed `reqs` to `limiter` with `acquire`; the admitted (time ns, cost), in time order.
fn admitted(limiter: &mut impl Limiter, reqs: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let cap = limiter.capacity();
    times(reqs)
        .into_iter()
        .map(|(t, c)| (t, c.min(cap)))
        .filter(|&(t, c)| limiter.acquire(t, c) == Ok(Decision::Allowed))
        .map(|(t, c)| (t.as_nanos(), c))
        .collect()
}

proptest! {
    #![proptest_config(crate::config("bounds"))]

    /// A token bucket admits at most `capacity + rate·d/period` in any closed interval of
    /// length `d` (compared multiplied through by `period`, so exactly).
    #[test]
    fn token_bucket_admits_at_most_capacity_plus_refill(
        capacity in 1u64..40, rate in 1u64..40, period_ms in 1u64..3_000, reqs in requests()
    ) {
        let period = u128::from(Duration::from_millis(period_ms).as_nanos());
        let mut bucket = Gcra::new(capacity, rate, Duration::from_millis(period_ms)).expect("valid");
        let admitted = admitted(&mut bucket, &reqs);
        for (i, &(start, _)) in admitted.iter().enumerate() {
            let mut total = 0u128;
            for &(t, c) in &admitted[i..] {
                total += u128::from(c);
                let d = u128::from(t - start);
                let bound = u128::from(capacity) * period + u128::from(rate) * d;
                prop_assert!(total * period <= bound, "{total} admitted within {d} ns of {start}");
            }
        }
    }

    /// The exact sliding window never admits more than `limit` in any window `[t, t+W)`.
    #[test]
    fn sliding_log_admits_at_most_limit_per_window(
        limit in 1u64..30, window_ms in 1u64..2_000, reqs in requests()
    ) {
        let w = Duration::from_millis(window_ms).as_nanos();
        let mut log = SlidingWindowLog::new(limit, Duration::from_millis(window_ms)).expect("valid");
        let admitted = admitted(&mut log, &reqs);
        let prefix = prefix_sums(&admitted);
        // The heaviest windows start at an admitted instant.
        for &(start, _) in &admitted {
            let total = sum_in(&admitted, &prefix, start, start + w);
            prop_assert!(total <= u128::from(limit), "{total} in [{start}, +{w})");
        }
    }

    /// Sliding counter: at most `limit` per aligned window, and in any window of length `W`
    /// starting `a` into aligned window `k`, at most `limit + prev·a/W` where `prev` is what
    /// window `k` admitted (so under `2·limit`). Checked at every start where the admitted
    /// set or `k` changes.
    #[test]
    fn sliding_counter_keeps_its_documented_bound(
        limit in 1u64..30, window_ms in 1u64..2_000, reqs in requests()
    ) {
        let w = Duration::from_millis(window_ms).as_nanos();
        let mut counter =
            SlidingWindowCounter::new(limit, Duration::from_millis(window_ms)).expect("valid");
        let admitted = admitted(&mut counter, &reqs);
        let prefix = prefix_sums(&admitted);
        let (limit, wide) = (u128::from(limit), u128::from(w));
        let mut starts: Vec<u64> = Vec::new();
        for &(t, _) in &admitted {
            starts.extend([t, t + 1, (t + 1).saturating_sub(w), t / w * w, (t / w + 1) * w]);
        }
        for s in starts {
            let (k, a) = (s / w, s % w);
            let aligned = sum_in(&admitted, &prefix, k * w, (k + 1) * w);
            prop_assert!(aligned <= limit, "{aligned} in aligned window {k}");
            let total = sum_in(&admitted, &prefix, s, s + w);
            prop_assert!(
                total * wide <= limit * wide + aligned * u128::from(a),
                "{total} in [{s}, +{w}) with {aligned} in window {k}"
            );
        }
    }

    /// Fixed window: at most `limit` per aligned window, at most `2·limit` in any window.
    #[test]
    fn fixed_window_keeps_its_documented_bound(
        limit in 1u64..30, window_ms in 1u64..2_000, reqs in requests()
    ) {
        let w = Duration::from_millis(window_ms).as_nanos();
        let mut fixed = FixedWindow::new(limit, Duration::from_millis(window_ms)).expect("valid");
        let admitted = admitted(&mut fixed, &reqs);
        let prefix = prefix_sums(&admitted);
        for &(t, _) in &admitted {
            let k = t / w;
            let aligned = sum_in(&admitted, &prefix, k * w, (k + 1) * w);
            prop_assert!(aligned <= u128::from(limit), "{aligned} in aligned window {k}");
            let sliding = sum_in(&admitted, &prefix, t, t + w);
            prop_assert!(sliding <= 2 * u128::from(limit), "{sliding} in [{t}, +{w})");
        }
    }
}
