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
    /// Time spent waiting in the gateway queue: every request that left the queue (sent,
    /// shed, abandoned) or was still in it at the end.
    pub wait: LatencyHistogram,
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
    /// Money spent on completed requests.
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
        self.wait.merge(&other.wait);
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
}
