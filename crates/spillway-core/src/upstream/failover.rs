//! [`Failover`]: which provider a request goes to, or whether a cached answer is served.
//!
//! Order of preference: the primary, unless its breaker refuses or its [`Escalation`] asks for
//! the fallback; then the fallback provider under the same two rules; then whichever provider
//! only escalation held back (a rate-limited provider still beats no answer); then, as the last
//! resort, a cached response if the caller has one (seed 2: "fallback_to_cached_responses()");
//! else the request is unavailable, with the earliest instant a breaker half-opens. Every
//! route is counted so reports show how often each was taken.

use super::breaker::{BreakerOpen, CircuitBreaker};
use super::escalation::{Escalation, EscalationEvent};
use super::outcome::Outcome;
use crate::time::Time;

/// One provider's health: its breaker and its 429 escalation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpstreamHealth {
    /// Trips on failures.
    pub breaker: CircuitBreaker,
    /// Counts 429s in a row.
    pub escalation: Escalation,
}

impl UpstreamHealth {
    /// Health from a breaker and an escalation counter.
    pub fn new(breaker: CircuitBreaker, escalation: Escalation) -> Self {
        UpstreamHealth {
            breaker,
            escalation,
        }
    }

    /// Whether a send may go (its breaker would give a permit); with `heed_escalation`, not
    /// while escalation wants the fallback.
    fn may_route(&self, now: Time, heed_escalation: bool) -> Result<(), Option<Time>> {
        if heed_escalation && self.escalation.wants_fallback(now) {
            return Err(None);
        }
        self.breaker
            .check(now)
            .map_err(|BreakerOpen { retry_at }| retry_at)
    }
}

/// Which provider a send went to.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Target {
    /// The primary provider.
    Primary,
    /// The fallback provider.
    Fallback,
}

/// Where a request goes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Route {
    /// Send to this provider (a breaker permit is already taken).
    Send(Target),
    /// Serve the cached response (the last resort).
    Cache,
    /// Nothing can serve it now; `retry_at` is when a breaker half-opens, if known.
    Unavailable {
        /// The earliest instant a provider may accept again.
        retry_at: Option<Time>,
    },
}

/// How often each route was taken.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct RouteCounts {
    /// Sent to the primary.
    pub primary: u64,
    /// Sent to the fallback provider.
    pub fallback: u64,
    /// Served from cache.
    pub cache: u64,
    /// Could not be served.
    pub unavailable: u64,
}

/// Primary / fallback / cache routing.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failover {
    primary: UpstreamHealth,
    fallback: Option<UpstreamHealth>,
    counts: RouteCounts,
}

impl Failover {
    /// Route between `primary` and an optional `fallback` provider.
    pub fn new(primary: UpstreamHealth, fallback: Option<UpstreamHealth>) -> Self {
        Failover {
            primary,
            fallback,
            counts: RouteCounts::default(),
        }
    }

    /// Where a request at `now` goes; `cache_hit` says whether a cached answer exists. A send
    /// takes its provider's breaker permit, and every route is counted.
    ///
    /// Escalation is advice, a breaker is a block: an escalated provider is skipped only while
    /// the other one can take the request, and used rather than the cache otherwise (it is
    /// rate limited, not down; [`super::Headroom`] and the Retry-After gate pace it).
    pub fn route(&mut self, now: Time, cache_hit: bool) -> Route {
        let route = self.peek(now, cache_hit);
        match route {
            Route::Send(target) => {
                // `peek` asked the same breaker at the same instant: the permit is there.
                let _ = self.route_to(now, target);
            }
            Route::Cache => self.counts.cache += 1,
            Route::Unavailable { .. } => self.counts.unavailable += 1,
        }
        route
    }

    /// A send to `target` at `now` that the caller chose itself (a proactive gateway spills
    /// to the fallback while the primary is out of quota): it takes that breaker's permit (a
    /// half-open breaker's probe, so its answer can close the breaker) and is counted like a
    /// route. Escalation is not asked. Whether the permit was there.
    pub fn route_to(&mut self, now: Time, target: Target) -> bool {
        let Some(health) = self.health_mut(target) else {
            return false;
        };
        if health.breaker.try_acquire(now).is_err() {
            return false;
        }
        match target {
            Target::Primary => self.counts.primary += 1,
            Target::Fallback => self.counts.fallback += 1,
        }
        true
    }

    /// Where [`route`](Self::route) would send a request at `now`, without taking a permit or
    /// counting it: a dispatcher asks which provider's Retry-After and quota apply before it
    /// commits to a send.
    pub fn peek(&self, now: Time, cache_hit: bool) -> Route {
        let mut retry_at: Option<Time> = None;
        for heed_escalation in [true, false] {
            for target in [Target::Primary, Target::Fallback] {
                let Some(health) = self.health(target) else {
                    continue;
                };
                match health.may_route(now, heed_escalation) {
                    Ok(()) => return Route::Send(target),
                    Err(Some(t)) => retry_at = Some(retry_at.map_or(t, |r| r.min(t))),
                    Err(None) => {}
                }
            }
        }
        if cache_hit {
            return Route::Cache;
        }
        Route::Unavailable { retry_at }
    }

    fn health(&self, target: Target) -> Option<&UpstreamHealth> {
        match target {
            Target::Primary => Some(&self.primary),
            Target::Fallback => self.fallback.as_ref(),
        }
    }

    fn health_mut(&mut self, target: Target) -> Option<&mut UpstreamHealth> {
        match target {
            Target::Primary => Some(&mut self.primary),
            Target::Fallback => self.fallback.as_mut(),
        }
    }

    /// The response of a send to `target` arrived at `now`. Returns the escalation event, if
    /// any (an alert to raise, or a recovery to log).
    pub fn on_outcome(
        &mut self,
        now: Time,
        target: Target,
        outcome: Outcome,
    ) -> Option<EscalationEvent> {
        let health = self.health_mut(target)?;
        match outcome {
            Outcome::Success => {
                health.breaker.on_success(now);
                health.escalation.on_success(now)
            }
            Outcome::RateLimited => {
                health.breaker.on_failure(now);
                health.escalation.on_rate_limited(now)
            }
            Outcome::Failed | Outcome::KeyRefused => {
                health.breaker.on_failure(now);
                None
            }
            // The provider answered: alive for the breaker (a half-open probe succeeded),
            // silent about its quota (the 429 streak goes on).
            Outcome::ClientError => {
                health.breaker.on_success(now);
                None
            }
        }
    }

    /// A call sent to `target` will never be answered (see
    /// [`CircuitBreaker::on_abandoned`](super::CircuitBreaker::on_abandoned)).
    pub fn on_abandoned(&mut self, now: Time, target: Target) {
        if let Some(health) = self.health_mut(target) {
            health.breaker.on_abandoned(now);
        }
    }

    /// The primary's health (breaker state, escalation counter).
    pub fn primary(&self) -> &UpstreamHealth {
        &self.primary
    }

    /// The primary's health, to drain breaker transitions.
    pub fn primary_mut(&mut self) -> &mut UpstreamHealth {
        &mut self.primary
    }

    /// The fallback's health, if there is a fallback.
    pub fn fallback(&self) -> Option<&UpstreamHealth> {
        self.fallback.as_ref()
    }

    /// The fallback's health, to drain breaker transitions.
    pub fn fallback_mut(&mut self) -> Option<&mut UpstreamHealth> {
        self.fallback.as_mut()
    }

    /// How often each route was taken.
    pub const fn counts(&self) -> RouteCounts {
        self.counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;
    use crate::upstream::breaker::BreakerConfig;

    fn health(threshold: u32) -> UpstreamHealth {
        let config = BreakerConfig::new(threshold, Duration::from_secs(10), 1).unwrap();
        UpstreamHealth::new(CircuitBreaker::new(config), Escalation::default())
    }

    #[test]
    fn escalation_moves_traffic_to_the_fallback_then_cache() {
        let mut f = Failover::new(health(3), Some(health(1)));
        let t = Time::from_secs(1);
        assert_eq!(f.route(t, true), Route::Send(Target::Primary));
        for _ in 0..2 {
            assert_eq!(f.on_outcome(t, Target::Primary, Outcome::RateLimited), None);
        }
        let alert = f.on_outcome(t, Target::Primary, Outcome::RateLimited);
        assert!(matches!(alert, Some(EscalationEvent::Escalated { .. })));
        assert_eq!(f.route(t, true), Route::Send(Target::Fallback));
        assert_eq!(f.on_outcome(t, Target::Fallback, Outcome::Failed), None);
        assert_eq!(f.route(t, true), Route::Cache, "both breakers are open");
        let retry_at = Some(Time::from_secs(11));
        assert_eq!(f.route(t, false), Route::Unavailable { retry_at });
        let counts = f.counts();
        assert_eq!((counts.primary, counts.fallback, counts.cache), (1, 1, 1));
        assert_eq!(counts.unavailable, 1);
    }

    #[test]
    fn a_chosen_send_takes_a_probe_and_is_counted() {
        let mut f = Failover::new(health(1), Some(health(1)));
        let t = Time::from_secs(1);
        assert!(f.route_to(t, Target::Fallback));
        assert_eq!(f.on_outcome(t, Target::Fallback, Outcome::Failed), None);
        assert!(!f.route_to(t, Target::Fallback), "open");
        let later = Time::from_secs(11);
        assert!(f.route_to(later, Target::Fallback), "half-open: one probe");
        assert!(!f.route_to(later, Target::Fallback), "its one probe is out");
        assert_eq!(
            f.on_outcome(later, Target::Fallback, Outcome::Success),
            None
        );
        assert!(f.route_to(later, Target::Fallback), "the probe closed it");
        assert_eq!(f.counts().fallback, 3);
    }

    #[test]
    fn escalation_alone_does_not_block_the_only_provider() {
        let mut f = Failover::new(health(100), None);
        let t = Time::from_secs(1);
        for _ in 0..3 {
            let _ = f.on_outcome(t, Target::Primary, Outcome::RateLimited);
        }
        assert!(f.primary().escalation.wants_fallback(t));
        assert_eq!(f.route(t, true), Route::Send(Target::Primary));
    }
}
