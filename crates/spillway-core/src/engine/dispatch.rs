//! Sending upstream: a staged request first, then due retries, then the queue, while there is
//! room; every send waits for Retry-After and (proactive policies) for modelled headroom, and
//! goes where failover routes it. Failed calls are retried after backoff with jitter, within
//! the attempt limit and the retry budget.

use super::spend::Spend;
use super::state::Stage;
use super::{Completion, Departure, Dispatch, Engine, EngineEvent, Limiter, RequestId, Response};
use crate::upstream::{Route, SendCost, Target};
use crate::{Duration, Time};
use rand_core::Rng;

/// How long to wait when no provider can take a call and none says when it will.
const UNAVAILABLE_PAUSE: Duration = Duration::from_secs(1);

impl<M: Copy, L: Limiter, S: Spend<M>, R: Rng> Engine<M, L, S, R> {
    /// The next request to send upstream now, if any. Call until `None` after every other
    /// call; the driver sends it and reports with [`Engine::on_response`].
    ///
    /// The pending flag is cleared before the queue is looked at, and set again only when a
    /// call goes (there may be more) or when room is freed on the way (a cache-served answer
    /// or a re-keyed request releases its budget reservation): then held requests are asked
    /// again and the queue looked at once more, rather than waiting for the next input.
    pub fn poll_dispatch(&mut self, now: Time) -> Option<Dispatch<M>> {
        loop {
            self.wake_held(now);
            if !std::mem::take(&mut self.dispatch_pending) {
                return None;
            }
            if let Some(dispatch) = self.dispatch_next(now) {
                self.dispatch_pending = true;
                return Some(dispatch);
            }
        }
    }

    /// One pass over what waits, while there is room: the next call to make, or `None` when
    /// nothing can go now (the first request that must wait is staged).
    fn dispatch_next(&mut self, now: Time) -> Option<Dispatch<M>> {
        while self.in_flight < self.config.max_in_flight {
            let Some(id) = self.next_to_send(now) else {
                break;
            };
            let Some(req) = self.requests.get(id) else {
                continue;
            };
            let cost = SendCost::request(req.meta.input_tokens, req.meta.max_tokens);
            let target = self.upstream.likely_target(now);
            let ready = self.upstream.ready_at(now, target, &cost);
            let admitted = req.arrived;
            if ready > now
                && target == Target::Primary
                && self.upstream.spill_to_fallback(now, admitted)
            {
                return self.send(now, id, Target::Fallback);
            }
            if ready > now {
                // Woken when the primary is ready, or sooner when the wait turns into a spill.
                let spill = (target == Target::Primary)
                    .then(|| self.upstream.spill_due(admitted))
                    .flatten()
                    .filter(|&due| due > now);
                self.stage(id, spill.map_or(ready, |due| due.min(ready)));
                break;
            }
            match self.upstream.route(now) {
                Route::Send(target) => return self.send(now, id, target),
                Route::Cache => self.complete_from_cache(now, id),
                Route::Unavailable { retry_at } => {
                    let at = retry_at.unwrap_or(now.saturating_add(UNAVAILABLE_PAUSE));
                    self.stage(id, at.max(now.saturating_add(Duration::from_nanos(1))));
                    break;
                }
            }
        }
        None
    }

    /// The next request to send: the staged one, a due retry, else the queue's choice; one
    /// whose key is no longer usable is first asked again ([`Engine::keyed_for_dispatch`]),
    /// and passed over if it is held or refused.
    fn next_to_send(&mut self, now: Time) -> Option<RequestId> {
        loop {
            if let Some(id) = self.staged.take().or_else(|| self.retries.pop_front()) {
                if self.keyed_for_dispatch(now, id) {
                    return Some(id);
                }
                continue;
            }
            let popped = self.queue.pop(now)?;
            if self.keyed_for_dispatch(now, popped.payload) {
                self.end_wait(now, popped.payload);
                return Some(self.downgrade_if(popped.payload, popped.downgrade));
            }
        }
    }

    /// `id`, served on the cheaper model when shedding asks to `downgrade` it.
    fn downgrade_if(&mut self, id: RequestId, downgrade: bool) -> RequestId {
        if downgrade
            && let Some(req) = self.requests.get_mut(id)
            && let Some(ticket) = req.spend_ticket.as_mut()
        {
            let was_degraded = ticket.degraded();
            self.spend.downgrade(ticket);
            if !was_degraded && ticket.degraded() {
                let class = req.meta.class;
                self.events.push_back(EngineEvent::Degraded { class });
            }
        }
        id
    }

    /// When the staged request, if any, could be sent as the models stand at `now`.
    fn staged_ready(&self, now: Time) -> Option<Time> {
        let req = self.requests.get(self.staged?)?;
        let cost = SendCost::request(req.meta.input_tokens, req.meta.max_tokens);
        let target = self.upstream.likely_target(now);
        Some(self.upstream.ready_at(now, target, &cost))
    }

    /// `id` waits for upstream room until `at`, then goes first.
    fn stage(&mut self, id: RequestId, at: Time) {
        if let Some(req) = self.requests.get_mut(id) {
            req.stage = Stage::Staged;
        }
        self.staged = Some(id);
        if self.next_wake.is_none_or(|t| at < t) {
            self.next_wake = Some(at);
            self.timers.push(at, super::state::Timer::Wake);
        }
    }

    fn send(&mut self, now: Time, id: RequestId, target: Target) -> Option<Dispatch<M>> {
        let req = self.requests.get_mut(id)?;
        req.attempts += 1;
        req.stage = Stage::InFlight;
        req.target = target;
        let cost = SendCost::request(req.meta.input_tokens, req.meta.max_tokens);
        req.sent = self.upstream.on_dispatch(now, target, &cost);
        if req.attempts == 1
            && let Some(budget) = self.upstream.budget.as_mut()
        {
            budget.on_request(now);
        }
        self.in_flight += 1;
        Some(Dispatch {
            id,
            target,
            attempt: req.attempts,
            class: req.meta.class,
            payload: req.meta.payload,
        })
    }

    /// A cached answer: no provider call, no cost, no latency beyond the queue.
    fn complete_from_cache(&mut self, now: Time, id: RequestId) {
        let Some(req) = self.requests.get(id) else {
            return;
        };
        let class = req.meta.class;
        self.events.push_back(EngineEvent::CacheServed { class });
        self.events.push_back(EngineEvent::Completed {
            class,
            payload: req.meta.payload,
            settlement: None,
            on_fallback: false,
            from_cache: true,
        });
        self.depart(now, id, Departure::Completed, 0);
    }

    /// The upstream answered the dispatch `id` (status and headers): feed Retry-After,
    /// headroom, breaker and escalation; a refusal is retried after backoff or fails. A
    /// stale `id` (cancelled meanwhile) is ignored.
    pub fn on_response(&mut self, now: Time, id: RequestId, response: &Response) {
        let Some(req) = self.requests.get_mut(id) else {
            return;
        };
        if req.stage != Stage::InFlight {
            return;
        }
        let (class, target, attempts, sent) = (req.meta.class, req.target, req.attempts, req.sent);
        let staged_before = self.staged_ready(now);
        if self.upstream.on_answer(now, sent, target, response) {
            self.events.push_back(EngineEvent::Escalated { class });
        }
        if response.accepted {
            // From here the provider bills the call, however it ends.
            self.accept(id);
            // Its snapshot may show more room than the model had: the staged request need
            // not wait for the timer it was staged with.
            if let (Some(before), Some(after)) = (staged_before, self.staged_ready(now))
                && after < before
            {
                self.dispatch_pending = true;
            }
            if attempts > 1 {
                self.events.push_back(EngineEvent::RetrySucceeded { class });
            }
            return;
        }
        // Its slot is free whether it is retried later or gives up: the queue may use it now.
        self.in_flight = self.in_flight.saturating_sub(1);
        self.dispatch_pending = true;
        self.events.push_back(EngineEvent::Wasted {
            class,
            status: response.status,
        });
        self.retry_or_fail(now, id, response);
    }

    /// An accepted call of `id` finished: settle the layers and the budget with the usage (a
    /// failed one is billed at no less than its estimate: the provider bills accepted calls).
    pub fn on_complete(&mut self, now: Time, id: RequestId, done: Completion) {
        let Some(req) = self.requests.get_mut(id) else {
            return;
        };
        if req.stage != Stage::InFlight {
            return;
        }
        self.in_flight = self.in_flight.saturating_sub(1);
        self.dispatch_pending = true;
        let class = req.meta.class;
        let estimated = SendCost::request(req.meta.input_tokens, req.meta.max_tokens);
        let actual = SendCost::request(done.input_tokens, done.output_tokens);
        self.upstream
            .on_settle(now, req.target, &estimated, &actual);
        if done.failed {
            // It took its time and quota, and fails without retry; the provider bills it.
            self.accept(id);
            self.on_progress(now, id, done.input_tokens, done.output_tokens);
            self.events
                .push_back(EngineEvent::Wasted { class, status: 200 });
            self.depart(now, id, Departure::Failed, done.input_tokens);
            return;
        }
        let on_fallback = req.target == Target::Fallback;
        let payload = req.meta.payload;
        let settlement = req.spend_ticket.take().and_then(|ticket| {
            self.spend
                .complete(now, ticket, done.input_tokens, done.output_tokens)
        });
        self.room_freed();
        self.events.push_back(EngineEvent::Completed {
            class,
            payload,
            settlement,
            on_fallback,
            from_cache: false,
        });
        let tokens = done.input_tokens.saturating_add(done.output_tokens);
        self.depart(now, id, Departure::Completed, tokens);
    }

    /// After a refused call: retry after max(backoff, Retry-After), or give up. A client's
    /// own error is never retried, nor a refused key without a fallback
    /// ([`Outcome`](crate::upstream::Outcome)): the caller gets it as it is.
    fn retry_or_fail(&mut self, now: Time, id: RequestId, response: &Response) {
        let Some(req) = self.requests.get_mut(id) else {
            return;
        };
        let (class, attempts, input) = (req.meta.class, req.attempts, req.meta.input_tokens);
        if !self.upstream.retryable(response) {
            self.depart(now, id, Departure::Failed, input);
            return;
        }
        let backoff = self.upstream.spec.backoff;
        let hint = response.hint(backoff.reads_body_hints());
        // Out of attempts, or told to wait longer than this client ever does (openai-python
        // refuses a Retry-After over 2 minutes and raises at once).
        if backoff.gives_up(attempts, hint).is_some() {
            self.depart(now, id, Departure::Failed, input);
            return;
        }
        if let Some(budget) = self.upstream.budget.as_mut()
            && !budget.try_retry(now)
        {
            self.events
                .push_back(EngineEvent::RetryBudgetDenied { class });
            self.depart(now, id, Departure::Failed, input);
            return;
        }
        let Some(req) = self.requests.get_mut(id) else {
            return;
        };
        let retry = attempts - 1;
        let previous = if retry == 0 {
            backoff.base()
        } else {
            req.last_backoff
        };
        let delay = backoff.delay(retry, previous, &mut self.upstream.jitter);
        req.last_backoff = delay;
        req.stage = Stage::Retrying;
        let wait = backoff.wait(delay, hint);
        self.timers
            .push(now.saturating_add(wait), super::state::Timer::RetryDue(id));
    }
}
