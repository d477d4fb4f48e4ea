//! How much work a scenario asks for, estimated before any run, and the bound it must stay
//! under.
//!
//! Why: a scenario that validates must not hang. `rate: 1e12/s`, on/off sessions of 1 ns or a
//! spike ×1e9 each validate as numbers, but would generate more events than any run can
//! process. The estimate is the expected number of traffic events (arrivals, session starts
//! of on/off users, a leaked key's attacker requests) over the traffic duration, times the
//! number of policies (each replays the same traffic). Over the bound, `validate` refuses with the estimate and the
//! bound; `--max-events` raises the bound. The time series is bounded the same way (one row per
//! policy per row width of traffic and drain, ~64 bytes each; the width is automatic, see
//! `metrics::auto_step_s`, or forced by `--timeseries-step`): `--max-rows`.

use super::{ArrivalSpec, Scenario};
use crate::metrics::{auto_step_s, rows_per_policy};
use spillway_core::{Duration, Time};
use std::sync::atomic::{AtomicU64, Ordering};

/// Default bound on traffic events over all policies: 2 × 10⁹, about half an hour of
/// simulation at the measured ~1.2 M requests/s.
pub const DEFAULT_MAX_EVENTS: u64 = 2_000_000_000;

/// The bound in force for this process: set once by the CLI's `--max-events` before any
/// scenario is read (a process-wide setting, like `--threads`).
static MAX_EVENTS: AtomicU64 = AtomicU64::new(DEFAULT_MAX_EVENTS);

/// Default bound on timeseries.csv rows: 5 × 10⁶ (about 320 MB). Automatic widths keep a run
/// under 10⁵ rows per policy, so this binds only a narrow `--timeseries-step` (or 50+ policies).
pub const DEFAULT_MAX_ROWS: u64 = 5_000_000;

static MAX_ROWS: AtomicU64 = AtomicU64::new(DEFAULT_MAX_ROWS);

/// Set the bound on time-series rows (the CLI's `--max-rows`).
pub fn set_max_rows(max: u64) {
    MAX_ROWS.store(max, Ordering::Relaxed);
}

/// Set the bound on traffic events (the CLI's `--max-events`).
pub fn set_max_events(max: u64) {
    MAX_EVENTS.store(max, Ordering::Relaxed);
}

/// The bound on traffic events in force.
pub fn max_events() -> u64 {
    MAX_EVENTS.load(Ordering::Relaxed)
}

/// Expected traffic events of `scenario` over `duration`, summed over its policies (a float:
/// hostile inputs overflow any integer; the comparison with the bound is all that matters).
pub fn estimated_events(scenario: &Scenario, duration: Duration) -> f64 {
    let secs = duration.as_secs_f64();
    let per_run: f64 = scenario
        .groups
        .iter()
        .enumerate()
        .map(|(index, g)| {
            let users = g.users as f64;
            // Extra arrivals inside spikes: (multiplier − 1) × rate × length, when it adds.
            let spike_secs: f64 = scenario
                .spikes
                .iter()
                .filter(|s| s.groups.contains(&index) && s.multiplier > 1.0)
                .map(|s| (s.multiplier - 1.0) * s.end.saturating_since(s.start).as_secs_f64())
                .sum();
            match g.arrival {
                ArrivalSpec::Poisson { rate_per_sec } => rate_per_sec * users * (secs + spike_secs),
                ArrivalSpec::OnOff {
                    rate_per_sec,
                    mean_on,
                    mean_off,
                } => {
                    let cycle = (mean_on.as_secs_f64() + mean_off.as_secs_f64()).max(1e-9);
                    let sessions = users * secs / cycle;
                    let p_on = mean_on.as_secs_f64() / cycle;
                    rate_per_sec * users * p_on * (secs + spike_secs) + sessions
                }
                ArrivalSpec::Trace => 0.0,
            }
        })
        .sum();
    (per_run + leak_events(scenario, duration)) * scenario.policies.len().max(1) as f64
}

/// Attacker requests of the scenario's key leaks over `duration`: each leak sends at its rate
/// from its start until it is detected or traffic ends (as `traffic::leak` generates them).
/// Counted like arrivals, since every one is an event of every policy's run.
fn leak_events(scenario: &Scenario, duration: Duration) -> f64 {
    let horizon = Time::ZERO.saturating_add(duration);
    scenario.budget.as_ref().map_or(0.0, |b| {
        b.leaks
            .iter()
            .map(|l| {
                let active = l.until.min(horizon).saturating_since(l.from);
                l.rate_per_sec * active.as_secs_f64()
            })
            .sum()
    })
}

/// The width of a `timeseries.csv` row, in seconds, of `scenario` over `duration`: `forced`
/// (`--timeseries-step`) or the automatic width of its span (traffic + drain).
pub fn timeseries_step_s(scenario: &Scenario, duration: Duration, forced: Option<u64>) -> u64 {
    forced.unwrap_or_else(|| auto_step_s(duration.saturating_add(scenario.drain)))
}

/// `Err(what to say)` if `scenario` over `duration` exceeds the bounds in force, with rows of
/// the automatic width.
pub fn check(scenario: &Scenario, duration: Duration) -> Result<(), String> {
    check_with_step(scenario, duration, None)
}

/// [`check`] with rows `forced_step_s` seconds wide when given (`--timeseries-step`).
pub fn check_with_step(
    scenario: &Scenario,
    duration: Duration,
    forced_step_s: Option<u64>,
) -> Result<(), String> {
    let step = timeseries_step_s(scenario, duration, forced_step_s);
    let per_policy = rows_per_policy(duration.saturating_add(scenario.drain), step);
    let rows = per_policy as f64 * scenario.policies.len().max(1) as f64;
    let max_rows = MAX_ROWS.load(Ordering::Relaxed);
    if rows > max_rows as f64 {
        return Err(format!(
            "this run would write about {rows:.3e} rows of timeseries.csv (one per {step} s of \
             traffic and drain per policy, ~64 bytes each), more than the bound of {max_rows}; \
             shorten `duration`, choose a wider `--timeseries-step` or raise the bound with \
             `--max-rows N`"
        ));
    }
    let estimate = estimated_events(scenario, duration);
    let policies = scenario.policies.len();
    check_events(estimate, &format!("its {policies} policies"))
}

/// `Err(what to say)` if `estimate` traffic events, generated over `what` (e.g. "its 2
/// policies"), exceed the bound in force: one message for every command that runs scenarios.
pub fn check_events(estimate: f64, what: &str) -> Result<(), String> {
    let max = max_events();
    if estimate.is_finite() && estimate <= max as f64 {
        return Ok(());
    }
    Err(format!(
        "this run would generate about {estimate:.3e} traffic events over {what}, \
         more than the bound of {max}; shorten `duration`, lower the rates, users or spike \
         multipliers, lengthen on/off periods, or raise the bound with `--max-events N`"
    ))
}
