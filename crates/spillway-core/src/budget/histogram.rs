//! A small fixed-bucket histogram of non-negative integers (estimate errors), in the spirit of
//! HDR histograms but fixed-size and allocation-free: values below 8 are exact, larger ones fall
//! in 8 sub-buckets per power of two, so a reported quantile is within 12.5 % above the true
//! value, never below it (it is the bucket's upper bound). 496 counters cover all of `u64`.

const SUB_BITS: u32 = 3;
const SUB: u64 = 1 << SUB_BITS;
const BUCKETS: usize = ((64 - SUB_BITS as usize) + 1) * SUB as usize;

/// Counts of values in logarithmic buckets, with exact count, sum and max.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ErrorHistogram {
    counts: Box<[u64; BUCKETS]>,
    count: u64,
    sum: u128,
    max: u64,
}

impl Default for ErrorHistogram {
    fn default() -> Self {
        ErrorHistogram {
            counts: Box::new([0; BUCKETS]),
            count: 0,
            sum: 0,
            max: 0,
        }
    }
}

impl ErrorHistogram {
    /// Record one value.
    pub fn record(&mut self, value: u64) {
        let i = bucket(value);
        self.counts[i] = self.counts[i].saturating_add(1);
        self.count = self.count.saturating_add(1);
        self.sum = self.sum.saturating_add(u128::from(value));
        self.max = self.max.max(value);
    }
    /// Add every value recorded in `other` (e.g. all features into one run-wide histogram).
    pub fn merge(&mut self, other: &ErrorHistogram) {
        for (mine, theirs) in self.counts.iter_mut().zip(other.counts.iter()) {
            *mine = mine.saturating_add(*theirs);
        }
        self.count = self.count.saturating_add(other.count);
        self.sum = self.sum.saturating_add(other.sum);
        self.max = self.max.max(other.max);
    }
    /// Values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }
    /// Largest value recorded (0 if none).
    pub fn max(&self) -> u64 {
        self.max
    }
    /// Exact mean, rounded down (0 if none).
    pub fn mean(&self) -> u64 {
        if self.count == 0 {
            return 0;
        }
        u64::try_from(self.sum / u128::from(self.count)).unwrap_or(u64::MAX)
    }
    /// The `per_mille` quantile (950 = p95), as the upper bound of its bucket capped at the
    /// max: never below the true quantile, at most 12.5 % above. 0 if nothing was recorded.
    pub fn quantile(&self, per_mille: u32) -> u64 {
        if self.count == 0 {
            return 0;
        }
        let rank = (u128::from(self.count) * u128::from(per_mille.min(1000))).div_ceil(1000);
        let rank = u64::try_from(rank).unwrap_or(u64::MAX).max(1);
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            seen = seen.saturating_add(c);
            if seen >= rank {
                return upper_bound(i).min(self.max);
            }
        }
        self.max
    }
}

fn bucket(value: u64) -> usize {
    if value < SUB {
        return value as usize;
    }
    let msb = 63 - value.leading_zeros();
    let shift = msb - SUB_BITS;
    let sub = (value >> shift) & (SUB - 1);
    ((msb - SUB_BITS + 1) as usize) * SUB as usize + sub as usize
}

fn upper_bound(index: usize) -> u64 {
    let (group, sub) = ((index as u64) / SUB, (index as u64) % SUB);
    if group == 0 {
        return sub;
    }
    let shift = group - 1;
    let lower = (SUB + sub) << shift;
    lower.saturating_add((1u64 << shift) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_bound_their_values() {
        for v in (0..5000u64).chain([u64::MAX, u64::MAX / 3, 1 << 40]) {
            let i = bucket(v);
            assert!(i < BUCKETS);
            let hi = upper_bound(i);
            assert!(hi >= v, "{v} above its bucket's bound {hi}");
            assert!(hi - v <= v / 8, "{v}: bound {hi} more than 12.5% above");
        }
    }

    #[test]
    fn quantiles_mean_and_max() {
        let mut h = ErrorHistogram::default();
        assert_eq!((h.quantile(950), h.mean(), h.max()), (0, 0, 0));
        for v in 1..=100 {
            h.record(v);
        }
        assert_eq!(h.count(), 100);
        assert_eq!(h.mean(), 50);
        assert_eq!(h.max(), 100);
        let p95 = h.quantile(950);
        assert!((95..=95 + 95 / 8).contains(&p95), "p95 {p95}");
        assert_eq!(h.quantile(1000), 100);
        assert_eq!(h.quantile(0), 1);
        let mut both = ErrorHistogram::default();
        both.record(1_000);
        both.merge(&h);
        assert_eq!(
            (both.count(), both.max(), both.mean()),
            (101, 1_000, 59),
            "(5050 + 1000) / 101"
        );
        assert_eq!(both.quantile(500), h.quantile(500));
    }
}
