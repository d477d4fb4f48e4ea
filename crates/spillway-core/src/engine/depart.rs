//! Leaving: every way out goes through [`Engine::depart`], which settles the limiter
//! reservation and the budget ticket and reports the departure once.

use super::spend::Spend;
use super::{Departure, Engine, EngineEvent, Limiter, RequestId};
use crate::Time;
use crate::limit::Demand;
use rand_core::Rng;

impl<M: Copy, L: Limiter, S: Spend<M>, R: Rng> Engine<M, L, S, R> {
    /// The queue wait of `id` ended at `now` (first upstream send, or leaving the queue
    /// unserved): reported once.
    pub(crate) fn end_wait(&mut self, now: Time, id: RequestId) {
        let Some(req) = self.requests.get_mut(id) else {
            return;
        };
        if req.wait_recorded {
            return;
        }
        req.wait_recorded = true;
        self.events.push_back(EngineEvent::WaitEnded {
            class: req.meta.class,
            waited: now.saturating_since(req.arrived),
        });
    }

    /// Remove a request for good: settle its reservation with the tokens it really used,
    /// book or release its budget ticket ([`super::bill`]), report how it left.
    pub(crate) fn depart(&mut self, now: Time, id: RequestId, how: Departure, tokens_used: u64) {
        self.end_wait(now, id);
        let Some(req) = self.requests.remove(id) else {
            return;
        };
        let class = req.meta.class;
        if let super::state::Stage::Held(hold) = req.stage {
            self.unhold(class, hold);
        }
        if let Some(ticket) = req.spend_ticket {
            self.leave_spend(now, (id, class), ticket, req.accepted);
        }
        self.events.push_back(EngineEvent::Departed {
            id,
            class,
            how,
            arrived: req.arrived,
            attempts: req.attempts,
        });
        // A completion reports the real usage; only a call that ended otherwise is floored.
        let floor = if how == Departure::Completed {
            None
        } else {
            req.accepted
        };
        // The floor is what the layers hold for it: its reservation's estimate.
        let actual = Demand {
            requests: 1,
            tokens: super::bill::tokens_used(tokens_used, floor, req.reservation.estimate.tokens),
        };
        self.limiter
            .settle(now, req.reservation, req.placement, actual);
    }

    /// The end: every request still inside leaves as [`Departure::Unfinished`], releasing
    /// what it holds; the engine is empty afterwards.
    pub fn drain(&mut self, now: Time) {
        while self.queue.pop(now).is_some() {}
        self.retries.clear();
        self.staged = None;
        while self.timers.pop().is_some() {}
        while self.entering.pop().is_some() {}
        self.next_wake = None;
        self.in_flight = 0;
        for id in self.requests.ids() {
            self.depart(now, id, Departure::Unfinished, 0);
        }
    }
}
