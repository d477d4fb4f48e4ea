//! The comparison table of the HTML report: one row per class and policy, with the best value
//! of each column among the policies of the same class highlighted.

use super::escape;
use crate::input::SummaryTable;
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
        "admitted" | "completed" => Better::Higher,
        "rejected" | "shed" | "failed" | "upstream_429" | "retries" | "unfinished"
        | "max_wait_ms" => Better::Lower,
        c if c.ends_with("_ms") => Better::Lower,
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
    let direction = better(table.columns[col]);
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

/// The `<table>` element.
pub fn comparison_table(table: &SummaryTable) -> String {
    let mut out = String::from("<table class=\"comparison\">\n<thead><tr>");
    let order = [1usize, 0].into_iter().chain(2..table.columns.len());
    let order: Vec<usize> = order.collect();
    for &c in &order {
        let hint = match better(table.columns[c]) {
            Better::Lower => " title=\"lower is better\"",
            Better::Higher => " title=\"higher is better\"",
            Better::Neither => "",
        };
        let _ = write!(out, "<th{hint}>{}</th>", escape(table.columns[c]));
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
            let cell = row.get(c).map(String::as_str).unwrap_or("");
            let mut classes = Vec::new();
            if c >= 2 {
                classes.push("num");
            }
            if is_best(table, r, c) {
                classes.push("best");
            }
            let attr = if classes.is_empty() {
                String::new()
            } else {
                format!(" class=\"{}\"", classes.join(" "))
            };
            let _ = write!(out, "<td{attr}>{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody>\n</table>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> SummaryTable {
        let row = |cells: &[&str]| cells.iter().map(|c| c.to_string()).collect();
        SummaryTable {
            columns: vec!["policy", "class", "completed", "p99_ms", "offered"],
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
    }
}
