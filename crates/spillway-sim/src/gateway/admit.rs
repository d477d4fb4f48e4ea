//! The gateway's door: limiter layers (on the instance the balancer picks), the budget (an API
//! key and a spend verdict), then the queue (which may shed to make room).

use super::Slot;
use super::budget::Step;
use super::state::{Departure, Event, Gateway, new_request};
use crate::scenario::Class;
use crate::traffic::Arrival;
use spillway_core::Time;
use spillway_core::limit::{Demand, Subject};

impl Gateway<'_> {
    /// A request arrives at `now`: check every layer and the budget, queue it, try to send.
    pub(crate) fn arrive(&mut self, now: Time, arrival: Arrival) {
        // One key selection per arrival: `api_key`-scoped layers and the budget see the same
        // key (0 for the layers when the policy has no keys).
        let api_key = self.api_key_for(now, &arrival);
        let info = &self.groups[arrival.group as usize];
        let class = info.class;
        let subject = Subject {
            user: arrival.user,
            feature: info.feature,
            api_key: api_key.unwrap_or(0),
        };
        let estimate = Demand {
            requests: 1,
            tokens: arrival.input_tokens.saturating_add(info.output_estimate),
        };
        self.metrics.users.offered(arrival.user, class);
        let stats = &mut self.metrics.classes[class];
        stats.offered += 1;
        self.series.current().offered += 1;
        let admitted = match self.limits.admit(now, &subject, estimate, class) {
            Ok(Ok(admitted)) => admitted,
            Ok(Err(denial)) => {
                stats.rejected += 1;
                self.series.current().rejected += 1;
                for layer in denial.blocking.iter() {
                    self.metrics.rejections_by_layer[layer].1 += 1;
                }
                return;
            }
            Err(_) => {
                // Validation rules this out for configured sizes; count it, never panic.
                stats.rejected += 1;
                self.metrics.never_fits += 1;
                self.series.current().rejected += 1;
                return;
            }
        };
        let spend_ticket = match self.budget_step(now, &arrival, class, api_key) {
            Step::Refuse => {
                self.metrics.classes[class].rejected += 1;
                self.series.current().rejected += 1;
                let released = Demand {
                    requests: 1,
                    tokens: 0,
                };
                self.limits
                    .settle(now, admitted.reservation, admitted.placement, released);
                return;
            }
            Step::Hold(until) => Err(until),
            Step::Admit(ticket) => Ok(ticket),
        };
        let stats = &mut self.metrics.classes[class];
        stats.admitted += 1;
        stats.littles_law.admit(now);
        self.series.current().admitted += 1;
        let slot = self.requests.insert(new_request(arrival, class, admitted));
        match spend_ticket {
            Ok(ticket) => {
                if let Some(req) = self.requests.get_mut(slot) {
                    req.spend_ticket = ticket;
                }
                if admitted.ready_at > now {
                    // Still waiting for the shared store's answer (`central`): enters later.
                    self.limits.enter_later(admitted.ready_at, slot);
                    return;
                }
                self.enter_queue(now, slot);
            }
            Err(until) => self
                .events
                .push(until.max(admitted.ready_at), Event::BudgetDue(slot)),
        }
    }

    /// An admitted request joins the queue at `now` (its arrival, the end of its round trip to
    /// a shared store, or a budget reset); its user's patience runs from the arrival.
    pub(crate) fn enter_queue(&mut self, now: Time, slot: Slot) {
        let Some(req) = self.requests.get_mut(slot) else {
            return;
        };
        let (class, user, arrived) = (req.class, req.arrival.user, req.arrival.at);
        let cost = req.reservation.estimate.tokens;
        let outcome = self.queue.push(now, slot, Class::ALL[class], user, cost);
        if let Some(victim) = outcome.shed {
            self.depart(now, victim, Departure::Shed, 0);
        }
        match outcome.ticket {
            None => self.depart(now, slot, Departure::Shed, 0),
            Some(ticket) => {
                if let Some(patience) = self.deadline(class) {
                    let gives_up = arrived.saturating_add(patience).max(now);
                    self.events.push(gives_up, Event::Abandon(slot, ticket));
                }
            }
        }
        self.dispatch(now);
    }
}
