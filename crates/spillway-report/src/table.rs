//! The policy × class comparison table printed after a run, within 100 columns.
//!
//! Its cells are taken from the `summary.csv` row itself (a subset of its columns, under the
//! same names), so the table and the file can never disagree; numbers are shown in human
//! units. Columns that are empty or zero in every row are left out, then the least
//! important ones until the table fits; `summary.csv` and `report.html` have them all.

use crate::csv_out::{SUMMARY_COLUMNS, summary_rows};
use crate::headline::{answers, render_text};
use crate::units::human;
use spillway_sim::metrics::PolicyMetrics;
use spillway_sim::scenario::report::headline_of;
use std::fmt::Write;

/// The widest line printed.
const WIDTH: usize = 100;

/// The `summary.csv` columns shown, in order, with their console headers.
const SHOWN: [(&str, &str); 13] = [
    ("policy", "policy"),
    ("class", "class"),
    ("offered", "offered"),
    ("rejected", "rejected"),
    ("shed", "shed"),
    ("abandoned", "abandoned"),
    ("completed", "completed"),
    ("p50_ms", "p50"),
    ("p99_ms", "p99"),
    ("p99_wait_ms", "p99 wait"),
    ("upstream_429", "429s"),
    ("cost_usd", "cost"),
    ("fairness_jain", "jain"),
];

/// Columns dropped first when the table is too wide (least important first).
const DROP_ORDER: [&str; 6] = [
    "fairness_jain",
    "p99_wait_ms",
    "p50_ms",
    "offered",
    "shed",
    "abandoned",
];

/// Render the table: text columns left-aligned, numbers right-aligned.
pub fn render(runs: &[PolicyMetrics]) -> String {
    let rows: Vec<Vec<String>> = runs.iter().flat_map(summary_rows).collect();
    render_rows(&rows)
}

/// [`render`] from the runs' [`summary_rows`], for a caller that kept only those.
pub fn render_rows(rows: &[Vec<String>]) -> String {
    let index = |name: &str| SUMMARY_COLUMNS.iter().position(|c| *c == name);
    let mut shown: Vec<(usize, &str, &str)> = SHOWN
        .iter()
        .filter_map(|(name, header)| index(name).map(|i| (i, *name, *header)))
        .filter(|(i, _, _)| *i < 2 || rows.iter().any(|r| !matches!(r[*i].as_str(), "" | "0")))
        .collect();
    let cell = |r: &Vec<String>, i: usize, name: &str| match r[i].parse::<f64>() {
        Ok(v) if i >= 2 => human(name, v),
        _ => r[i].clone(),
    };
    let width_of = |i: usize, name: &str, header: &str| {
        rows.iter()
            .map(|r| cell(r, i, name).chars().count())
            .chain([header.len()])
            .max()
            .unwrap_or(0)
    };
    let total = |shown: &[(usize, &str, &str)]| -> usize {
        shown
            .iter()
            .map(|(i, n, h)| width_of(*i, n, h))
            .sum::<usize>()
            + 2 * shown.len()
    };
    for drop in DROP_ORDER {
        if total(&shown) <= WIDTH {
            break;
        }
        shown.retain(|(_, name, _)| *name != drop);
    }
    let widths: Vec<usize> = shown.iter().map(|(i, n, h)| width_of(*i, n, h)).collect();
    let mut lines: Vec<Vec<String>> = vec![shown.iter().map(|(_, _, h)| h.to_string()).collect()];
    lines.extend(
        rows.iter()
            .map(|r| shown.iter().map(|(i, n, _)| cell(r, *i, n)).collect()),
    );
    let mut out = String::new();
    for (l, line) in lines.iter().enumerate() {
        let mut text = String::new();
        for (c, value) in line.iter().enumerate() {
            let sep = if c == 0 { "" } else { "  " };
            let w = widths[c];
            let _ = if c < 2 {
                write!(text, "{sep}{value:<w$}")
            } else {
                write!(text, "{sep}{value:>w$}")
            };
        }
        out.push_str(text.trim_end());
        out.push('\n');
        if l == 0 {
            let rule: usize = widths.iter().sum::<usize>() + 2 * (widths.len() - 1);
            out.push_str(&"-".repeat(rule));
            out.push('\n');
        }
    }
    out
}

/// The scenario's headline questions (from its YAML text) answered for `runs`, as console
/// text; empty when the scenario asks none.
pub fn headline(yaml: &str, runs: &[PolicyMetrics]) -> String {
    render_text(&answers(
        &headline_of(yaml),
        SUMMARY_COLUMNS,
        &runs.iter().flat_map(summary_rows).collect::<Vec<_>>(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shown_column_exists_in_the_csv() {
        let names = SHOWN.iter().map(|(n, _)| *n).chain(DROP_ORDER);
        for name in names {
            assert!(SUMMARY_COLUMNS.contains(&name), "{name}");
        }
    }
}
