//! The CSV files of a run. Column order is a contract (README documents it): new columns are
//! only ever appended.

use crate::AtomicFile;
use crate::format::{ms, usd, usd_exact};
use spillway_sim::metrics::{ClassStats, PolicyMetrics, TimeseriesRow};
use spillway_sim::scenario::Class;
use std::io;
use std::path::Path;

/// `summary.csv` columns, in order.
pub const SUMMARY_COLUMNS: &[&str] = &[
    "policy",
    "class",
    "offered",
    "admitted",
    "rejected",
    "shed",
    "completed",
    "failed",
    "p50_ms",
    "p95_ms",
    "p99_ms",
    "p999_ms",
    "max_ms",
    "max_wait_ms",
    "upstream_calls",
    "upstream_429",
    "retries",
    "cost_usd",
    "unfinished",
    "mean_ms",
    "input_tokens",
    "output_tokens",
];

/// `timeseries.csv` columns, in order.
pub const TIMESERIES_COLUMNS: &[&str] = &[
    "policy",
    "t_s",
    "offered",
    "admitted",
    "rejected",
    "queued",
    "in_flight",
    "upstream_429",
    "spend_usd",
    "shed",
    "completed",
    "retries",
];

/// `rejections.csv` columns.
pub const REJECTION_COLUMNS: &[&str] = &["policy", "layer", "rejected"];

fn csv_error(e: csv::Error) -> io::Error {
    io::Error::other(e)
}

/// One summary row's fields.
pub fn summary_fields(policy: &str, class: &str, s: &ClassStats) -> Vec<String> {
    vec![
        policy.to_string(),
        class.to_string(),
        s.offered.to_string(),
        s.admitted.to_string(),
        s.rejected.to_string(),
        s.shed.to_string(),
        s.completed.to_string(),
        s.failed.to_string(),
        ms(s.latency.quantile(0.50)),
        ms(s.latency.quantile(0.95)),
        ms(s.latency.quantile(0.99)),
        ms(s.latency.quantile(0.999)),
        ms(s.latency.max()),
        ms(s.wait.max()),
        s.upstream_calls.to_string(),
        s.upstream_429.to_string(),
        s.retries.to_string(),
        usd(s.cost_nano_usd),
        s.unfinished.to_string(),
        format!("{:.3}", s.latency.mean_ns() / 1e6),
        s.input_tokens.to_string(),
        s.output_tokens.to_string(),
    ]
}

/// Write `summary.csv`: one row per policy and class with traffic, then an `all` row.
pub fn write_summary(path: &Path, runs: &[PolicyMetrics]) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(AtomicFile::create(path)?);
    w.write_record(SUMMARY_COLUMNS).map_err(csv_error)?;
    for run in runs {
        for class in Class::ALL {
            let stats = run.class(class);
            if stats.offered > 0 {
                w.write_record(summary_fields(&run.policy, class.name(), stats))
                    .map_err(csv_error)?;
            }
        }
        w.write_record(summary_fields(&run.policy, "all", &run.total()))
            .map_err(csv_error)?;
    }
    w.into_inner().map_err(|e| e.into_error())?.commit()
}

/// Write `rejections.csv`: rejections by policy and blocking layer, in layer order.
pub fn write_rejections(path: &Path, runs: &[PolicyMetrics]) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(AtomicFile::create(path)?);
    w.write_record(REJECTION_COLUMNS).map_err(csv_error)?;
    for run in runs {
        for (layer, count) in &run.rejections_by_layer {
            w.write_record([run.policy.as_str(), layer, &count.to_string()])
                .map_err(csv_error)?;
        }
        if run.never_fits > 0 {
            w.write_record([
                run.policy.as_str(),
                "(never-fits)",
                &run.never_fits.to_string(),
            ])
            .map_err(csv_error)?;
        }
    }
    w.into_inner().map_err(|e| e.into_error())?.commit()
}

/// Streams `timeseries.csv` rows as the simulation produces them.
pub struct TimeseriesWriter {
    writer: csv::Writer<AtomicFile>,
}

impl TimeseriesWriter {
    /// Start `path` with its header.
    pub fn create(path: &Path) -> io::Result<Self> {
        let mut writer = csv::Writer::from_writer(AtomicFile::create(path)?);
        writer.write_record(TIMESERIES_COLUMNS).map_err(csv_error)?;
        Ok(TimeseriesWriter { writer })
    }

    /// Append one row.
    pub fn row(&mut self, policy: &str, r: &TimeseriesRow) -> io::Result<()> {
        self.writer
            .write_record([
                policy,
                &r.t_s.to_string(),
                &r.offered.to_string(),
                &r.admitted.to_string(),
                &r.rejected.to_string(),
                &r.queued.to_string(),
                &r.in_flight.to_string(),
                &r.upstream_429.to_string(),
                &usd_exact(r.spend_nano_usd),
                &r.shed.to_string(),
                &r.completed.to_string(),
                &r.retries.to_string(),
            ])
            .map_err(csv_error)
    }

    /// Finish and rename into place.
    pub fn commit(self) -> io::Result<()> {
        self.writer
            .into_inner()
            .map_err(|e| e.into_error())?
            .commit()
    }
}
