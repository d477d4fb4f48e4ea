//! The validated scenario: every value checked, every unit converted, every name resolved.

use spillway_core::{Duration, Time};

/// A loaded, valid scenario.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Name used for the output directory.
    pub name: String,
    /// Free text.
    pub description: String,
    /// Seed of every random stream.
    pub seed: u64,
    /// How long traffic arrives.
    pub duration: Duration,
    /// Extra time for queued work to finish after arrivals stop.
    pub drain: Duration,
    /// The emulated provider.
    pub provider: ProviderSpec,
    /// Where policies with a fallback go when the provider escalates or breaks.
    pub fallback_provider: Option<ProviderSpec>,
    /// User groups, in file order.
    pub groups: Vec<GroupSpec>,
    /// Rate multipliers.
    pub spikes: Vec<SpikeSpec>,
    /// Policies, in file order.
    pub policies: Vec<PolicySpec>,
    /// Per-class SLO and patience, indexed by [`Class::index`].
    pub classes: [spillway_core::policy::schedule::ClassSettings; 4],
    /// A recorded trace replayed alongside the groups (`traffic.trace`); its mix entries are
    /// the last groups, with [`ArrivalSpec::Trace`].
    pub trace: Option<crate::traffic::trace::TraceSpec>,
    /// Models, keys and money events (`models:`, `keys:`, `events:`), if any.
    pub budget: Option<super::budget::BudgetSetup>,
    /// `spillway serve` settings (`serve:`), ignored by the simulator.
    pub serve: Option<super::serve::ServeSpec>,
}

pub use spillway_core::policy::Class;

/// Integer prices: nano-USD per million tokens.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Price {
    /// Per million input tokens.
    pub input_nano_usd_per_mtok: u64,
    /// Per million output tokens.
    pub output_nano_usd_per_mtok: u64,
}

impl Price {
    /// Exact cost of a token count in nano-USD (rounded down to whole nano-USD only at the end).
    pub fn cost_nano_usd(&self, input_tokens: u64, output_tokens: u64) -> u64 {
        let total = u128::from(input_tokens) * u128::from(self.input_nano_usd_per_mtok)
            + u128::from(output_tokens) * u128::from(self.output_nano_usd_per_mtok);
        u64::try_from(total / 1_000_000).unwrap_or(u64::MAX)
    }
}

/// The emulated provider (defined beside the emulator that runs it).
pub use crate::provider::ProviderSpec;

/// Arrival process of one user.
#[derive(Debug, Clone, PartialEq)]
pub enum ArrivalSpec {
    /// Poisson at this many requests per second per user.
    Poisson {
        /// Requests per second per user.
        rate_per_sec: f64,
    },
    /// Alternating exponential on/off periods; Poisson while on.
    OnOff {
        /// Requests per second while on.
        rate_per_sec: f64,
        /// Mean on period.
        mean_on: Duration,
        /// Mean off period.
        mean_off: Duration,
    },
    /// Arrivals come from the scenario's trace (`traffic.trace`), not from a process.
    Trace,
}

/// A log-normal size clamped to `[1, max]`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SizeSpec {
    /// Median.
    pub median: f64,
    /// Sigma of the log.
    pub sigma: f64,
    /// Upper clamp.
    pub max: u64,
}

/// A group of users.
#[derive(Debug, Clone)]
pub struct GroupSpec {
    /// Name.
    pub name: String,
    /// Number of users.
    pub users: u64,
    /// Priority class.
    pub class: Class,
    /// Feature name.
    pub feature: String,
    /// Team name; `None`: the one team of every group without a name.
    pub team: Option<String>,
    /// Arrival process per user.
    pub arrival: ArrivalSpec,
    /// Prompt sizes.
    pub input_tokens: SizeSpec,
    /// Completion sizes.
    pub output_tokens: SizeSpec,
}

/// A rate multiplier over `[start, end)` for some groups.
#[derive(Debug, Clone)]
pub struct SpikeSpec {
    /// Start.
    pub start: Time,
    /// End (exclusive).
    pub end: Time,
    /// Factor.
    pub multiplier: f64,
    /// Indices into [`Scenario::groups`].
    pub groups: Vec<usize>,
}

pub use spillway_core::policy::PolicySpec;
