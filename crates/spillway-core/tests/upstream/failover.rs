//! Failover: a request goes to a provider only if its breaker admits, and to an escalated one
//! only when the other cannot take it; the cache only when both breakers refuse; every route is
//! counted exactly once.

use proptest::prelude::*;
use spillway_core::upstream::{
    BreakerConfig, BreakerState, CircuitBreaker, Escalation, Failover, Outcome, Route, RouteCounts,
    Target, UpstreamHealth,
};
use spillway_core::{Duration, Time};

use crate::{CASES, config};

fn health(threshold: u32) -> UpstreamHealth {
    let breaker = BreakerConfig::new(threshold, Duration::from_secs(5), 1).expect("valid");
    UpstreamHealth::new(
        CircuitBreaker::new(breaker),
        Escalation::new(3, Duration::from_secs(20)),
    )
}

/// Whether `h` would take a request at `now` (checked before routing).
fn open_to(h: &UpstreamHealth, now: Time) -> bool {
    !h.escalation.wants_fallback(now) && h.breaker.would_admit(now)
}

proptest! {
    #![proptest_config(config("failover", CASES))]

    #[test]
    fn routes_follow_health_and_are_counted(
        with_fallback: bool,
        steps in prop::collection::vec((0u8..3, any::<bool>(), 0u64..4_000_000_000), 1..200),
    ) {
        let mut f = Failover::new(health(4), with_fallback.then(|| health(2)));
        let mut now = Time::ZERO;
        let mut expected = RouteCounts::default();
        for (outcome, cache_hit, step) in steps {
            now = now.saturating_add(Duration::from_nanos(step));
            let admits = |h: &UpstreamHealth| h.breaker.would_admit(now);
            let p_strict = open_to(f.primary(), now);
            let f_strict = f.fallback().is_some_and(|h| open_to(h, now));
            let p_loose = admits(f.primary());
            let f_loose = f.fallback().is_some_and(admits);
            let route = f.route(now, cache_hit);
            let expected_route = if p_strict || (!f_strict && p_loose) {
                expected.primary += 1;
                Some(Target::Primary)
            } else if f_strict || f_loose {
                expected.fallback += 1;
                Some(Target::Fallback)
            } else if cache_hit {
                expected.cache += 1;
                None
            } else {
                expected.unavailable += 1;
                None
            };
            match route {
                Route::Send(target) => prop_assert_eq!(Some(target), expected_route),
                Route::Cache => prop_assert!(expected_route.is_none() && cache_hit),
                Route::Unavailable { retry_at } => {
                    prop_assert!(expected_route.is_none() && !cache_hit);
                    if let Some(t) = retry_at {
                        prop_assert!(t > now);
                    }
                }
            }
            if let Route::Send(target) = route {
                let outcome = [Outcome::Success, Outcome::RateLimited, Outcome::Failed][outcome as usize];
                let _ = f.on_outcome(now, target, outcome);
            }
            prop_assert_eq!(f.counts(), expected);
            if let BreakerState::HalfOpen { admitted, .. } = f.primary().breaker.state() {
                prop_assert!(admitted <= 1);
            }
        }
    }
}
