//! Accepted calls are billed. A call the provider started answering (a 2xx, maybe a stream)
//! is paid for however it ends: its client leaves mid-stream, the stream breaks before its
//! usage chunk, the call fails after acceptance, the gateway stops with it on the wire. So a
//! request that leaves after acceptance without completing **books** the larger of its
//! estimate and the tokens seen so far (reported with [`Engine::on_progress`]) through
//! [`Spend::bill`], and the driver sees it as [`EngineEvent::Billed`]. A request refused
//! upstream or never sent releases its reservation: nobody bills it. Billing is not a
//! completion: the estimator does not learn from these counts, partly the estimate itself.
//!
//! The floor is pessimistic on purpose: a gateway rarely sees all a provider produced for a
//! call it stopped reading, and a budget must not under-count. A failed completion is floored
//! too, also in the simulator, which knows its usage exactly (a failed trace row says output
//! 0): a budget scenario with failing calls books their estimated output, the bound a real
//! gateway would book.
//!
//! The limiter layers have the same concern: an accepted call that does not complete settles
//! them to the larger of its estimate and the tokens seen, not to its prompt alone (providers
//! reserve the prompt plus `max_tokens` at admission, and an unsuccessful request still counts:
//! `../shared/provider-semantics.md`); a completion settles them to its reported usage.

use super::spend::Spend;
use super::state::Seen;
use super::{Engine, EngineEvent, Limiter, RequestId};
use crate::Time;
use crate::budget::Ticket;
use rand_core::Rng;

impl<M: Copy, L: Limiter, S: Spend<M>, R: Rng> Engine<M, L, S, R> {
    /// The provider accepted the call of `id`: from now on it is billed, its prompt at once.
    pub(super) fn accept(&mut self, id: RequestId) {
        if let Some(req) = self.requests.get_mut(id)
            && req.accepted.is_none()
        {
            let input = req.meta.input_tokens;
            req.accepted = Some(Seen { input, output: 0 });
        }
    }

    /// The client of `id` went away while its call was on the wire (sent, not yet answered):
    /// the provider has the prompt and goes on with it, so the call leaves as an accepted one
    /// that did not complete (billed, and its layers settled, to at least its estimate), not
    /// released as [`Engine::on_cancel`] releases a call never sent. A driver that
    /// cannot tell whether the provider will bill it (a server whose client hung up mid-call)
    /// errs on the side of counting, as the budget must not under-count. A request not in
    /// flight is cancelled as by `on_cancel`. Whether it was still inside.
    pub fn on_cancel_sent(&mut self, now: Time, id: RequestId) -> bool {
        if self
            .requests
            .get(id)
            .is_some_and(|r| r.stage == super::state::Stage::InFlight)
        {
            self.accept(id);
        }
        self.on_cancel(now, id)
    }

    /// The call of `id` was sent and then went unanswered for the driver's whole timeout: the
    /// provider has it, so it leaves as [`Engine::on_cancel_sent`] bills it (not retried: a
    /// second send could be billed twice), and its provider's breaker counts a failure, as
    /// for a 5xx. Returns whether `id` was inside.
    pub fn on_timed_out_sent(&mut self, now: Time, id: RequestId) -> bool {
        if let Some(req) = self.requests.get(id)
            && req.stage == super::state::Stage::InFlight
        {
            self.upstream.on_timed_out(now, req.target);
        }
        self.on_cancel_sent(now, id)
    }

    /// The accepted call of `id` used at least `input_tokens` and `output_tokens` so far
    /// (e.g. a stream's usage as it passes): what it books if it leaves without completing.
    /// A request not (yet) accepted upstream, or gone, is ignored: it is not billed. `now`
    /// is taken like every input's; nothing is decided until the request leaves.
    pub fn on_progress(&mut self, now: Time, id: RequestId, input_tokens: u64, output_tokens: u64) {
        let _ = now;
        if let Some(seen) = self.requests.get_mut(id).and_then(|r| r.accepted.as_mut()) {
            seen.input = seen.input.max(input_tokens);
            seen.output = seen.output.max(output_tokens);
        }
    }

    /// The budget side of request `id` of `class` leaving without a completion: an
    /// `accepted` call books max(estimate, seen) per token kind (the provider bills it, and
    /// may have produced more than the driver saw); any other releases its reservation.
    pub(super) fn leave_spend(
        &mut self,
        now: Time,
        (id, class): (RequestId, usize),
        ticket: Ticket,
        accepted: Option<Seen>,
    ) {
        self.room_freed();
        let Some(seen) = accepted else {
            self.spend.cancel(now, ticket);
            return;
        };
        let input = seen.input.max(ticket.estimate.input_tokens);
        let output = seen.output.max(ticket.estimate.output_tokens);
        if let Some(settlement) = self.spend.bill(now, ticket, input, output) {
            self.events.push_back(EngineEvent::Billed {
                id,
                class,
                settlement,
            });
        }
    }
}

/// The tokens the limiter layers settle to when a request leaves: what the driver reported,
/// and for an `accepted` call that did not complete at least what it was seen to use and at
/// least its `estimate` (prompt plus reserved output), in total. ([`Engine::leave_spend`]
/// bills each kind's larger of estimate and seen, which can be more than this total.)
///
/// Why the estimate: the provider goes on generating (and counting) a call whose client hung
/// up or whose answer timed out, so the layers must not hand its output reservation back.
/// Settled to the prompt alone, a client that abandons every call after the send would pass
/// any token limit (each leaves having used only its prompt).
pub(super) fn tokens_used(reported: u64, accepted: Option<Seen>, estimate: u64) -> u64 {
    accepted.map_or(reported, |s| {
        reported.max(s.input.saturating_add(s.output)).max(estimate)
    })
}
