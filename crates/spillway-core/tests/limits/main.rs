//! Property tests of the limiters' contracts: bounds, exact retry times, check-then-commit,
//! reserve/settle, bounded keyed memory. Failure seeds are kept in proptest-regressions/.

use proptest::prelude::*;
use spillway_core::limit::{
    Algorithm, AnyLimiter, Decision, Demand, Gcra, Keyed, LayerSpec, Layered, LayeredDecision,
    LimitError, LimitSpec, Limiter, Scope, Subject, Unit,
};
use spillway_core::{Duration, Time};

const CASES: u32 = 512;

fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::TokenBucket),
        Just(Algorithm::SlidingLog),
        Just(Algorithm::SlidingCounter),
        Just(Algorithm::FixedWindow),
    ]
}

fn spec() -> impl Strategy<Value = LimitSpec> {
    (
        algorithm(),
        1u64..50,
        1u64..5_000,
        proptest::option::of(1u64..80),
    )
        .prop_map(|(algorithm, limit, window_ms, burst)| LimitSpec {
            algorithm,
            limit,
            window: Duration::from_millis(window_ms),
            burst: burst.filter(|_| algorithm == Algorithm::TokenBucket),
        })
}

/// Requests as (gap to the previous one in µs, cost).
fn requests() -> impl Strategy<Value = Vec<(u64, u64)>> {
    prop::collection::vec((0u64..400_000, 1u64..8), 1..200)
}

fn times(reqs: &[(u64, u64)]) -> Vec<(Time, u64)> {
    let mut t = 1_000_000_000u64;
    reqs.iter()
        .map(|&(gap_us, cost)| {
            t += gap_us * 1_000;
            (Time::from_nanos(t), cost)
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(CASES))]

    /// A token bucket admits at most `capacity + rate·d/period` in any interval of length d.
    #[test]
    fn token_bucket_admits_at_most_capacity_plus_refill(
        capacity in 1u64..40, rate in 1u64..40, period_ms in 1u64..3_000, reqs in requests()
    ) {
        let period = Duration::from_millis(period_ms);
        let mut bucket = Gcra::new(capacity, rate, period).expect("valid");
        let admitted: Vec<(Time, u64)> = times(&reqs)
            .into_iter()
            .filter(|&(t, c)| c <= capacity && bucket.acquire(t, c) == Ok(Decision::Allowed))
            .collect();
        for (i, &(start, _)) in admitted.iter().enumerate() {
            let mut total = 0u128;
            for &(t, c) in &admitted[i..] {
                total += u128::from(c);
                let d = u128::from(t.saturating_since(start).as_nanos());
                // total ≤ capacity + rate·d/period, multiplied through by period.
                let bound = u128::from(capacity) * u128::from(period.as_nanos()) + u128::from(rate) * d;
                prop_assert!(total * u128::from(period.as_nanos()) <= bound,
                    "{total} admitted within {d} ns from {start:?}");
            }
        }
    }

    /// A denial's retry_at is exact for every algorithm: admitted then, still denied 1 ns before.
    #[test]
    fn retry_at_is_the_exact_earliest_admission(spec in spec(), reqs in requests()) {
        let mut limiter = spec.build().expect("valid spec");
        for (t, cost) in times(&reqs) {
            let cost = cost.min(limiter.capacity());
            match limiter.acquire(t, cost) {
                Ok(Decision::Allowed) => {}
                Ok(Decision::Denied { retry_at }) => {
                    prop_assert!(retry_at > t, "retry_at {retry_at:?} not after {t:?}");
                    prop_assert_eq!(limiter.check(retry_at, cost), Ok(Decision::Allowed), "{:?}", spec);
                    let before = Time::from_nanos(retry_at.as_nanos() - 1);
                    prop_assert!(!limiter.check(before, cost).expect("fits").is_allowed(), "{:?}", spec);
                }
                Err(e) => prop_assert!(false, "cost ≤ capacity gave {e}"),
            }
        }
    }

    /// The exact sliding window never admits more than `limit` in any window [t, t+W).
    #[test]
    fn sliding_log_admits_at_most_limit_per_window(limit in 1u64..30, window_ms in 1u64..2_000, reqs in requests()) {
        let window = Duration::from_millis(window_ms);
        let mut log = spillway_core::limit::SlidingWindowLog::new(limit, window).expect("valid");
        let admitted: Vec<(Time, u64)> = times(&reqs)
            .into_iter()
            .filter(|&(t, c)| c <= limit && log.acquire(t, c) == Ok(Decision::Allowed))
            .collect();
        for (i, &(start, _)) in admitted.iter().enumerate() {
            let in_window: u64 = admitted[i..]
                .iter()
                .take_while(|(t, _)| t.saturating_since(start) < window)
                .map(|&(_, c)| c)
                .sum();
            prop_assert!(in_window <= limit);
        }
    }

    /// Fixed window: at most `limit` per aligned window (so ≤ 2·limit in any sliding one).
    #[test]
    fn fixed_window_admits_at_most_limit_per_aligned_window(limit in 1u64..30, window_ms in 1u64..2_000, reqs in requests()) {
        let window = Duration::from_millis(window_ms);
        let mut fw = spillway_core::limit::FixedWindow::new(limit, window).expect("valid");
        let mut per_window = std::collections::BTreeMap::new();
        for (t, c) in times(&reqs) {
            if c <= limit && fw.acquire(t, c) == Ok(Decision::Allowed) {
                *per_window.entry(t.as_nanos() / window.as_nanos()).or_insert(0) += c;
            }
        }
        prop_assert!(per_window.values().all(|&n| n <= limit));
    }

    /// A cost above capacity is an error for every algorithm, decided up front.
    #[test]
    fn a_cost_above_capacity_is_always_an_error(spec in spec(), extra in 1u64..1_000) {
        let mut limiter = spec.build().expect("valid");
        let cost = limiter.capacity() + extra;
        let expected = Err(LimitError::CostExceedsCapacity { cost, capacity: limiter.capacity() });
        prop_assert_eq!(limiter.acquire(Time::from_secs(1), cost), expected);
    }

    /// A denied layered request changes no layer: the same probe sequence gives the same
    /// answers with or without the denied attempt.
    #[test]
    fn a_denied_layered_request_changes_nothing(specs in prop::collection::vec(spec(), 1..4), reqs in requests(), users in 1u64..4) {
        let mut layers = layered(&specs);
        let mut shadow = layers.clone();
        for (i, (t, c)) in times(&reqs).into_iter().enumerate() {
            let who = Subject { user: i as u64 % users, feature: i as u64 % 2, api_key: 0 };
            let demand = Demand { requests: 1, tokens: c };
            let decision = layers.acquire(t, &who, demand);
            if decision.as_ref().is_ok_and(|d| *d == LayeredDecision::Allowed) {
                // Mirror only admitted requests into the shadow.
                prop_assert_eq!(shadow.acquire(t, &who, demand), Ok(LayeredDecision::Allowed));
            }
            // Every probe answers the same in both: denials left no trace.
            for u in 0..users {
                let probe = Subject { user: u, feature: 0, api_key: 0 };
                prop_assert_eq!(layers.check(t, &probe, demand), shadow.check(t, &probe, demand));
            }
        }
    }

    /// Reserve then settle with actual = estimate is a plain acquire; a smaller actual leaves
    /// exactly the state of acquiring the actual.
    #[test]
    fn reserve_then_settle_equals_acquire(specs in prop::collection::vec(spec(), 1..4), reqs in requests(), shrink in 0u64..4) {
        let mut plain = layered(&specs);
        let mut reserved = plain.clone();
        let mut refunded = plain.clone();
        for (i, (t, c)) in times(&reqs).into_iter().enumerate() {
            let who = Subject { user: i as u64 % 3, feature: 0, api_key: 0 };
            let estimate = Demand { requests: 1, tokens: c + shrink };
            let actual = Demand { requests: 1, tokens: c };
            let a = plain.acquire(t, &who, estimate);
            match reserved.reserve(t, &who, estimate) {
                Ok(Ok(r)) => { prop_assert_eq!(&a, &Ok(LayeredDecision::Allowed)); reserved.settle(t, r, estimate); }
                Ok(Err(d)) => prop_assert_eq!(&a, &Ok(LayeredDecision::Denied(d))),
                Err(e) => prop_assert_eq!(&a, &Err(e)),
            }
            // Refunded: reserve the estimate, settle the actual; compare with acquiring the
            // actual on a copy made just before.
            let mut direct = refunded.clone();
            if let Ok(Ok(r)) = refunded.reserve(t, &who, estimate) {
                refunded.settle(t, r, actual);
                let _ = direct.acquire(t, &who, actual);
                for probe_cost in [1, 5, 20] {
                    let probe = Demand { requests: 1, tokens: probe_cost };
                    prop_assert_eq!(refunded.check(t, &who, probe), direct.check(t, &who, probe));
                }
            }
        }
    }

    /// After a sweep, resident keys are at most the keys that committed within the window.
    #[test]
    fn keyed_sweep_keeps_only_recently_active_keys(window_ms in 1u64..500, reqs in prop::collection::vec((0u64..50_000, 0u64..10_000), 1..300)) {
        let window = Duration::from_millis(window_ms);
        let proto: AnyLimiter = LimitSpec { algorithm: Algorithm::SlidingLog, limit: 3, window, burst: None }.build().expect("valid");
        let mut keyed = Keyed::new(proto);
        let mut t = 0u64;
        let mut committed: Vec<(Time, u64)> = Vec::new();
        for &(gap_us, key) in &reqs {
            t += gap_us * 1_000;
            let now = Time::from_nanos(t);
            if keyed.acquire(now, &key, 1) == Ok(Decision::Allowed) {
                committed.push((now, key));
            }
        }
        let now = Time::from_nanos(t);
        keyed.sweep(now);
        let mut active: Vec<u64> = committed.iter().filter(|(at, _)| now.saturating_since(*at) < window).map(|&(_, k)| k).collect();
        active.sort_unstable();
        active.dedup();
        prop_assert!(keyed.len() <= active.len(), "{} resident, {} active", keyed.len(), active.len());
    }
}

fn layered(specs: &[LimitSpec]) -> Layered {
    let scopes = [Scope::Global, Scope::User, Scope::Feature];
    let layers = specs
        .iter()
        .enumerate()
        .map(|(i, &limit)| LayerSpec {
            name: format!("layer-{i}"),
            scope: scopes[i % scopes.len()],
            unit: if i % 2 == 0 {
                Unit::Requests
            } else {
                Unit::Tokens
            },
            limit: LimitSpec {
                limit: limit.limit.max(10),
                ..limit
            },
        })
        .collect();
    Layered::new(layers).expect("valid layers")
}

/// Differential test against governor (cost 1, integer-millisecond times): same decisions.
#[test]
fn gcra_agrees_with_governor() {
    use governor::clock::FakeRelativeClock;
    use governor::{Quota, RateLimiter};
    use std::num::NonZeroU32;
    let quota = Quota::per_second(NonZeroU32::new(10).expect("10"))
        .allow_burst(NonZeroU32::new(5).expect("5"));
    let clock = FakeRelativeClock::default();
    let theirs = RateLimiter::direct_with_clock(quota, clock.clone());
    let mut ours = Gcra::new(5, 10, Duration::from_secs(1)).expect("valid");
    let mut t_ms = 0u64;
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let gap = x % 150;
        t_ms += gap;
        clock.advance(std::time::Duration::from_millis(gap));
        let ours_ok = ours.acquire(Time::from_nanos(t_ms * 1_000_000), 1) == Ok(Decision::Allowed);
        assert_eq!(ours_ok, theirs.check().is_ok(), "at {t_ms} ms");
    }
}
