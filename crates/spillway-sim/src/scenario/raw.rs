//! The scenario file as written: serde structs that mirror the YAML one to one.
//!
//! Unknown fields are rejected everywhere (a typo must not silently become a default). Values
//! that need checking beyond their type are `Spanned`, so `validate` can report their
//! location; units stay strings here and are parsed there, so that every bad value in a file is
//! reported in one pass rather than the first one only.

use serde::Deserialize;
use serde_saphyr::Spanned;

pub use super::provider::{RawLatency, RawPrice, RawProvider};
pub use super::trace::{RawColumns, RawMixEntry, RawTrace, RawTraceTokens, RawTraceUsers};
pub use spillway_core::policy::{RawLayer, RawPolicy};

/// A value with its location in the file.
pub type S<T> = Spanned<T>;

/// The whole file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScenario {
    /// Defaults to the file stem.
    pub name: Option<S<String>>,
    /// Free text shown in reports.
    pub description: Option<String>,
    /// Seed for every random stream; `--seed` overrides it.
    pub seed: Option<u64>,
    /// How long traffic arrives, e.g. `15m`.
    pub duration: S<String>,
    /// How long after `duration` queued work may still finish (default `10m`).
    pub drain: Option<S<String>>,
    /// The emulated upstream provider.
    pub provider: RawProvider,
    /// A second provider that policies with `upstream: { fallback: true }` fail over to.
    pub fallback_provider: Option<RawProvider>,
    /// Who sends what, when.
    pub traffic: RawTraffic,
    /// Named limiter layers, referenced by policies.
    #[serde(default)]
    pub layers: Vec<RawLayer>,
    /// The policies under comparison; each runs on the same arrivals.
    pub policies: Vec<RawPolicy>,
    /// Per-class SLOs and patience of the users.
    #[serde(default)]
    pub classes: spillway_core::policy::schedule::RawClasses,
    /// The model catalogue file (relative to the scenario), needed by `budget:` blocks.
    pub models: Option<S<String>>,
    /// UTC time of day at which the run starts, `HH:MM` (default `00:00`): where budget
    /// periods (hours, UTC days, months) reset during the run.
    pub starts_at_utc: Option<S<String>>,
    /// Upstream API keys (see `scenario::budget`).
    #[serde(default)]
    pub keys: Vec<spillway_core::policy::budget::RawKey>,
    /// Key rotations, revocations, leaks and price changes over the run.
    #[serde(default)]
    pub events: Vec<spillway_core::policy::budget::RawEvent>,
    /// What the report shows first (see `scenario::report`).
    pub report: Option<super::report::RawReport>,
    /// `spillway serve` settings; the simulator ignores them (see `scenario::serve`).
    pub serve: Option<super::serve::RawServe>,
}

/// Traffic: user groups and spikes.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTraffic {
    /// User groups (may be empty when a `trace` is given).
    #[serde(default)]
    pub groups: Vec<RawGroup>,
    /// Rate multipliers over time windows.
    #[serde(default)]
    pub spikes: Vec<RawSpike>,
    /// A recorded trace replayed as arrivals (see `scenario::trace`).
    pub trace: Option<RawTrace>,
}

/// A group of users sharing a class, a feature and an arrival process.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGroup {
    /// Group name (unique).
    pub name: S<String>,
    /// How many users.
    pub users: S<u64>,
    /// `interactive`, `standard`, `batch` or `background`.
    pub class: S<String>,
    /// Feature name (defaults to the group name).
    pub feature: Option<String>,
    /// Team its users belong to, for `scope: team` layers and caps (default: none; all
    /// groups without a team form one team).
    pub team: Option<String>,
    /// Arrival process per user.
    pub arrival: RawArrival,
    /// Prompt size distribution.
    pub input_tokens: RawSize,
    /// Completion size distribution.
    pub output_tokens: RawSize,
}

/// Arrival process of one user.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum RawArrival {
    /// Poisson arrivals at `rate` per user.
    Poisson {
        /// e.g. `0.5/min`.
        rate: S<String>,
    },
    /// Sessions: on for ~`mean_on` (Poisson at `rate`), off for ~`mean_off`, exponentially.
    OnOff {
        /// Rate while on, e.g. `6/min`.
        rate: S<String>,
        /// Mean session length.
        mean_on: S<String>,
        /// Mean pause between sessions.
        mean_off: S<String>,
    },
}

/// A log-normal token count: `median` and `sigma` (of the log), clamped to `[1, max]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSize {
    /// Median tokens.
    pub median: S<f64>,
    /// Standard deviation of ln(tokens); 0 gives a constant.
    pub sigma: S<f64>,
    /// Largest value drawn (default 32768).
    pub max: Option<S<u64>>,
}

/// A rate multiplier applied to some groups over a window.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpike {
    /// When it starts, from the beginning of the run.
    pub start: S<String>,
    /// How long it lasts.
    pub duration: S<String>,
    /// Factor on the arrival rate (> 0).
    pub multiplier: S<f64>,
    /// Groups affected (default: all).
    pub groups: Option<Vec<S<String>>>,
}
