//! `timeseries.csv`, streamed and kept to a bounded number of points per policy, so the
//! report's memory does not grow with simulated duration (a 7-day run has 600 k seconds per
//! policy). Charts draw at most a few hundred points per line anyway.
//!
//! Rows are read one at a time; when a policy holds [`KEEP_LIMIT`] points, neighbours are
//! merged pairwise (sums over the seconds they cover), halving the count. Runs shorter than
//! [`KEEP_LIMIT`] seconds are kept per second, exactly as written.
//!
//! A long run's file may hold rows wider than a second (counts summed over the row, gauges
//! its last value): the width is the gap between a policy's first two `t_s`, and a row's gauge
//! is counted once per second it covers, so that every point keeps "sums over the seconds".

use super::{Column, CsvTable};
use crate::ReportError;
use crate::csv_out::QUEUED_BY_CLASS_COLUMNS;
use std::path::Path;

/// Points per policy that trigger a pairwise merge (about 2 h 16 min at one per second).
pub const KEEP_LIMIT: usize = 8192;

/// One or more consecutive seconds of one policy in `timeseries.csv`: counts are sums over
/// the seconds covered, so a chart divides by [`TimePoint::seconds`] for a per-second mean.
#[derive(Debug, Clone, PartialEq)]
pub struct TimePoint {
    /// First second covered, since the start.
    pub t_s: u64,
    /// Seconds covered (1 unless a long run was merged).
    pub seconds: u64,
    /// Requests that arrived.
    pub offered: u64,
    /// Requests admitted.
    pub admitted: u64,
    /// Requests rejected by a layer.
    pub rejected: u64,
    /// Upstream 429 answers.
    pub upstream_429: u64,
    /// Queue length at the end of each second, summed over the seconds covered.
    pub queued: u64,
    /// Queue length per class ([`QUEUED_BY_CLASS_COLUMNS`]), summed likewise, when written.
    pub queued_by_class: Option<[u64; 4]>,
    /// Money spent in the seconds covered.
    pub spend_usd: f64,
}

impl TimePoint {
    /// A row `step` seconds wide, whose gauges held over all of it.
    fn widened(mut self, step: u64) -> TimePoint {
        self.seconds = step;
        self.queued = self.queued.saturating_mul(step);
        if let Some(by_class) = &mut self.queued_by_class {
            for q in by_class {
                *q = q.saturating_mul(step);
            }
        }
        self
    }

    /// `self` and the point right after it as one point.
    fn merged(&self, next: &TimePoint) -> TimePoint {
        let by_class = match (self.queued_by_class, next.queued_by_class) {
            (Some(a), Some(b)) => Some(std::array::from_fn(|i| a[i].saturating_add(b[i]))),
            _ => None,
        };
        TimePoint {
            t_s: self.t_s,
            seconds: self.seconds.saturating_add(next.seconds),
            offered: self.offered.saturating_add(next.offered),
            admitted: self.admitted.saturating_add(next.admitted),
            rejected: self.rejected.saturating_add(next.rejected),
            upstream_429: self.upstream_429.saturating_add(next.upstream_429),
            queued: self.queued.saturating_add(next.queued),
            queued_by_class: by_class,
            spend_usd: self.spend_usd + next.spend_usd,
        }
    }
}

/// Halve `points` by merging neighbours (an odd last point stays as it is).
fn halve(points: &mut Vec<TimePoint>) {
    let merged: Vec<TimePoint> = points
        .chunks(2)
        .map(|pair| match pair {
            [a, b] => a.merged(b),
            [a] => a.clone(),
            _ => unreachable!("chunks(2) yields one or two"),
        })
        .collect();
    *points = merged;
}

struct Columns {
    policy: Column<'static>,
    t_s: Column<'static>,
    counts: [Column<'static>; 5],
    spend: Column<'static>,
    by_class: Option<Vec<Column<'static>>>,
}

/// The points of one policy and what its rows' width is known to be.
struct Series {
    name: String,
    points: Vec<TimePoint>,
    /// Seconds per row: unknown until the policy's second row.
    step: Option<u64>,
    last_t_s: u64,
}

impl Series {
    /// Add the next row of the file (`point.seconds` is 1 as read).
    fn push(&mut self, point: TimePoint) {
        let point = match self.step {
            Some(step) => point.widened(step),
            None if self.points.is_empty() => point,
            None => {
                let step = point.t_s.saturating_sub(self.last_t_s).max(1);
                self.step = Some(step);
                self.points = std::mem::take(&mut self.points)
                    .into_iter()
                    .map(|p| p.widened(step))
                    .collect();
                point.widened(step)
            }
        };
        self.last_t_s = point.t_s;
        let points = &mut self.points;
        // Merge runs at the policy's current width, so every point covers the same span.
        let width = points.first().map_or(1, |p| p.seconds);
        match points.last_mut() {
            Some(last) if last.seconds < width => *last = last.merged(&point),
            _ => points.push(point),
        }
        if points.len() >= KEEP_LIMIT {
            halve(points);
        }
    }
}

/// Per policy in file order, each with at most [`KEEP_LIMIT`] points.
pub fn load(path: &Path) -> Result<Vec<(String, Vec<TimePoint>)>, ReportError> {
    let setup = |t: &CsvTable| {
        let counts = ["offered", "admitted", "rejected", "upstream_429", "queued"];
        Ok((
            Columns {
                policy: t.column("policy")?,
                t_s: t.column("t_s")?,
                counts: [
                    t.column(counts[0])?,
                    t.column(counts[1])?,
                    t.column(counts[2])?,
                    t.column(counts[3])?,
                    t.column(counts[4])?,
                ],
                spend: t.column("spend_usd")?,
                by_class: QUEUED_BY_CLASS_COLUMNS.iter().map(|c| t.find(c)).collect(),
            },
            Vec::<Series>::new(),
        ))
    };
    let (_, out) = CsvTable::stream(path, setup, |(cols, out), row| {
        let mut values = [0u64; 5];
        for (value, column) in values.iter_mut().zip(cols.counts) {
            *value = row.u64(column)?;
        }
        let [offered, admitted, rejected, upstream_429, queued] = values;
        let queued_by_class = match &cols.by_class {
            Some(c) => Some([
                row.u64(c[0])?,
                row.u64(c[1])?,
                row.u64(c[2])?,
                row.u64(c[3])?,
            ]),
            None => None,
        };
        let point = TimePoint {
            t_s: row.u64(cols.t_s)?,
            seconds: 1,
            offered,
            admitted,
            rejected,
            upstream_429,
            queued,
            queued_by_class,
            spend_usd: row.f64(cols.spend)?,
        };
        let name = row.text(cols.policy);
        let series = match out.iter().position(|s| s.name == name) {
            Some(i) => &mut out[i],
            None => {
                out.push(Series {
                    name: name.to_string(),
                    points: Vec::new(),
                    step: None,
                    last_t_s: 0,
                });
                out.last_mut().expect("just pushed")
            }
        };
        series.push(point);
        Ok(())
    })?;
    Ok(out.into_iter().map(|s| (s.name, s.points)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Load a file of policy `a` with these rows after the header (`name` keeps tests apart).
    fn load_rows(name: &str, rows: impl Iterator<Item = String>) -> Vec<(String, Vec<TimePoint>)> {
        let dir = std::env::temp_dir().join(format!("spillway-ts-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("timeseries.csv");
        let mut text =
            String::from("policy,t_s,offered,admitted,rejected,upstream_429,queued,spend_usd\n");
        text.extend(rows);
        std::fs::write(&path, text).expect("write");
        load(&path).expect("loads")
    }

    #[test]
    fn long_series_are_merged_and_keep_their_totals() {
        let n = 3 * KEEP_LIMIT as u64 + 5;
        let series = load_rows("long", (0..n).map(|t| format!("a,{t},2,1,1,0,3,0.5\n")));
        let points = &series[0].1;
        assert!(points.len() < KEEP_LIMIT, "{}", points.len());
        assert_eq!(points.iter().map(|p| p.seconds).sum::<u64>(), n);
        assert_eq!(points.iter().map(|p| p.offered).sum::<u64>(), 2 * n);
        assert_eq!(points[1].t_s, points[0].seconds, "points stay contiguous");
        let spend: f64 = points.iter().map(|p| p.spend_usd).sum();
        assert!((spend - 0.5 * n as f64).abs() < 1e-6);
    }

    #[test]
    fn coarse_rows_cover_their_width_and_gauges_hold_over_it() {
        let rows = (0..10u64).map(|row| format!("a,{},600,300,300,0,7,1.5\n", row * 300));
        let points = &load_rows("coarse", rows)[0].1;
        assert_eq!(points.len(), 10);
        for (i, p) in points.iter().enumerate() {
            assert_eq!((p.t_s, p.seconds), (i as u64 * 300, 300));
            // Per second: 2 offered and a queue of 7, as a chart divides by `seconds`.
            assert_eq!(p.offered / p.seconds, 2);
            assert_eq!(p.queued / p.seconds, 7);
        }
    }
}
