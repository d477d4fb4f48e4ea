//! The simulator's driver of one policy's engine: arrivals and provider completions in,
//! engine calls out, metrics from the engine's events.
//!
//! A request's life is the engine's; here the provider is called for each dispatch (its
//! answer comes at once, its completion later, as an event of the simulator) and every
//! [`EngineEvent`] is counted.

use super::budget::SimSpend;
use super::upstream::{CallEnd, Providers};
use crate::distributed::Instances;
use crate::engine::EventQueue;
use crate::metrics::{PolicyMetrics, Timeseries};
use crate::provider::CallRequest;
use crate::rng::Concern;
use crate::scenario::{ClassSettings, Scenario};
use crate::traffic::Arrival;
use rand_chacha::ChaCha8Rng;
use spillway_core::Time;
use spillway_core::engine::{
    Admission, Completion, Departure, Dispatch, Engine, EngineEvent, Rejection, RequestId,
    RequestMeta, Response,
};
use spillway_core::upstream::Target;

/// The engine as the simulator builds it.
pub(crate) type SimEngine = Engine<Arrival, Instances, SimSpend, ChaCha8Rng>;

/// Stream indexes under [`Concern::Jitter`]: backoff jitter, cache-hit draws.
pub(crate) const JITTER_STREAMS: (Concern, u32, u32) = (Concern::Jitter, 0, 1);

/// What the provider does later for a call in flight.
pub(crate) enum CallEvent {
    /// The accepted call of this request completes.
    Done(RequestId),
    /// The refusal of this request's call arrives (errors take a round trip).
    Refused(RequestId, Box<Response>),
}

/// Per-group facts the hot path needs without looking up the scenario.
pub(crate) struct GroupInfo {
    pub class: usize,
    pub team: u64,
    pub feature: u64,
    pub output_estimate: u64,
}

/// The state of one policy's gateway during a run.
pub(crate) struct Gateway<'a> {
    pub scenario: &'a Scenario,
    pub groups: Vec<GroupInfo>,
    pub classes: [ClassSettings; 4],
    pub engine: SimEngine,
    pub providers: Providers,
    /// Calls in flight, by the instant the provider finishes them or its refusal arrives.
    pub calls: EventQueue<CallEvent>,
    pub metrics: PolicyMetrics,
    pub series: Timeseries,
}

impl Gateway<'_> {
    /// Build the gateway of `policy` around `engine`.
    pub(crate) fn new<'a>(
        scenario: &'a Scenario,
        groups: Vec<GroupInfo>,
        engine: SimEngine,
        providers: Providers,
        metrics: PolicyMetrics,
    ) -> Gateway<'a> {
        Gateway {
            scenario,
            groups,
            classes: scenario.classes,
            engine,
            providers,
            calls: EventQueue::default(),
            metrics,
            series: Timeseries::default(),
        }
    }

    /// A request arrives at `now`.
    pub(crate) fn arrive(&mut self, now: Time, arrival: Arrival) {
        let info = &self.groups[arrival.group as usize];
        let class = info.class;
        let meta = RequestMeta {
            user: arrival.user,
            team: info.team,
            feature: info.feature,
            class,
            input_tokens: arrival.input_tokens,
            output_estimate: info.output_estimate,
            // The gateway does not know the completion length: it sends the actual one as
            // `max_tokens` (an upper bound that is exact), so reservations settle to themselves.
            max_tokens: arrival.output_tokens,
            payload: arrival,
        };
        self.metrics.users.offered(arrival.user, class);
        self.metrics.classes[class].offered += 1;
        self.series.current().offered += 1;
        let admission = self.engine.on_request(now, meta);
        let stats = &mut self.metrics.classes[class];
        match admission {
            Admission::Accepted(_) => {
                stats.admitted += 1;
                stats.littles_law.admit(now);
                self.series.current().admitted += 1;
            }
            Admission::Rejected(why) => {
                stats.rejected += 1;
                self.series.current().rejected += 1;
                match why {
                    Rejection::Layers { blocking, .. } => {
                        for layer in blocking.iter() {
                            self.metrics.rejections_by_layer[layer].1 += 1;
                        }
                    }
                    // Validation rules this out for configured sizes; count it, never panic.
                    Rejection::NeverFits => self.metrics.never_fits += 1,
                    Rejection::Budget(_) | Rejection::Full => {}
                }
            }
        }
        self.pump(now);
    }

    /// The provider finished a call, or its refusal arrived.
    pub(crate) fn call_event(&mut self, now: Time, event: CallEvent) {
        match event {
            CallEvent::Done(id) => self.complete(now, id),
            CallEvent::Refused(id, response) => {
                self.engine.on_response(now, id, &response);
                self.pump(now);
            }
        }
    }

    /// A provider finished the call of `id`.
    fn complete(&mut self, now: Time, id: RequestId) {
        let Some(arrival) = self.engine.payload(id).copied() else {
            return;
        };
        let done = Completion {
            input_tokens: arrival.input_tokens,
            output_tokens: arrival.output_tokens,
            // A trace row that failed in production (e.g. BurstGPT's zero-token responses).
            failed: arrival.failed,
        };
        self.engine.on_complete(now, id, done);
        self.pump(now);
    }

    /// A timer of the engine is due.
    pub(crate) fn timeout(&mut self, now: Time) {
        self.engine.handle_timeout(now);
        self.pump(now);
    }

    /// Send what the engine dispatches, then count what happened.
    fn pump(&mut self, now: Time) {
        while let Some(dispatch) = self.engine.poll_dispatch(now) {
            self.send(now, &dispatch);
        }
        while let Some(event) = self.engine.poll_event() {
            self.record(now, event);
        }
    }

    fn send(&mut self, now: Time, d: &Dispatch<Arrival>) {
        let stats = &mut self.metrics.classes[d.class];
        stats.upstream_calls += 1;
        if d.attempt > 1 {
            stats.retries += 1;
            self.series.current().retries += 1;
        }
        if d.target == Target::Fallback {
            stats.upstream.fallback_calls += 1;
            self.series.current().fallback_calls += 1;
        }
        let call = CallRequest {
            input_tokens: d.payload.input_tokens,
            max_tokens: d.payload.output_tokens,
            output_tokens: d.payload.output_tokens,
        };
        let wants_headers = self.engine.wants_headers();
        let (end, response) = self.providers.call(now, d.target, &call, wants_headers);
        if d.target == Target::Primary {
            self.score_headroom(now, d.class);
        }
        match end {
            CallEnd::Done(done_at) => {
                self.metrics.classes[d.class].record_service(done_at.saturating_since(now));
                self.calls.push(done_at, CallEvent::Done(d.id));
                self.engine.on_response(now, d.id, &response);
            }
            // The engine keeps the call in flight until its refusal arrives.
            CallEnd::Refused(at) if at > now => {
                self.calls
                    .push(at, CallEvent::Refused(d.id, Box::new(response)));
            }
            CallEnd::Refused(_) => self.engine.on_response(now, d.id, &response),
        }
    }

    /// Count one engine event.
    fn record(&mut self, now: Time, event: EngineEvent<Arrival>) {
        if let Some(budget) = self.metrics.budget.as_mut() {
            super::budget::record(budget, &event);
        }
        match event {
            EngineEvent::WaitEnded { class, waited } => {
                let stats = &mut self.metrics.classes[class];
                stats.record_wait(waited);
                if waited > self.classes[class].slo {
                    stats.waits_over_slo += 1;
                }
            }
            EngineEvent::CacheServed { class } => {
                self.metrics.classes[class].upstream.cache_served += 1;
            }
            EngineEvent::Completed {
                class,
                payload,
                settlement,
                on_fallback,
                from_cache,
            } => {
                let cost = settlement.map(|s| s.actual_nano_usd);
                self.completed(now, class, &payload, cost, on_fallback, from_cache);
            }
            EngineEvent::Billed {
                class, settlement, ..
            } => self.billed(class, settlement.actual_nano_usd),
            EngineEvent::Wasted { class, status } => {
                let stats = &mut self.metrics.classes[class];
                stats.upstream.wasted_calls += 1;
                if status == 429 {
                    stats.upstream_429 += 1;
                    self.series.current().upstream_429 += 1;
                }
            }
            EngineEvent::RetrySucceeded { class } => {
                self.metrics.classes[class].upstream.retry_successes += 1;
            }
            EngineEvent::RetryBudgetDenied { class } => {
                self.metrics.classes[class].upstream.budget_denied += 1;
            }
            EngineEvent::Escalated { class } => {
                self.metrics.classes[class].upstream.escalations += 1;
                self.series.current().escalations += 1;
            }
            // Counted by the budget's metrics above.
            EngineEvent::Degraded { .. }
            | EngineEvent::Held { .. }
            | EngineEvent::BudgetRefused { .. } => {}
            EngineEvent::Departed {
                id: _,
                class,
                how,
                arrived,
                attempts,
            } => self.departed(now, class, how, arrived, attempts),
        }
    }

    /// A completion's latency, usage and cost (the budget's price, else the provider's).
    fn completed(
        &mut self,
        now: Time,
        class: usize,
        arrival: &Arrival,
        cost: Option<u64>,
        on_fallback: bool,
        from_cache: bool,
    ) {
        let stats = &mut self.metrics.classes[class];
        stats.latency.record(now.saturating_since(arrival.at));
        if from_cache {
            self.series.current().completed += 1;
            self.metrics.users.completed(arrival.user, 0);
            return;
        }
        let provider = match (&self.scenario.fallback_provider, on_fallback) {
            (Some(fallback), true) => fallback,
            _ => &self.scenario.provider,
        };
        let cost = cost.unwrap_or_else(|| {
            provider
                .price
                .cost_nano_usd(arrival.input_tokens, arrival.output_tokens)
        });
        let tokens = arrival.input_tokens.saturating_add(arrival.output_tokens);
        stats.input_tokens += arrival.input_tokens;
        stats.output_tokens += arrival.output_tokens;
        self.billed(class, cost);
        self.series.current().completed += 1;
        self.metrics.users.completed(arrival.user, tokens);
    }

    /// A call's cost, spent by its class and in the current row. Also the whole story of an
    /// accepted call that did not complete (it failed, or was still on the wire at the end):
    /// the provider bills it, so it is spent.
    fn billed(&mut self, class: usize, cost: u64) {
        let stats = &mut self.metrics.classes[class];
        stats.cost_nano_usd = stats.cost_nano_usd.saturating_add(cost);
        let row = self.series.current();
        row.spend_nano_usd = row.spend_nano_usd.saturating_add(cost);
    }

    /// How a request left; unfinished ones (still inside at the end) are counted apart.
    fn departed(&mut self, now: Time, class: usize, how: Departure, arrived: Time, attempts: u32) {
        let stats = &mut self.metrics.classes[class];
        if attempts == 0 {
            stats.never_served += 1;
        }
        if how == Departure::Unfinished {
            stats.unfinished += 1;
            return;
        }
        stats.littles_law.depart(now, arrived);
        stats.latency_all.record(now.saturating_since(arrived));
        match how {
            Departure::Completed => stats.completed += 1,
            Departure::Failed => stats.failed += 1,
            Departure::Shed => {
                stats.shed += 1;
                self.series.current().shed += 1;
            }
            Departure::Abandoned | Departure::Unfinished => stats.abandoned += 1,
        }
    }

    /// Score the engine's quota model against the provider's truth as a send goes out: after
    /// the provider took the call, as the engine's model took it at dispatch, so both count it.
    fn score_headroom(&mut self, now: Time, class: usize) {
        let Some(headroom) = self.engine.headroom() else {
            return;
        };
        let estimates = headroom.estimates(now);
        let truth = self.providers.primary_mut().truth(now);
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

    /// Count what is left at the end of the run (still queued, held or in flight).
    pub(crate) fn finish(&mut self, end: Time) {
        self.metrics.distributed = self.engine.limiter().stats();
        self.engine.drain(end);
        while let Some(event) = self.engine.poll_event() {
            self.record(end, event);
        }
        for stats in &mut self.metrics.classes {
            stats.littles_law.close(end);
        }
        self.metrics.end = end;
    }
}
