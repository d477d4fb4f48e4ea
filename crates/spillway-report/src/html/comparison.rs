//! The comparison table of the HTML report: one row per class and policy, with the best value
//! of each column among the policies of the same class highlighted.

use super::escape;
use crate::csv_out::SUMMARY_COLUMNS;
use crate::input::SummaryTable;
use crate::units::human;
use std::fmt::Write;

/// Which way a column is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// Smaller is better (latency, rejections, 429s).
    Lower,
    /// Larger is better (work done).
    Higher,
    /// Neither: context, not a score (offered traffic, money that follows completed work).
    Neither,
}

/// Direction of a `summary.csv` column.
pub fn better(column: &str) -> Better {
    match column {
        "admitted" | "completed" | "fairness_jain" | "retry_success_rate" | "cache_served"
        | "best_model_share" => Better::Higher,
        "rejected" | "shed" | "failed" | "upstream_429" | "retries" | "unfinished"
        | "abandoned" | "waits_over_slo" | "never_served" | "wasted_calls"
        | "calls_per_success" | "escalations" | "budget_rejected" | "degraded"
        | "estimate_error_p95" | "key_downtime_s" => Better::Lower,
        c if c.ends_with("_ms") || c.ends_with("_pct") => Better::Lower,
        _ => Better::Neither,
    }
}

/// Row indices ordered by class (first appearance), then by policy (file order).
fn class_major(table: &SummaryTable) -> Vec<usize> {
    let mut classes: Vec<&str> = Vec::new();
    for row in &table.rows {
        if let Some(c) = row.get(1).filter(|c| !classes.contains(&c.as_str())) {
            classes.push(c);
        }
    }
    let class_of = |i: usize| table.rows[i].get(1).map(String::as_str).unwrap_or("");
    let mut order: Vec<usize> = (0..table.rows.len()).collect();
    order.sort_by_key(|i| classes.iter().position(|c| *c == class_of(*i)));
    order
}

/// Whether cell (`row`, `col`) holds the best value of its column among rows of its class.
/// Nothing is highlighted when every policy ties or only one policy ran.
pub fn is_best(table: &SummaryTable, row: usize, col: usize) -> bool {
    let direction = better(&table.columns[col]);
    if direction == Better::Neither {
        return false;
    }
    let value = |r: &Vec<String>| r.get(col).and_then(|v| v.parse::<f64>().ok());
    let class = table.rows[row].get(1);
    let peers: Vec<f64> = table
        .rows
        .iter()
        .filter(|r| r.get(1) == class)
        .filter_map(value)
        .collect();
    let best = match direction {
        Better::Lower => peers.iter().copied().fold(f64::INFINITY, f64::min),
        _ => peers.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    };
    let all_tie = peers.iter().all(|v| *v == best);
    !all_tie && value(&table.rows[row]) == Some(best)
}

/// Column groups of the full summary, so that each table fits a narrow window. A column
/// in no group lands in the last one, so a new `summary.csv` column is never hidden.
const GROUPS: [(&str, &[&str]); 4] = [
    (
        "Requests",
        &[
            "offered",
            "admitted",
            "rejected",
            "budget_rejected",
            "shed",
            "completed",
            "failed",
            "abandoned",
            "unfinished",
            "never_served",
            "degraded",
            "key_downtime_s",
        ],
    ),
    (
        "Latency and waiting",
        &[
            "p50_ms",
            "p95_ms",
            "p99_ms",
            "p999_ms",
            "max_ms",
            "mean_ms",
            "max_wait_ms",
            "p99_wait_ms",
            "mean_wait_ms",
            "mean_service_ms",
            "p99_all_ms",
            "waits_over_slo",
            "littles_law_error_pct",
        ],
    ),
    (
        "Upstream calls",
        &["upstream_calls", "upstream_429", "retries"],
    ),
    ("Money, tokens and fairness", &[]),
];

/// Most metric columns in one table (next to policy and class).
const PER_TABLE: usize = 7;

/// Which group a column belongs to (index into [`GROUPS`]). The upstream-behaviour columns
/// are one run of `summary.csv` (`wasted_calls` to `over_admission_pct`), taken from there.
fn group_of(column: &str) -> usize {
    let at = |name: &str| SUMMARY_COLUMNS.iter().position(|c| *c == name);
    let upstream_run = match (at("wasted_calls"), at("over_admission_pct"), at(column)) {
        (Some(first), Some(last), Some(i)) => (first..=last).contains(&i),
        _ => false,
    };
    if upstream_run {
        return 2;
    }
    GROUPS
        .iter()
        .position(|(_, names)| names.contains(&column))
        .unwrap_or(GROUPS.len() - 1)
}

/// The full summary as one `<table>` per column group; columns empty in every row (a
/// feature the scenario does not use) are left out.
pub fn comparison_table(table: &SummaryTable) -> String {
    let used = |c: usize| {
        table
            .rows
            .iter()
            .any(|r| r.get(c).is_some_and(|v| !v.is_empty()))
    };
    let mut out = String::new();
    for (g, (title, _)) in GROUPS.iter().enumerate() {
        let columns: Vec<usize> = (2..table.columns.len())
            .filter(|&c| group_of(&table.columns[c]) == g && used(c))
            .collect();
        if columns.is_empty() {
            continue;
        }
        let _ = writeln!(out, "<h3>{}</h3>", escape(title));
        // At most PER_TABLE metric columns side by side, so each table fits 800 px.
        for part in columns.chunks(PER_TABLE) {
            out.push_str("<div class=\"scroll\">\n");
            out.push_str(&group_table(table, part));
            out.push_str("</div>\n");
        }
    }
    out
}

fn group_table(table: &SummaryTable, columns: &[usize]) -> String {
    let mut out = String::from("<table class=\"comparison\">\n<thead><tr>");
    let order: Vec<usize> = [1usize, 0]
        .into_iter()
        .chain(columns.iter().copied())
        .collect();
    for &c in &order {
        let hint = match better(&table.columns[c]) {
            Better::Lower => " title=\"lower is better\"",
            Better::Higher => " title=\"higher is better\"",
            Better::Neither => "",
        };
        // A break opportunity after each underscore lets long names wrap in narrow windows.
        let name = escape(&table.columns[c]).replace('_', "_<wbr>");
        let _ = write!(out, "<th{hint}>{name}</th>");
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    let mut previous_class: Option<&str> = None;
    for r in class_major(table) {
        let row = &table.rows[r];
        let class = row.get(1).map(String::as_str);
        let first = previous_class != class;
        previous_class = class;
        out.push_str(if first {
            "<tr class=\"group\">"
        } else {
            "<tr>"
        });
        for &c in &order {
            out.push_str(&cell(table, r, c));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

/// One `<td>`: numbers in human units, the exact value from the CSV as a tooltip.
fn cell(table: &SummaryTable, r: usize, c: usize) -> String {
    let text = table.rows[r].get(c).map(String::as_str).unwrap_or("");
    if c < 2 {
        return format!("<td>{}</td>", escape(text));
    }
    let class = if is_best(table, r, c) {
        "num best"
    } else {
        "num"
    };
    let shown = text
        .parse::<f64>()
        .map_or_else(|_| text.to_string(), |v| human(&table.columns[c], v));
    format!(
        "<td class=\"{class}\" title=\"{}\">{}</td>",
        escape(text),
        escape(&shown)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> SummaryTable {
        let row = |cells: &[&str]| cells.iter().map(|c| c.to_string()).collect();
        SummaryTable {
            columns: ["policy", "class", "completed", "p99_ms", "offered"]
                .map(String::from)
                .to_vec(),
            rows: vec![
                row(&["a", "interactive", "10", "5.0", "20"]),
                row(&["a", "all", "10", "5.0", "20"]),
                row(&["b", "interactive", "12", "7.5", "20"]),
                row(&["b", "all", "10", "7.5", "20"]),
            ],
        }
    }

    #[test]
    fn best_respects_direction_and_compares_within_a_class() {
        let t = table();
        assert!(is_best(&t, 2, 2), "b completes more interactive requests");
        assert!(!is_best(&t, 0, 2));
        assert!(is_best(&t, 0, 3), "a has the lower p99");
        assert!(!is_best(&t, 2, 3));
        assert!(
            !is_best(&t, 1, 2) && !is_best(&t, 3, 2),
            "a tie is not a win"
        );
        assert!(!is_best(&t, 0, 4), "offered is context, never best");
    }

    #[test]
    fn the_table_groups_rows_by_class() {
        let html = comparison_table(&table());
        let a = html
            .find("<td>interactive</td><td>a</td>")
            .expect("a interactive");
        let b = html
            .find("<td>interactive</td><td>b</td>")
            .expect("b interactive");
        let all = html.find("<td>all</td><td>a</td>").expect("a all");
        assert!(a < b && b < all, "{html}");
        assert_eq!(html.matches("class=\"num best\"").count(), 3, "{html}");
        assert!(
            html.contains("<h3>Requests</h3>") && html.contains("<h3>Latency and waiting</h3>")
        );
    }
}
