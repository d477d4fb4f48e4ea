//! What to send and when: the simulator's own arrivals, never a second traffic generator.
//!
//! [`Plan`] wraps [`ArrivalStream`] merged with the leaked-key attackers ([`WithLeaks`])
//! exactly as `spillway_sim::run_policy` builds them, so `load` offers the very requests
//! `simulate` offers for the same scenario, seed and duration (same times, users, sizes). It
//! only adds what an HTTP request needs: the class, feature and team names of the arrival's
//! group (leak groups are background / `leak` / no team, as in the simulator) and a sequence
//! number.

use spillway_core::{Duration, Time};
use spillway_sim::scenario::{Class, Scenario};
use spillway_sim::traffic::{Arrival, ArrivalStream, WithLeaks};
use std::sync::Arc;

/// The feature of a leaked key's attacker requests (the simulator's name for it).
pub const LEAK_FEATURE: &str = "leak";

/// One request to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Planned {
    /// Position in the plan (0, 1, …): ties and records are ordered by it.
    pub seq: u64,
    /// The arrival, in the simulator's time base.
    pub arrival: Arrival,
    /// Its group's class.
    pub class: Class,
    /// Index of its feature name in [`Plan::features`].
    pub feature: usize,
    /// Its group's `team:`, if any (sent as `x-spillway-team`).
    pub team: Option<Arc<str>>,
}

/// The time-ordered requests of a scenario (lazy: memory does not grow with the duration).
pub struct Plan {
    arrivals: WithLeaks<ArrivalStream>,
    /// Per group (the scenario's, then one per leak): class, feature index, team.
    groups: Vec<(Class, usize, Option<Arc<str>>)>,
    features: Vec<String>,
    seq: u64,
}

impl Plan {
    /// The arrivals of `scenario` under `seed`, for `duration` of traffic.
    pub fn new(scenario: &Scenario, seed: u64, duration: Duration) -> Plan {
        let leaks = scenario.budget.as_ref().map_or(&[][..], |b| &b.leaks[..]);
        let mut features: Vec<String> = scenario.groups.iter().map(|g| g.feature.clone()).collect();
        if !leaks.is_empty() {
            features.push(LEAK_FEATURE.to_string());
        }
        features.sort_unstable();
        features.dedup();
        let index = |name: &str| features.iter().position(|f| f == name).unwrap_or(0);
        let mut groups: Vec<(Class, usize, Option<Arc<str>>)> = scenario
            .groups
            .iter()
            .map(|g| (g.class, index(&g.feature), g.team.as_deref().map(Arc::from)))
            .collect();
        groups.extend(
            leaks
                .iter()
                .map(|_| (Class::Background, index(LEAK_FEATURE), None)),
        );
        let horizon = Time::ZERO.saturating_add(duration);
        let first_leak = u32::try_from(scenario.groups.len()).unwrap_or(u32::MAX);
        let base = ArrivalStream::new(scenario, seed, duration);
        Plan {
            arrivals: WithLeaks::new(base, leaks, first_leak, seed, horizon),
            groups,
            features,
            seq: 0,
        }
    }

    /// Feature names, sorted (what [`Planned::feature`] indexes).
    pub fn features(&self) -> &[String] {
        &self.features
    }
}

impl Iterator for Plan {
    type Item = Planned;

    fn next(&mut self) -> Option<Planned> {
        let arrival = self.arrivals.next()?;
        let (class, feature, team) = self.groups.get(arrival.group as usize).cloned().unwrap_or((
            Class::Background,
            0,
            None,
        ));
        let seq = self.seq;
        self.seq = self.seq.saturating_add(1);
        Some(Planned {
            seq,
            arrival,
            class,
            feature,
            team,
        })
    }
}
