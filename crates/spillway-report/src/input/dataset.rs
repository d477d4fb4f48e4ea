//! Everything a report shows, loaded from a run directory's files by column name.
//!
//! Required: `summary.csv` and `timeseries.csv`. Optional (a plot or section is skipped with a
//! note when absent): `latency.csv`, `rejections.csv`, `users.csv`, `budget.csv`, `spend.csv`,
//! `scenario.yaml`, `run.csv`.

use super::budget::{BudgetLine, KeySpend, load_budgets, load_key_spend};
use super::{CsvTable, Row, TimePoint};
use crate::ReportError;
use crate::csv_out::SUMMARY_COUNT_COLUMNS;
use std::path::{Path, PathBuf};

/// The rows of `summary.csv`, every column, so every metric is reachable in the page.
#[derive(Debug, Clone, Default)]
pub struct SummaryTable {
    /// Column names, in file order (`policy` and `class` first).
    pub columns: Vec<String>,
    /// Cells as written in the file (exact decimals), one row per policy and class.
    pub rows: Vec<Vec<String>>,
}

/// One point of a latency CDF (`latency.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct LatencyPoint {
    /// The policy.
    pub policy: String,
    /// The class (or `all`).
    pub class: String,
    /// Fraction of completed requests at or below `latency_ms` (0..=1).
    pub quantile: f64,
    /// The latency.
    pub latency_ms: f64,
}

/// Service received by one user (`users.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct UserShare {
    /// The policy.
    pub policy: String,
    /// The user's class.
    pub class: String,
    /// The user.
    pub user: String,
    /// Requests completed for the user.
    pub completed: u64,
    /// Tokens served to the user.
    pub tokens: u64,
}

/// Rejections by one layer (`rejections.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    /// The policy.
    pub policy: String,
    /// The blocking layer.
    pub layer: String,
    /// How many requests it refused.
    pub rejected: u64,
}

/// How the run was made (`run.csv`).
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    /// The scenario's name.
    pub scenario: String,
    /// The seed of every random stream.
    pub seed: u64,
    /// Seconds of traffic.
    pub duration_s: u64,
}

/// A run directory's contents, ready to plot.
#[derive(Debug, Clone)]
pub struct RunData {
    /// The directory.
    pub dir: PathBuf,
    /// `summary.csv`.
    pub summary: SummaryTable,
    /// `timeseries.csv`, per policy in file order.
    pub timeseries: Vec<(String, Vec<TimePoint>)>,
    /// `rejections.csv` (empty when absent).
    pub rejections: Vec<Rejection>,
    /// `latency.csv`.
    pub latency: Option<Vec<LatencyPoint>>,
    /// `users.csv`.
    pub users: Option<Vec<UserShare>>,
    /// `budget.csv`.
    pub budgets: Option<Vec<BudgetLine>>,
    /// `spend.csv`, summed per policy and API key.
    pub key_spend: Option<Vec<KeySpend>>,
    /// `scenario.yaml`, verbatim.
    pub scenario_yaml: Option<String>,
    /// `run.csv`.
    pub info: Option<RunInfo>,
}

impl RunData {
    /// Load `dir`; every error names the file (and line and column).
    pub fn load(dir: &Path) -> Result<RunData, ReportError> {
        let scenario_path = dir.join("scenario.yaml");
        let scenario_yaml = if scenario_path.exists() {
            Some(
                std::fs::read_to_string(&scenario_path).map_err(|source| ReportError::Read {
                    path: scenario_path,
                    source,
                })?,
            )
        } else {
            None
        };
        Ok(RunData {
            dir: dir.to_path_buf(),
            summary: load_summary(&CsvTable::read(&dir.join("summary.csv"))?)?,
            timeseries: super::timeseries::load(&dir.join("timeseries.csv"))?,
            rejections: optional(dir, "rejections.csv", load_rejections)?.unwrap_or_default(),
            latency: optional(dir, "latency.csv", load_latency)?,
            users: optional(dir, "users.csv", load_users)?,
            budgets: optional(dir, "budget.csv", load_budgets)?,
            key_spend: optional(dir, "spend.csv", load_key_spend)?,
            scenario_yaml,
            info: optional(dir, "run.csv", load_info)?.flatten(),
        })
    }

    /// Policies in summary order.
    pub fn policies(&self) -> Vec<&str> {
        let mut seen: Vec<&str> = Vec::new();
        for row in &self.summary.rows {
            if let Some(p) = row.first().filter(|p| !seen.contains(&p.as_str())) {
                seen.push(p);
            }
        }
        seen
    }
}

fn optional<T>(
    dir: &Path,
    name: &str,
    load: fn(&CsvTable) -> Result<T, ReportError>,
) -> Result<Option<T>, ReportError> {
    CsvTable::read_optional(&dir.join(name))?
        .map(|t| load(&t))
        .transpose()
}

pub(super) fn collect<T>(
    table: &CsvTable,
    mut each: impl FnMut(Row<'_>) -> Result<T, ReportError>,
) -> Result<Vec<T>, ReportError> {
    table.rows().map(&mut each).collect()
}

fn load_summary(t: &CsvTable) -> Result<SummaryTable, ReportError> {
    t.column("policy")?;
    t.column("class")?;
    let columns: Vec<String> = t.headers().to_vec();
    let indices = columns
        .iter()
        .map(|name| t.column(name))
        .collect::<Result<Vec<_>, _>>()?;
    let counts: Vec<bool> = columns
        .iter()
        .map(|name| SUMMARY_COUNT_COLUMNS.contains(&name.as_str()))
        .collect();
    let rows = collect(t, |row| {
        // Validate numbers now, so the HTML never shows garbage as a value (empty: absent):
        // a count is a non-negative integer, anything else a finite number.
        for (c, count) in indices.iter().zip(&counts).skip(2) {
            if row.text(*c).is_empty() {
                continue;
            }
            if *count {
                row.u64(*c)?;
            } else {
                row.f64(*c)?;
            }
        }
        Ok(indices.iter().map(|c| row.text(*c).to_string()).collect())
    })?;
    Ok(SummaryTable { columns, rows })
}

fn load_rejections(t: &CsvTable) -> Result<Vec<Rejection>, ReportError> {
    let (policy, layer, rejected) = (
        t.column("policy")?,
        t.column("layer")?,
        t.column("rejected")?,
    );
    collect(t, |row| {
        Ok(Rejection {
            policy: row.text(policy).to_string(),
            layer: row.text(layer).to_string(),
            rejected: row.u64(rejected)?,
        })
    })
}

fn load_latency(t: &CsvTable) -> Result<Vec<LatencyPoint>, ReportError> {
    let (policy, class) = (t.column("policy")?, t.column("class")?);
    let (quantile, latency) = (t.column("quantile")?, t.column("latency_ms")?);
    collect(t, |row| {
        Ok(LatencyPoint {
            policy: row.text(policy).to_string(),
            class: row.text(class).to_string(),
            quantile: row.f64(quantile)?,
            latency_ms: row.f64(latency)?,
        })
    })
}

fn load_users(t: &CsvTable) -> Result<Vec<UserShare>, ReportError> {
    let (policy, class, user) = (t.column("policy")?, t.column("class")?, t.column("user")?);
    let (completed, tokens) = (t.column("completed")?, t.column("tokens")?);
    collect(t, |row| {
        Ok(UserShare {
            policy: row.text(policy).to_string(),
            class: row.text(class).to_string(),
            user: row.text(user).to_string(),
            completed: row.u64(completed)?,
            tokens: row.u64(tokens)?,
        })
    })
}

fn load_info(t: &CsvTable) -> Result<Option<RunInfo>, ReportError> {
    let (scenario, seed) = (t.column("scenario")?, t.column("seed")?);
    let duration = t.column("duration_s")?;
    let row = t.rows().next();
    row.map(|row| {
        Ok(RunInfo {
            scenario: row.text(scenario).to_string(),
            seed: row.u64(seed)?,
            duration_s: row.u64(duration)?,
        })
    })
    .transpose()
}
