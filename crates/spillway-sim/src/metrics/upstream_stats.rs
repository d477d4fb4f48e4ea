//! What the client side towards the provider cost and achieved: wasted calls, retries that
//! worked, escalations, failover, and how well the local quota model tracked the truth.

/// Upstream counters of one (policy, class).
#[derive(Debug, Clone, Default)]
pub struct UpstreamStats {
    /// Calls answered 429, 529 or 503: sent for nothing.
    pub wasted_calls: u64,
    /// Retries the provider accepted.
    pub retry_successes: u64,
    /// Times the consecutive-429 counter reached its threshold (alert + fallback).
    pub escalations: u64,
    /// Calls sent to the fallback provider.
    pub fallback_calls: u64,
    /// Requests answered from the cache because no provider could take them.
    pub cache_served: u64,
    /// Retries refused by the retry budget (the request failed instead).
    pub budget_denied: u64,
    /// Σ |modelled remaining − true remaining| / limit, in parts per million, per sample.
    pub quota_error_ppm_sum: u64,
    /// Samples of the quota error (one per window per proactive send).
    pub quota_samples: u64,
    /// Σ |modelled time to full − true reset|, in nanoseconds.
    pub reset_error_ns_sum: u128,
    /// Samples of the reset error.
    pub reset_samples: u64,
}

impl UpstreamStats {
    /// Add `other` into `self`.
    pub fn merge(&mut self, other: &UpstreamStats) {
        self.wasted_calls += other.wasted_calls;
        self.retry_successes += other.retry_successes;
        self.escalations += other.escalations;
        self.fallback_calls += other.fallback_calls;
        self.cache_served += other.cache_served;
        self.budget_denied += other.budget_denied;
        self.quota_error_ppm_sum = self
            .quota_error_ppm_sum
            .saturating_add(other.quota_error_ppm_sum);
        self.quota_samples += other.quota_samples;
        self.reset_error_ns_sum += other.reset_error_ns_sum;
        self.reset_samples += other.reset_samples;
    }

    /// Mean absolute quota error of the local model, in percent of the limit.
    pub fn quota_error_pct(&self) -> Option<f64> {
        (self.quota_samples > 0)
            .then(|| self.quota_error_ppm_sum as f64 / self.quota_samples as f64 / 10_000.0)
    }

    /// Mean absolute error of the modelled reset, in milliseconds.
    pub fn reset_error_ms(&self) -> Option<f64> {
        (self.reset_samples > 0)
            .then(|| self.reset_error_ns_sum as f64 / self.reset_samples as f64 / 1e6)
    }
}
