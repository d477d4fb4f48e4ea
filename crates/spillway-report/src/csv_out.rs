//! The CSV files of a run. Column order is a contract (README documents it): new columns are
//! only ever appended.

use crate::AtomicFile;
use crate::format::{ms, push_decimal, push_usd_exact, usd};
use spillway_sim::metrics::{ClassStats, PolicyMetrics, TimeseriesRow};
use spillway_sim::scenario::Class;
use std::io::{self, Write};
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
    "wasted_calls",
    "retry_success_rate",
    "calls_per_success",
    "escalations",
    "fallback_calls",
    "cache_served",
    "quota_error_pct",
    "reset_error_ms",
    "over_admission_pct",
    "degraded",
    "budget_rejected",
    "best_model_share",
    "estimate_error_p95",
    "mean_wait_ms",
    "mean_service_ms",
    "p99_all_ms",
    "key_downtime_s",
];

/// The `summary.csv` columns that count something (requests, calls, tokens): non-negative
/// integers, so the report refuses a hand-edited `-5` or `2.5` where it would show it.
pub const SUMMARY_COUNT_COLUMNS: &[&str] = &[
    "offered",
    "admitted",
    "rejected",
    "shed",
    "completed",
    "failed",
    "upstream_calls",
    "upstream_429",
    "retries",
    "unfinished",
    "input_tokens",
    "output_tokens",
    "abandoned",
    "waits_over_slo",
    "never_served",
    "wasted_calls",
    "escalations",
    "fallback_calls",
    "cache_served",
    "degraded",
    "budget_rejected",
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
    "breaker",
    "escalations",
    "fallback_calls",
];

/// Per-class queue-length columns that `timeseries.csv` may carry (appended by newer writers);
/// the report plots queue depth by class when all four are present.
pub const QUEUED_BY_CLASS_COLUMNS: [&str; 4] = [
    "queued_interactive",
    "queued_standard",
    "queued_batch",
    "queued_background",
];

/// `rejections.csv` columns.
pub const REJECTION_COLUMNS: &[&str] = &["policy", "layer", "rejected"];

/// `latency.csv` columns: points of the end-to-end latency CDF.
pub const LATENCY_COLUMNS: &[&str] = &["policy", "class", "quantile", "latency_ms"];

/// `run.csv` columns: how the run was made (one row).
pub const RUN_COLUMNS: &[&str] = &["scenario", "seed", "duration_s"];

/// Quantiles of `latency.csv`, in parts per ten thousand: every percent, then the tail.
const CDF_POINTS_PER_10K: [u32; 104] = {
    let mut points = [0u32; 104];
    let mut i = 0;
    while i < 100 {
        points[i] = i as u32 * 100;
        i += 1;
    }
    points[100] = 9_950;
    points[101] = 9_990;
    points[102] = 9_999;
    points[103] = 10_000;
    points
};

fn csv_error(e: csv::Error) -> io::Error {
    io::Error::other(e)
}

/// A ratio with four decimals, or empty when undefined.
fn ratio(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(String::new, |v| format!("{v:.decimals$}"))
}

/// A latency of completed requests, empty when none completed (no latency is not 0 ms).
fn latency_ms(s: &ClassStats, d: spillway_core::Duration) -> String {
    if s.latency.count() == 0 {
        String::new()
    } else {
        ms(d)
    }
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
    let u = &s.upstream;
    let mut fields = vec![
        run.policy.clone(),
        class.map_or("all", Class::name).to_string(),
        s.offered.to_string(),
        s.admitted.to_string(),
        s.rejected.to_string(),
        s.shed.to_string(),
        s.completed.to_string(),
        s.failed.to_string(),
        latency_ms(s, s.latency.quantile(0.50)),
        latency_ms(s, s.latency.quantile(0.95)),
        latency_ms(s, s.latency.quantile(0.99)),
        latency_ms(s, s.latency.quantile(0.999)),
        latency_ms(s, s.latency.max()),
        ms(s.wait.max()),
        s.upstream_calls.to_string(),
        s.upstream_429.to_string(),
        s.retries.to_string(),
        usd(s.cost_nano_usd),
        s.unfinished.to_string(),
        if s.latency.count() == 0 {
            String::new()
        } else {
            format!("{:.3}", s.latency.mean_ns() / 1e6)
        },
        s.input_tokens.to_string(),
        s.output_tokens.to_string(),
        s.abandoned.to_string(),
        s.waits_over_slo.to_string(),
        s.never_served.to_string(),
        ms(s.wait.quantile(0.99)),
        ratio(run.fairness_jain(class), 4),
        ratio(run.littles_law_error_pct(s), 3),
        u.wasted_calls.to_string(),
        ratio(
            (s.retries > 0).then(|| u.retry_successes as f64 / s.retries as f64),
            4,
        ),
        ratio(
            (s.completed > 0).then(|| s.upstream_calls as f64 / s.completed as f64),
            4,
        ),
        u.escalations.to_string(),
        u.fallback_calls.to_string(),
        u.cache_served.to_string(),
        ratio(u.quota_error_pct(), 3),
        ratio(u.reset_error_ms(), 3),
        ratio(
            run.distributed.over_admission_pct(class.map(Class::index)),
            3,
        ),
    ];
    fields.extend(crate::budget_csv::budget_summary_fields(
        run,
        class.map(Class::index),
    ));
    fields.push(ratio(s.mean_wait_ms(), 3));
    fields.push(ratio(s.mean_service_ms(), 3));
    fields.push(if s.latency_all.count() == 0 {
        String::new()
    } else {
        ms(s.latency_all.quantile(0.99))
    });
    // A property of the policy's keys, not of a class: on the `all` row only.
    let downtime = run.key_downtime.filter(|_| class.is_none());
    fields.push(downtime.map_or_else(String::new, |d| format!("{:.3}", d.as_nanos() as f64 / 1e9)));
    fields
}

/// One run's summary rows: one per class with traffic, then its `all` row (the last). What
/// `summary.csv`, `sweep.csv` and the console table show of a run, so a sweep can keep these
/// few strings per run instead of the run's whole metrics (histograms, per-user service).
pub fn summary_rows(run: &PolicyMetrics) -> Vec<Vec<String>> {
    Class::ALL
        .into_iter()
        .filter(|c| run.class(*c).offered > 0)
        .map(Some)
        .chain([None])
        .map(|class| summary_fields(run, class))
        .collect()
}

/// Write `summary.csv`: one row per policy and class with traffic, then an `all` row.
pub fn write_summary(path: &Path, runs: &[PolicyMetrics]) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(AtomicFile::create(path)?);
    w.write_record(SUMMARY_COLUMNS).map_err(csv_error)?;
    for row in runs.iter().flat_map(summary_rows) {
        w.write_record(row).map_err(csv_error)?;
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
                spillway_core::limit::refusal_labels::NEVER_FITS_ROW,
                &run.never_fits.to_string(),
            ])
            .map_err(csv_error)?;
        }
    }
    w.into_inner().map_err(|e| e.into_error())?.commit()
}

/// Write `latency.csv`: for each policy and class with completed requests (then `all`), the
/// latency at each quantile of `CDF_POINTS_PER_10K` (HDR histogram precision, 0.1 %).
pub fn write_latency(path: &Path, runs: &[PolicyMetrics]) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(AtomicFile::create(path)?);
    w.write_record(LATENCY_COLUMNS).map_err(csv_error)?;
    for run in runs {
        let total = run.total();
        let classes = Class::ALL.iter().map(|c| (c.name(), run.class(*c)));
        for (class, stats) in classes.chain([("all", &total)]) {
            if stats.latency.count() == 0 {
                continue;
            }
            let points = CDF_POINTS_PER_10K.map(|q| f64::from(q) / 10_000.0);
            let latencies = stats.latency.quantiles(points);
            for (q, latency) in CDF_POINTS_PER_10K.into_iter().zip(latencies) {
                let quantile = format!("{}.{:04}", q / 10_000, q % 10_000);
                w.write_record([run.policy.as_str(), class, &quantile, &ms(latency)])
                    .map_err(csv_error)?;
            }
        }
    }
    w.into_inner().map_err(|e| e.into_error())?.commit()
}

/// Write `run.csv`: the scenario's name, the seed and the seconds of traffic, so a report
/// regenerated from the directory can say how the run was made.
pub fn write_run_info(path: &Path, scenario: &str, seed: u64, duration_s: u64) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(AtomicFile::create(path)?);
    w.write_record(RUN_COLUMNS).map_err(csv_error)?;
    w.write_record([scenario, &seed.to_string(), &duration_s.to_string()])
        .map_err(csv_error)?;
    w.into_inner().map_err(|e| e.into_error())?.commit()
}

/// Streams `timeseries.csv` rows as the simulation produces them.
///
/// Rows are formatted by hand into a reused buffer: a long run writes hundreds of thousands of
/// rows, and a `String` per field through the `csv` writer was a sixth of the simulator's time.
/// Only a policy name can need quoting; it goes through `csv` once per policy.
///
/// Policies run side by side interleave their rows: the first policy's go to the file as they
/// come ([`TimeseriesWriter::row`]), a later one's are held in a scratch file beside it
/// ([`TimeseriesWriter::later_row`]; on disk, so memory does not grow with the run) and
/// appended in order at [`TimeseriesWriter::commit`].
pub struct TimeseriesWriter {
    file: AtomicFile,
    path: std::path::PathBuf,
    /// Each policy name seen and its field as CSV (quoted if it must be).
    policies: Vec<(String, Vec<u8>)>,
    scratch: Vec<u8>,
    /// Scratch files of the later policies' rows, in policy order (removed when dropped).
    held: Vec<AtomicFile>,
}

impl TimeseriesWriter {
    /// Start `path` with its header.
    pub fn create(path: &Path) -> io::Result<Self> {
        let mut file = AtomicFile::create(path)?;
        let mut header = csv::Writer::from_writer(Vec::new());
        header.write_record(TIMESERIES_COLUMNS).map_err(csv_error)?;
        file.write_all(&header.into_inner().map_err(|e| e.into_error())?)?;
        Ok(TimeseriesWriter {
            file,
            path: path.to_path_buf(),
            policies: Vec::new(),
            scratch: Vec::with_capacity(256),
            held: Vec::new(),
        })
    }

    /// Append one row.
    pub fn row(&mut self, policy: &str, r: &TimeseriesRow) -> io::Result<()> {
        self.format(policy, r)?;
        self.file.write_all(&self.scratch)
    }

    /// Hold one row of the `later`-th policy after the one written by [`TimeseriesWriter::row`]
    /// (0: the first of them), to be written after every direct row, later policies in order.
    pub fn later_row(&mut self, later: usize, policy: &str, r: &TimeseriesRow) -> io::Result<()> {
        self.format(policy, r)?;
        while self.held.len() <= later {
            let mut name = self.path.as_os_str().to_owned();
            name.push(format!(".later-{}", self.held.len()));
            self.held.push(AtomicFile::create(Path::new(&name))?);
        }
        self.held[later].write_all(&self.scratch)
    }

    /// Format one row into `scratch`.
    fn format(&mut self, policy: &str, r: &TimeseriesRow) -> io::Result<()> {
        let known = self.policies.iter().position(|(name, _)| name == policy);
        let index = match known {
            Some(index) => index,
            None => {
                // As a one-field record: `csv` closes a quoted field only when its record ends
                // (a lone `write_field` left `"a, b` unterminated); the line end is dropped.
                let mut field = csv::Writer::from_writer(Vec::new());
                field.write_record([policy]).map_err(csv_error)?;
                let mut field = field.into_inner().map_err(|e| e.into_error())?;
                field.pop_if(|b| *b == b'\n');
                self.policies.push((policy.to_string(), field));
                self.policies.len() - 1
            }
        };
        let out = &mut self.scratch;
        out.clear();
        out.extend_from_slice(&self.policies[index].1);
        let [q0, q1, q2, q3] = r.queued_by_class;
        let before_spend = [
            r.t_s,
            r.offered,
            r.admitted,
            r.rejected,
            r.queued,
            r.in_flight,
            r.upstream_429,
        ];
        let after_spend = [
            r.shed,
            r.completed,
            r.retries,
            q0,
            q1,
            q2,
            q3,
            u64::from(r.breaker),
            r.escalations,
            r.fallback_calls,
        ];
        for value in before_spend {
            out.push(b',');
            push_decimal(out, value);
        }
        out.push(b',');
        push_usd_exact(out, r.spend_nano_usd);
        for value in after_spend {
            out.push(b',');
            push_decimal(out, value);
        }
        out.push(b'\n');
        Ok(())
    }

    /// Finish and rename into place.
    pub fn commit(mut self) -> io::Result<()> {
        for rows in &mut self.held {
            rows.copy_into(&mut self.file)?;
        }
        self.held.clear();
        self.file.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_count_column_is_a_summary_column() {
        for count in SUMMARY_COUNT_COLUMNS {
            assert!(SUMMARY_COLUMNS.contains(count), "{count}");
        }
    }
}
