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

/// A chart of `metric` (with its unit, e.g. `p99 latency (ms)`) against `parameter` (e.g.
/// `provider.rpm`); policies in order of first appearance, points sorted by parameter.
pub fn sweep_chart(parameter: &str, metric: &str, points: &[SweepPoint]) -> LineChart {
    let mut chart = LineChart::new(
        &format!("sweep-{}-{}", slug(parameter), slug(metric)),
        &format!("{metric} against {parameter}"),
        parameter,
        metric,
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
                .map(|p| (p.parameter, p.value))
                .collect();
            line.sort_by(|a, b| a.0.total_cmp(&b.0));
            Series {
                name: (*policy).to_string(),
                color,
                points: line,
                dashed: false,
            }
        })
        .collect();
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
    }
}
