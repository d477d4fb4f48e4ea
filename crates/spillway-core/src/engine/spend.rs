//! The engine's budget: after the layers, an API key and a spend verdict; at completion the
//! actual cost is booked; any other departure releases the reservation.

use crate::Time;
use crate::budget::Ticket;

/// What to do with a request after the budget looked at it.
#[derive(Debug)]
pub enum SpendStep {
    /// Proceed; the reservation to settle (`None` when no budget applies).
    Admit(Option<Ticket>),
    /// Hold until this instant, then ask again.
    Hold(Time),
    /// Refuse.
    Refuse,
}

/// A budget (spend caps, keys, model ladder) as the engine drives it. `M` is the driver's
/// request payload (the budget may pick a key from it).
pub trait Spend<M> {
    /// The API key a request would be sent with at `now`; `None` when none is usable.
    /// Selected once per decision and shared with the limiter layers.
    fn key(&mut self, now: Time, meta: &M) -> Option<u64>;
    /// The verdict for a request of `class` carrying `api_key` (from [`Spend::key`]).
    fn decide(&mut self, now: Time, meta: &M, class: usize, api_key: Option<u64>) -> SpendStep;
    /// Book a completion with its actual usage; the actual cost in nano-USD.
    fn complete(&mut self, now: Time, ticket: Ticket, class: usize, input: u64, output: u64)
    -> u64;
    /// Release the reservation of a request leaving without a billed completion.
    fn cancel(&mut self, now: Time, ticket: Ticket);
    /// Shedding's downgrade step: serve the request on a cheaper model.
    fn downgrade(&mut self, ticket: &mut Ticket, class: usize);
}

/// No budget: every request proceeds, no key is chosen.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoSpend;

impl<M> Spend<M> for NoSpend {
    fn key(&mut self, _: Time, _: &M) -> Option<u64> {
        None
    }
    fn decide(&mut self, _: Time, _: &M, _: usize, _: Option<u64>) -> SpendStep {
        SpendStep::Admit(None)
    }
    fn complete(&mut self, _: Time, _: Ticket, _: usize, _: u64, _: u64) -> u64 {
        0
    }
    fn cancel(&mut self, _: Time, _: Ticket) {}
    fn downgrade(&mut self, _: &mut Ticket, _: usize) {}
}
