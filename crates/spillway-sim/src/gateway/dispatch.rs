//! Sending upstream: a staged request first, then due retries, then the queue, while there is
//! room; every send waits for Retry-After and (proactive policies) for modelled headroom, and
//! goes where failover routes it. Failed calls are retried after backoff with jitter, within
//! the attempt limit and the retry budget.

use super::Slot;
use super::state::{Departure, Event, Gateway};
use crate::provider::{CallRequest, Outcome};
use spillway_core::upstream::{Route, SendCost, Target};
use spillway_core::{Duration, Time};

/// How long to wait when no provider can take a call and none says when it will.
const UNAVAILABLE_PAUSE: Duration = Duration::from_secs(1);

impl Gateway<'_> {
    /// Handle a scheduled event at `now`.
    pub(crate) fn handle(&mut self, now: Time, event: Event) {
        match event {
            Event::Done(slot) => self.complete(now, slot),
            Event::Wake => {
                if self.next_wake.is_some_and(|t| t <= now) {
                    self.next_wake = None;
                }
            }
            Event::RetryDue(slot) => self.retries.push_back(slot),
            Event::Abandon(slot, ticket) => self.abandon(now, slot, ticket),
            Event::BudgetDue(slot) => self.budget_due(now, slot),
        }
        self.dispatch(now);
    }

    fn complete(&mut self, now: Time, slot: Slot) {
        self.in_flight -= 1;
        let Some(req) = self.requests.get_mut(slot) else {
            return;
        };
        let (class, arrival) = (req.class, req.arrival);
        if arrival.failed {
            // A trace row that failed in production (e.g. BurstGPT's zero-token responses):
            // the call took its time and quota, and the request fails without retry, as it did.
            self.metrics.classes[class].upstream.wasted_calls += 1;
            self.depart(now, slot, Departure::Failed, arrival.input_tokens);
            return;
        }
        let provider = match (&self.scenario.fallback_provider, req.on_fallback) {
            (Some(fallback), true) => fallback,
            _ => &self.scenario.provider,
        };
        let provider_cost = provider
            .price
            .cost_nano_usd(arrival.input_tokens, arrival.output_tokens);
        // With a budget, the catalogue's price of the model actually used.
        let cost = self.settle_spend(now, slot).unwrap_or(provider_cost);
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

    /// The next request to send: the staged one, a due retry, else the queue's choice.
    fn next_to_send(&mut self, now: Time) -> Option<Slot> {
        if let Some(slot) = self.staged.take().or_else(|| self.retries.pop_front()) {
            return Some(slot);
        }
        let popped = self.queue.pop(now)?;
        self.end_wait(now, popped.slot);
        if popped.downgrade {
            self.downgrade_spend(popped.slot);
        }
        Some(popped.slot)
    }

    /// Dispatch again at `at` (one pending wake at a time: the earliest).
    fn wake_at(&mut self, at: Time) {
        if self.next_wake.is_none_or(|t| at < t) {
            self.next_wake = Some(at);
            self.events.push(at, Event::Wake);
        }
    }

    /// Send while there is room.
    pub(crate) fn dispatch(&mut self, now: Time) {
        while self.in_flight < self.policy.max_in_flight {
            let Some(slot) = self.next_to_send(now) else {
                return;
            };
            let Some(req) = self.requests.get_mut(slot) else {
                continue;
            };
            let cost = SendCost::request(req.arrival.input_tokens, req.arrival.output_tokens);
            let ready = self.client.ready_at(now, &cost);
            if ready > now && self.client.spill_to_fallback(now, req.arrival.at) {
                self.send(now, slot, Target::Fallback);
                continue;
            }
            if ready > now {
                self.staged = Some(slot);
                self.wake_at(ready);
                return;
            }
            match self.client.route(now) {
                Route::Send(target) => self.send(now, slot, target),
                Route::Cache => {
                    self.metrics.classes[req.class].upstream.cache_served += 1;
                    self.complete_from_cache(now, slot);
                }
                Route::Unavailable { retry_at } => {
                    self.staged = Some(slot);
                    let at = retry_at.unwrap_or(now.saturating_add(UNAVAILABLE_PAUSE));
                    self.wake_at(at.max(now.saturating_add(Duration::from_nanos(1))));
                    return;
                }
            }
        }
    }

    /// A cached answer: no provider call, no cost, no latency beyond the queue.
    fn complete_from_cache(&mut self, now: Time, slot: Slot) {
        if let Some(req) = self.requests.get(slot) {
            let (class, arrival) = (req.class, req.arrival);
            self.metrics.classes[class]
                .latency
                .record(now.saturating_since(arrival.at));
            self.series.current().completed += 1;
            self.metrics.users.completed(arrival.user, 0);
            self.depart(now, slot, Departure::Completed, 0);
        }
    }

    fn send(&mut self, now: Time, slot: Slot, target: Target) {
        let Some(req) = self.requests.get_mut(slot) else {
            return;
        };
        req.attempts += 1;
        let (class, attempts) = (req.class, req.attempts);
        // The gateway does not know the completion length: it sends the actual one as
        // `max_tokens` (an upper bound that is exact), so reservations settle to themselves.
        let call = CallRequest {
            input_tokens: req.arrival.input_tokens,
            max_tokens: req.arrival.output_tokens,
            output_tokens: req.arrival.output_tokens,
        };
        if target == Target::Primary {
            self.score_headroom(now, class);
        }
        let stats = &mut self.metrics.classes[class];
        stats.upstream_calls += 1;
        if attempts == 1 {
            if let Some(budget) = self.client.budget.as_mut() {
                budget.on_request(now);
            }
        } else {
            stats.retries += 1;
            self.series.current().retries += 1;
        }
        if target == Target::Fallback {
            stats.upstream.fallback_calls += 1;
            self.series.current().fallback_calls += 1;
        }
        let result = self.client.call(now, target, &call);
        let stats = &mut self.metrics.classes[class];
        if result.escalated {
            stats.upstream.escalations += 1;
            self.series.current().escalations += 1;
        }
        if let Outcome::Accepted { done_at } = result.answer.outcome {
            if let Some(req) = self.requests.get_mut(slot) {
                req.on_fallback = target == Target::Fallback;
            }
            let stats = &mut self.metrics.classes[class];
            if attempts > 1 {
                stats.upstream.retry_successes += 1;
            }
            self.in_flight += 1;
            self.events.push(done_at, Event::Done(slot));
            return;
        }
        stats.upstream.wasted_calls += 1;
        if result.answer.status == 429 {
            stats.upstream_429 += 1;
            self.series.current().upstream_429 += 1;
        }
        let hint = result
            .answer
            .retry_after()
            .or(result.answer.body_retry_delay);
        self.retry_or_fail(now, slot, hint);
    }

    /// After a failed call: retry after max(backoff, Retry-After), or give up.
    fn retry_or_fail(&mut self, now: Time, slot: Slot, hint: Option<Duration>) {
        let Some(req) = self.requests.get_mut(slot) else {
            return;
        };
        let (class, attempts, input) = (req.class, req.attempts, req.arrival.input_tokens);
        let backoff = self.client.spec.backoff;
        if attempts >= backoff.max_attempts() {
            self.depart(now, slot, Departure::Failed, input);
            return;
        }
        if let Some(budget) = self.client.budget.as_mut()
            && !budget.try_retry(now)
        {
            self.metrics.classes[class].upstream.budget_denied += 1;
            self.depart(now, slot, Departure::Failed, input);
            return;
        }
        let retry = attempts - 1;
        let previous = if retry == 0 {
            backoff.base()
        } else {
            req.last_backoff
        };
        let delay = backoff.delay(retry, previous, &mut self.client.jitter);
        req.last_backoff = delay;
        let wait = delay.max(hint.unwrap_or(Duration::ZERO));
        self.events
            .push(now.saturating_add(wait), Event::RetryDue(slot));
    }

    /// Score the local quota model against the provider's truth, just before a send.
    fn score_headroom(&mut self, now: Time, class: usize) {
        let Some(headroom) = self.client.headroom.as_ref() else {
            return;
        };
        let estimates = headroom.estimates(now);
        let truth = self.client.primary_mut().truth(now);
        let stats = &mut self.metrics.classes[class].upstream;
        for estimate in estimates {
            let Some(true_dim) = truth
                .iter()
                .find(|t| estimate.source.as_ref() == Some(&t.dimension))
            else {
                continue;
            };
            if let Some(remaining) = estimate.remaining {
                let diff = remaining.abs_diff(true_dim.remaining);
                let ppm = u128::from(diff) * 1_000_000 / u128::from(true_dim.limit.max(1));
                stats.quota_error_ppm_sum = stats
                    .quota_error_ppm_sum
                    .saturating_add(u64::try_from(ppm).unwrap_or(u64::MAX));
                stats.quota_samples += 1;
            }
            if let Some(full_in) = estimate.full_in {
                let diff = full_in.as_nanos().abs_diff(true_dim.reset_after.as_nanos());
                stats.reset_error_ns_sum += u128::from(diff);
                stats.reset_samples += 1;
            }
        }
    }
}
