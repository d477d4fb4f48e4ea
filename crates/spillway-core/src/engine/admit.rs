//! The door and the waits: limiter layers, the budget, the queue (which may shed to make
//! room); timers (deadlines, budget resets, backoff ends, wakes) and cancels.

use super::spend::{Spend, SpendStep};
use super::state::{Request, Stage, Timer};
use super::{
    Admission, Departure, Engine, EngineEvent, Limiter, Rejection, RequestId, RequestMeta,
};
use crate::Time;
use crate::limit::{Demand, Subject};
use crate::schedule::{Item, PushOutcome};
use crate::upstream::Target;
use crate::{Duration, budget::Ticket};
use rand_core::Rng;

/// Moot timers tolerated beyond twice the live requests before they are dropped.
const MOOT_TIMER_SLACK: usize = 64;

impl<M: Copy, L: Limiter, S: Spend<M>, R: Rng> Engine<M, L, S, R> {
    /// A request arrives at `now`: check every layer and the budget, then queue it (or hold
    /// it until the budget resets). An accepted request leaves exactly once, reported by
    /// [`super::EngineEvent::Departed`]; a rejected one holds nothing.
    pub fn on_request(&mut self, now: Time, meta: RequestMeta<M>) -> Admission {
        if !self.has_room_for(meta.class) {
            return Admission::Rejected(Rejection::Full);
        }
        // One key selection per decision: `api_key`-scoped layers and the budget see the
        // same key (0 for the layers when there is none).
        let api_key = self.spend.key(now, &meta);
        let subject = Subject {
            user: meta.user,
            team: meta.team,
            feature: meta.feature,
            api_key: api_key.unwrap_or(0),
        };
        let estimate = Demand {
            requests: 1,
            tokens: meta.input_tokens.saturating_add(meta.output_estimate),
        };
        let admitted = match self.limiter.admit(now, &subject, estimate, meta.class) {
            Ok(Ok(admitted)) => admitted,
            Ok(Err(denial)) => {
                return Admission::Rejected(Rejection::Layers {
                    blocking: denial.blocking,
                    retry_at: denial.retry_at,
                });
            }
            Err(_) => return Admission::Rejected(Rejection::NeverFits),
        };
        let step = self.spend.decide(now, &meta, api_key);
        self.report_spend(meta.class, &step);
        if let SpendStep::Refuse(why) = step {
            let released = Demand {
                requests: 1,
                tokens: 0,
            };
            self.limiter
                .settle(now, admitted.reservation, admitted.placement, released);
            return Admission::Rejected(Rejection::Budget(why));
        }
        let request = Request {
            meta,
            arrived: now,
            reservation: admitted.reservation,
            placement: admitted.placement,
            stage: Stage::Entering,
            attempts: 0,
            wait_recorded: false,
            last_backoff: Duration::ZERO,
            target: Target::Primary,
            sent: None,
            spend_ticket: None,
            accepted: None,
        };
        let Some(id) = self.insert_within_bound(now, request) else {
            self.limiter.settle(
                now,
                admitted.reservation,
                admitted.placement,
                Demand::default(),
            );
            if let SpendStep::Admit(Some(ticket)) = step {
                self.spend.cancel(now, ticket);
            }
            return Admission::Rejected(Rejection::Full);
        };
        match step {
            SpendStep::Hold(until) => self.hold(id, until.max(admitted.ready_at)),
            SpendStep::Admit(ticket) => {
                self.set_ticket(id, ticket);
                if admitted.ready_at > now {
                    self.entering.push(admitted.ready_at, id);
                } else {
                    self.enter_queue(now, id);
                }
            }
            SpendStep::Refuse(_) => {}
        }
        self.drop_moot_timers();
        Admission::Accepted(id)
    }

    /// Report what the budget said about a request of `class` (a plain admission is silent).
    pub(super) fn report_spend(&mut self, class: usize, step: &SpendStep) {
        let event = match step {
            SpendStep::Admit(Some(ticket)) if ticket.degraded() => EngineEvent::Degraded { class },
            SpendStep::Admit(_) => return,
            SpendStep::Hold(until) => EngineEvent::Held {
                class,
                until: *until,
            },
            SpendStep::Refuse(why) => EngineEvent::BudgetRefused { class, why: *why },
        };
        self.events.push_back(event);
    }

    pub(super) fn set_ticket(&mut self, id: RequestId, ticket: Option<Ticket>) {
        if let Some(req) = self.requests.get_mut(id) {
            req.spend_ticket = ticket;
        }
    }

    /// An admitted request joins the queue at `now`; its client's patience runs from arrival.
    pub(super) fn enter_queue(&mut self, now: Time, id: RequestId) {
        let Some(req) = self.requests.get(id) else {
            return;
        };
        let class = req.meta.class;
        let item = Item {
            class,
            tenant: req.meta.user,
            cost: req.reservation.estimate.tokens,
            payload: id,
        };
        let arrived = req.arrived;
        match self.queue.push(now, item) {
            PushOutcome::Queued { ticket, shed } => {
                if let Some(victim) = shed {
                    self.depart(now, victim.payload, Departure::Shed, 0);
                }
                if let Some(req) = self.requests.get_mut(id) {
                    req.stage = Stage::Queued(ticket);
                }
                if let Some(gives_up) = self.patience_ends(class, arrived) {
                    self.timers
                        .push(gives_up.max(now), Timer::Abandon(id, ticket));
                }
            }
            PushOutcome::Refused { .. } => self.depart(now, id, Departure::Shed, 0),
        }
        self.dispatch_pending = true;
    }

    /// When the client of a request of `class` that arrived at `arrived` stops waiting (its
    /// class deadline), if it has one: queued or held alike.
    pub(super) fn patience_ends(&self, class: usize, arrived: Time) -> Option<Time> {
        let patience = self.config.deadlines.get(class).copied().flatten()?;
        Some(arrived.saturating_add(patience))
    }

    /// Handle the earliest timer due by `now` (a deadline, a budget reset, a backoff's end, a
    /// wake), else the earliest admission due to enter the queue. Call again while
    /// [`Engine::poll_timeout`] is `<= now`, draining [`Engine::poll_dispatch`] in between:
    /// each timer's consequences are dispatched before the next one fires.
    pub fn handle_timeout(&mut self, now: Time) {
        if let Some(timer) = self.timers.pop_due(now) {
            match timer {
                Timer::Wake => {
                    if self.next_wake.is_some_and(|t| t <= now) {
                        self.next_wake = None;
                    }
                }
                Timer::RetryDue(id) => {
                    if self.requests.get(id).is_some() {
                        self.retries.push_back(id);
                    }
                }
                Timer::Abandon(id, ticket) => {
                    if self.queue.cancel(ticket).is_some() {
                        self.depart(now, id, Departure::Abandoned, 0);
                    }
                }
                Timer::BudgetDue(id, hold) => self.budget_due(now, id, hold),
            }
            self.dispatch_pending = true;
        } else if let Some(id) = self.entering.pop_due(now) {
            self.enter_queue(now, id);
        }
    }

    /// Whether `id`, about to be sent at `now`, may go with the key its budget reserved on.
    /// A request can wait (queued, backing off) past that key's expiry or revocation; then
    /// its reservation is released and the budget asked again with the key usable now, as
    /// for a held request: admitted, it goes on the new key (and is billed to it); else it
    /// is held or refused and `false` is returned. The limiter layers keep their admission.
    pub(super) fn keyed_for_dispatch(&mut self, now: Time, id: RequestId) -> bool {
        let Some(req) = self.requests.get_mut(id) else {
            return false;
        };
        let Some(ticket) = req.spend_ticket else {
            return true;
        };
        if self.spend.key_usable(now, ticket.subject().api_key) {
            return true;
        }
        req.spend_ticket = None;
        req.stage = Stage::Entering;
        self.spend.cancel(now, ticket);
        self.room_freed();
        self.ask_again(now, id)
    }

    /// Drop the timers whose firing would do nothing (the deadline of a request no longer
    /// queued under that ticket, the backoff's end of a request gone, the reset of a hold
    /// that ended) once there are more than twice the live requests plus
    /// [`MOOT_TIMER_SLACK`]. Checked at each arrival, since moot timers come with arrivals
    /// (every request sent before its deadline leaves one): amortized O(1) per arrival.
    fn drop_moot_timers(&mut self) {
        if self.timers.len() <= 2 * self.requests.len() + MOOT_TIMER_SLACK {
            return;
        }
        let (requests, queue) = (&self.requests, &self.queue);
        let in_stage = |id, stage| requests.get(id).is_some_and(|r| r.stage == stage);
        self.timers.retain(|_, timer| match *timer {
            Timer::Wake => true,
            Timer::RetryDue(id) => in_stage(id, Stage::Retrying),
            Timer::Abandon(_, ticket) => queue.contains(ticket),
            Timer::BudgetDue(id, hold) => in_stage(id, Stage::Held(hold)),
        });
    }

    /// The client of `id` went away at `now`: everything it holds is released, except that a
    /// call the provider accepted is billed (see [`Engine::on_progress`]); a call on the wire is forgotten
    /// (its late response is ignored). Whether it was still inside.
    pub fn on_cancel(&mut self, now: Time, id: RequestId) -> bool {
        let Some(req) = self.requests.get(id) else {
            return false;
        };
        match req.stage {
            Stage::Queued(ticket) => {
                self.queue.cancel(ticket);
            }
            Stage::Staged => self.staged = None,
            Stage::InFlight => {
                self.in_flight = self.in_flight.saturating_sub(1);
                self.upstream.on_abandoned(now, req.target);
            }
            Stage::Retrying => self.retries.retain(|r| *r != id),
            // Their timers find the id dead.
            Stage::Entering | Stage::Held(_) => {}
        }
        self.depart(now, id, Departure::Abandoned, 0);
        self.dispatch_pending = true;
        true
    }
}
