//! Latency CDFs: one chart per class, one line per policy, from `latency.csv`.

use super::{LineChart, Section, Series, slug};
use crate::input::RunData;

const ABOUT: &str = "End-to-end latency (arrival at the gateway to the last byte of the response, \
queue wait and retries included) of completed requests, tail first: the Y axis counts nines, so \
1 is p90, 2 is p99, 3 is p99.9, 4 is p99.99 and the top of each line is the maximum. A point \
(x, y) says that all but 10^-y of the class's completed requests took at most x seconds: the \
further left, the better. Every panel has the same Y axis; X follows each class's own range. Rejected and shed requests are \
not in these curves: read them with the summary tables.";

/// Where the maximum (quantile 1) is drawn on the nines axis: just above p99.99.
const MAX_NINES: f64 = 4.5;

/// A quantile on the nines axis: `-log10(1 - q)`, so the tail gets most of the height.
pub fn nines(q: f64) -> f64 {
    if q >= 1.0 {
        MAX_NINES
    } else {
        (-(1.0 - q).log10()).clamp(0.0, MAX_NINES)
    }
}

/// One CDF chart per class in `latency.csv` (classes in file order).
pub fn latency_section(data: &RunData) -> Section {
    let Some(points) = &data.latency else {
        return Section::skipped(
            "latency",
            "Latency distribution",
            ABOUT.to_string(),
            "latency.csv is absent: no latency CDF (runs made before it existed; rerun simulate)."
                .to_string(),
        );
    };
    let policies = data.policies();
    let mut classes: Vec<&str> = Vec::new();
    for p in points {
        if !classes.contains(&p.class.as_str()) {
            classes.push(&p.class);
        }
    }
    let charts: Vec<LineChart> = classes
        .iter()
        .map(|class| {
            let mut chart = LineChart::new(
                &format!("latency-cdf-{}", slug(class)),
                &format!("Latency percentiles to the max: {class} requests"),
                "end-to-end latency (s)",
                "nines (1 = p90, 2 = p99, 3 = p99.9)",
            );
            chart.y_range = Some((0.0, MAX_NINES));
            chart.x_from_zero = true;
            let mut lines: Vec<&str> = Vec::new();
            for p in points.iter().filter(|p| p.class == *class) {
                if !lines.contains(&p.policy.as_str()) {
                    lines.push(&p.policy);
                }
            }
            chart.series = lines
                .into_iter()
                .map(|policy| Series {
                    name: policy.to_string(),
                    color: color_of(&policies, policy),
                    points: points
                        .iter()
                        .filter(|p| p.class == *class && p.policy == policy)
                        .map(|p| (p.latency_ms / 1000.0, nines(p.quantile)))
                        .collect(),
                    dashed: false,
                    halo: false,
                })
                .collect();
            chart
        })
        .collect();
    Section {
        id: "latency",
        title: "Latency distribution",
        about: ABOUT.to_string(),
        charts,
        note: None,
    }
}

/// A policy's palette index: its position in the summary, so colors agree across charts.
pub fn color_of(policies: &[&str], policy: &str) -> usize {
    policies
        .iter()
        .position(|p| *p == policy)
        .unwrap_or(policies.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nines_spread_the_tail() {
        assert!((nines(0.9) - 1.0).abs() < 1e-9);
        assert!((nines(0.999) - 3.0).abs() < 1e-9);
        assert_eq!(nines(1.0), MAX_NINES);
        assert_eq!(nines(0.0), 0.0);
    }
}
