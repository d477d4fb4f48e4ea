//! Raw → validated: check every value, convert units, resolve names; report every problem.

use super::layers::check_costs_fit;
use super::model::*;
use super::raw::*;
use spillway_core::policy::{self, PolicyBlocks, PolicyDefaults, Reporter};
use spillway_core::{Duration, Time};
use std::collections::BTreeMap;

const DEFAULT_DRAIN: Duration = Duration::from_secs(600);
const DEFAULT_SIZE_MAX: u64 = 32_768;
/// Most users a scenario may declare: memory grows with users, so a typo of extra zeros should
/// be an error, not an out-of-memory.
const MAX_USERS: u64 = 100_000_000;
/// Most policies one run may compare (`simulate`, `compare`, each variant of a `sweep`), and so
/// a scenario may hold (`validate` and `serve --policy` read it too: the refusal is worded for
/// all of them).
/// Every policy runs over the whole traffic and keeps its whole metrics until the reports are
/// written (about 1.4 MB each for two minutes of spike.yaml; 3,000 policies took 4.7 GB), and
/// the charts tell policies apart by 8 cycled colours in one legend, unreadable long before
/// that. 64 keeps a run's held metrics near 100 MB and its charts legible; more is compared in
/// several runs, as `sweep` bounds its variants (10,000, each holding only its summary).
pub const MAX_POLICIES: usize = 64;

/// Validate a parsed file. `stem` names the scenario when the file does not.
pub(crate) fn validate(raw: RawScenario, stem: &str, r: &mut Reporter<'_>) -> Option<Scenario> {
    if let Some(first_over) = raw.policies.get(MAX_POLICIES) {
        // Refused before any of them is validated: the count alone is the error.
        r.bad(
            &first_over.name,
            format!(
                "{} policies, more than the {MAX_POLICIES} a scenario may hold (a run compares \
                 them all, each keeping its whole metrics for the reports); split them into \
                 several scenarios",
                raw.policies.len()
            ),
        );
        return None;
    }
    let duration = r.positive_duration(&raw.duration);
    let drain = match &raw.drain {
        Some(d) => r.duration(d),
        None => Some(DEFAULT_DRAIN),
    };
    let provider = super::provider::provider(&raw.provider, r);
    let fallback_provider = raw
        .fallback_provider
        .as_ref()
        .map(|p| super::provider::provider(p, r));
    let has_trace = raw.traffic.trace.is_some();
    let groups = groups(&raw.traffic.groups, has_trace, r);
    let spikes = spikes(&raw.traffic.spikes, &raw.traffic.groups, r);
    if let (Some(spikes), Some(duration)) = (&spikes, duration) {
        spikes_within(&raw.traffic.spikes, spikes, duration, r);
    }
    let defaults = PolicyDefaults {
        max_in_flight: provider.as_ref().map(|p| p.concurrency),
        has_fallback_provider: raw.fallback_provider.is_some(),
    };
    let (policies, budget) = policy::validate(&policy_blocks(&raw), &defaults, r);
    let classes = policy::schedule::classes(&raw.classes, r);
    if let (Some(groups), Some(policies)) = (&groups, &policies) {
        check_costs_fit(groups, policies, &raw, r);
    }
    let (groups, trace) = super::trace::attach(&raw.traffic, groups, r);
    let serve = super::serve::validate(raw.serve.as_ref(), &raw.keys, r);
    let name = match &raw.name {
        Some(name) => scenario_name(name, r),
        None => Some(stem.to_string()),
    };
    let scenario = Scenario {
        name: name?,
        description: raw.description.unwrap_or_default(),
        seed: raw.seed.unwrap_or(0),
        duration: duration?,
        drain: drain?,
        provider: provider?,
        fallback_provider: fallback_provider.map_or(Some(None), |p| p.map(Some))?,
        groups: groups?,
        spikes: spikes?,
        policies: policies?,
        classes: classes?,
        trace: trace?,
        budget: budget?,
        serve: serve?,
    };
    // Bounded work: refuse what no run could finish (issue 16), at the `duration` field.
    if let Err(message) = super::work::check(&scenario, scenario.duration) {
        r.bad(&raw.duration, message);
        return None;
    }
    Some(scenario)
}

/// What a scenario name may be (see [`is_plain_name`]), for errors.
pub const PLAIN_NAME_RULE: &str = "it must not be empty or hold `/`, `\\`, `..`, a leading `.` \
     or a control character (e.g. `spike-2x`)";

/// Whether `name` can name a default output directory (`reports/<name>/`): one plain
/// directory name, so no run writes outside `reports/` or into it directly. Applies to a
/// `name:` and to the file stem that stands in for a missing one.
pub fn is_plain_name(name: &str) -> bool {
    !name.trim().is_empty()
        && !name.contains(['/', '\\'])
        && !name.contains("..")
        && !name.starts_with('.')
        && !name.chars().any(char::is_control)
}

/// The scenario's `name`, which names its default output directory (`reports/<name>/`). The
/// name is not echoed (it may hold a control character).
fn scenario_name(name: &S<String>, r: &mut Reporter<'_>) -> Option<String> {
    if !is_plain_name(&name.value) {
        r.bad(
            name,
            format!(
                "the name is the default output directory (reports/<name>/): {PLAIN_NAME_RULE}"
            ),
        );
        return None;
    }
    Some(name.value.clone())
}

pub(super) fn size(s: &RawSize, r: &mut Reporter<'_>) -> Option<SizeSpec> {
    let median_ok = s.median.value.is_finite() && s.median.value >= 1.0;
    if !median_ok {
        r.bad(
            &s.median,
            format!("median must be a number ≥ 1 token, got {}", s.median.value),
        );
    }
    let sigma_ok = s.sigma.value.is_finite() && (0.0..=5.0).contains(&s.sigma.value);
    if !sigma_ok {
        r.bad(
            &s.sigma,
            format!("sigma must be between 0 and 5, got {}", s.sigma.value),
        );
    }
    let max = match &s.max {
        Some(m) => r.positive(m, "max")?,
        None => DEFAULT_SIZE_MAX,
    };
    // A cap below the median would clamp more than half the draws to `max`: the distribution written is not
    // the one simulated, so refuse rather than silently reshape it.
    let max_ok = !median_ok || s.median.value <= max as f64;
    if !max_ok {
        match &s.max {
            Some(m) => r.bad(
                m,
                format!(
                    "max ({max}) must be at least the median ({}), or more than half the sizes would be clamped to it",
                    s.median.value
                ),
            ),
            None => r.bad(
                &s.median,
                format!("median must be at most the default max of {DEFAULT_SIZE_MAX} tokens"),
            ),
        }
    }
    (median_ok && sigma_ok && max_ok).then_some(SizeSpec {
        median: s.median.value,
        sigma: s.sigma.value,
        max,
    })
}

fn groups(raw: &[RawGroup], has_trace: bool, r: &mut Reporter<'_>) -> Option<Vec<GroupSpec>> {
    if raw.is_empty() && !has_trace {
        r.whole(
            "traffic.groups",
            "at least one group (or a `trace`) is required",
        );
        return None;
    }
    let mut seen = BTreeMap::new();
    let mut out = Vec::new();
    let mut ok = true;
    for g in raw {
        if seen.insert(g.name.value.clone(), ()).is_some() {
            r.bad(
                &g.name,
                format!(
                    "group name `{}` is used twice; names must be unique",
                    g.name.value
                ),
            );
            ok = false;
        }
        let users = r.positive(&g.users, "users").filter(|&u| {
            let fits = u <= MAX_USERS;
            if !fits {
                r.bad(&g.users, format!("at most {MAX_USERS} users per group"));
            }
            fits
        });
        let class = Class::parse(&g.class.value);
        if class.is_none() {
            r.bad(&g.class, format!("unknown class `{}`; expected `interactive`, `standard`, `batch` or `background`", g.class.value));
        }
        let arrival = match &g.arrival {
            RawArrival::Poisson { rate } => r
                .rate(rate)
                .map(|rate_per_sec| ArrivalSpec::Poisson { rate_per_sec }),
            RawArrival::OnOff {
                rate,
                mean_on,
                mean_off,
            } => {
                let (rate, on, off) = (
                    r.rate(rate),
                    r.positive_duration(mean_on),
                    r.positive_duration(mean_off),
                );
                Some(ArrivalSpec::OnOff {
                    rate_per_sec: rate?,
                    mean_on: on?,
                    mean_off: off?,
                })
            }
        };
        let input = size(&g.input_tokens, r);
        let output = size(&g.output_tokens, r);
        match (users, class, arrival, input, output) {
            (Some(users), Some(class), Some(arrival), Some(input_tokens), Some(output_tokens)) => {
                out.push(GroupSpec {
                    name: g.name.value.clone(),
                    users,
                    class,
                    feature: g.feature.clone().unwrap_or_else(|| g.name.value.clone()),
                    team: g.team.clone(),
                    arrival,
                    input_tokens,
                    output_tokens,
                })
            }
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

/// A spike that starts when traffic has already ended never happens: refuse it at its `start`
/// rather than let the user believe the run contains it.
fn spikes_within(raw: &[RawSpike], spikes: &[SpikeSpec], duration: Duration, r: &mut Reporter<'_>) {
    let end = Time::ZERO.saturating_add(duration);
    for (raw, spike) in raw.iter().zip(spikes) {
        if spike.start >= end {
            r.bad(
                &raw.start,
                format!(
                    "the spike starts at {} but traffic ends at {} (`duration`): it would never happen; start it earlier or lengthen `duration`",
                    spike.start.saturating_since(Time::ZERO),
                    duration
                ),
            );
        }
    }
}

fn spikes(raw: &[RawSpike], groups: &[RawGroup], r: &mut Reporter<'_>) -> Option<Vec<SpikeSpec>> {
    let mut out = Vec::new();
    let mut ok = true;
    for s in raw {
        let start = r.duration(&s.start);
        let len = r.positive_duration(&s.duration);
        let mult_ok = s.multiplier.value.is_finite() && s.multiplier.value > 0.0;
        if !mult_ok {
            r.bad(
                &s.multiplier,
                format!(
                    "multiplier must be a number > 0, got {}",
                    s.multiplier.value
                ),
            );
        }
        let mut indices = Vec::new();
        match &s.groups {
            None => indices.extend(0..groups.len()),
            Some(names) => {
                for name in names {
                    match groups.iter().position(|g| g.name.value == name.value) {
                        Some(i) => indices.push(i),
                        None => {
                            let known: Vec<&str> =
                                groups.iter().map(|g| g.name.value.as_str()).collect();
                            r.bad(
                                name,
                                format!(
                                    "no group is named `{}`; groups are: {}",
                                    name.value,
                                    policy::closest_names(&name.value, &known)
                                ),
                            );
                            ok = false;
                        }
                    }
                }
            }
        }
        match (start, len, mult_ok) {
            (Some(start), Some(len), true) => out.push(SpikeSpec {
                start: Time::ZERO.saturating_add(start),
                end: Time::ZERO.saturating_add(start).saturating_add(len),
                multiplier: s.multiplier.value,
                groups: indices,
            }),
            _ => ok = false,
        }
    }
    ok.then_some(out)
}

/// The scenario's policy blocks, as [`spillway_core::policy`] validates them (a policy file's
/// are the same text).
fn policy_blocks(raw: &RawScenario) -> PolicyBlocks<'_> {
    PolicyBlocks {
        layers: &raw.layers,
        policies: &raw.policies,
        models: raw.models.as_ref(),
        starts_at_utc: raw.starts_at_utc.as_ref(),
        keys: &raw.keys,
        events: &raw.events,
    }
}
