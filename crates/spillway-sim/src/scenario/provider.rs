//! The `provider:` block and the provider profile library, as written.
//!
//! A scenario names its provider in one of two ways:
//!
//! ```yaml
//! provider: { profile: openai-tier1-gpt-4o-mini }      # from providers.yaml beside the scenario
//! provider:                                              # or inline
//!   name: my gateway's upstream
//!   kind: anthropic                                      # basic (default), openai, anthropic,
//!   rpm: 50                                              # azure, gemini, generic, unlimited
//!   itpm: 30000
//!   otpm: 8000
//!   latency: { base: 600ms, per_output_token: 20ms, jitter: 0.1 }
//! ```
//!
//! With `profile:`, the block may add only what belongs to the *scenario* rather than to the
//! provider: `name`, `library` (another file, relative to the scenario), `outages`,
//! `shared_quota` and `wall_clock_start`. Everything is flat (one struct, `kind` selects which
//! fields apply) so that a field that does not apply to a kind gets an error naming the kind
//! and the fields it takes, rather than serde's "unknown variant".

mod latency;
mod library;
mod parts;
mod validate;

pub use library::load_library;
pub(crate) use validate::provider;

use super::raw::S;
use serde::Deserialize;

/// The emulated provider: a profile reference or an inline description.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProvider {
    /// A profile of the library, by name.
    pub profile: Option<S<String>>,
    /// The library file, relative to the scenario (default `providers.yaml`).
    pub library: Option<S<String>>,
    /// Display name (inline: required; library: the profile's name).
    pub name: Option<S<String>>,
    /// `basic` (default), `openai`, `anthropic`, `azure`, `gemini`, `generic`, `unlimited`.
    pub kind: Option<S<String>>,
    /// When these limits were seen (documentation only).
    pub seen: Option<String>,
    /// Where they were seen (documentation only).
    pub source: Option<String>,
    /// Requests per minute.
    pub rpm: Option<S<i64>>,
    /// Tokens per minute (openai, azure: input + max_tokens; gemini: input).
    pub tpm: Option<S<i64>>,
    /// Requests per day (openai, gemini).
    pub rpd: Option<S<i64>>,
    /// Input tokens per minute (anthropic).
    pub itpm: Option<S<i64>>,
    /// Output tokens per minute (anthropic).
    pub otpm: Option<S<i64>>,
    /// Requests per window (generic).
    pub limit: Option<S<i64>>,
    /// The fixed window (generic), e.g. `1m`.
    pub window: Option<S<String>>,
    /// Azure's enforcement window: `1s` or `10s` (default).
    pub sub_window: Option<S<String>>,
    /// Anthropic: `max_tokens` (2025 docs) or `actual` (2026 docs, default).
    pub otpm_counting: Option<S<String>>,
    /// OpenAI: probability a 429 carries `retry-after` (default 0.5).
    pub retry_after_probability: Option<S<f64>>,
    /// OpenAI: whether 429'd calls count against the request limits (default true).
    pub count_rejected: Option<S<bool>>,
    /// Calls served at once (default 1000; required for `unlimited`, where it is `c`).
    pub concurrency: Option<S<i64>>,
    /// Service time.
    pub latency: Option<RawLatency>,
    /// How long a 429/503/529 or outage answer takes to arrive (default 50ms).
    pub error_latency: Option<S<String>>,
    /// Overload rising with concurrency.
    pub overload: Option<RawOverload>,
    /// USD per million tokens (default 0).
    pub price: Option<RawPrice>,
    /// The wall-clock instant of the scenario's start (RFC 3339, default
    /// `2026-01-15T16:00:00Z`).
    pub wall_clock_start: Option<S<String>>,
    /// Windows during which every call fails.
    #[serde(default)]
    pub outages: Vec<RawOutage>,
    /// Other services eating the same quota.
    #[serde(default)]
    pub shared_quota: Vec<RawSharedQuota>,
}

/// Service time: `model` selects which fields apply.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLatency {
    /// `empirical` (default), `constant`, `exponential` or `lognormal`.
    pub model: Option<S<String>>,
    /// Empirical: time to first token, e.g. `300ms`.
    pub base: Option<S<String>>,
    /// Empirical: decode time per output token, e.g. `10ms` (default 0).
    pub per_output_token: Option<S<String>>,
    /// Empirical: relative jitter in [0, 1) (default 0).
    pub jitter: Option<S<f64>>,
    /// Constant / exponential: the (mean) service time.
    pub mean: Option<S<String>>,
    /// Log-normal: the median service time.
    pub median: Option<S<String>>,
    /// Log-normal: standard deviation of the log, in [0, 5].
    pub sigma: Option<S<f64>>,
}

/// Overload above a utilisation.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOverload {
    /// Utilisation (in flight / concurrency) where failures start, in [0, 1).
    pub from: S<f64>,
    /// Failure probability at full concurrency, in [0, 1].
    pub max_probability: S<f64>,
}

/// An outage window.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutage {
    /// Start, from the beginning of the run.
    pub start: S<String>,
    /// Length.
    pub duration: S<String>,
    /// HTTP status, 500-599 (default 503).
    pub status: Option<S<i64>>,
}

/// Another tenant of the quota.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSharedQuota {
    /// Start, from the beginning of the run.
    pub start: S<String>,
    /// Length.
    pub duration: S<String>,
    /// Fraction of every limit it takes, in (0, 1].
    pub fraction: S<f64>,
}

/// USD per million tokens.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPrice {
    /// Input tokens.
    pub input_usd_per_mtok: S<f64>,
    /// Output tokens.
    pub output_usd_per_mtok: S<f64>,
}

/// A profile library file (`providers.yaml`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLibrary {
    /// Free text.
    pub description: Option<String>,
    /// The profiles; each `name` is what `profile:` refers to.
    pub profiles: Vec<RawProvider>,
}
