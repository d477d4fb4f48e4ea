//! The gateway's client side towards its providers, built from `spillway_core::upstream`:
//! proactive headroom, the Retry-After gate, backoff with jitter, the retry budget, escalation,
//! the circuit breaker, failover to a second provider and the cache.
//!
//! The simulator owns the providers and the jitter stream; the decisions are the core's.

use crate::provider::{Answer, CallRequest, EmulatedProvider, Outcome};
use crate::rng::{Concern, stream};
use crate::scenario::{Scenario, UpstreamSpec};
use rand_chacha::ChaCha8Rng;
use spillway_core::upstream::headers::parse_headers;
use spillway_core::upstream::{
    BreakerConfig, CircuitBreaker, Escalation, EscalationEvent, Failover, Headroom, HeadroomConfig,
    Outcome as Health, RetryBudget, RetryGate, Route, SendCost, Target, UpstreamHealth,
};
use spillway_core::{Duration, Time};

/// Escalations send traffic to the fallback for this long before trying the primary again.
const FALLBACK_FOR: Duration = Duration::from_secs(60);
/// The fallback provider's random streams come from a seed derived from the run's, so that
/// they are independent of the primary's.
const FALLBACK_SEED_SALT: u64 = 0x9E37_79B9_7F4A_7C15;
/// Stream index of the cache-hit draws under [`Concern::Jitter`].
const CACHE_STREAM: u32 = 1;

/// The result of one call, as the dispatcher needs it.
pub(crate) struct CallResult {
    /// The provider's answer.
    pub answer: Answer,
    /// An escalation this answer caused.
    pub escalated: bool,
}

/// Everything the dispatcher consults before and after a call.
pub(crate) struct UpstreamClient {
    pub spec: UpstreamSpec,
    primary: EmulatedProvider,
    fallback: Option<EmulatedProvider>,
    /// The local quota model of the primary (proactive policies only).
    pub headroom: Option<Headroom>,
    /// Nothing is sent before the last Retry-After (reactive and proactive alike).
    pub gate: RetryGate,
    pub failover: Failover,
    pub budget: Option<RetryBudget>,
    pub jitter: ChaCha8Rng,
    cache_draws: ChaCha8Rng,
}

fn health(spec: &UpstreamSpec) -> UpstreamHealth {
    // Without a configured breaker, one that never opens: failover then follows escalation
    // alone.
    let breaker = spec.breaker.unwrap_or_else(|| {
        BreakerConfig::new(u32::MAX, Duration::from_secs(1), 1)
            .unwrap_or_else(|_| BreakerConfig::default())
    });
    UpstreamHealth::new(
        CircuitBreaker::new(breaker),
        Escalation::new(spec.escalate_after, FALLBACK_FOR),
    )
}

impl UpstreamClient {
    /// The client of a policy with `spec` in `scenario`, under `seed`.
    pub(crate) fn new(scenario: &Scenario, spec: &UpstreamSpec, seed: u64) -> Self {
        let fallback = match (&scenario.fallback_provider, spec.fallback) {
            (Some(p), true) => Some(EmulatedProvider::new(p, seed ^ FALLBACK_SEED_SALT)),
            _ => None,
        };
        let headroom = spec.proactive_margin_ppm.and_then(|margin_ppm| {
            let mut config = HeadroomConfig::per_minute(None, None);
            config.margin_ppm = margin_ppm;
            Headroom::new(config).ok()
        });
        let budget = spec.retry_budget_pct.and_then(|pct| {
            // One retry is always allowed per window so that a quiet client can still retry.
            RetryBudget::new(pct, 100, Duration::from_secs(60), 10, 1).ok()
        });
        UpstreamClient {
            spec: spec.clone(),
            primary: EmulatedProvider::new(&scenario.provider, seed),
            failover: Failover::new(health(spec), fallback.as_ref().map(|_| health(spec))),
            fallback,
            headroom,
            gate: RetryGate::new(),
            budget,
            jitter: stream(seed, Concern::Jitter, 0),
            cache_draws: stream(seed, Concern::Jitter, CACHE_STREAM),
        }
    }

    /// The primary provider (its truth scores the headroom model).
    pub(crate) fn primary_mut(&mut self) -> &mut EmulatedProvider {
        &mut self.primary
    }

    /// The earliest instant a send of `cost` may go: after Retry-After and, when proactive,
    /// when the modelled quota has room. A cost the model says can never fit goes now and
    /// lets the provider decide.
    pub(crate) fn ready_at(&self, now: Time, cost: &SendCost) -> Time {
        let gated = self.gate.earliest(now);
        match &self.headroom {
            Some(h) => h.earliest_send(gated, cost).unwrap_or(gated),
            None => gated,
        }
    }

    /// Whether a request admitted at `admitted` that the primary cannot take now should go to
    /// the fallback: a proactive gateway knows the primary is exhausted without waiting for a
    /// 429, and spills requests that have already waited longer than `fallback_after_wait`.
    pub(crate) fn spill_to_fallback(&self, now: Time, admitted: Time) -> bool {
        let Some(limit) = self.spec.fallback_after_wait else {
            return false;
        };
        self.fallback.is_some()
            && now.saturating_since(admitted) > limit
            && self
                .failover
                .fallback()
                .is_some_and(|h| h.breaker.would_admit(now))
    }

    /// Whether this request's answer is in the cache (a seeded draw per routing decision).
    fn cache_hit(&mut self) -> bool {
        if self.spec.cache_hit_permille == 0 {
            return false;
        }
        let draw = rand_core::Rng::next_u32(&mut self.cache_draws) % 1000;
        u64::from(draw) < self.spec.cache_hit_permille
    }

    /// Where the next call goes.
    pub(crate) fn route(&mut self, now: Time) -> Route {
        let hit = self.cache_hit();
        self.failover.route(now, hit)
    }

    /// Send `call` to `target` at `now`, feeding every model with the answer.
    pub(crate) fn call(&mut self, now: Time, target: Target, call: &CallRequest) -> CallResult {
        let cost = SendCost::request(call.input_tokens, call.max_tokens);
        let provider = match (target, self.fallback.as_mut()) {
            (Target::Fallback, Some(f)) => f,
            _ => &mut self.primary,
        };
        let answer = provider.call(now, call);
        // Rendering and parsing header text costs microseconds: only a proactive policy, whose
        // model is fed by the headers, pays for it.
        if target == Target::Primary && self.headroom.is_some() {
            let label = self.primary.label();
            let snapshot = parse_headers(
                answer.headers().iter().map(|(n, v)| (*n, v.as_str())),
                label,
                None,
            );
            if let Some(h) = self.headroom.as_mut() {
                h.on_send(now, &cost);
                h.observe_as_of(now, now, &snapshot);
            }
        }
        let retry_after = answer.retry_after().or(answer.body_retry_delay);
        if let Some(wait) = retry_after
            && answer.status == 429
            && self.spec.coordinated
        {
            self.gate.on_retry_after(now, wait);
            if let Some(h) = self.headroom.as_mut() {
                h.on_retry_after(now, wait);
            }
        }
        let health = match answer.outcome {
            Outcome::Accepted { .. } => Health::Success,
            _ if answer.status == 429 => Health::RateLimited,
            _ => Health::Failed,
        };
        let escalated = matches!(
            self.failover.on_outcome(now, target, health),
            Some(EscalationEvent::Escalated { .. })
        );
        CallResult { answer, escalated }
    }

    /// Breaker state of the primary for the time series: 0 closed, 1 half-open, 2 open.
    pub(crate) fn breaker_level(&self) -> u8 {
        self.failover.primary().breaker.state().level()
    }
}
