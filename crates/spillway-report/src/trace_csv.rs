//! `trace.csv`: what a replayed trace offered (one row), next to `summary.csv`, so a run can be
//! checked against the trace's published statistics. Column order is a contract: new columns
//! are only ever appended.

use crate::AtomicFile;
use spillway_sim::traffic::trace::TraceStats;
use std::io;
use std::path::Path;

/// `trace.csv` columns, in order.
pub const TRACE_COLUMNS: &[&str] = &[
    "file",
    "format",
    "rows",
    "failed",
    "skipped",
    "users",
    "span_s",
    "mean_rps",
    "peak_per_s",
    "peak_per_min",
    "cv_per_s",
    "cv_per_min",
    "input_mean",
    "input_p99",
    "output_mean",
    "output_p99",
    "peak_tokens_per_min",
];

/// The row's fields, for `file` read as `format`.
pub fn trace_fields(file: &str, format: &str, s: &TraceStats) -> Vec<String> {
    vec![
        file.to_string(),
        format.to_string(),
        s.rows.to_string(),
        s.failed.to_string(),
        s.skipped.to_string(),
        s.users.to_string(),
        format!("{:.3}", s.span_s),
        format!("{:.3}", s.mean_rps),
        s.peak_per_s.to_string(),
        s.peak_per_min.to_string(),
        format!("{:.3}", s.cv_per_s),
        format!("{:.3}", s.cv_per_min),
        format!("{:.1}", s.input_mean),
        s.input_p99.to_string(),
        format!("{:.1}", s.output_mean),
        s.output_p99.to_string(),
        s.peak_tokens_per_min.to_string(),
    ]
}

/// Write `trace.csv` (header and one row), atomically.
pub fn write_trace_stats(path: &Path, file: &str, format: &str, s: &TraceStats) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(AtomicFile::create(path)?);
    w.write_record(TRACE_COLUMNS).map_err(io::Error::other)?;
    w.write_record(trace_fields(file, format, s))
        .map_err(io::Error::other)?;
    w.into_inner().map_err(|e| e.into_error())?.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_field_per_column() {
        let fields = trace_fields("f.csv", "azure", &TraceStats::default());
        assert_eq!(fields.len(), TRACE_COLUMNS.len());
        assert_eq!(fields[0], "f.csv");
    }
}
