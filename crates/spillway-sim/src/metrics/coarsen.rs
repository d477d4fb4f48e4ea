//! Coarser time-series rows for long runs.
//!
//! Why: one row per second and policy is what a short run wants (every shipped scenario), but a
//! 1000-day run would write 86 M rows per policy. The width of a row is therefore chosen from
//! the run's span (traffic + drain): 1 s while that gives at most [`MAX_ROWS_PER_POLICY`] rows,
//! else the smallest of [`STEPS_S`] that does. A coarse row starts at its bucket's first second;
//! counts are sums over the bucket, gauges (`queued*`, `in_flight`, `breaker`) its last value.

use super::TimeseriesRow;
use spillway_core::Duration;

/// Rows per policy the automatic width aims to stay under.
pub const MAX_ROWS_PER_POLICY: u64 = 100_000;

/// Widths tried, in seconds, after 1 s: round numbers a reader recognises.
pub const STEPS_S: [u64; 11] = [2, 5, 10, 30, 60, 300, 600, 1_800, 3_600, 21_600, 86_400];

const SECOND_NS: u64 = 1_000_000_000;

/// Rows one policy writes over `span` at `step_s` seconds a row (the last, partial bucket
/// included).
pub fn rows_per_policy(span: Duration, step_s: u64) -> u64 {
    span.as_nanos() / SECOND_NS / step_s.max(1) + 1
}

/// The automatic row width for a run observed over `span` (traffic + drain), in seconds.
pub fn auto_step_s(span: Duration) -> u64 {
    std::iter::once(1)
        .chain(STEPS_S)
        .find(|&step| rows_per_policy(span, step) <= MAX_ROWS_PER_POLICY)
        .unwrap_or(STEPS_S[STEPS_S.len() - 1])
}

/// Merges consecutive one-second rows of one policy into rows `step_s` seconds wide.
#[derive(Debug)]
pub struct Coarsen {
    step_s: u64,
    pending: Option<TimeseriesRow>,
}

impl Coarsen {
    /// Rows `step_s` seconds wide (1: rows pass through unchanged).
    pub fn new(step_s: u64) -> Self {
        Coarsen {
            step_s: step_s.max(1),
            pending: None,
        }
    }

    /// Take the next one-second row; hands a bucket to `sink` once a row of a later bucket
    /// arrives.
    pub fn push(&mut self, row: &TimeseriesRow, sink: &mut dyn FnMut(&TimeseriesRow)) {
        if self.step_s == 1 {
            return sink(row);
        }
        let start = row.t_s - row.t_s % self.step_s;
        match &mut self.pending {
            Some(bucket) if bucket.t_s == start => bucket.absorb(row),
            pending => {
                if let Some(bucket) = pending.take() {
                    sink(&bucket);
                }
                *pending = Some(TimeseriesRow { t_s: start, ..*row });
            }
        }
    }

    /// Hand the last, possibly partial, bucket to `sink`.
    pub fn finish(&mut self, sink: &mut dyn FnMut(&TimeseriesRow)) {
        if let Some(bucket) = self.pending.take() {
            sink(&bucket);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(t_s: u64, offered: u64, queued: u64) -> TimeseriesRow {
        TimeseriesRow {
            t_s,
            offered,
            spend_nano_usd: 10 * offered,
            queued,
            queued_by_class: [queued, 0, 0, 0],
            in_flight: t_s,
            breaker: (t_s % 3) as u8,
            ..TimeseriesRow::default()
        }
    }

    fn coarsen(step_s: u64, rows: &[TimeseriesRow]) -> Vec<TimeseriesRow> {
        let mut out = Vec::new();
        let mut c = Coarsen::new(step_s);
        for row in rows {
            c.push(row, &mut |r| out.push(*r));
        }
        c.finish(&mut |r| out.push(*r));
        out
    }

    #[test]
    fn buckets_sum_counts_and_keep_the_last_gauges() {
        let rows: Vec<_> = (0..12).map(|t| second(t, t + 1, 100 + t)).collect();
        let out = coarsen(5, &rows);
        assert_eq!(out.iter().map(|r| r.t_s).collect::<Vec<_>>(), [0, 5, 10]);
        assert_eq!(
            out.iter().map(|r| r.offered).collect::<Vec<_>>(),
            [15, 40, 23]
        );
        assert_eq!(out[1].spend_nano_usd, 400);
        // Gauges: the values of the bucket's last second (4, 9, 11).
        assert_eq!(
            out.iter().map(|r| r.queued).collect::<Vec<_>>(),
            [104, 109, 111]
        );
        assert_eq!(out[1].queued_by_class, [109, 0, 0, 0]);
        assert_eq!(
            out.iter().map(|r| r.in_flight).collect::<Vec<_>>(),
            [4, 9, 11]
        );
        assert_eq!(out.iter().map(|r| r.breaker).collect::<Vec<_>>(), [1, 0, 2]);
    }

    #[test]
    fn one_second_rows_pass_through() {
        let rows: Vec<_> = (0..4).map(|t| second(t, t, t)).collect();
        assert_eq!(coarsen(1, &rows), rows);
    }

    #[test]
    fn the_width_is_one_second_up_to_the_bound_then_the_smallest_that_fits() {
        let secs = |s: u64| Duration::from_secs(s);
        assert_eq!(auto_step_s(secs(99_999)), 1);
        assert_eq!(auto_step_s(secs(100_000)), 2);
        assert_eq!(auto_step_s(secs(200 * 86_400)), 300);
        assert_eq!(rows_per_policy(secs(200 * 86_400), 300), 57_601);
        assert_eq!(auto_step_s(secs(1_000 * 86_400)), 1_800);
        assert_eq!(auto_step_s(Duration::MAX), 86_400);
    }
}
