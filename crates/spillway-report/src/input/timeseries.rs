//! `timeseries.csv`, streamed and kept to a bounded number of points per policy, so the
//! report's memory does not grow with simulated duration (a 7-day run has 600 k seconds per
//! policy). Charts draw at most a few hundred points per line anyway.
//!
//! Rows are read one at a time; when a policy holds [`KEEP_LIMIT`] points, neighbours are
//! merged pairwise (sums over the seconds they cover), halving the count. Runs shorter than
//! [`KEEP_LIMIT`] seconds are kept per second, exactly as written.

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
            Vec::<(String, Vec<TimePoint>)>::new(),
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
        let points = match out.iter().position(|(p, _)| p == name) {
            Some(i) => &mut out[i].1,
            None => {
                out.push((name.to_string(), Vec::new()));
                &mut out.last_mut().expect("just pushed").1
            }
        };
        // Merge runs at the policy's current width, so every point covers the same span.
        let width = points.first().map_or(1, |p| p.seconds);
        match points.last_mut() {
            Some(last) if last.seconds < width => *last = last.merged(&point),
            _ => points.push(point),
        }
        if points.len() >= KEEP_LIMIT {
            halve(points);
        }
        Ok(())
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_series_are_merged_and_keep_their_totals() {
        let dir = std::env::temp_dir().join(format!("spillway-ts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("timeseries.csv");
        let mut text =
            String::from("policy,t_s,offered,admitted,rejected,upstream_429,queued,spend_usd\n");
        let n = 3 * KEEP_LIMIT as u64 + 5;
        for t in 0..n {
            text.push_str(&format!("a,{t},2,1,1,0,3,0.5\n"));
        }
        std::fs::write(&path, text).expect("write");
        let series = load(&path).expect("loads");
        let points = &series[0].1;
        assert!(points.len() < KEEP_LIMIT, "{}", points.len());
        assert_eq!(points.iter().map(|p| p.seconds).sum::<u64>(), n);
        assert_eq!(points.iter().map(|p| p.offered).sum::<u64>(), 2 * n);
        assert_eq!(points[1].t_s, points[0].seconds, "points stay contiguous");
        let spend: f64 = points.iter().map(|p| p.spend_usd).sum();
        assert!((spend - 0.5 * n as f64).abs() < 1e-6);
    }
}
