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
    "abandoned",
    "waits_over_slo",
    "never_served",
    "p99_wait_ms",
    "fairness_jain",
    "littles_law_error_pct",
    "over_admission_pct",
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
    "queued_interactive",
    "queued_standard",
    "queued_batch",
    "queued_background",
];

/// `rejections.csv` columns.
pub const REJECTION_COLUMNS: &[&str] = &["policy", "layer", "rejected"];

fn csv_error(e: csv::Error) -> io::Error {
    io::Error::other(e)
}

/// A ratio with four decimals, or empty when undefined.
fn ratio(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(String::new, |v| format!("{v:.decimals$}"))
}

/// One summary row's fields: `class` is one class, or `None` for the `all` row.
pub fn summary_fields(run: &PolicyMetrics, class: Option<Class>) -> Vec<String> {
    let total;
    let s: &ClassStats = match class {
        Some(c) => run.class(c),
        None => {
            total = run.total();
            &total
        }
    };
    vec![
        run.policy.clone(),
        class.map_or("all", Class::name).to_string(),
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
        s.abandoned.to_string(),
        s.waits_over_slo.to_string(),
        s.never_served.to_string(),
        ms(s.wait.quantile(0.99)),
        ratio(run.fairness_jain(class), 4),
        ratio(run.littles_law_error_pct(s), 3),
        ratio(
            run.distributed.over_admission_pct(class.map(Class::index)),
            3,
        ),
    ]
}

/// Write `summary.csv`: one row per policy and class with traffic, then an `all` row.
pub fn write_summary(path: &Path, runs: &[PolicyMetrics]) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(AtomicFile::create(path)?);
    w.write_record(SUMMARY_COLUMNS).map_err(csv_error)?;
    for run in runs {
        for class in Class::ALL {
            if run.class(class).offered > 0 {
                w.write_record(summary_fields(run, Some(class)))
                    .map_err(csv_error)?;
            }
        }
        w.write_record(summary_fields(run, None))
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
                &r.queued_by_class[0].to_string(),
                &r.queued_by_class[1].to_string(),
                &r.queued_by_class[2].to_string(),
                &r.queued_by_class[3].to_string(),
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
