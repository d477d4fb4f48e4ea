//! `sweep.csv`: one row per variant × policy × class (then `all`), the swept values first.

use crate::AtomicFile;
use crate::csv_out::{SUMMARY_COLUMNS, summary_rows};
use spillway_sim::metrics::PolicyMetrics;
use std::io;
use std::path::Path;

/// One policy's run in one variant of a sweep: its summary rows only. A run's whole metrics
/// (latency histograms, per-user service: ~5 MB for spike.yaml) are dropped as soon as it
/// ends, so a sweep's memory does not grow with its runs (300 held 1.5 GB).
#[derive(Debug, Clone)]
pub struct SweepRun {
    /// 0-based index of the variant (cartesian product order).
    pub variant: usize,
    /// The swept values of this variant, in `--set` order.
    pub values: Vec<String>,
    /// The run's policy.
    pub policy: String,
    /// Its summary rows ([`summary_rows`]: per class with traffic, then `all`, the last).
    pub rows: Vec<Vec<String>>,
}

impl SweepRun {
    /// What a sweep keeps of `metrics`, the run of `variant` with these swept `values`.
    pub fn new(variant: usize, values: Vec<String>, metrics: &PolicyMetrics) -> Self {
        SweepRun {
            variant,
            values,
            policy: metrics.policy.clone(),
            rows: summary_rows(metrics),
        }
    }

    /// The run's `all` row.
    pub fn all(&self) -> &[String] {
        self.rows.last().map_or(&[], Vec::as_slice)
    }
}

/// The header: `variant`, one column per swept path, then the `summary.csv` columns.
pub fn sweep_columns(paths: &[String]) -> Vec<String> {
    let mut columns = vec!["variant".to_string()];
    columns.extend(paths.iter().cloned());
    columns.extend(SUMMARY_COLUMNS.iter().map(|c| c.to_string()));
    columns
}

/// Write `sweep.csv` (rows in the order given).
pub fn write_sweep(path: &Path, paths: &[String], runs: &[SweepRun]) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(AtomicFile::create(path)?);
    w.write_record(sweep_columns(paths))
        .map_err(io::Error::other)?;
    for run in runs {
        for row in &run.rows {
            let mut record = vec![run.variant.to_string()];
            record.extend(run.values.iter().cloned());
            record.extend(row.iter().cloned());
            w.write_record(&record).map_err(io::Error::other)?;
        }
    }
    w.into_inner().map_err(|e| e.into_error())?.commit()
}
