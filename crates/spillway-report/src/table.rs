//! The policy × class comparison table printed after a run.
//!
//! Its cells are taken from the `summary.csv` row itself (a subset of its columns, under the
//! same names), so the table and the file can never disagree.

use crate::csv_out::{SUMMARY_COLUMNS, summary_fields};
use spillway_sim::metrics::PolicyMetrics;
use spillway_sim::scenario::Class;
use std::fmt::Write;

/// The `summary.csv` columns shown, in order.
const SHOWN: [&str; 13] = [
    "policy",
    "class",
    "offered",
    "rejected",
    "shed",
    "abandoned",
    "completed",
    "p50_ms",
    "p99_ms",
    "p99_wait_ms",
    "upstream_429",
    "cost_usd",
    "fairness_jain",
];

fn select(fields: Vec<String>) -> Vec<String> {
    SHOWN
        .iter()
        .map(|name| {
            SUMMARY_COLUMNS
                .iter()
                .position(|c| c == name)
                .and_then(|i| fields.get(i).cloned())
                .unwrap_or_default()
        })
        .collect()
}

/// Render the table: text columns left-aligned, numbers right-aligned.
pub fn render(runs: &[PolicyMetrics]) -> String {
    let mut rows: Vec<Vec<String>> = vec![SHOWN.map(str::to_string).to_vec()];
    for run in runs {
        for class in Class::ALL {
            if run.class(class).offered > 0 {
                rows.push(select(summary_fields(run, Some(class))));
            }
        }
        rows.push(select(summary_fields(run, None)));
    }
    let widths: Vec<usize> = (0..SHOWN.len())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shown_column_exists_in_the_csv() {
        for name in SHOWN {
            assert!(SUMMARY_COLUMNS.contains(&name), "{name}");
        }
    }
}
