//! Retry budget: a retry is admitted if and only if, counting it, the window's retries stay
//! within the ratio of the window's first attempts (or the floor), checked against a reference
//! that keeps every event and recounts the window from scratch.

use proptest::prelude::*;
use spillway_core::upstream::RetryBudget;
use spillway_core::{Duration, Time};

use crate::{CASES, config};

#[derive(Copy, Clone, Debug)]
enum Op {
    Request,
    Retry,
}

fn op() -> impl Strategy<Value = (bool, u64)> {
    (any::<bool>(), 0u64..2_000_000_000)
}

proptest! {
    #![proptest_config(config("budget", CASES))]

    #[test]
    fn retries_never_exceed_the_ratio_of_requests(
        numerator in 0u64..5,
        denominator in 1u64..40,
        window_s in 1u64..30,
        slots in 1u32..12,
        min_retries in 0u64..3,
        ops in prop::collection::vec(op(), 0..400),
    ) {
        let window = Duration::from_secs(window_s);
        let mut budget = RetryBudget::new(numerator, denominator, window, slots, min_retries)
            .expect("valid");
        let slot_len = window.as_nanos() / u64::from(slots);
        let mut log: Vec<(u64, Op)> = Vec::new();
        let mut now = 0u64;
        for (is_retry, step) in ops {
            now += step;
            let t = Time::from_nanos(now);
            if !is_retry {
                budget.on_request(t);
                log.push((now, Op::Request));
                continue;
            }
            // Reference: the slots [current - slots + 1, current], recounted from the log.
            let current = now / slot_len;
            let oldest = current.saturating_sub(u64::from(slots) - 1);
            let in_window = |&&(at, _): &&(u64, Op)| (oldest..=current).contains(&(at / slot_len));
            let requests = log.iter().filter(in_window).filter(|(_, o)| matches!(o, Op::Request)).count() as u64;
            let retries = log.iter().filter(in_window).filter(|(_, o)| matches!(o, Op::Retry)).count() as u64;
            prop_assert_eq!(budget.totals(t), (requests, retries));
            let fits = retries < min_retries
                || u128::from(retries + 1) * u128::from(denominator) <= u128::from(numerator) * u128::from(requests);
            let admitted = budget.try_retry(t);
            prop_assert_eq!(admitted, fits, "requests {} retries {}", requests, retries);
            if admitted {
                log.push((now, Op::Retry));
                let (q, r) = budget.totals(t);
                prop_assert!(r <= min_retries || u128::from(r) * u128::from(denominator) <= u128::from(numerator) * u128::from(q));
            }
        }
    }
}

#[test]
fn sre_default_is_ten_percent() {
    let mut b = RetryBudget::sre_default();
    let t = Time::from_secs(3);
    for _ in 0..100 {
        b.on_request(t);
    }
    let admitted = (0..50).filter(|_| b.try_retry(t)).count();
    assert_eq!(admitted, 10);
}
