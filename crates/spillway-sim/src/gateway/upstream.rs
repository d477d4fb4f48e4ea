//! The providers a policy's engine dispatches to: the scenario's primary and, when the
//! policy fails over, its fallback. The decisions are the engine's; this is the wire.

use crate::provider::{CallRequest, EmulatedProvider, Outcome};
use crate::scenario::{Scenario, UpstreamSpec};
use spillway_core::Time;
use spillway_core::engine::Response;
use spillway_core::upstream::Target;
use spillway_core::upstream::headers::parse_headers;

/// The fallback provider's random streams come from a seed derived from the run's, so that
/// they are independent of the primary's.
const FALLBACK_SEED_SALT: u64 = 0x9E37_79B9_7F4A_7C15;

/// When a call ends, as the provider answered it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum CallEnd {
    /// Accepted: the response is streaming and completes at this instant.
    Done(Time),
    /// Refused or failed: the error answer reaches the gateway at this instant.
    Refused(Time),
}

/// The emulated providers of one policy run.
pub(crate) struct Providers {
    primary: EmulatedProvider,
    fallback: Option<EmulatedProvider>,
}

impl Providers {
    /// The providers of a policy with `spec` in `scenario`, under `seed`.
    pub(crate) fn new(scenario: &Scenario, spec: &UpstreamSpec, seed: u64) -> Self {
        let fallback = match (&scenario.fallback_provider, spec.fallback) {
            (Some(p), true) => Some(EmulatedProvider::new(p, seed ^ FALLBACK_SEED_SALT)),
            _ => None,
        };
        Providers {
            primary: EmulatedProvider::new(&scenario.provider, seed),
            fallback,
        }
    }

    /// The primary provider (its truth scores the headroom model).
    pub(crate) fn primary_mut(&mut self) -> &mut EmulatedProvider {
        &mut self.primary
    }

    /// Send `call` to `target` at `now`: when the provider finishes it if it took it, else
    /// when its refusal arrives, and the engine's view of the answer (headers parsed only when
    /// the engine models the primary's quota from them).
    pub(crate) fn call(
        &mut self,
        now: Time,
        target: Target,
        call: &CallRequest,
        wants_headers: bool,
    ) -> (CallEnd, Response) {
        let provider = match (target, self.fallback.as_mut()) {
            (Target::Fallback, Some(f)) => f,
            _ => &mut self.primary,
        };
        // Only the primary's headers are ever parsed, and only for a proactive policy.
        provider.set_success_headers(target == Target::Primary && wants_headers);
        let answer = provider.call(now, call);
        // Rendering and parsing header text costs microseconds: only a proactive policy, whose
        // model is fed by the headers, pays for it.
        let snapshot = (target == Target::Primary && wants_headers).then(|| {
            Box::new(parse_headers(
                answer.headers().iter().map(|(n, v)| (*n, v.as_str())),
                self.primary.label(),
                None,
            ))
        });
        let response = Response {
            accepted: matches!(answer.outcome, Outcome::Accepted { .. }),
            status: answer.status,
            retry_after: answer.retry_after(),
            body_retry_after: answer.body_retry_delay,
            snapshot,
        };
        let end = match answer.outcome {
            Outcome::Accepted { done_at } => CallEnd::Done(done_at),
            _ => CallEnd::Refused(now.saturating_add(answer.answer_after)),
        };
        (end, response)
    }
}
