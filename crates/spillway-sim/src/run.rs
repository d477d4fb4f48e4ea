//! The event loop of one policy: arrivals → layers → queue → provider → metrics.
//!
//! Arrivals are pulled lazily from the [`ArrivalStream`] (never materialised), other events
//! live in the [`EventQueue`]; at equal times queued events run before the arrival, so a
//! completion frees its slot before the next request looks for one. Requests admitted by a
//! `central` store enter the queue after its round trip: between events and arrivals.

use crate::distributed::Instances;
use crate::engine::EventQueue;
use crate::gateway::{Gateway, GroupInfo, RequestQueue, RequestSlab, UpstreamClient};
use crate::metrics::{PolicyMetrics, Timeseries, TimeseriesRow};
use crate::scenario::{PolicySpec, Scenario};
use crate::traffic::ArrivalStream;
use spillway_core::limit::LayeredError;
use spillway_core::schedule::ConfigError;
use spillway_core::{Duration, Time};
use std::collections::{BTreeMap, VecDeque};

/// What may change between runs of the same scenario.
#[derive(Debug, Clone, Copy)]
pub struct RunOptions {
    /// Seed of every random stream.
    pub seed: u64,
    /// How long traffic arrives.
    pub duration: Duration,
}

/// A policy that cannot be built (its layers or its scheduler are inconsistent).
#[derive(Debug, thiserror::Error)]
#[error("policy `{policy}`: {source}")]
pub struct PolicyError {
    /// The policy.
    pub policy: String,
    /// What is wrong.
    pub source: PolicyProblem,
}

/// What is wrong with a policy.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyProblem {
    /// Its limiter layers.
    #[error(transparent)]
    Layers(#[from] LayeredError),
    /// Its scheduler.
    #[error(transparent)]
    Scheduler(#[from] ConfigError),
}

/// Run one policy of `scenario`, streaming the per-second series to `sink`.
pub fn run_policy(
    scenario: &Scenario,
    policy: &PolicySpec,
    options: &RunOptions,
    sink: &mut dyn FnMut(&TimeseriesRow),
) -> Result<PolicyMetrics, PolicyError> {
    let fail = |source: PolicyProblem| PolicyError {
        policy: policy.name.clone(),
        source,
    };
    let limits = Instances::new(&policy.layers, policy.instances.as_ref(), options.seed)
        .map_err(|e| fail(e.into()))?;
    let queue = RequestQueue::new(&policy.scheduler).map_err(|e| fail(e.into()))?;
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
    let layer_names = limits.layer_names();
    let mut world = Gateway {
        policy,
        scenario,
        groups,
        classes: scenario.classes,
        events: EventQueue::default(),
        limits,
        queue,
        retries: VecDeque::new(),
        requests: RequestSlab::default(),
        client: UpstreamClient::new(scenario, &policy.upstream, options.seed),
        staged: None,
        next_wake: None,
        in_flight: 0,
        metrics: PolicyMetrics::new(&policy.name, layer_names.into_iter()),
        series: Timeseries::default(),
    };
    let end = Time::ZERO
        .saturating_add(options.duration)
        .saturating_add(scenario.drain);
    let mut arrivals = ArrivalStream::new(scenario, options.seed, options.duration).peekable();
    loop {
        let event_at = world.events.peek_time();
        let entry_at = world.limits.next_entry_at();
        let arrival_at = arrivals.peek().map(|a| a.at);
        let Some(now) = [event_at, entry_at, arrival_at].into_iter().flatten().min() else {
            break;
        };
        if now > end {
            break;
        }
        world.series.advance_to(
            now,
            world.queue.len_by_class(),
            world.in_flight,
            world.client.breaker_level(),
            &mut *sink,
        );
        world.metrics.events += 1;
        if event_at == Some(now) {
            if let Some((_, event)) = world.events.pop() {
                world.handle(now, event);
            }
        } else if entry_at == Some(now) {
            if let Some(slot) = world.limits.pop_entry(now) {
                world.enter_queue(now, slot);
            }
        } else if let Some(arrival) = arrivals.next() {
            world.arrive(now, arrival);
        }
    }
    world.finish(end);
    let row = world.series.current();
    row.queued = 0;
    row.queued_by_class = [0; 4];
    row.in_flight = 0;
    sink(row);
    Ok(world.metrics)
}
