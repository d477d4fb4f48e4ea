//! The event loop of one policy: arrivals → layers → queue → provider → metrics.
//!
//! Arrivals are pulled lazily from the [`ArrivalStream`] (never materialised), provider
//! completions and refusals (which take the provider's error latency) wait in the gateway's
//! event queue, everything else is the engine's timers; at
//! equal times completions run first, then the engine's timers (a `central` store's admissions
//! last among them), then the arrival, so a completion frees its slot before the next request
//! looks for one.

use crate::distributed::Instances;
use crate::gateway::{Gateway, GroupInfo, JITTER_STREAMS, Providers, SimSpend, budget};
use crate::metrics::{PolicyMetrics, TimeseriesRow};
use crate::rng::stream;
use crate::scenario::Class;
use crate::scenario::{GroupSpec, PolicySpec, Scenario};
use crate::traffic::{Arrival, ArrivalStream, WithLeaks};
use spillway_core::engine::Engine;
use spillway_core::limit::LayeredError;
use spillway_core::schedule::ConfigError;
use spillway_core::{Duration, Time};
use std::collections::BTreeMap;

mod lanes;

/// The feature of a leaked key's attacker requests.
const LEAK_FEATURE: &str = "leak";

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
    /// Its budget (e.g. more than 64 caps with the keys' budgets).
    #[error(transparent)]
    Budget(#[from] spillway_core::budget::BudgetError),
}

/// Team ids: 0 for groups that name no team (so a scenario without `team:` is one team),
/// then the named teams in name order from 1 (defined ids, whatever the group order).
fn team_ids(groups: &[GroupSpec]) -> BTreeMap<&str, u64> {
    let named: std::collections::BTreeSet<&str> =
        groups.iter().filter_map(|g| g.team.as_deref()).collect();
    named.into_iter().zip(1..).collect()
}

/// Run one policy of `scenario`, streaming the per-second series to `sink`.
pub fn run_policy(
    scenario: &Scenario,
    policy: &PolicySpec,
    options: &RunOptions,
    sink: &mut dyn FnMut(&TimeseriesRow),
) -> Result<PolicyMetrics, PolicyError> {
    let mut runs = run_policies(
        scenario,
        std::slice::from_ref(policy),
        options,
        &mut |_, row| {
            sink(row);
        },
    )?;
    Ok(runs.remove(0))
}

/// Arrivals handed to one policy before the next takes them: each policy runs a stretch on
/// its own (its state stays in cache) instead of alternating at every arrival; the buffer is
/// 160 KB. Measured on the 24 h spike run: 256 was ~7 % slower, 16,384 no faster.
const ARRIVAL_BATCH: usize = 4096;

/// Run every one of `policies` side by side on one stream of arrivals, streaming each
/// policy's per-second series to `sink` with its index in `policies`.
///
/// Why side by side: every policy replays exactly the same arrivals (common random numbers),
/// and generating them (token sizes, on/off sessions, the arrival heap) was a fifth of a run;
/// one stream now feeds them all, a batch of arrivals at a time. Each policy sees the same
/// events in the same order as alone (its own completions and timers first at equal times,
/// then the arrival), so its outputs are those of [`run_policy`]. With two policies or more
/// (and two cores) each runs on its own thread; `sink` is still called on the calling thread,
/// in the same order either way (see `lanes`). Rows of one policy come in time order;
/// policies interleave a batch at a time.
///
/// # Errors
/// The first policy (in order) that cannot be built.
pub fn run_policies(
    scenario: &Scenario,
    policies: &[PolicySpec],
    options: &RunOptions,
    sink: &mut dyn FnMut(usize, &TimeseriesRow),
) -> Result<Vec<PolicyMetrics>, PolicyError> {
    let runs = policies
        .iter()
        .map(|policy| PolicyRun::new(scenario, policy, options))
        .collect::<Result<Vec<_>, _>>()?;
    let mut arrivals = arrivals(scenario, options);
    Ok(lanes::drive(runs, &mut arrivals, ARRIVAL_BATCH, sink))
}

impl lanes::Lane for PolicyRun<'_> {
    type Output = PolicyMetrics;
    fn feed(&mut self, batch: &[Arrival], rows: &mut Vec<TimeseriesRow>) {
        let mut sink = |row: &TimeseriesRow| rows.push(*row);
        for &arrival in batch {
            self.run_until(Some(arrival.at), &mut sink);
            self.arrive(arrival, &mut sink);
        }
    }
    fn finish(mut self, rows: &mut Vec<TimeseriesRow>) -> PolicyMetrics {
        let mut sink = |row: &TimeseriesRow| rows.push(*row);
        self.run_until(None, &mut sink);
        PolicyRun::finish(self, &mut sink)
    }
}

/// The arrivals every policy of a run sees: the scenario's traffic, then its leaks'
/// attackers.
fn arrivals(scenario: &Scenario, options: &RunOptions) -> impl Iterator<Item = Arrival> {
    let leaks = scenario.budget.as_ref().map_or(&[][..], |b| &b.leaks[..]);
    let horizon = Time::ZERO.saturating_add(options.duration);
    let first_leak = u32::try_from(scenario.groups.len()).unwrap_or(u32::MAX);
    let arrivals = ArrivalStream::new(scenario, options.seed, options.duration);
    WithLeaks::new(arrivals, leaks, first_leak, options.seed, horizon)
}

/// One policy's gateway during a run, fed the shared arrivals by [`run_policies`].
struct PolicyRun<'a> {
    scenario: &'a Scenario,
    policy: &'a PolicySpec,
    world: Gateway<'a>,
    /// The end of the drain: nothing after it runs.
    end: Time,
    horizon: Time,
    /// Its next event fell after `end`: the run is over (it ignores later arrivals).
    over: bool,
}

impl<'a> PolicyRun<'a> {
    /// Build `policy`'s gateway, engine, providers and metrics.
    fn new(
        scenario: &'a Scenario,
        policy: &'a PolicySpec,
        options: &RunOptions,
    ) -> Result<Self, PolicyError> {
        let fail = |source: PolicyProblem| PolicyError {
            policy: policy.name.clone(),
            source,
        };
        let limits = Instances::new(&policy.layers, policy.instances.as_ref(), options.seed)
            .map_err(|e| fail(e.into()))?;
        let leaks = scenario.budget.as_ref().map_or(&[][..], |b| &b.leaks[..]);
        let features: BTreeMap<&str, u64> = {
            let mut names: Vec<&str> = scenario.groups.iter().map(|g| g.feature.as_str()).collect();
            names.extend(leaks.first().map(|_| LEAK_FEATURE));
            names.sort_unstable();
            names.dedup();
            names.into_iter().zip(0..).collect()
        };
        let teams = team_ids(&scenario.groups);
        let mut groups: Vec<GroupInfo> = scenario
            .groups
            .iter()
            .map(|g| GroupInfo {
                class: g.class.index(),
                team: g.team.as_deref().map_or(0, |t| teams[t]),
                feature: features[g.feature.as_str()],
                // The gateway cannot know the completion length in advance: it reserves the
                // median and settles the actual count when the response arrives.
                output_estimate: g.output_tokens.median.round() as u64,
            })
            .collect();
        // One group per leak after the scenario's: the attacker (see `traffic::WithLeaks`).
        groups.extend(leaks.iter().map(|l| GroupInfo {
            class: Class::Background.index(),
            team: 0,
            feature: features.get(LEAK_FEATURE).copied().unwrap_or(0),
            output_estimate: l.output_tokens,
        }));
        let end = Time::ZERO
            .saturating_add(options.duration)
            .saturating_add(scenario.drain);
        let spend =
            sim_spend(scenario, policy, &features, &groups, end).map_err(|e| fail(e.into()))?;
        let layer_names = limits.layer_names();
        // The simulator bounds requests by its traffic, not by refusing them.
        let deadlines = scenario.classes.iter().map(|c| c.deadline).collect();
        let config = policy.engine_config(usize::MAX, deadlines);
        let budget_metrics = match (&scenario.budget, &spend.gate) {
            (Some(setup), Some(_)) => {
                let names = features.keys().map(|f| f.to_string()).collect();
                Some(budget::budget_metrics(setup, names))
            }
            _ => None,
        };
        let (concern, jitter, cache) = JITTER_STREAMS;
        let engine = Engine::new(
            config,
            limits,
            spend,
            stream(options.seed, concern, jitter),
            stream(options.seed, concern, cache),
        )
        .map_err(|e| fail(e.into()))?;
        let providers = Providers::new(scenario, &policy.upstream, options.seed);
        let mut metrics = PolicyMetrics::new(&policy.name, layer_names.into_iter());
        metrics.budget = budget_metrics;
        Ok(PolicyRun {
            scenario,
            policy,
            world: Gateway::new(scenario, groups, engine, providers, metrics),
            end,
            horizon: Time::ZERO.saturating_add(options.duration),
            over: false,
        })
    }

    /// Run the gateway's own events (provider completions, then engine timers, at equal
    /// times) due by `until` (`None`: all of them), so that an arrival at `until` comes after
    /// them.
    fn run_until(&mut self, until: Option<Time>, sink: &mut dyn FnMut(&TimeseriesRow)) {
        while !self.over {
            let done_at = self.world.calls.peek_time();
            let timer_at = self.world.engine.poll_timeout();
            let Some(now) = [done_at, timer_at].into_iter().flatten().min() else {
                return;
            };
            if until.is_some_and(|until| now > until) {
                return;
            }
            if !self.tick(now, sink) {
                return;
            }
            if done_at == Some(now) {
                if let Some((_, event)) = self.world.calls.pop() {
                    self.world.call_event(now, event);
                }
            } else {
                self.world.timeout(now);
            }
        }
    }

    /// A request arrives (after every own event due by its instant).
    fn arrive(&mut self, arrival: Arrival, sink: &mut dyn FnMut(&TimeseriesRow)) {
        if !self.over && self.tick(arrival.at, sink) {
            self.world.arrive(arrival.at, arrival);
        }
    }

    /// An event is about to run at `now`: close the seconds before it and count it, or end
    /// the run (`false`) when it falls after the drain.
    fn tick(&mut self, now: Time, sink: &mut dyn FnMut(&TimeseriesRow)) -> bool {
        if now > self.end {
            self.over = true;
            return false;
        }
        let world = &mut self.world;
        // The gauges are read only when a second closes, not on every event.
        if world.series.closes_by(now) {
            let engine = &world.engine;
            // A request the budget holds until a reset waits in the gateway like a queued one:
            // the depth a reader of the queue chart expects counts it.
            let queued = [0, 1, 2, 3].map(|c| (engine.queued_in(c) + engine.held_in(c)) as u64);
            let (in_flight, breaker) = (engine.in_flight(), engine.breaker_level());
            world
                .series
                .advance_to(now, queued, in_flight, breaker, &mut *sink);
        }
        world.metrics.events += 1;
        true
    }

    /// Count what is left at the end and close the last row.
    fn finish(mut self, sink: &mut dyn FnMut(&TimeseriesRow)) -> PolicyMetrics {
        let (world, end) = (&mut self.world, self.end);
        world.finish(end);
        if let (Some(m), Some(gate)) = (&mut world.metrics.budget, &world.engine.spend().gate) {
            budget::finish(m, gate, end);
        }
        world.metrics.key_downtime = key_downtime(self.scenario, self.policy, self.horizon);
        let row = world.series.current();
        row.queued = 0;
        row.queued_by_class = [0; 4];
        row.in_flight = 0;
        sink(row);
        self.world.metrics
    }
}

/// How long within the traffic the policy's keys left its service without a usable one.
fn key_downtime(scenario: &Scenario, policy: &PolicySpec, horizon: Time) -> Option<Duration> {
    let (Some(setup), Some(spend)) = (&scenario.budget, &policy.budget) else {
        return None;
    };
    setup.keys.iter().next()?;
    let (env, service) = (&spend.environment, &spend.service);
    Some(setup.keys.downtime(Time::ZERO, horizon, env, service))
}

/// The policy's budget: its gate if it has a `budget:` (and the scenario a catalogue), and
/// the leaks' attackers pinned to their keys. Each feature's estimate starts from the median
/// output of its first group.
fn sim_spend(
    scenario: &Scenario,
    policy: &PolicySpec,
    features: &BTreeMap<&str, u64>,
    groups: &[GroupInfo],
    end: Time,
) -> Result<SimSpend, spillway_core::budget::BudgetError> {
    let (Some(setup), Some(spend)) = (&scenario.budget, &policy.budget) else {
        return Ok(SimSpend {
            gate: None,
            pins: Vec::new(),
        });
    };
    let mut medians = vec![1; features.len()];
    for info in groups.iter().rev() {
        if let Some(m) = medians.get_mut(info.feature as usize) {
            *m = info.output_estimate.max(1);
        }
    }
    let pressure = policy.scheduler.pressure_permille;
    let first_leak = scenario.groups.len();
    SimSpend::new(setup, spend, medians, first_leak, pressure, end)
}
