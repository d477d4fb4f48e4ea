//! Sending upstream: retries first, then the queue, while there is room and no Retry-After is
//! pending; and what happens when the provider answers.

use super::Slot;
use super::state::{Departure, Event, Gateway};
use crate::provider::{CallRequest, Outcome};
use spillway_core::Duration;
use spillway_core::Time;

impl Gateway<'_> {
    /// Handle a scheduled event at `now`.
    pub(crate) fn handle(&mut self, now: Time, event: Event) {
        match event {
            Event::Done(slot) => self.complete(now, slot),
            Event::Wake => {}
            Event::Abandon(slot, ticket) => self.abandon(now, slot, ticket),
        }
        self.dispatch(now);
    }

    fn complete(&mut self, now: Time, slot: Slot) {
        self.in_flight -= 1;
        let Some(req) = self.requests.get_mut(slot) else {
            return;
        };
        let (class, arrival) = (req.class, req.arrival);
        let cost = self
            .scenario
            .provider
            .price
            .cost_nano_usd(arrival.input_tokens, arrival.output_tokens);
        let tokens = arrival.input_tokens.saturating_add(arrival.output_tokens);
        let stats = &mut self.metrics.classes[class];
        stats.latency.record(now.saturating_since(arrival.at));
        stats.input_tokens += arrival.input_tokens;
        stats.output_tokens += arrival.output_tokens;
        stats.cost_nano_usd = stats.cost_nano_usd.saturating_add(cost);
        let row = self.series.current();
        row.completed += 1;
        row.spend_nano_usd = row.spend_nano_usd.saturating_add(cost);
        self.metrics.users.completed(arrival.user, tokens);
        self.depart(now, slot, Departure::Completed, tokens);
    }

    /// The next request to send: a pending retry, else the queue's choice.
    fn next_to_send(&mut self, now: Time) -> Option<Slot> {
        if let Some(slot) = self.retries.pop_front() {
            return Some(slot);
        }
        let popped = self.queue.pop(now)?;
        self.end_wait(now, popped.slot);
        Some(popped.slot)
    }

    /// Send while there is room and no Retry-After is pending.
    pub(crate) fn dispatch(&mut self, now: Time) {
        while self.in_flight < self.policy.max_in_flight && now >= self.blocked_until {
            let Some(slot) = self.next_to_send(now) else {
                return;
            };
            let Some(req) = self.requests.get_mut(slot) else {
                continue;
            };
            req.attempts += 1;
            let (class, attempts) = (req.class, req.attempts);
            let (input, output) = (req.arrival.input_tokens, req.arrival.output_tokens);
            let stats = &mut self.metrics.classes[class];
            stats.upstream_calls += 1;
            if attempts > 1 {
                stats.retries += 1;
                self.series.current().retries += 1;
            }
            // The gateway does not know the completion length: it sends the actual one as
            // `max_tokens` until the gateway models its own estimate.
            let call = CallRequest {
                input_tokens: input,
                max_tokens: output,
                output_tokens: output,
            };
            let answer = self.provider.call(now, &call);
            match answer.outcome {
                Outcome::Accepted { done_at } => {
                    self.in_flight += 1;
                    self.events.push(done_at, Event::Done(slot));
                }
                _ => {
                    if answer.status == 429 {
                        stats.upstream_429 += 1;
                        self.series.current().upstream_429 += 1;
                    }
                    let retry_after = answer
                        .retry_after()
                        .or(answer.body_retry_delay)
                        .unwrap_or(Duration::from_secs(1));
                    // Never send before Retry-After: the whole gateway pauses, not just this
                    // request, because the limit is the provider's, shared by all.
                    self.blocked_until = now.saturating_add(retry_after);
                    self.events.push(self.blocked_until, Event::Wake);
                    if attempts < self.policy.max_attempts {
                        self.retries.push_front(slot);
                    } else {
                        self.depart(now, slot, Departure::Failed, input);
                    }
                    return;
                }
            }
        }
    }
}
