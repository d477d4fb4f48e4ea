//! `--format json`: the summary as one JSON document on stdout, for scripts. Values are the
//! `summary.csv` cells, typed: integers stay integers, exact decimals become numbers.

use serde_json::{Map, Value, json};
use spillway_report::csv_out::{SUMMARY_COLUMNS, summary_fields};
use spillway_sim::metrics::PolicyMetrics;
use spillway_sim::scenario::Class;
use std::path::Path;

/// How `simulate` prints its summary.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// The aligned comparison table (for people).
    Table,
    /// One JSON document (for scripts): `{scenario, seed, out, summary: [...], rejections: [...]}`.
    Json,
}

fn typed(cell: String) -> Value {
    if cell.is_empty() {
        // An absent value (no completed request, no budget) is null, not "".
        return Value::Null;
    }
    if let Ok(n) = cell.parse::<u64>() {
        return Value::from(n);
    }
    match cell
        .parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
    {
        Some(n) => Value::Number(n),
        None => Value::String(cell),
    }
}

fn row(run: &PolicyMetrics, class: Option<Class>) -> Value {
    let cells = summary_fields(run, class);
    let object: Map<String, Value> = SUMMARY_COLUMNS
        .iter()
        .zip(cells)
        .map(|(name, cell)| (name.to_string(), typed(cell)))
        .collect();
    Value::Object(object)
}

/// `1 policy`, `2 policies`: a count with the noun in the right number.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// The JSON summary of a run.
pub fn summary_json(scenario: &str, seed: u64, out: &Path, runs: &[PolicyMetrics]) -> Value {
    let mut summary = Vec::new();
    let mut rejections = Vec::new();
    for run in runs {
        for class in Class::ALL {
            if run.class(class).offered > 0 {
                summary.push(row(run, Some(class)));
            }
        }
        summary.push(row(run, None));
        for (layer, rejected) in &run.rejections_by_layer {
            rejections.push(json!({"policy": run.policy, "layer": layer, "rejected": rejected}));
        }
    }
    json!({
        "scenario": scenario,
        "seed": seed,
        "out": out.display().to_string(),
        "summary": summary,
        "rejections": rejections,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_keep_their_type() {
        assert_eq!(typed("42".into()), json!(42));
        assert_eq!(typed("4167.679".into()), json!(4167.679));
        assert_eq!(typed("token-bucket".into()), json!("token-bucket"));
        assert_eq!(typed(String::new()), Value::Null);
        assert_eq!(count(1, "policy", "policies"), "1 policy");
        assert_eq!(count(0, "policy", "policies"), "0 policies");
    }
}
