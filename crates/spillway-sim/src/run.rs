//! The event loop of one policy: arrivals → layers → queue → provider → metrics.
//!
//! Arrivals are pulled lazily from the [`ArrivalStream`] (never materialised), other events
//! live in the [`EventQueue`]; at equal times queued events run before the arrival, so a
//! completion frees its slot before the next request looks for one.

use crate::engine::EventQueue;
use crate::gateway::{Request, RequestQueue, RequestSlab, Slot};
use crate::metrics::{PolicyMetrics, Timeseries, TimeseriesRow};
use crate::provider::{CallRequest, EmulatedProvider, Outcome};
use crate::scenario::{PolicySpec, Scenario};
use crate::traffic::{Arrival, ArrivalStream};
use spillway_core::limit::{Demand, Layered, LayeredError, Subject};
use spillway_core::{Duration, Time};
use std::collections::BTreeMap;

/// What may change between runs of the same scenario.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Seed of every random stream.
    pub seed: u64,
    /// How long traffic arrives.
    pub duration: Duration,
}

/// A policy that cannot be built (its layers are inconsistent).
#[derive(Debug, thiserror::Error)]
#[error("policy `{policy}`: {source}")]
pub struct PolicyError {
    /// The policy.
    pub policy: String,
    /// What is wrong with its layers.
    pub source: LayeredError,
}

enum Event {
    /// An upstream call finished successfully.
    Done(Slot),
    /// Upstream Retry-After has passed: dispatch again.
    Wake,
}

/// Per-group facts the hot path needs without looking up the scenario.
struct GroupInfo {
    class: usize,
    feature: u64,
    output_estimate: u64,
}

struct World<'a> {
    policy: &'a PolicySpec,
    scenario: &'a Scenario,
    groups: Vec<GroupInfo>,
    events: EventQueue<Event>,
    layered: Layered,
    queue: RequestQueue,
    requests: RequestSlab,
    provider: EmulatedProvider,
    in_flight: u64,
    /// No upstream call before this instant (the last Retry-After).
    blocked_until: Time,
    metrics: PolicyMetrics,
    series: Timeseries,
}

/// Run one policy of `scenario`, streaming the per-second series to `sink`.
pub fn run_policy(
    scenario: &Scenario,
    policy: &PolicySpec,
    options: &RunOptions,
    sink: &mut dyn FnMut(&TimeseriesRow),
) -> Result<PolicyMetrics, PolicyError> {
    let layered = Layered::new(policy.layers.clone()).map_err(|source| PolicyError {
        policy: policy.name.clone(),
        source,
    })?;
    let features: BTreeMap<&str, u64> = {
        let mut names: Vec<&str> = scenario.groups.iter().map(|g| g.feature.as_str()).collect();
        names.sort_unstable();
        names.dedup();
        names.into_iter().zip(0..).collect()
    };
    let groups = scenario
        .groups
        .iter()
        .map(|g| GroupInfo {
            class: g.class.index(),
            feature: features[g.feature.as_str()],
            // The gateway cannot know the completion length in advance: it reserves the
            // median and settles the actual count when the response arrives.
            output_estimate: g.output_tokens.median.round() as u64,
        })
        .collect();
    let layer_names = layered.names().map(str::to_string).collect::<Vec<_>>();
    let mut world = World {
        policy,
        scenario,
        groups,
        events: EventQueue::default(),
        layered,
        queue: RequestQueue::new(policy.queue_capacity),
        requests: RequestSlab::default(),
        provider: EmulatedProvider::new(&scenario.provider, options.seed),
        in_flight: 0,
        blocked_until: Time::ZERO,
        metrics: PolicyMetrics::new(&policy.name, layer_names.into_iter()),
        series: Timeseries::default(),
    };
    let end = Time::ZERO
        .saturating_add(options.duration)
        .saturating_add(scenario.drain);
    let mut arrivals = ArrivalStream::new(scenario, options.seed, options.duration).peekable();
    loop {
        let event_at = world.events.peek_time();
        let arrival_at = arrivals.peek().map(|a| a.at);
        let now = match (event_at, arrival_at) {
            (None, None) => break,
            (Some(e), Some(a)) => e.min(a),
            (Some(t), None) | (None, Some(t)) => t,
        };
        if now > end {
            break;
        }
        world
            .series
            .advance_to(now, world.queue.len() as u64, world.in_flight, &mut *sink);
        world.metrics.events += 1;
        if event_at == Some(now) {
            if let Some((_, event)) = world.events.pop() {
                world.handle(now, event);
            }
        } else if let Some(arrival) = arrivals.next() {
            world.arrive(now, arrival);
        }
    }
    world.finish(sink);
    Ok(world.metrics)
}

impl World<'_> {
    fn arrive(&mut self, now: Time, arrival: Arrival) {
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
        stats.admitted += 1;
        self.series.current().admitted += 1;
        let slot = self.requests.insert(Request {
            arrival,
            class,
            reservation,
            attempts: 0,
            queued_at: now,
            waited: Duration::ZERO,
        });
        if let Err(slot) = self.queue.push(slot) {
            self.metrics.classes[class].shed += 1;
            self.series.current().shed += 1;
            self.release(now, slot, 0);
            return;
        }
        self.dispatch(now);
    }

    fn handle(&mut self, now: Time, event: Event) {
        match event {
            Event::Done(slot) => {
                self.in_flight -= 1;
                if let Some(req) = self.requests.get_mut(slot) {
                    let (class, arrival, waited) = (req.class, req.arrival, req.waited);
                    let cost = self
                        .scenario
                        .provider
                        .price
                        .cost_nano_usd(arrival.input_tokens, arrival.output_tokens);
                    let stats = &mut self.metrics.classes[class];
                    stats.completed += 1;
                    stats.latency.record(now.saturating_since(arrival.at));
                    stats.wait.record(waited);
                    stats.input_tokens += arrival.input_tokens;
                    stats.output_tokens += arrival.output_tokens;
                    stats.cost_nano_usd = stats.cost_nano_usd.saturating_add(cost);
                    let row = self.series.current();
                    row.completed += 1;
                    row.spend_nano_usd = row.spend_nano_usd.saturating_add(cost);
                    let tokens = arrival.input_tokens.saturating_add(arrival.output_tokens);
                    self.release(now, slot, tokens);
                }
            }
            Event::Wake => {}
        }
        self.dispatch(now);
    }

    /// Send queued requests upstream while there is room and no Retry-After is pending.
    fn dispatch(&mut self, now: Time) {
        while self.in_flight < self.policy.max_in_flight && now >= self.blocked_until {
            let Some(slot) = self.queue.pop() else { return };
            let Some(req) = self.requests.get_mut(slot) else {
                continue;
            };
            req.waited = req
                .waited
                .saturating_add(now.saturating_since(req.queued_at));
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
                        req.queued_at = now;
                        self.queue.push_front(slot);
                    } else {
                        stats.failed += 1;
                        stats.wait.record(req.waited);
                        self.release(now, slot, input);
                    }
                    return;
                }
            }
        }
    }

    /// Forget a request, settling its reservation with the tokens it really used.
    fn release(&mut self, now: Time, slot: Slot, tokens_used: u64) {
        if let Some(req) = self.requests.remove(slot) {
            let actual = Demand {
                requests: 1,
                tokens: tokens_used,
            };
            self.layered.settle(now, req.reservation, actual);
        }
    }

    /// Count what is left and flush the last partial second.
    fn finish(&mut self, sink: &mut dyn FnMut(&TimeseriesRow)) {
        let queued: Vec<Slot> = self.queue.drain().collect();
        for slot in queued {
            if let Some(req) = self.requests.remove(slot) {
                self.metrics.classes[req.class].unfinished += 1;
            }
        }
        // Whatever is still in the slab was in flight.
        let mut in_flight = Vec::new();
        while let Some((_, event)) = self.events.pop() {
            if let Event::Done(slot) = event {
                in_flight.push(slot);
            }
        }
        for slot in in_flight {
            if let Some(req) = self.requests.remove(slot) {
                self.metrics.classes[req.class].unfinished += 1;
            }
        }
        let row = self.series.current();
        row.queued = 0;
        row.in_flight = self.in_flight;
        sink(row);
    }
}
