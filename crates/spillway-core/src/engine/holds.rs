//! Requests the budget holds (a cap is full and queues until its reset): admitted, outside
//! the queue, counted per class ([`Engine::held_in`]). A held request is asked again at its
//! cap's reset, and sooner when room may have appeared: a cap can be full of *reservations*
//! (estimates of calls on the wire) rather than of spend, and a call that settles below its
//! estimate frees room long before the period ends.
//!
//! Waking is bounded: after reservations settle or are released, the held requests are asked
//! again in the order they were held until one is still held (it keeps its hold and its
//! reset timer, silently): at most one fruitless ask per settlement. So a request held behind
//! one that still finds no room (another subject's spent cap) waits for its turn or its
//! reset. Asking again is the same question as at the reset, with the key usable now.
//!
//! A hold ends at the class deadline too, as a wait in the queue does: a client does not wait
//! for a reset hours away because its budget is spent (in a server it would hold a
//! connection and a slot all that time), so a held request still held at its deadline leaves
//! as abandoned.

use super::spend::{Spend, SpendStep};
use super::state::{Stage, Timer};
use super::{Departure, Engine, Limiter, RequestId};
use crate::Time;
use rand_core::Rng;

impl<M: Copy, L: Limiter, S: Spend<M>, R: Rng> Engine<M, L, S, R> {
    /// Hold `id` until `until` (its cap's reset), or until a settlement leaves room for it;
    /// its class deadline, if sooner, ends the hold ([`Engine::budget_due`]).
    pub(super) fn hold(&mut self, id: RequestId, until: Time) {
        let Some(req) = self.requests.get(id) else {
            return;
        };
        let due = self
            .patience_ends(req.meta.class, req.arrived)
            .map_or(until, |gives_up| gives_up.min(until));
        let Some(req) = self.requests.get_mut(id) else {
            return;
        };
        let hold = self.next_hold;
        self.next_hold += 1;
        req.stage = Stage::Held(hold);
        // A class the scheduler does not know has no gauge (its request is refused at the
        // queue): nothing to count, never a panic.
        if let Some(n) = self.held.get_mut(req.meta.class) {
            *n += 1;
        }
        self.held_order.insert(hold, id);
        self.timers.push(due, Timer::BudgetDue(id, hold));
    }

    /// A request of `class` stops being held by `hold` (asked again, or left).
    pub(crate) fn unhold(&mut self, class: usize, hold: u64) {
        if let Some(n) = self.held.get_mut(class) {
            *n = n.saturating_sub(1);
        }
        self.held_order.remove(&hold);
    }

    /// A budget reservation settled or was released: held requests may fit now.
    pub(super) fn room_freed(&mut self) {
        self.spend_settled = true;
        self.dispatch_pending = true;
    }

    /// The reset of `id`'s `hold` came: ask again, then queue it, hold it again or let it go;
    /// past its class deadline it leaves as abandoned instead. A request no longer held by
    /// that hold (woken by a settlement, gone) is left alone.
    pub(super) fn budget_due(&mut self, now: Time, id: RequestId, hold: u64) {
        let Some(req) = self.requests.get(id) else {
            return;
        };
        if req.stage != Stage::Held(hold) {
            return;
        }
        let class = req.meta.class;
        if self
            .patience_ends(class, req.arrived)
            .is_some_and(|gives_up| gives_up <= now)
        {
            self.depart(now, id, Departure::Abandoned, 0);
            return;
        }
        self.unhold(class, hold);
        if self.ask_again(now, id) {
            self.enter_queue(now, id);
        }
    }

    /// After settlements: ask the held requests again, earliest hold first, until one is
    /// still held.
    pub(super) fn wake_held(&mut self, now: Time) {
        if !std::mem::take(&mut self.spend_settled) {
            return;
        }
        while let Some((&hold, &id)) = self.held_order.first_key_value() {
            let Some(req) = self.requests.get(id) else {
                self.held_order.remove(&hold);
                continue;
            };
            let meta = req.meta;
            // Still no room: it keeps its hold and reset timer; nothing new to report.
            let step = self.spend.decide_again(now, &meta);
            if matches!(step, SpendStep::Hold(_)) {
                break;
            }
            self.unhold(meta.class, hold);
            if self.settle_step(now, id, step) {
                self.enter_queue(now, id);
            }
        }
    }

    /// Ask the budget again about `id` at `now`, with the key usable now: admitted, it holds
    /// the new ticket and `true` is returned; held, it waits for the reset; refused, it
    /// leaves as shed.
    pub(super) fn ask_again(&mut self, now: Time, id: RequestId) -> bool {
        let Some(req) = self.requests.get(id) else {
            return false;
        };
        let meta = req.meta;
        let step = self.spend.decide_again(now, &meta);
        self.settle_step(now, id, step)
    }

    /// Apply what the budget said about `id` when asked again (reported as at arrival):
    /// whether it was admitted (its ticket set; the caller queues or sends it).
    fn settle_step(&mut self, now: Time, id: RequestId, step: SpendStep) -> bool {
        let Some(req) = self.requests.get_mut(id) else {
            return false;
        };
        // Between holds it is on its way in again, as at arrival.
        req.stage = Stage::Entering;
        let class = req.meta.class;
        self.report_spend(class, &step);
        match step {
            SpendStep::Admit(ticket) => {
                self.set_ticket(id, ticket);
                return true;
            }
            SpendStep::Hold(t) => self.hold(id, t),
            SpendStep::Refuse(_) => self.depart(now, id, Departure::Shed, 0),
        }
        false
    }
}
