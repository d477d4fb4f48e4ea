//! The budget's CSVs: extra `summary.csv` columns, `spend.csv` and `budget.csv`. Written only
//! when some policy has a `budget:`, so runs without budgets keep their files byte for byte.
//!
//! API keys appear only as labels that are safe to print: `name…last4` (at most four secret
//! characters), or the bare name for a key with a synthetic secret.

use crate::AtomicFile;
use crate::format::usd_exact;
use spillway_sim::metrics::{BudgetMetrics, PolicyMetrics};
use std::io;
use std::path::Path;

/// The last columns of `summary.csv` (empty cells for a policy without a budget): `degraded` (routed to a cheaper model than asked, by the ladder or shedding's
/// downgrade), `budget_rejected` (refused by a cap or for want of a usable API key; counted in
/// `rejected`, or in `shed` when refused after waiting for a reset), `best_model_share`
/// (provider completions on the requested model / provider completions), `estimate_error_p95`
/// (USD, p95 of |estimate − actual| over the whole run: the same on every row of a policy).
pub const BUDGET_SUMMARY_COLUMNS: &[&str] = &[
    "degraded",
    "budget_rejected",
    "best_model_share",
    "estimate_error_p95",
];

/// `spend.csv` columns.
pub const SPEND_COLUMNS: &[&str] = &["policy", "user", "feature", "key", "requests", "spend_usd"];

/// `budget.csv` columns (the report reads `policy`, `name` and `limit_usd`).
pub const BUDGET_COLUMNS: &[&str] = &[
    "policy",
    "name",
    "scope",
    "period",
    "limit_usd",
    "spent_usd",
];

/// Whether any run has budget metrics (and the budget files are written).
pub fn any_budget(runs: &[PolicyMetrics]) -> bool {
    runs.iter().any(|r| r.budget.is_some())
}

/// The appended summary fields of a row (`class` index, or `None` for `all`); empty for a
/// policy without a budget.
pub fn budget_summary_fields(run: &PolicyMetrics, class: Option<usize>) -> Vec<String> {
    let Some(b) = &run.budget else {
        return vec![String::new(); BUDGET_SUMMARY_COLUMNS.len()];
    };
    vec![
        BudgetMetrics::count(&b.degraded, class).to_string(),
        BudgetMetrics::count(&b.budget_rejected, class).to_string(),
        b.best_model_share(class)
            .map_or_else(String::new, |v| format!("{v:.4}")),
        b.estimate_error_p95_nano_usd
            .map_or_else(String::new, usd_exact),
    ]
}

fn csv_error(e: csv::Error) -> io::Error {
    io::Error::other(e)
}

/// Write `spend.csv`: billed requests and spend per policy, user, feature and key.
pub fn write_spend(path: &Path, runs: &[PolicyMetrics]) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(AtomicFile::create(path)?);
    w.write_record(SPEND_COLUMNS).map_err(csv_error)?;
    for run in runs {
        let Some(b) = &run.budget else { continue };
        for ((user, feature, key), spend) in &b.spend {
            let feature = b.features.get(*feature as usize).map_or("", String::as_str);
            let key = b.key_labels.get(key).map_or("", String::as_str);
            w.write_record([
                run.policy.as_str(),
                &user.to_string(),
                feature,
                key,
                &spend.requests.to_string(),
                &usd_exact(spend.nano_usd),
            ])
            .map_err(csv_error)?;
        }
    }
    w.into_inner().map_err(|e| e.into_error())?.commit()
}

/// Write `budget.csv`: every cap of every policy with its limit and spend.
pub fn write_budget(path: &Path, runs: &[PolicyMetrics]) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(AtomicFile::create(path)?);
    w.write_record(BUDGET_COLUMNS).map_err(csv_error)?;
    for run in runs {
        let Some(b) = &run.budget else { continue };
        for cap in &b.caps {
            w.write_record([
                run.policy.as_str(),
                &cap.name,
                cap.scope.name(),
                cap.period.name(),
                &usd_exact(cap.limit_nano_usd),
                &usd_exact(cap.spent_nano_usd),
            ])
            .map_err(csv_error)?;
        }
    }
    w.into_inner().map_err(|e| e.into_error())?.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_csv_has_the_budget_columns_after_over_admission() {
        // `summary_fields` appends the budget fields right after `over_admission_pct`.
        let all = crate::csv_out::SUMMARY_COLUMNS;
        let at = all
            .iter()
            .position(|c| *c == "over_admission_pct")
            .map(|i| i + 1);
        let end = at.map(|i| i + BUDGET_SUMMARY_COLUMNS.len());
        assert_eq!(
            at.zip(end).and_then(|(a, b)| all.get(a..b)),
            Some(BUDGET_SUMMARY_COLUMNS),
            "{all:?}"
        );
    }
}
