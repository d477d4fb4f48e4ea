//! Statistics of the offered trace, computed in one streaming pass.
//!
//! Same method as `shared/traces/stats.py`, so figures can be checked against its README:
//! requests are binned into 1 s and 60 s bins starting at the first request's whole second;
//! every bin between the first and last request counts, empty ones included; CV = population
//! standard deviation / mean of the bin counts; p99 is nearest-rank; "tokens per minute" is
//! input + output per 60 s bin. Memory: two open bins and one count per distinct token value.

use crate::traffic::Arrival;
use rustc_hash::FxHashSet;
use std::collections::BTreeMap;

/// What the replayed trace offered.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TraceStats {
    /// Requests offered.
    pub rows: u64,
    /// Of which marked failed in the original trace.
    pub failed: u64,
    /// Malformed rows skipped (`on_error: skip`).
    pub skipped: u64,
    /// Distinct users that sent at least one request.
    pub users: u64,
    /// Seconds from the first to the last request.
    pub span_s: f64,
    /// `rows / span_s`.
    pub mean_rps: f64,
    /// Most requests in one 1 s bin.
    pub peak_per_s: u64,
    /// Most requests in one 60 s bin.
    pub peak_per_min: u64,
    /// CV of the per-second counts.
    pub cv_per_s: f64,
    /// CV of the per-minute counts.
    pub cv_per_min: f64,
    /// Mean prompt tokens.
    pub input_mean: f64,
    /// Nearest-rank p99 of prompt tokens.
    pub input_p99: u64,
    /// Mean completion tokens.
    pub output_mean: f64,
    /// Nearest-rank p99 of completion tokens.
    pub output_p99: u64,
    /// Most input + output tokens in one 60 s bin.
    pub peak_tokens_per_min: u64,
}

/// Counts per fixed-width bin, folded as bins close.
#[derive(Debug, Clone, Default)]
struct Bins {
    width: u64,
    open: Option<u64>,
    count: u64,
    tokens: u64,
    bins: u64,
    sum: u128,
    sum_sq: u128,
    peak: u64,
    peak_tokens: u64,
}

impl Bins {
    fn new(width: u64) -> Self {
        Bins {
            width,
            ..Bins::default()
        }
    }

    fn add(&mut self, t: u64, tokens: u64) {
        let bin = t / self.width;
        match self.open {
            Some(open) if open == bin => {}
            Some(open) => {
                self.close();
                self.bins += bin.saturating_sub(open).saturating_sub(1); // empty bins
                self.open = Some(bin);
            }
            None => self.open = Some(bin),
        }
        self.count += 1;
        self.tokens = self.tokens.saturating_add(tokens);
    }

    fn close(&mut self) {
        self.bins += 1;
        self.sum += u128::from(self.count);
        self.sum_sq += u128::from(self.count) * u128::from(self.count);
        self.peak = self.peak.max(self.count);
        self.peak_tokens = self.peak_tokens.max(self.tokens);
        self.count = 0;
        self.tokens = 0;
    }

    fn cv(&mut self) -> f64 {
        if self.open.take().is_some() {
            self.close();
        }
        if self.sum == 0 {
            return 0.0;
        }
        let n = self.bins as f64;
        let mean = self.sum as f64 / n;
        let var = (self.sum_sq as f64 / n - mean * mean).max(0.0);
        var.sqrt() / mean
    }
}

/// Accumulates [`TraceStats`] over arrivals in time order.
#[derive(Debug, Clone)]
pub struct StatsBuilder {
    align_ns: u64,
    /// First arrival and the whole second (shifted clock) its bins start at.
    first: Option<(u64, u64)>,
    last: u64,
    rows: u64,
    failed: u64,
    users: FxHashSet<u64>,
    per_s: Bins,
    per_min: Bins,
    input: BTreeMap<u64, u64>,
    output: BTreeMap<u64, u64>,
    input_sum: u128,
    output_sum: u128,
}

impl StatsBuilder {
    /// `align_ns`: how far simulated time 0 lies past a whole second of the trace's clock;
    /// bins then start at the whole second of the first arrival, as `stats.py` does.
    pub fn new(align_ns: u64) -> Self {
        StatsBuilder {
            align_ns: align_ns % 1_000_000_000,
            first: None,
            last: 0,
            rows: 0,
            failed: 0,
            users: FxHashSet::default(),
            per_s: Bins::new(1_000_000_000),
            per_min: Bins::new(60_000_000_000),
            input: BTreeMap::new(),
            output: BTreeMap::new(),
            input_sum: 0,
            output_sum: 0,
        }
    }

    /// Count one arrival (arrivals must come in time order).
    pub fn add(&mut self, a: &Arrival) {
        let t = a.at.as_nanos();
        let shifted = t.saturating_add(self.align_ns);
        let (_, base) = *self
            .first
            .get_or_insert((t, shifted - shifted % 1_000_000_000));
        let rel = shifted - base;
        let tokens = a.input_tokens.saturating_add(a.output_tokens);
        self.per_s.add(rel, tokens);
        self.per_min.add(rel, tokens);
        self.last = t;
        self.rows += 1;
        self.failed += u64::from(a.failed);
        self.users.insert(a.user);
        *self.input.entry(a.input_tokens).or_insert(0) += 1;
        *self.output.entry(a.output_tokens).or_insert(0) += 1;
        self.input_sum += u128::from(a.input_tokens);
        self.output_sum += u128::from(a.output_tokens);
    }

    /// The figures, with `skipped` malformed rows.
    pub fn finish(mut self, skipped: u64) -> TraceStats {
        let first = self.first.map_or(0, |(t, _)| t);
        let span_s = self.last.saturating_sub(first) as f64 / 1e9;
        let n = self.rows.max(1) as f64;
        TraceStats {
            rows: self.rows,
            failed: self.failed,
            skipped,
            users: self.users.len() as u64,
            span_s,
            mean_rps: if span_s > 0.0 {
                self.rows as f64 / span_s
            } else {
                0.0
            },
            cv_per_s: self.per_s.cv(),
            cv_per_min: self.per_min.cv(),
            peak_per_s: self.per_s.peak,
            peak_per_min: self.per_min.peak,
            peak_tokens_per_min: self.per_min.peak_tokens,
            input_mean: self.input_sum as f64 / n,
            input_p99: nearest_rank(&self.input, self.rows, 99),
            output_mean: self.output_sum as f64 / n,
            output_p99: nearest_rank(&self.output, self.rows, 99),
        }
    }
}

/// Nearest-rank percentile `p` of a value → count histogram holding `n` values.
fn nearest_rank(hist: &BTreeMap<u64, u64>, n: u64, p: u64) -> u64 {
    let rank = (p * n).div_ceil(100).max(1);
    let mut seen = 0;
    for (&value, &count) in hist {
        seen += count;
        if seen >= rank {
            return value;
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;
    use spillway_core::Time;

    fn at(ns: u64, input: u64) -> Arrival {
        Arrival {
            at: Time::from_nanos(ns),
            user: input % 3,
            group: 0,
            input_tokens: input,
            output_tokens: 1,
            failed: false,
        }
    }

    #[test]
    fn empty_bins_count_and_cv_is_population() {
        // Counts per second: [2, 0, 1] → mean 1, pstdev sqrt(2/3).
        let mut b = StatsBuilder::new(0);
        for a in [at(0, 1), at(500_000_000, 2), at(2_100_000_000, 3)] {
            b.add(&a);
        }
        let s = b.finish(0);
        assert_eq!((s.rows, s.peak_per_s, s.peak_per_min), (3, 2, 3));
        assert!(
            (s.cv_per_s - (2.0f64 / 3.0).sqrt()).abs() < 1e-12,
            "{}",
            s.cv_per_s
        );
        assert_eq!(s.input_p99, 3);
        assert_eq!(s.peak_tokens_per_min, 9);
        assert_eq!(s.users, 3);
    }

    #[test]
    fn alignment_moves_the_bin_edges() {
        // 0.6 s past a whole second: 0 and 0.5 s fall in different bins.
        let mut b = StatsBuilder::new(600_000_000);
        b.add(&at(0, 1));
        b.add(&at(500_000_000, 1));
        assert_eq!(b.finish(0).peak_per_s, 1);
    }

    #[test]
    fn nearest_rank_matches_the_definition() {
        let hist: BTreeMap<u64, u64> = (1..=100).map(|v| (v, 1)).collect();
        assert_eq!(nearest_rank(&hist, 100, 99), 99);
        assert_eq!(nearest_rank(&hist, 100, 50), 50);
    }
}
