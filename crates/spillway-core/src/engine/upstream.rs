//! The engine's client side towards its providers, composed from [`crate::upstream`]:
//! proactive headroom, the Retry-After gate, backoff with jitter, the retry budget,
//! escalation, the circuit breaker, failover to a second provider and the cache.

use super::Response;
use crate::upstream::{
    BackoffConfig, BreakerConfig, CircuitBreaker, Escalation, EscalationEvent, Failover, Headroom,
    HeadroomConfig, Outcome as Health, RetryBudget, RetryGate, Route, SendCost, SendMark, Target,
    UpstreamHealth,
};
use crate::{Duration, Time};
use rand_core::Rng;

/// Escalations send traffic to the fallback for this long before trying the primary again.
const FALLBACK_FOR: Duration = Duration::from_secs(60);

/// How a policy treats its providers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpstreamConfig {
    /// Backoff between attempts (its `max_attempts` bounds attempts per request).
    pub backoff: BackoffConfig,
    /// Retry budget as a percentage of requests, if any.
    pub retry_budget_pct: Option<u64>,
    /// Proactive throttling margin in parts per million, if proactive.
    pub proactive_margin_ppm: Option<u64>,
    /// Consecutive 429s before escalation.
    pub escalate_after: u32,
    /// The circuit breaker, if any.
    pub breaker: Option<BreakerConfig>,
    /// Whether to fail over to a fallback provider (the driver has one).
    pub fallback: bool,
    /// Spill to the fallback when the primary's wait exceeds this (proactive + fallback).
    pub fallback_after_wait: Option<Duration>,
    /// Cached share of requests, per mille.
    pub cache_hit_permille: u64,
    /// A 429's (or 503's) Retry-After pauses every request to that provider (else only its
    /// own request).
    pub coordinated: bool,
}

impl UpstreamConfig {
    /// Retries after `backoff`, honouring Retry-After for every request to the provider that
    /// sent it; no retry budget, headroom model, breaker, fallback or cache.
    pub fn reactive(backoff: BackoffConfig) -> Self {
        UpstreamConfig {
            backoff,
            retry_budget_pct: None,
            proactive_margin_ppm: None,
            escalate_after: u32::MAX,
            breaker: None,
            fallback: false,
            fallback_after_wait: None,
            cache_hit_permille: 0,
            coordinated: true,
        }
    }
}

/// The upstream decisions of one engine.
pub(crate) struct UpstreamPolicy<R> {
    pub spec: UpstreamConfig,
    has_fallback: bool,
    /// The local quota model of the primary (proactive policies only).
    pub headroom: Option<Headroom>,
    /// Nothing is sent to a provider before its last Retry-After (reactive and proactive
    /// alike): the primary's, then the fallback's. One provider's wait is not the other's.
    gates: [RetryGate; 2],
    failover: Failover,
    pub budget: Option<RetryBudget>,
    pub jitter: R,
    cache_draws: R,
}

fn health(spec: &UpstreamConfig) -> UpstreamHealth {
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

impl<R: Rng> UpstreamPolicy<R> {
    /// The policy of `spec`; `jitter` draws backoff delays, `cache_draws` cache hits.
    pub(crate) fn new(spec: &UpstreamConfig, jitter: R, cache_draws: R) -> Self {
        let has_fallback = spec.fallback;
        let headroom = spec.proactive_margin_ppm.and_then(|margin_ppm| {
            let mut config = HeadroomConfig::from_headers();
            config.margin_ppm = margin_ppm;
            Headroom::new(config).ok()
        });
        let budget = spec.retry_budget_pct.and_then(|pct| {
            // One retry is always allowed per window so that a quiet client can still retry.
            RetryBudget::new(pct, 100, Duration::from_secs(60), 10, 1).ok()
        });
        UpstreamPolicy {
            spec: spec.clone(),
            failover: Failover::new(health(spec), has_fallback.then(|| health(spec))),
            has_fallback,
            headroom,
            gates: [RetryGate::new(); 2],
            budget,
            jitter,
            cache_draws,
        }
    }

    /// The provider a send at `now` would go to (failover's choice, no permit taken), or the
    /// primary when none can take it now (its Retry-After and quota then pace the wait).
    pub(crate) fn likely_target(&self, now: Time) -> Target {
        match self.failover.peek(now, false) {
            Route::Send(target) => target,
            Route::Cache | Route::Unavailable { .. } => Target::Primary,
        }
    }

    /// The earliest instant a send of `cost` to `target` may go: after that provider's
    /// Retry-After and, when proactive and to the primary (the one modelled), when the
    /// modelled quota has room. A cost the model says can never fit goes now and lets the
    /// provider decide.
    pub(crate) fn ready_at(&self, now: Time, target: Target, cost: &SendCost) -> Time {
        let gated = self.gate(target).earliest(now);
        match (&self.headroom, target) {
            (Some(h), Target::Primary) => h.earliest_send(gated, cost).unwrap_or(gated),
            _ => gated,
        }
    }

    fn gate(&self, target: Target) -> &RetryGate {
        &self.gates[usize::from(target == Target::Fallback)]
    }

    /// Whether a request admitted at `admitted` that the primary cannot take now goes to the
    /// fallback instead: a proactive gateway knows the primary is exhausted without waiting
    /// for a 429, and spills requests that have already waited longer than
    /// `fallback_after_wait` (not before the fallback's own Retry-After). A spill takes the
    /// fallback's breaker permit, as any send does, and is counted as a fallback route.
    pub(crate) fn spill_to_fallback(&mut self, now: Time, admitted: Time) -> bool {
        let Some(limit) = self.spec.fallback_after_wait else {
            return false;
        };
        self.has_fallback
            && now.saturating_since(admitted) > limit
            && self.gate(Target::Fallback).permits(now)
            && self.failover.route_to(now, Target::Fallback)
    }

    /// Whether a fallback provider is configured.
    pub(crate) fn has_fallback(&self) -> bool {
        self.has_fallback
    }

    /// When a request admitted at `admitted` becomes eligible to spill (the first instant its
    /// wait exceeds `fallback_after_wait`), if spilling is configured: a request staged for
    /// the primary must be woken then, not only when the primary is ready.
    pub(crate) fn spill_due(&self, admitted: Time) -> Option<Time> {
        let limit = self.spec.fallback_after_wait?;
        self.has_fallback.then(|| {
            admitted
                .saturating_add(limit)
                .saturating_add(Duration::from_nanos(1))
        })
    }

    /// Whether this request's answer is in the cache (a seeded draw per routing decision).
    fn cache_hit(&mut self) -> bool {
        if self.spec.cache_hit_permille == 0 {
            return false;
        }
        let draw = self.cache_draws.next_u32() % 1000;
        u64::from(draw) < self.spec.cache_hit_permille
    }

    /// Where the next call goes.
    pub(crate) fn route(&mut self, now: Time) -> Route {
        let hit = self.cache_hit();
        self.failover.route(now, hit)
    }

    /// A send of estimated `cost` to `target` goes out at `now`: the primary's headroom model
    /// takes it at once, so the calls on the wire count before their answers arrive. The mark
    /// (a send the model logged) is what its answer's headers are as of.
    pub(crate) fn on_dispatch(
        &mut self,
        now: Time,
        target: Target,
        cost: &SendCost,
    ) -> Option<SendMark> {
        if target == Target::Primary
            && let Some(h) = self.headroom.as_mut()
        {
            return Some(h.on_send(now, cost));
        }
        None
    }

    /// A call to `target` that used `actual` rather than its `estimated` cost finished at
    /// `now`: the providers that reserve `max_tokens` return the unused part, and so does the
    /// model (the next snapshot corrects it either way).
    pub(crate) fn on_settle(
        &mut self,
        now: Time,
        target: Target,
        estimated: &SendCost,
        actual: &SendCost,
    ) {
        if target == Target::Primary
            && let Some(h) = self.headroom.as_mut()
        {
            h.on_settle(now, estimated, actual);
        }
    }

    /// Feed every model with the answer, received at `now`, to a send to `target` (`sent`, if
    /// the headroom model logged it); whether it escalated. Its headers describe the provider
    /// as of that send, so the model replays the sends made after it.
    pub(crate) fn on_answer(
        &mut self,
        now: Time,
        sent: Option<SendMark>,
        target: Target,
        answer: &Response,
    ) -> bool {
        if target == Target::Primary
            && let Some(h) = self.headroom.as_mut()
            && let Some(snapshot) = &answer.snapshot
            && let Some(sent) = sent
        {
            h.observe_quota_since(now, sent, snapshot);
        }
        if let Some(wait) = self.shared_wait(answer) {
            self.gates[usize::from(target == Target::Fallback)].on_retry_after(now, wait);
        }
        let health = Health::of(answer.accepted, answer.status);
        matches!(
            self.failover.on_outcome(now, target, health),
            Some(EscalationEvent::Escalated { .. })
        )
    }

    /// Whether a refused `answer` may be retried: as its `x-should-retry` says, else not a
    /// client error, and not a refused key unless a fallback can take the retry
    /// ([`Health::retryable_told`]).
    pub(crate) fn retryable(&self, answer: &Response) -> bool {
        let told = answer.snapshot.as_ref().and_then(|s| s.should_retry);
        Health::of(answer.accepted, answer.status).retryable_told(self.has_fallback, told)
    }

    /// A call sent to `target` will never be answered: its breaker's probe slot (if it was
    /// one) is given back, so a cut probe cannot leave the breaker half-open for ever.
    pub(crate) fn on_abandoned(&mut self, now: Time, target: Target) {
        self.failover.on_abandoned(now, target);
    }

    /// A call sent to `target` went unanswered for the driver's whole timeout: a failure for
    /// the breaker, as a 5xx is (a provider that accepts connections and hangs must open it,
    /// so that failover moves the traffic).
    pub(crate) fn on_timed_out(&mut self, now: Time, target: Target) {
        let _ = self.failover.on_outcome(now, target, Health::Failed);
    }

    /// The wait `answer` imposes on every request, if any: only a coordinated policy pauses
    /// more than the refused request itself, only a 429's or 503's Retry-After means "send
    /// nothing before" (RFC 9110; a 200 or a client error may carry one too), and only a hint
    /// the client obeys ([`BackoffConfig::honoured`]: none when it ignores them, none beyond
    /// what an SDK takes) may pause the others.
    fn shared_wait(&self, answer: &Response) -> Option<Duration> {
        if !self.spec.coordinated || answer.accepted || !matches!(answer.status, 429 | 503) {
            return None;
        }
        let backoff = &self.spec.backoff;
        backoff.honoured(answer.hint(backoff.reads_body_hints()))
    }

    /// The earliest instant anything may be sent to `target` (its Retry-After gate).
    pub(crate) fn gate_until(&self, now: Time, target: Target) -> Time {
        self.gate(target).earliest(now)
    }

    /// Breaker state of the primary: 0 closed, 1 half-open, 2 open.
    pub(crate) fn breaker_level(&self) -> u8 {
        self.failover.primary().breaker.state().level()
    }
}
