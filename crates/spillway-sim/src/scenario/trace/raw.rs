//! The `traffic.trace` block as written: serde structs mirroring the YAML, unknown fields
//! rejected, values that need checking kept `Spanned` for located errors.

use super::super::raw::{RawSize, S};
use serde::Deserialize;

/// `traffic.trace`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTrace {
    /// The file, relative to the scenario file.
    pub path: S<String>,
    /// `azure`, `burstgpt`, `servegen` or `csv`.
    pub format: S<String>,
    /// Where to download the file (shown when it is missing).
    pub get_from: Option<String>,
    /// `csv`: header names of the columns.
    pub columns: Option<S<RawColumns>>,
    /// `csv`: unit of the time column.
    pub time_unit: Option<S<String>>,
    /// `csv`: one-character field separator (default `,`).
    pub delimiter: Option<S<String>>,
    /// Skip this much of the trace (default `0s`).
    pub start: Option<S<String>>,
    /// Stop at this offset from the first timestamp (default: end of file).
    pub end: Option<S<String>>,
    /// Speed-up factor (default 1).
    pub speedup: Option<S<f64>>,
    /// Replay again, shifted, when the file ends (default false).
    #[serde(rename = "loop")]
    pub looped: Option<bool>,
    /// Offered-rate factor (default 1).
    pub rate_scale: Option<S<f64>>,
    /// Shift between superposed copies (default `1s`).
    pub copy_offset: Option<S<String>>,
    /// `stop` (default) or `skip`.
    pub on_error: Option<S<String>>,
    /// Disorder repaired (default `1s`).
    pub reorder_window: Option<S<String>>,
    /// Users for rows without one.
    pub users: Option<RawTraceUsers>,
    /// Class/feature mix.
    pub mix: Option<Vec<RawMixEntry>>,
    /// `servegen`: token sizes.
    pub tokens: Option<RawTraceTokens>,
    /// `servegen`: window length (default `600s`).
    pub servegen_window: Option<S<String>>,
}

/// Column mapping of a `csv` trace.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawColumns {
    /// Time column.
    pub time: String,
    /// Prompt tokens column.
    pub input_tokens: String,
    /// Completion tokens column.
    pub output_tokens: String,
    /// User column.
    pub user: Option<String>,
    /// Session column (the user when there is no user column or it is empty).
    pub session: Option<String>,
    /// Class column.
    pub class: Option<String>,
    /// Feature column.
    pub feature: Option<String>,
    /// Model column.
    pub model: Option<String>,
}

/// Zipf population for rows without a user.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTraceUsers {
    /// How many users (default 1000).
    pub count: S<u64>,
    /// Zipf exponent (default 1).
    pub zipf: Option<S<f64>>,
}

/// One mix entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMixEntry {
    /// Class name.
    pub class: S<String>,
    /// Feature (default `trace`).
    pub feature: Option<String>,
    /// Only rows of this model.
    pub model: Option<String>,
    /// Relative weight (default 1).
    pub weight: Option<S<f64>>,
    /// Completion tokens the gateway reserves before the answer (default 256).
    pub output_estimate: Option<S<u64>>,
}

/// Token sizes for `servegen`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTraceTokens {
    /// Prompt sizes.
    pub input: RawSize,
    /// Completion sizes.
    pub output: RawSize,
}
