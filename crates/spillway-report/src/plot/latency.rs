//! Latency CDFs: one chart per class, one line per policy, from `latency.csv`.

use super::{LegendAt, LineChart, Section, Series, slug};
use crate::input::RunData;

const ABOUT: &str = "End-to-end latency (arrival at the gateway to the last byte of the response, \
queue wait and retries included) of completed requests. A point (x, y) says that a fraction y \
of the class's completed requests took at most x seconds: the further left and the steeper, \
the better; the top of each line is the tail (p99 and above). Rejected and shed requests are \
not in these curves: read them with the comparison table.";

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
    let charts = classes
        .iter()
        .map(|class| {
            let mut chart = LineChart::new(
                &format!("latency-cdf-{}", slug(class)),
                &format!("Latency CDF: {class} requests"),
                "end-to-end latency (s)",
                "fraction of completed requests",
            );
            chart.y_range = Some((0.0, 1.0));
            chart.legend = LegendAt::LowerRight;
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
                        .map(|p| (p.latency_ms / 1000.0, p.quantile))
                        .collect(),
                    dashed: false,
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
