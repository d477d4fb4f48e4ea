//! Failover: a request goes to a provider only if that provider's escalation does not ask for
//! the fallback and its breaker admits; the cache is used only when both refuse; every route is
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
            let primary_ok = open_to(f.primary(), now);
            let fallback_ok = f.fallback().is_some_and(|h| open_to(h, now));
            let route = f.route(now, cache_hit);
            match route {
                Route::Send(Target::Primary) => {
                    prop_assert!(primary_ok);
                    expected.primary += 1;
                }
                Route::Send(Target::Fallback) => {
                    prop_assert!(!primary_ok && fallback_ok);
                    expected.fallback += 1;
                }
                Route::Cache => {
                    prop_assert!(!primary_ok && !fallback_ok && cache_hit);
                    expected.cache += 1;
                }
                Route::Unavailable { retry_at } => {
                    prop_assert!(!primary_ok && !fallback_ok && !cache_hit);
                    if let Some(t) = retry_at {
                        prop_assert!(t > now);
                    }
                    expected.unavailable += 1;
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
