//! Sweeps: each headline metric against the swept parameter, one line per policy.

use super::{LineChart, Series, slug};

/// One measured point of a sweep: a policy's metric at one parameter value.
#[derive(Debug, Clone, PartialEq)]
pub struct SweepPoint {
    /// The policy.
    pub policy: String,
    /// The swept parameter's value.
    pub parameter: f64,
    /// The metric's value.
    pub value: f64,
}

/// Sweeps have few points: up to this many per line, each point gets a dot.
const DOTS_UP_TO: usize = 20;

/// Milliseconds from which a latency axis reads in seconds (`120 s`, not `120000`).
const SECONDS_FROM_MS: f64 = 10_000.0;

/// A chart of `metric` (with its unit, e.g. `p99 latency (ms)`) against `parameter` (e.g.
/// `provider.rpm`); policies in order of first appearance, points sorted by parameter. A
/// metric in ms whose values reach `SECONDS_FROM_MS` is drawn in seconds.
pub fn sweep_chart(parameter: &str, metric: &str, points: &[SweepPoint]) -> LineChart {
    let in_seconds =
        metric.ends_with("(ms)") && points.iter().any(|p| p.value.abs() >= SECONDS_FROM_MS);
    let (y_label, scale) = if in_seconds {
        (format!("{}(s)", metric.trim_end_matches("(ms)")), 1e-3)
    } else {
        (metric.to_string(), 1.0)
    };
    let what = metric.rsplit_once(" (").map_or(metric, |(what, _)| what);
    let mut chart = LineChart::new(
        &format!("sweep-{}-{}", slug(parameter), slug(metric)),
        &format!("{what} against {parameter}"),
        parameter,
        &y_label,
    );
    let mut policies: Vec<&str> = Vec::new();
    for p in points {
        if !policies.contains(&p.policy.as_str()) {
            policies.push(&p.policy);
        }
    }
    chart.series = policies
        .iter()
        .enumerate()
        .map(|(color, policy)| {
            let mut line: Vec<(f64, f64)> = points
                .iter()
                .filter(|p| p.policy == *policy)
                .map(|p| (p.parameter, p.value * scale))
                .collect();
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                name: (*policy).to_string(),
                color,
                points: line,
                dashed: false,
                halo: false,
            }
        })
        .collect();
    chart.point_markers = chart.series.iter().all(|s| s.points.len() <= DOTS_UP_TO);
    chart
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_sorted_line_per_policy() {
        let p = |policy: &str, parameter, value| SweepPoint {
            policy: policy.into(),
            parameter,
            value,
        };
        let chart = sweep_chart(
            "provider.rpm",
            "p99 latency (ms)",
            &[p("a", 500.0, 3.0), p("b", 500.0, 4.0), p("a", 250.0, 9.0)],
        );
        assert_eq!(chart.stem, "sweep-provider-rpm-p99-latency-ms");
        assert_eq!(chart.series.len(), 2);
        assert_eq!(chart.series[0].points, vec![(250.0, 9.0), (500.0, 3.0)]);
        assert_eq!(chart.title, "p99 latency against provider.rpm");
        assert!(chart.point_markers, "three points get dots");
    }

    #[test]
    fn long_latencies_read_in_seconds() {
        let p = |value| SweepPoint {
            policy: "a".into(),
            parameter: 1.0,
            value,
        };
        let chart = sweep_chart("x", "p99 latency (ms)", &[p(120_000.0), p(500.0)]);
        assert_eq!(chart.y_label, "p99 latency (s)");
        assert_eq!(chart.series[0].points, vec![(1.0, 120.0), (1.0, 0.5)]);
        assert_eq!(
            chart.stem, "sweep-x-p99-latency-ms",
            "file names stay stable"
        );
        let short = sweep_chart("x", "p99 latency (ms)", &[p(900.0)]);
        assert_eq!(short.y_label, "p99 latency (ms)");
        let counts = sweep_chart("x", "rejected requests", &[p(120_000.0)]);
        assert_eq!(counts.series[0].points, vec![(1.0, 120_000.0)]);
    }
}
