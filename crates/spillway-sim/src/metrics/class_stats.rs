//! Counters and latency distribution for one (policy, class).

use hdrhistogram::Histogram;
use spillway_core::Duration;

/// Latencies in microseconds, 3 significant digits, auto-resizing (bounded by the range of
/// values, not their number).
#[derive(Debug, Clone)]
pub struct LatencyHistogram {
    hist: Histogram<u64>,
    max_ns: u64,
}

impl Default for LatencyHistogram {
    fn default() -> Self {
        let mut hist = Histogram::new(3).unwrap_or_else(|_| unreachable!("3 sigfigs is valid"));
        hist.auto(true);
        LatencyHistogram { hist, max_ns: 0 }
    }
}

impl LatencyHistogram {
    /// Record one latency.
    pub fn record(&mut self, d: Duration) {
        let micros = d.as_nanos() / 1_000;
        // With auto-resize on, recording cannot fail for any u64; saturate to be safe.
        let _ = self.hist.record(micros.max(1));
        self.max_ns = self.max_ns.max(d.as_nanos());
    }
    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.hist.len()
    }
    /// The `q` quantile (0..=1) as a duration (histogram precision: 0.1 %), never above the
    /// exact maximum (the histogram answers with its bucket's upper edge, which can be).
    pub fn quantile(&self, q: f64) -> Duration {
        if self.hist.is_empty() {
            return Duration::ZERO;
        }
        Duration::from_micros(self.hist.value_at_quantile(q)).min(self.max())
    }
    /// [`LatencyHistogram::quantile`] at each of `quantiles` (ascending), in one pass over the
    /// histogram: `latency.csv` asks for 104 points per class, and one scan each was a fifth of
    /// a short run's instructions. Stops early at a quantile below its predecessor.
    pub fn quantiles(&self, quantiles: impl IntoIterator<Item = f64>) -> Vec<Duration> {
        if self.hist.is_empty() {
            return quantiles.into_iter().map(|_| Duration::ZERO).collect();
        }
        self.hist
            .value_at_quantiles(quantiles)
            .map(|micros| Duration::from_micros(micros).min(self.max()))
            .collect()
    }
    /// The exact maximum.
    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max_ns)
    }
    /// Mean in nanoseconds (for Little's-law style checks).
    pub fn mean_ns(&self) -> f64 {
        self.hist.mean() * 1_000.0
    }
    /// Add another histogram's samples.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        let _ = self.hist.add(&other.hist);
        self.max_ns = self.max_ns.max(other.max_ns);
    }
}

/// Counters of one (policy, class).
#[derive(Debug, Clone, Default)]
pub struct ClassStats {
    /// Requests that arrived.
    pub offered: u64,
    /// Passed every limiter layer.
    pub admitted: u64,
    /// Refused by a limiter layer.
    pub rejected: u64,
    /// Admitted but dropped because the queue was full.
    pub shed: u64,
    /// Answered successfully.
    pub completed: u64,
    /// Gave up after the last upstream attempt.
    pub failed: u64,
    /// Still queued or in flight when the drain period ended.
    pub unfinished: u64,
    /// End-to-end latency of completed requests (arrival → response).
    pub latency: LatencyHistogram,
    /// Arrival → final answer of every admitted request that left (completed, failed at its
    /// last error, shed, abandoned): percentiles of `latency` alone hide the requests that
    /// gave up (survivor bias).
    pub latency_all: LatencyHistogram,
    /// Time spent waiting in the gateway queue: every request that left the queue (sent,
    /// shed, abandoned) or was still in it at the end.
    pub wait: LatencyHistogram,
    /// Σ of every recorded queue wait in nanoseconds (exact, for `mean_wait_ms`: the
    /// histogram's mean is bucketed).
    pub wait_ns_sum: u128,
    /// Σ upstream service time of accepted calls, send to completion, in nanoseconds.
    pub service_ns_sum: u128,
    /// Accepted upstream calls (the count behind `service_ns_sum`).
    pub service_calls: u64,
    /// Calls sent upstream (first attempts and retries).
    pub upstream_calls: u64,
    /// Calls answered 429.
    pub upstream_429: u64,
    /// Calls that were retries.
    pub retries: u64,
    /// Input tokens of completed requests.
    pub input_tokens: u64,
    /// Output tokens of completed requests.
    pub output_tokens: u64,
    /// Money spent: completed requests, and calls the provider accepted that did not complete
    /// (booked by the budget; only under one).
    pub cost_nano_usd: u64,
    /// Gave up while still queued: the class deadline passed (the user left).
    pub abandoned: u64,
    /// Requests whose queue wait exceeded the class SLO (served late, abandoned or left
    /// waiting at the end).
    pub waits_over_slo: u64,
    /// Admitted but never sent upstream: shed, abandoned, or still queued at the end.
    pub never_served: u64,
    /// Little's-law accumulators (admission to departure).
    pub littles_law: super::LittlesLaw,
    /// The client side towards the provider.
    pub upstream: super::UpstreamStats,
}

impl ClassStats {
    /// Record one queue wait (histogram and exact sum).
    pub fn record_wait(&mut self, waited: Duration) {
        self.wait.record(waited);
        self.wait_ns_sum += u128::from(waited.as_nanos());
    }

    /// Record the service time of one accepted upstream call.
    pub fn record_service(&mut self, service: Duration) {
        self.service_ns_sum += u128::from(service.as_nanos());
        self.service_calls += 1;
    }

    /// Mean queue wait in milliseconds, `None` when no wait was recorded.
    pub fn mean_wait_ms(&self) -> Option<f64> {
        let n = self.wait.count();
        (n > 0).then(|| self.wait_ns_sum as f64 / n as f64 / 1e6)
    }

    /// Mean upstream service time of accepted calls in milliseconds, `None` without any.
    pub fn mean_service_ms(&self) -> Option<f64> {
        let n = self.service_calls;
        (n > 0).then(|| self.service_ns_sum as f64 / n as f64 / 1e6)
    }

    /// Add `other` into `self`.
    pub fn merge(&mut self, other: &ClassStats) {
        self.offered += other.offered;
        self.admitted += other.admitted;
        self.rejected += other.rejected;
        self.shed += other.shed;
        self.completed += other.completed;
        self.failed += other.failed;
        self.unfinished += other.unfinished;
        self.latency.merge(&other.latency);
        self.latency_all.merge(&other.latency_all);
        self.wait.merge(&other.wait);
        self.wait_ns_sum += other.wait_ns_sum;
        self.service_ns_sum += other.service_ns_sum;
        self.service_calls += other.service_calls;
        self.upstream_calls += other.upstream_calls;
        self.upstream_429 += other.upstream_429;
        self.retries += other.retries;
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cost_nano_usd = self.cost_nano_usd.saturating_add(other.cost_nano_usd);
        self.abandoned += other.abandoned;
        self.waits_over_slo += other.waits_over_slo;
        self.never_served += other.never_served;
        self.littles_law.merge(&other.littles_law);
        self.upstream.merge(&other.upstream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_quantiles_equal_one_at_a_time() {
        let mut h = LatencyHistogram::default();
        assert_eq!(h.quantiles([0.0, 0.5]), [Duration::ZERO, Duration::ZERO]);
        for i in 0..5_000u64 {
            h.record(Duration::from_micros(1 + i * i % 7_919 * 997));
        }
        let points: Vec<f64> = (0..=1_000).map(|q| f64::from(q) / 1_000.0).collect();
        let one_at_a_time: Vec<Duration> = points.iter().map(|&q| h.quantile(q)).collect();
        assert_eq!(h.quantiles(points.iter().copied()), one_at_a_time);
    }

    #[test]
    fn quantiles_never_exceed_the_exact_maximum() {
        let mut h = LatencyHistogram::default();
        h.record(Duration::from_millis(15_500));
        assert!(
            h.quantile(0.5) <= h.max(),
            "{:?} > {:?}",
            h.quantile(0.5),
            h.max()
        );
        assert_eq!(h.quantile(1.0), Duration::from_millis(15_500));
    }

    #[test]
    fn means_are_exact_and_survive_merging() {
        let mut a = ClassStats::default();
        assert_eq!(a.mean_wait_ms(), None);
        assert_eq!(a.mean_service_ms(), None);
        a.record_wait(Duration::from_nanos(1_000_001));
        a.record_wait(Duration::from_nanos(2_000_000));
        a.record_service(Duration::from_millis(300));
        let mut b = ClassStats::default();
        b.record_wait(Duration::ZERO);
        b.record_service(Duration::from_millis(100));
        a.merge(&b);
        assert_eq!(a.wait.count(), 3);
        assert_eq!(a.mean_wait_ms(), Some(3_000_001.0 / 3.0 / 1e6));
        assert_eq!(a.mean_service_ms(), Some(200.0));
    }
}
