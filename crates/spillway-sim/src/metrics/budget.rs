//! What a policy's budget did: degradations, refusals, which model served, how wrong the cost
//! estimates were, and where the money went (by user, feature and API key).
//!
//! Spend is aggregated while the run goes, in a `BTreeMap` keyed by ids (user, feature, key):
//! memory is O(users × features × keys seen), and the output order is defined. Names and
//! redacted key labels are resolved once, at the end.

use spillway_core::budget::Period;
use spillway_core::limit::Scope;
use std::collections::BTreeMap;

/// Requests and money of one (user, feature, key).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Spend {
    /// Calls billed: completed by the provider, or accepted and ended otherwise (failed, on
    /// the wire at the end).
    pub requests: u64,
    /// Their actual cost, nano-USD.
    pub nano_usd: u64,
}

/// One cap at the end of the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapReport {
    /// The cap's name (`key:<env>/<service>/<name>` for a key's budget).
    pub name: String,
    /// What it is keyed by.
    pub scope: Scope,
    /// When it resets.
    pub period: Period,
    /// Its limit, nano-USD.
    pub limit_nano_usd: u64,
    /// Spend in the period current at the end of the run, nano-USD (per-id caps: the largest
    /// account).
    pub spent_nano_usd: u64,
}

/// The budget side of one policy's run.
#[derive(Debug, Clone, Default)]
pub struct BudgetMetrics {
    /// Requests routed to a cheaper model than asked (by the ladder at admission, or by
    /// shedding's downgrade when leaving the queue), per class.
    pub degraded: [u64; 4],
    /// Requests refused by a cap (at arrival, or after waiting for a reset beyond the run), or
    /// because no API key was usable, per class.
    pub budget_rejected: [u64; 4],
    /// Of `budget_rejected`: no usable API key (expired, revoked, not yet valid).
    pub no_key: [u64; 4],
    /// Requests held for a cap's reset (`on_exhausted: queue`), per class.
    pub held: [u64; 4],
    /// Requests completed by the provider (cache hits excluded), per class.
    pub completed: [u64; 4],
    /// Of `completed`: on the model asked for.
    pub completed_on_requested: [u64; 4],
    /// 95th percentile of |estimate − actual| cost over the run, nano-USD.
    pub estimate_error_p95_nano_usd: Option<u64>,
    /// The largest amount by which an actual cost exceeded its estimate, nano-USD.
    pub max_under_estimate_nano_usd: u64,
    /// Spend by (user, feature id, key id).
    pub spend: BTreeMap<(u64, u64, u64), Spend>,
    /// Feature names by id.
    pub features: Vec<String>,
    /// Safe-to-print key labels by key id (`name…last4`, or the name for synthetic keys).
    pub key_labels: BTreeMap<u64, String>,
    /// Every cap, in ledger order.
    pub caps: Vec<CapReport>,
}

impl BudgetMetrics {
    /// The sum over classes of a per-class counter (`None`: all) or one class's value.
    pub fn count(counter: &[u64; 4], class: Option<usize>) -> u64 {
        match class {
            Some(c) => counter.get(c).copied().unwrap_or(0),
            None => counter.iter().sum(),
        }
    }

    /// Completed on the requested model / completed (`None` when nothing completed).
    pub fn best_model_share(&self, class: Option<usize>) -> Option<f64> {
        let done = Self::count(&self.completed, class);
        let best = Self::count(&self.completed_on_requested, class);
        (done > 0).then(|| best as f64 / done as f64)
    }

    /// Record a billed call.
    pub fn bill(&mut self, user: u64, feature: u64, key: u64, nano_usd: u64) {
        let entry = self.spend.entry((user, feature, key)).or_default();
        entry.requests += 1;
        entry.nano_usd = entry.nano_usd.saturating_add(nano_usd);
    }

    /// Total spend billed, nano-USD.
    pub fn total_nano_usd(&self) -> u64 {
        self.spend
            .values()
            .fold(0u64, |a, s| a.saturating_add(s.nano_usd))
    }

    /// Spend billed to one key, nano-USD.
    pub fn key_spend_nano_usd(&self, key: u64) -> u64 {
        self.spend
            .iter()
            .filter(|((_, _, k), _)| *k == key)
            .fold(0u64, |a, (_, s)| a.saturating_add(s.nano_usd))
    }
}
