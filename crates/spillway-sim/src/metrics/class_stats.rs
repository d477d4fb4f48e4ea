//! Counters and latency distribution for one (policy, class).

use spillway_core::Duration;

/// Latencies in microseconds, 3 significant digits, growing with the range of values seen
/// (bounded by that range, not by the number of values).
///
/// Why not an `hdrhistogram::Histogram`: every completion records three latencies, and the
/// histogram's general recording path (bounds, resize, min/max bookkeeping) was ~4 % of a run.
/// This keeps only the counts, in exactly the bucket layout of a 3-significant-digit HDR
/// histogram with unit 1 (2,048 exact values, then 1,024 buckets per power of two), and answers
/// quantiles and the mean with HDR's own formulas: same buckets, same counts, same answers
/// (tested against `hdrhistogram`).
///
/// Why in chunks: a class's latencies fill a handful of powers of two, not every one below the
/// largest. A flat array grown to the largest bucket (~18 k buckets, 146 KB, twelve histograms a
/// policy) zeroed and copied every bucket on the way: ~a fifth of a short run, in page faults.
/// A chunk per power of two, allocated on first use, zeroes 6–18 of its ~19 (`spike.yaml`).
#[derive(Debug, Clone, Default)]
pub struct LatencyHistogram {
    /// Samples per bucket, [`CHUNK`] buckets a chunk; `None`: every bucket of it is empty.
    chunks: Vec<Option<Box<[u64; CHUNK]>>>,
    samples: u64,
    max_ns: u64,
}

/// Bits of the sub-bucket index: 3 significant digits need 2,048 sub-buckets (HDR's
/// `sub_bucket_count`), the upper half of which start each further power of two.
const SUB_BUCKET_BITS: u32 = 11;
const HALF_BITS: u32 = SUB_BUCKET_BITS - 1;
/// Buckets a chunk: a power of two's worth (from 2,048 on; the exact values below are two).
const CHUNK: usize = 1 << HALF_BITS;
/// What a chunk never allocated holds.
static EMPTY_CHUNK: [u64; CHUNK] = [0; CHUNK];

/// The bucket of `value`: HDR's counts index for 3 significant digits and unit 1.
fn bucket_of(value: u64) -> usize {
    let magnitude = 63 - (value | 1).leading_zeros();
    if magnitude < SUB_BUCKET_BITS {
        return value as usize;
    }
    let shift = magnitude - HALF_BITS;
    ((shift as usize) << HALF_BITS) + (value >> shift) as usize
}

/// log2 of the width of `bucket` (HDR's bucket index).
fn width_bits(bucket: usize) -> u32 {
    if bucket < 1 << SUB_BUCKET_BITS {
        0
    } else {
        (bucket >> HALF_BITS) as u32 - 1
    }
}

/// The lowest value of `bucket` (inverse of [`bucket_of`]; HDR's `value_for`).
fn lowest_in(bucket: usize) -> u64 {
    let shift = width_bits(bucket);
    ((bucket - ((shift as usize) << HALF_BITS)) as u64) << shift
}

/// HDR's `highest_equivalent` of the bucket's values.
fn highest_in(bucket: usize) -> u64 {
    lowest_in(bucket).saturating_add(1 << width_bits(bucket)) - 1
}

impl LatencyHistogram {
    /// Record one latency.
    pub fn record(&mut self, d: Duration) {
        let micros = (d.as_nanos() / 1_000).max(1);
        let bucket = bucket_of(micros);
        self.chunk_mut(bucket / CHUNK)[bucket % CHUNK] += 1;
        self.samples += 1;
        self.max_ns = self.max_ns.max(d.as_nanos());
    }
    /// The counts of chunk `index`, allocated (zeroed) on first use.
    fn chunk_mut(&mut self, index: usize) -> &mut [u64; CHUNK] {
        if index >= self.chunks.len() {
            self.chunks.resize_with(index + 1, || None);
        }
        self.chunks[index].get_or_insert_with(|| Box::new([0; CHUNK]))
    }
    /// Every bucket's count in bucket order, up to the last chunk allocated.
    fn counts(&self) -> impl Iterator<Item = u64> + '_ {
        self.chunks
            .iter()
            .flat_map(|chunk| chunk.as_deref().unwrap_or(&EMPTY_CHUNK))
            .copied()
    }
    /// Number of samples.
    pub fn count(&self) -> u64 {
        self.samples
    }
    /// The `q` quantile (0..=1) as a duration (histogram precision: 0.1 %), never above the
    /// exact maximum (the histogram answers with its bucket's upper edge, which can be).
    pub fn quantile(&self, q: f64) -> Duration {
        self.quantiles([q])
            .first()
            .copied()
            .unwrap_or(Duration::ZERO)
    }
    /// [`LatencyHistogram::quantile`] at each of `quantiles` (ascending), in one pass over the
    /// counts: `latency.csv` asks for 104 points per class. Stops early at a quantile below its
    /// predecessor (as HDR's `value_at_quantiles`).
    pub fn quantiles(&self, quantiles: impl IntoIterator<Item = f64>) -> Vec<Duration> {
        if self.samples == 0 {
            return quantiles.into_iter().map(|_| Duration::ZERO).collect();
        }
        let mut out = Vec::new();
        let (mut seen, mut bucket) = (0u64, 0usize);
        let mut counts = self.counts();
        let mut previous: Option<f64> = None;
        for q in quantiles {
            if previous.is_some_and(|p| p > q) {
                break;
            }
            previous = Some(q);
            // HDR's rank: at least the first sample.
            let target = ((q.clamp(0.0, 1.0) * self.samples as f64).ceil() as u64).max(1);
            while seen < target {
                match counts.next() {
                    Some(count) => seen += count,
                    None => break,
                }
                bucket += 1;
            }
            let at = bucket.saturating_sub(1);
            let micros = if q == 0.0 {
                lowest_in(at)
            } else {
                highest_in(at)
            };
            out.push(Duration::from_micros(micros).min(self.max()));
        }
        out
    }
    /// The exact maximum.
    pub fn max(&self) -> Duration {
        Duration::from_nanos(self.max_ns)
    }
    /// Mean in nanoseconds (for Little's-law style checks): HDR's mean, each bucket counted
    /// at its middle, summed in bucket order.
    pub fn mean_ns(&self) -> f64 {
        if self.samples == 0 {
            return 0.0;
        }
        let n = self.samples as f64;
        let mean_us = self
            .counts()
            .enumerate()
            .filter(|&(_, count)| count > 0)
            .fold(0.0_f64, |total, (bucket, count)| {
                let middle = lowest_in(bucket) + ((1u64 << width_bits(bucket)) >> 1);
                total + middle as f64 * count as f64 / n
            });
        mean_us * 1_000.0
    }
    /// Add another histogram's samples.
    pub fn merge(&mut self, other: &LatencyHistogram) {
        for (index, chunk) in other.chunks.iter().enumerate() {
            if let Some(chunk) = chunk {
                let sums = self.chunk_mut(index);
                for (sum, &add) in sums.iter_mut().zip(chunk.iter()) {
                    *sum += add;
                }
            }
        }
        self.samples += other.samples;
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

    /// The counts-only histogram answers exactly as an HDR histogram fed the same samples.
    #[test]
    fn answers_equal_a_plain_hdr_histogram() {
        use hdrhistogram::Histogram;
        let mut plain = Histogram::<u64>::new(3).unwrap();
        plain.auto(true);
        let (mut ours, mut other) = (LatencyHistogram::default(), LatencyHistogram::default());
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..30_000u32 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            // Every magnitude up to 2^52 µs (nanoseconds must fit a u64), bucket edges included.
            let micros = match i % 3 {
                0 => (x >> (12 + x % 52)).max(1),
                1 => 1u64 << (x % 53),
                _ => ((1u64 << (x % 53)) - 1).max(1),
            };
            plain.record(micros).unwrap();
            let half = if i % 2 == 0 { &mut ours } else { &mut other };
            half.record(Duration::from_micros(micros));
            let bucket = bucket_of(micros);
            assert_eq!(lowest_in(bucket), plain.lowest_equivalent(micros));
            assert_eq!(highest_in(bucket), plain.highest_equivalent(micros));
        }
        ours.merge(&other);
        assert_eq!(ours.count(), plain.len());
        assert_eq!(ours.mean_ns(), plain.mean() * 1_000.0);
        let points: Vec<f64> = (0..=1_000).map(|q| f64::from(q) / 1_000.0).collect();
        let expected: Vec<Duration> = points
            .iter()
            .map(|&q| Duration::from_micros(plain.value_at_quantile(q)).min(ours.max()))
            .collect();
        assert_eq!(ours.quantiles(points.iter().copied()), expected);
        assert_eq!(
            ours.quantiles([0.5, 0.2]).len(),
            1,
            "stops at a smaller quantile"
        );
    }

    /// Memory follows the powers of two used, not the largest value.
    #[test]
    fn only_the_chunks_used_are_allocated() {
        let mut h = LatencyHistogram::default();
        h.record(Duration::from_micros(5));
        h.record(Duration::from_secs(100));
        h.record(Duration::from_secs(101));
        let allocated = h.chunks.iter().filter(|c| c.is_some()).count();
        assert_eq!(allocated, 2, "of {} chunks", h.chunks.len());
        assert!(h.chunks.len() > 15, "100 s is past 2^26 µs");
        assert_eq!(h.quantile(0.0), Duration::from_micros(5));
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
