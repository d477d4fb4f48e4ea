//! The validated `traffic.trace` block: what to replay and how.
//!
//! Built by `scenario::trace` from the YAML; every value here is already checked, so the replay
//! code never re-validates. Times are integer nanoseconds; the speed-up is an exact ratio.

use super::time::DateTimeFormat;
use crate::scenario::{Class, SizeSpec};
use spillway_core::Duration;
use std::path::PathBuf;

/// A trace replayed as the scenario's arrivals.
#[derive(Debug, Clone)]
pub struct TraceSpec {
    /// The trace file, resolved against the scenario's directory (or `--trace`).
    pub path: PathBuf,
    /// Where `traffic.trace.path` is written, so that a missing or unreadable file is reported
    /// at the field that names it; `None` once `--trace` replaced the path (the flag is then
    /// what to fix).
    pub path_at: Option<WrittenAt>,
    /// How to read it.
    pub format: TraceFormat,
    /// Where to download the file, printed when it is missing.
    pub get_from: Option<String>,
    /// Which part of the trace to replay, measured from its first timestamp.
    pub window: TimeWindow,
    /// Trace time runs this many times faster than simulated time.
    pub speedup: Speedup,
    /// Start over (shifted by one period) when the file ends, until the scenario's duration.
    pub looped: bool,
    /// Rate scaling: thinning below 1, superposed shifted copies above.
    pub rate_scale: RateScale,
    /// What to do with a malformed row.
    pub on_error: OnError,
    /// Rows up to this much earlier than a row already read are put back in order.
    pub reorder_window: Duration,
    /// Users for rows that name none.
    pub users: UserRule,
    /// Class/feature mix; entry `i` is scenario group `first_group + i`.
    pub mix: Vec<MixEntry>,
    /// Index in `Scenario::groups` of the first mix entry's group.
    pub first_group: usize,
    /// Global id of trace user 0 (after every synthetic group's users).
    pub first_user: u64,
    /// Token sizes for formats without tokens (ServeGen).
    pub sizes: Option<DrawnSizes>,
}

/// A place in the scenario file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WrittenAt {
    /// The scenario file.
    pub file: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// The file formats understood.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum TraceFormat {
    /// Azure LLM inference trace 2023: `TIMESTAMP,ContextTokens,GeneratedTokens`.
    Azure,
    /// BurstGPT: `Timestamp,[Session ID,Elapsed time,]Model,Request tokens,Response tokens,…`.
    BurstGpt,
    /// ServeGen per-client rate windows with a fitted inter-arrival distribution.
    ServeGen {
        /// Window length (600 s in the published data).
        window: Duration,
    },
    /// Any CSV log, by column mapping.
    Csv(Box<CsvMapping>),
}

impl TraceFormat {
    /// The name used in scenario files.
    pub fn name(&self) -> &'static str {
        match self {
            TraceFormat::Azure => "azure",
            TraceFormat::BurstGpt => "burstgpt",
            TraceFormat::ServeGen { .. } => "servegen",
            TraceFormat::Csv(_) => "csv",
        }
    }
}

/// Header names of the columns of a `csv` trace.
#[derive(Debug, Clone)]
pub struct CsvMapping {
    /// Arrival time.
    pub time: String,
    /// Prompt tokens.
    pub input_tokens: String,
    /// Completion tokens.
    pub output_tokens: String,
    /// User (any text; each distinct value is one user).
    pub user: Option<String>,
    /// Session (used as the user when `user` is absent or empty).
    pub session: Option<String>,
    /// Class name (`interactive`, `standard`, `batch`, `background`).
    pub class: Option<String>,
    /// Feature name.
    pub feature: Option<String>,
    /// Model name.
    pub model: Option<String>,
    /// How the time column is written.
    pub time_unit: TimeUnit,
    /// Field separator (one byte).
    pub delimiter: u8,
}

/// How a time column is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TimeUnit {
    /// A decimal number of this many nanoseconds per unit (s, ms, us, ns).
    Decimal {
        /// Nanoseconds in one unit.
        unit_ns: u64,
    },
    /// A civil date and time (no time zone), by format.
    DateTime(DateTimeFormat),
}

/// Replay window `[start, end)` relative to the trace's first timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeWindow {
    /// Skip this much of the trace.
    pub start: Duration,
    /// Stop here (exclusive); `None`: the end of the file.
    pub end: Option<Duration>,
}

/// An exact speed-up: simulated = trace time × 1e6 / `ppm`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Speedup {
    /// The factor in parts per million (1_000_000 = real time).
    pub ppm: u64,
}

impl Speedup {
    /// Real time.
    pub const REAL_TIME: Speedup = Speedup { ppm: 1_000_000 };

    /// Trace nanoseconds → simulated nanoseconds, exactly (rounded down).
    pub fn apply(self, trace_ns: u64) -> u64 {
        let scaled = u128::from(trace_ns) * 1_000_000 / u128::from(self.ppm.max(1));
        u64::try_from(scaled).unwrap_or(u64::MAX)
    }
}

/// Rate scaling of the replayed trace.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateScale {
    /// Offered-rate factor (> 0). Copy `c` (0-based) of each row is kept with probability
    /// `min(1, factor − c)`: below 1 this thins, above 1 it superposes `ceil(factor)` copies.
    pub factor: f64,
    /// Copy `c` is shifted by `c × copy_offset` (simulated time).
    pub copy_offset: Duration,
}

/// What to do with a malformed row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// Skip it and count it.
    Skip,
    /// Stop with an error naming the file and line.
    Stop,
}

/// Who sends a row that names no user or session.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct UserRule {
    /// Zipf population size.
    pub count: u64,
    /// Zipf exponent: user `k` (0-based) is drawn with weight `1 / (k + 1)^exponent`.
    pub exponent: f64,
}

/// One entry of the class/feature mix.
#[derive(Debug, Clone, PartialEq)]
pub struct MixEntry {
    /// Priority class.
    pub class: Class,
    /// Feature name.
    pub feature: String,
    /// Only rows of this model (when the trace has a model column).
    pub model: Option<String>,
    /// Relative weight among the entries a row matches.
    pub weight: f64,
}

/// Token sizes drawn for rows that carry none.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrawnSizes {
    /// Prompt tokens.
    pub input: SizeSpec,
    /// Completion tokens.
    pub output: SizeSpec,
}
