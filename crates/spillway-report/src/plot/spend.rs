//! Spend over simulated time, read against the budget caps. A cap limits the spend of ONE
//! period (a UTC hour, day or month), so each line climbs within a period and drops to zero
//! where the next one begins: a $50-a-day cap is compared with one day's spend, never with
//! the cumulative spend of a run that crosses midnight. Caps keyed by user, feature or API
//! key limit a part of the spend, not the total: they are not drawn here (the key caps have
//! their own table in the page).

use super::latency::color_of;
use super::timeline::{MAX_POINTS, TimeAxis, axis_markers};
use super::{LineChart, Section, Series, thin};
use crate::clock::RunClock;
use crate::input::{BudgetLine, RunData, TimePoint};
use spillway_core::budget::Period;

const ABOUT: &str = "Money spent on completed requests (exact nano-USD in the CSVs), as billed. \
    With a budget, each line is the spend of the current budget period: it climbs as requests \
    are billed and drops to zero where a new period begins on the UTC calendar, so it reads \
    directly against that period's cap (dashed). Only caps on all spend together are drawn: \
    API-key caps, if any, are read in the table below, per-user and per-feature caps are \
    listed in budget.csv. Spend follows completed work: a policy that completes more spends \
    more.";

/// Spend per policy: per budget period when the global caps have one (one chart per
/// period kind), else accumulated over the run.
pub fn spend_section(data: &RunData) -> Section {
    let axis = TimeAxis::for_run(data);
    let clock = RunClock::of(data.scenario_yaml.as_deref());
    let global: Vec<&BudgetLine> = data
        .budgets
        .iter()
        .flatten()
        .filter(|b| b.is_global())
        .collect();
    let mut kinds: Vec<Option<Period>> = Vec::new();
    for b in &global {
        if !kinds.contains(&b.period) {
            kinds.push(b.period);
        }
    }
    if kinds.is_empty() {
        kinds.push(None);
    }
    kinds.sort();
    let charts = kinds
        .into_iter()
        .map(|period| {
            let caps: Vec<&BudgetLine> = global
                .iter()
                .copied()
                .filter(|b| b.period == period)
                .collect();
            chart_for(data, &axis, &clock, period, &caps)
        })
        .collect();
    Section {
        id: "spend",
        title: "Spend",
        about: ABOUT.to_string(),
        charts,
        // No budget.csv means the scenario sets no budget: nothing to warn about.
        note: None,
    }
}

fn chart_for(
    data: &RunData,
    axis: &TimeAxis,
    clock: &RunClock,
    period: Option<Period>,
    caps: &[&BudgetLine],
) -> LineChart {
    let (stem, title, y_label) = match period {
        Some(p) => (
            format!("spend-per-{}", p.name()),
            format!("Spend in each budget {} (UTC)", p.name()),
            format!("spend this {} (USD)", p.name()),
        ),
        None => (
            "spend".to_string(),
            "Cumulative spend".to_string(),
            "spend (USD)".to_string(),
        ),
    };
    let mut chart = LineChart::new(&stem, &title, axis.label, &y_label);
    chart.x_from_zero = true;
    chart.markers = axis_markers(data, axis);
    let policies = data.policies();
    let mut last_t = 0.0f64;
    for (policy, points) in &data.timeseries {
        let line = per_period(points, axis.per_unit, |t_s| {
            period.map_or(0, |p| clock.period_id(p, t_s))
        });
        last_t = last_t.max(line.last().map_or(0.0, |p| p.0));
        chart.series.push(Series {
            name: policy.clone(),
            color: color_of(&policies, policy),
            points: line,
            dashed: false,
            halo: false,
        });
    }
    chart.series.extend(cap_lines(caps, &policies, last_t));
    chart
}

/// Spend accumulated within each period (`period_of` a second), dropping to zero where the
/// period changes; at most about [`MAX_POINTS`] points, each period's end kept exactly. A
/// row that merges several seconds (long runs) counts in the period of its first second.
fn per_period(
    points: &[TimePoint],
    per_unit: f64,
    period_of: impl Fn(u64) -> u64,
) -> Vec<(f64, f64)> {
    let mut segments: Vec<Vec<(f64, f64)>> = Vec::new();
    let mut current = None;
    let mut total = 0.0;
    for p in points {
        let id = period_of(p.t_s);
        if current != Some(id) {
            current = Some(id);
            total = 0.0;
            segments.push(vec![(p.t_s as f64 / per_unit, 0.0)]);
        }
        total += p.spend_usd;
        if let Some(segment) = segments.last_mut() {
            segment.push(((p.t_s + p.seconds) as f64 / per_unit, total));
        }
    }
    let budget = MAX_POINTS.div_ceil(segments.len().max(1));
    segments
        .into_iter()
        .flat_map(|s| {
            let start = s.first().copied();
            let rest = thin(s.into_iter().skip(1).collect(), budget);
            start.into_iter().chain(rest)
        })
        .collect()
}

/// One dashed line per distinct cap: grey and named once when every policy has it, else in
/// the color of its policy.
fn cap_lines(caps: &[&BudgetLine], policies: &[&str], last_t: f64) -> Vec<Series> {
    let same = |a: &BudgetLine, b: &BudgetLine| a.name == b.name && a.limit_usd == b.limit_usd;
    let mut out: Vec<Series> = Vec::new();
    let mut drawn: Vec<&BudgetLine> = Vec::new();
    for cap in caps {
        if drawn.iter().any(|d| same(d, cap)) {
            continue;
        }
        drawn.push(cap);
        let owners: Vec<&str> = caps
            .iter()
            .filter(|c| same(c, cap))
            .filter_map(|c| c.policy.as_deref())
            .collect();
        let shared = cap.policy.is_none() || policies.iter().all(|p| owners.contains(p));
        let per = cap
            .period
            .map_or(String::new(), |p| format!(" per {}", p.name()));
        let line = |name: String, color: usize| Series {
            name,
            color,
            points: vec![(0.0, cap.limit_usd), (last_t, cap.limit_usd)],
            dashed: true,
            halo: false,
        };
        if shared {
            out.push(line(
                format!("budget {}: ${}{per}", cap.name, cap.limit_usd),
                7,
            ));
        } else {
            for owner in owners {
                out.push(line(
                    format!("budget {} ({owner}): ${}{per}", cap.name, cap.limit_usd),
                    color_of(policies, owner),
                ));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(t_s: u64, spend_usd: f64) -> TimePoint {
        TimePoint {
            t_s,
            seconds: 1,
            offered: 0,
            admitted: 0,
            rejected: 0,
            upstream_429: 0,
            queued: 0,
            queued_by_class: None,
            spend_usd,
        }
    }

    #[test]
    fn spend_restarts_from_zero_in_each_period() {
        let points: Vec<TimePoint> = (0..4).map(|t| point(t, 1.0)).collect();
        let line = per_period(&points, 1.0, |t| t / 2);
        assert_eq!(
            line,
            vec![
                (0.0, 0.0),
                (1.0, 1.0),
                (2.0, 2.0),
                (2.0, 0.0),
                (3.0, 1.0),
                (4.0, 2.0)
            ]
        );
        let peak = line.iter().map(|p| p.1).fold(0.0, f64::max);
        assert_eq!(peak, 2.0, "never the run's total of 4");
    }

    #[test]
    fn a_cap_every_policy_has_is_drawn_once() {
        let cap = |policy: &str, limit_usd| BudgetLine {
            policy: Some(policy.to_string()),
            name: "daily".to_string(),
            scope: Some("global".to_string()),
            period: Some(Period::Day),
            limit_usd,
            spent_usd: None,
        };
        let (a, b) = (cap("a", 50.0), cap("b", 50.0));
        let lines = cap_lines(&[&a, &b], &["a", "b"], 10.0);
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].name, "budget daily: $50 per day");
        let c = cap("b", 20.0);
        let lines = cap_lines(&[&a, &c], &["a", "b"], 10.0);
        let names: Vec<&str> = lines.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "budget daily (a): $50 per day",
                "budget daily (b): $20 per day"
            ]
        );
    }
}
