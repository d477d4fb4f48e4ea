//! What a run measures: per-class counters and latency histograms, rejections by layer, and a
//! per-second time series streamed out as it is produced (memory independent of duration),
//! coarsened on long runs.

mod budget;
mod class_stats;
mod coarsen;
mod distributed;
mod fairness;
mod littles_law;
mod timeseries;
mod upstream_stats;

pub use budget::{BudgetMetrics, CapReport, Spend};
pub use class_stats::{ClassStats, LatencyHistogram};
pub use coarsen::{Coarsen, MAX_ROWS_PER_POLICY, STEPS_S, auto_step_s, rows_per_policy};
pub use distributed::DistributedStats;
pub use fairness::{ServiceByUser, UserService};
pub use littles_law::LittlesLaw;
pub use timeseries::{Timeseries, TimeseriesRow};
pub use upstream_stats::UpstreamStats;

use crate::scenario::Class;

/// Everything one policy's run measured.
#[derive(Debug, Clone)]
pub struct PolicyMetrics {
    /// The policy's name.
    pub policy: String,
    /// Per class, indexed by [`Class::index`].
    pub classes: [ClassStats; 4],
    /// Rejections per limiter layer, in layer order (a request blocked by two layers counts
    /// once for each).
    pub rejections_by_layer: Vec<(String, u64)>,
    /// Requests rejected by the gateway because a layer could never admit them.
    pub never_fits: u64,
    /// Events processed (for throughput figures).
    pub events: u64,
    /// Offered and served requests per user (fairness).
    pub users: ServiceByUser,
    /// When observation ended (arrivals + drain): the horizon of time averages.
    pub end: spillway_core::Time,
    /// Over-admission and store round trips of the policy's gateway instances.
    pub distributed: DistributedStats,
    /// The budget's counters and spend, when the policy has a `budget:`.
    pub budget: Option<BudgetMetrics>,
    /// How long, while traffic arrived, the policy's service had no usable API key (when the
    /// scenario has `keys:`).
    pub key_downtime: Option<spillway_core::Duration>,
}

impl PolicyMetrics {
    /// Empty metrics for a policy with these layers.
    pub fn new(policy: &str, layer_names: impl Iterator<Item = String>) -> Self {
        PolicyMetrics {
            policy: policy.to_string(),
            classes: Default::default(),
            rejections_by_layer: layer_names.map(|n| (n, 0)).collect(),
            never_fits: 0,
            events: 0,
            users: ServiceByUser::default(),
            end: spillway_core::Time::ZERO,
            distributed: DistributedStats::default(),
            budget: None,
            key_downtime: None,
        }
    }

    /// Stats of one class.
    pub fn class(&self, class: Class) -> &ClassStats {
        &self.classes[class.index()]
    }

    /// Jain's fairness index of normalised service over the users of `class` (`None`: all).
    pub fn fairness_jain(&self, class: Option<Class>) -> Option<f64> {
        self.users.jain(class.map(Class::index))
    }

    /// Little's-law error of `stats` over this run, in percent.
    pub fn littles_law_error_pct(&self, stats: &ClassStats) -> Option<f64> {
        stats.littles_law.error_pct(self.end)
    }

    /// All classes merged (the `all` row).
    pub fn total(&self) -> ClassStats {
        let mut total = ClassStats::default();
        for c in &self.classes {
            total.merge(c);
        }
        total
    }
}
