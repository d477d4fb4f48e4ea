//! Backoff: every delay within its strategy's bounds, computed here independently (u128, no
//! shared helper), Retry-After honoured up to the policy's bound, attempts counted exactly.

use proptest::prelude::*;
use spillway_core::Duration;
use spillway_core::upstream::{
    Backoff, BackoffConfig, BackoffStrategy, DEFAULT_MAX_RETRY_AFTER, GiveUpReason, RetryAfterUse,
    RetryDecision,
};

use crate::{CASES, config, rng};

/// `min(cap, base·2^n)` in u128, the reference envelope.
fn envelope(base: u64, cap: u64, n: u32) -> u64 {
    let grown = if n >= 64 {
        u128::MAX
    } else {
        u128::from(base) << n
    };
    grown.min(u128::from(cap)) as u64
}

/// The reference interval of retry `n` for each strategy.
fn reference_bounds(s: BackoffStrategy, base: u64, cap: u64, n: u32, prev: u64) -> (u64, u64) {
    let e = envelope(base, cap, n);
    match s {
        BackoffStrategy::None => (0, 0),
        BackoffStrategy::Constant => (base, base),
        BackoffStrategy::Exponential => (e, e),
        BackoffStrategy::FullJitter => (0, e),
        BackoffStrategy::EqualJitter => (e / 2, e),
        BackoffStrategy::DecorrelatedJitter => {
            let hi = (u128::from(prev) * 3).min(u128::from(cap)) as u64;
            (base, hi.max(base))
        }
        BackoffStrategy::SdkJitter => (e - e / 4, e),
        _ => unreachable!("every strategy is listed"),
    }
}

fn strategy() -> impl Strategy<Value = BackoffStrategy> {
    prop::sample::select(BackoffStrategy::ALL.to_vec())
}

/// Base and cap (cap ≥ base) across small and huge values, so the envelope saturates.
fn base_cap() -> impl Strategy<Value = (u64, u64)> {
    prop_oneof![
        (0u64..1_000_000_000, 0u64..100_000_000_000),
        (0u64..u64::MAX / 2, 0u64..u64::MAX / 2),
    ]
    .prop_map(|(a, b)| (a, a.saturating_add(b)))
}

proptest! {
    #![proptest_config(config("backoff", CASES))]

    #[test]
    fn every_delay_lies_within_its_strategys_bounds_and_honours_retry_after(
        s in strategy(),
        (base, cap) in base_cap(),
        attempts in 1u32..80,
        seed: u64,
        hints in prop::collection::vec(prop::option::of(0u64..60_000_000_000), 80),
    ) {
        let config = BackoffConfig::new(s, Duration::from_nanos(base), Duration::from_nanos(cap), attempts)
            .expect("cap >= base, attempts >= 1");
        // Two identical streams: the hint never changes what is drawn, so `plain` shows the
        // backoff draw that `hinted` combined with the hint.
        let (mut plain, mut hinted) = (Backoff::new(config), Backoff::new(config));
        let (mut rng_plain, mut rng_hinted) = (rng(seed), rng(seed));
        let mut prev = base;
        for (n, hint) in hints.iter().enumerate() {
            let n = n as u32;
            let a = plain.on_failure(None, &mut rng_plain);
            let b = hinted.on_failure(hint.map(Duration::from_nanos), &mut rng_hinted);
            let (RetryDecision::RetryAfter(draw), RetryDecision::RetryAfter(delay)) = (a, b) else {
                let exhausted = RetryDecision::GiveUp(GiveUpReason::AttemptsExhausted);
                prop_assert_eq!(a, exhausted);
                prop_assert_eq!(b, exhausted);
                prop_assert_eq!(n + 1, attempts, "gives up after exactly max_attempts - 1 retries");
                break;
            };
            prop_assert!(n + 1 < attempts, "retried beyond max_attempts");
            let (draw, delay) = (draw.as_nanos(), delay.as_nanos());
            let (lo, hi) = reference_bounds(s, base, cap, n, prev);
            prop_assert!((lo..=hi).contains(&draw), "{s:?} retry {n}: {draw} not in [{lo}, {hi}]");
            let hint = hint.unwrap_or(0);
            prop_assert_eq!(delay, draw.max(hint), "delay = max(backoff, Retry-After)");
            prev = draw;
        }
    }

    #[test]
    fn pure_draws_match_the_reference_interval(
        s in strategy(),
        (base, cap) in base_cap(),
        n in 0u32..100,
        prev in any::<u64>(),
        seed: u64,
    ) {
        let config = BackoffConfig::new(s, Duration::from_nanos(base), Duration::from_nanos(cap), 5)
            .expect("valid");
        let prev = prev.max(base);
        let d = config.delay(n, Duration::from_nanos(prev), &mut rng(seed)).as_nanos();
        let (lo, hi) = reference_bounds(s, base, cap, n, prev);
        prop_assert!((lo..=hi).contains(&d), "{s:?} n={n} prev={prev}: {d} not in [{lo}, {hi}]");
        let (blo, bhi) = config.bounds(n, Duration::from_nanos(prev));
        prop_assert_eq!((blo.as_nanos(), bhi.as_nanos()), (lo, hi));
    }

    #[test]
    fn each_use_of_retry_after_combines_it_with_the_draw_as_documented(
        (base, cap) in base_cap(),
        draw in any::<u64>(),
        hint in prop::option::of(any::<u64>()),
        up_to in any::<u64>(),
    ) {
        let config = BackoffConfig::new(BackoffStrategy::FullJitter, Duration::from_nanos(base), Duration::from_nanos(cap), 5)
            .expect("valid");
        let (d, h) = (Duration::from_nanos(draw), hint.map(Duration::from_nanos));
        // No hint is obeyed beyond the policy's bound (a longer one gives the request up).
        let bound = DEFAULT_MAX_RETRY_AFTER.as_nanos();
        let at_least = config.wait(d, h).as_nanos();
        prop_assert_eq!(at_least, draw.max(hint.unwrap_or(0).min(bound)));
        let ignore = config.with_retry_after(RetryAfterUse::Ignore);
        prop_assert_eq!(ignore.wait(d, h).as_nanos(), draw);
        prop_assert_eq!(ignore.honoured(h), None);
        let exact = config.with_retry_after(RetryAfterUse::Exact { up_to: Duration::from_nanos(up_to) });
        let expected = match hint {
            Some(x) if x > 0 && x <= up_to => x.min(bound),
            _ => draw,
        };
        prop_assert_eq!(exact.wait(d, h).as_nanos(), expected);
    }

    #[test]
    fn cap_below_base_is_always_an_error(base in 1u64.., below in 1u64..) {
        let cap = base.saturating_sub(below);
        prop_assume!(cap < base);
        for s in BackoffStrategy::ALL {
            let r = BackoffConfig::new(s, Duration::from_nanos(base), Duration::from_nanos(cap), 5);
            prop_assert!(r.is_err());
        }
    }
}

#[test]
fn jitter_actually_varies_and_is_reproducible() {
    let config = BackoffConfig::SEED_DEFAULT;
    let draws: Vec<u64> = (0..64)
        .map(|seed| config.delay(3, config.base(), &mut rng(seed)).as_nanos())
        .collect();
    let mut distinct = draws.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert!(distinct.len() > 32, "full jitter draws vary: {distinct:?}");
    let again: Vec<u64> = (0..64)
        .map(|seed| config.delay(3, config.base(), &mut rng(seed)).as_nanos())
        .collect();
    assert_eq!(draws, again, "same seed, same delays");
}

#[test]
fn seed_2_defaults() {
    let c = BackoffConfig::default();
    assert_eq!(c.base(), Duration::from_millis(100));
    assert_eq!(c.cap(), Duration::from_secs(30));
    assert_eq!(c.max_attempts(), 5);
    assert_eq!(c.envelope(20), Duration::from_secs(30));
    assert_eq!(c.max_retry_after(), Some(DEFAULT_MAX_RETRY_AFTER));
}
