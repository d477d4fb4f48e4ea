//! The gateway's door: limiter layers, then the queue (which may shed to make room).

use super::Slot;
use super::budget::Step;
use super::state::{Departure, Event, Gateway, new_request};
use crate::scenario::Class;
use crate::traffic::Arrival;
use spillway_core::Time;
use spillway_core::limit::{Demand, Subject};

impl Gateway<'_> {
    /// A request arrives at `now`: check every layer, queue it, and try to send.
    pub(crate) fn arrive(&mut self, now: Time, arrival: Arrival) {
        let info = &self.groups[arrival.group as usize];
        let class = info.class;
        let subject = Subject {
            user: arrival.user,
            feature: info.feature,
            api_key: 0,
        };
        let estimate = Demand {
            requests: 1,
            tokens: arrival.input_tokens.saturating_add(info.output_estimate),
        };
        self.metrics.users.offered(arrival.user, class);
        let stats = &mut self.metrics.classes[class];
        stats.offered += 1;
        self.series.current().offered += 1;
        let reservation = match self.layered.reserve(now, &subject, estimate) {
            Ok(Ok(reservation)) => reservation,
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
        let spend_ticket = match self.budget_step(now, &arrival, class) {
            Step::Refuse => {
                self.metrics.classes[class].rejected += 1;
                self.series.current().rejected += 1;
                let released = Demand {
                    requests: 1,
                    tokens: 0,
                };
                self.layered.settle(now, reservation, released);
                return;
            }
            Step::Hold(until) => Err(until),
            Step::Admit(ticket) => Ok(ticket),
        };
        let stats = &mut self.metrics.classes[class];
        stats.admitted += 1;
        stats.littles_law.admit(now);
        self.series.current().admitted += 1;
        let slot = self
            .requests
            .insert(new_request(arrival, class, reservation));
        match spend_ticket {
            Ok(ticket) => {
                if let Some(req) = self.requests.get_mut(slot) {
                    req.spend_ticket = ticket;
                }
                self.enqueue(now, slot);
            }
            Err(until) => self.events.push(until, Event::BudgetDue(slot)),
        }
    }

    /// Queue an admitted request (shedding a victim if the queue says so) and try to send.
    pub(crate) fn enqueue(&mut self, now: Time, slot: Slot) {
        let Some(req) = self.requests.get(slot) else {
            return;
        };
        let (class, user) = (req.class, req.arrival.user);
        let tokens = req
            .arrival
            .input_tokens
            .saturating_add(self.groups[req.arrival.group as usize].output_estimate);
        let outcome = self.queue.push(now, slot, Class::ALL[class], user, tokens);
        if let Some(victim) = outcome.shed {
            self.depart(now, victim, Departure::Shed, 0);
        }
        match outcome.ticket {
            None => self.depart(now, slot, Departure::Shed, 0),
            Some(ticket) => {
                if let Some(patience) = self.deadline(class) {
                    self.events
                        .push(now.saturating_add(patience), Event::Abandon(slot, ticket));
                }
            }
        }
        self.dispatch(now);
    }
}
