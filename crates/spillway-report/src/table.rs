//! The policy × class comparison table printed after a run.

use crate::format::{ms, usd};
use spillway_sim::metrics::{ClassStats, PolicyMetrics};
use spillway_sim::scenario::Class;
use std::fmt::Write;

const HEADER: [&str; 13] = [
    "policy",
    "class",
    "offered",
    "admitted",
    "rejected",
    "shed",
    "completed",
    "failed",
    "p50 ms",
    "p99 ms",
    "max ms",
    "429s",
    "cost $",
];

fn cells(policy: &str, class: &str, s: &ClassStats) -> [String; 13] {
    [
        policy.to_string(),
        class.to_string(),
        s.offered.to_string(),
        s.admitted.to_string(),
        s.rejected.to_string(),
        s.shed.to_string(),
        s.completed.to_string(),
        (s.failed + s.unfinished).to_string(),
        ms(s.latency.quantile(0.5)),
        ms(s.latency.quantile(0.99)),
        ms(s.latency.max()),
        s.upstream_429.to_string(),
        usd(s.cost_nano_usd),
    ]
}

/// Render the table: text columns left-aligned, numbers right-aligned.
pub fn render(runs: &[PolicyMetrics]) -> String {
    let mut rows: Vec<[String; 13]> = vec![HEADER.map(str::to_string)];
    for run in runs {
        for class in Class::ALL {
            let stats = run.class(class);
            if stats.offered > 0 {
                rows.push(cells(&run.policy, class.name(), stats));
            }
        }
        rows.push(cells(&run.policy, "all", &run.total()));
    }
    let widths: Vec<usize> = (0..HEADER.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            let sep = if c == 0 { "" } else { "  " };
            if c < 2 {
                let _ = write!(out, "{sep}{cell:<w$}", w = widths[c]);
            } else {
                let _ = write!(out, "{sep}{cell:>w$}", w = widths[c]);
            }
        }
        out.push('\n');
        if i == 0 {
            let total: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
            out.push_str(&"-".repeat(total));
            out.push('\n');
        }
    }
    out
}
