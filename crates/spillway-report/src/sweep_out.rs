//! `sweep.csv`: one row per variant × policy × class (then `all`), the swept values first.

use crate::AtomicFile;
use crate::csv_out::{SUMMARY_COLUMNS, summary_fields};
use spillway_sim::metrics::PolicyMetrics;
use spillway_sim::scenario::Class;
use std::io;
use std::path::Path;

/// One policy's run in one variant of a sweep.
#[derive(Debug, Clone)]
pub struct SweepRun {
    /// 0-based index of the variant (cartesian product order).
    pub variant: usize,
    /// The swept values of this variant, in `--set` order.
    pub values: Vec<String>,
    /// What the run measured.
    pub metrics: PolicyMetrics,
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
        let classes = Class::ALL
            .iter()
            .filter(|c| run.metrics.class(**c).offered > 0)
            .map(|c| Some(*c));
        for class in classes.chain([None]) {
            let mut record = vec![run.variant.to_string()];
            record.extend(run.values.iter().cloned());
            record.extend(summary_fields(&run.metrics, class));
            w.write_record(&record).map_err(io::Error::other)?;
        }
    }
    w.into_inner().map_err(|e| e.into_error())?.commit()
}
