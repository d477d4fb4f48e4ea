//! The engine's budget: after the layers, an API key and a spend verdict; at completion the
//! actual cost is booked, and so is a call the provider accepted that ends otherwise
//! (`super::bill`); any other departure releases the reservation.

use super::RequestMeta;
use crate::Time;
use crate::budget::{CapId, Settlement, Ticket};

/// What to do with a request after the budget looked at it.
#[derive(Debug, PartialEq, Eq)]
pub enum SpendStep {
    /// Proceed; the reservation to settle (`None` when no budget applies).
    Admit(Option<Ticket>),
    /// Hold until this instant, then ask again (the engine also asks again sooner, when
    /// reservations settle and may have left room).
    Hold(Time),
    /// Refuse.
    Refuse(SpendRefusal),
}

/// Why the budget refused a request. It names the deciding cap so a driver can say which
/// without asking the budget again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpendRefusal {
    /// No API key was usable (expired, revoked, not yet valid).
    NoKey,
    /// A cap is spent and rejects, or its reset comes too late to serve the request.
    Cap {
        /// The deciding cap (`None` when no cap decided, e.g. a model missing from the
        /// catalogue).
        cap: Option<CapId>,
        /// When that cap's period resets (on the budget's clock).
        reset_at: Option<Time>,
    },
    /// The store that counts a budget shared by replicas did not answer: the budget refuses
    /// rather than spend without knowing what the others spent.
    Unavailable,
}

/// A budget (spend caps, keys, model ladder) as the engine drives it. `M` is the driver's
/// request payload (a budget may pick a key from it).
pub trait Spend<M> {
    /// The API key `request` would be sent with at `now`; `None` when none is usable.
    /// Selected once per decision and shared with the limiter layers.
    fn key(&mut self, now: Time, request: &RequestMeta<M>) -> Option<u64>;
    /// Whether `api_key`, the key a request was admitted with, may still carry it at `now`.
    /// The engine asks at dispatch: a request can wait (queued, backing off) past its key's
    /// expiry or revocation, and is then asked again with the key usable now.
    fn key_usable(&self, now: Time, api_key: u64) -> bool;
    /// The verdict for `request` carrying `api_key` (from [`Spend::key`]).
    fn decide(&mut self, now: Time, request: &RequestMeta<M>, api_key: Option<u64>) -> SpendStep;
    /// The verdict for a request admitted once and asked again (its hold ended, or its key
    /// became unusable while it waited), with the key usable now. A budget that can only
    /// decide at arrival (one a shared store counts) refuses here instead.
    fn decide_again(&mut self, now: Time, request: &RequestMeta<M>) -> SpendStep {
        let api_key = self.key(now, request);
        self.decide(now, request, api_key)
    }
    /// Book a completion with its actual usage: its books (`None` when nothing is billed).
    fn complete(
        &mut self,
        now: Time,
        ticket: Ticket,
        input: u64,
        output: u64,
    ) -> Option<Settlement>;
    /// Book an accepted call that ended without its full usage (client gone, stream broken,
    /// still on the wire at the end) at `input` and `output`, the engine's floor: charged
    /// like a completion, but the estimator does not learn from it, because those counts are
    /// partly the estimate itself and would only confirm it.
    fn bill(&mut self, now: Time, ticket: Ticket, input: u64, output: u64) -> Option<Settlement>;
    /// Release the reservation of a request leaving without the provider having accepted its
    /// call (refused upstream, never sent): nobody bills it.
    fn cancel(&mut self, now: Time, ticket: Ticket);
    /// Shedding's downgrade step: serve the request on a cheaper model if the budget has one.
    fn downgrade(&mut self, ticket: &mut Ticket);
}

/// No budget: every request proceeds, no key is chosen.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoSpend;

impl<M> Spend<M> for NoSpend {
    fn key(&mut self, _: Time, _: &RequestMeta<M>) -> Option<u64> {
        None
    }
    fn key_usable(&self, _: Time, _: u64) -> bool {
        true
    }
    fn decide(&mut self, _: Time, _: &RequestMeta<M>, _: Option<u64>) -> SpendStep {
        SpendStep::Admit(None)
    }
    fn complete(&mut self, _: Time, _: Ticket, _: u64, _: u64) -> Option<Settlement> {
        None
    }
    fn bill(&mut self, _: Time, _: Ticket, _: u64, _: u64) -> Option<Settlement> {
        None
    }
    fn cancel(&mut self, _: Time, _: Ticket) {}
    fn downgrade(&mut self, _: &mut Ticket) {}
}

/// An optional budget (a policy without `budget:`): `None` behaves as [`NoSpend`].
impl<M, S: Spend<M>> Spend<M> for Option<S> {
    fn key(&mut self, now: Time, request: &RequestMeta<M>) -> Option<u64> {
        self.as_mut()?.key(now, request)
    }
    fn key_usable(&self, now: Time, api_key: u64) -> bool {
        self.as_ref()
            .is_none_or(|spend| spend.key_usable(now, api_key))
    }
    fn decide(&mut self, now: Time, request: &RequestMeta<M>, api_key: Option<u64>) -> SpendStep {
        match self {
            Some(spend) => spend.decide(now, request, api_key),
            None => SpendStep::Admit(None),
        }
    }
    fn decide_again(&mut self, now: Time, request: &RequestMeta<M>) -> SpendStep {
        match self {
            Some(spend) => spend.decide_again(now, request),
            None => SpendStep::Admit(None),
        }
    }
    fn complete(
        &mut self,
        now: Time,
        ticket: Ticket,
        input: u64,
        output: u64,
    ) -> Option<Settlement> {
        self.as_mut()?.complete(now, ticket, input, output)
    }
    fn bill(&mut self, now: Time, ticket: Ticket, input: u64, output: u64) -> Option<Settlement> {
        self.as_mut()?.bill(now, ticket, input, output)
    }
    fn cancel(&mut self, now: Time, ticket: Ticket) {
        if let Some(spend) = self {
            spend.cancel(now, ticket);
        }
    }
    fn downgrade(&mut self, ticket: &mut Ticket) {
        if let Some(spend) = self {
            spend.downgrade(ticket);
        }
    }
}
