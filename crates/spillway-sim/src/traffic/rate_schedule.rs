//! Piecewise-constant rate multipliers (spikes), and exact sampling of the next arrival of a
//! Poisson process whose rate follows them.
//!
//! Sampling by inversion: draw E ~ Exp(1) once and walk forward through the segments, spending
//! `rate × length` of E in each, until it is used up. One draw per arrival whatever the spikes,
//! so adding a spike never shifts the random stream of other draws.

use super::secs_to_nanos;
use spillway_core::Time;

/// Multiplier segments: `multiplier[i]` holds on `[breaks[i], breaks[i+1])`, the last one
/// forever.
#[derive(Debug, Clone)]
pub struct RateSchedule {
    breaks: Vec<Time>,
    multipliers: Vec<f64>,
}

impl RateSchedule {
    /// A constant multiplier of 1.
    pub fn flat() -> Self {
        RateSchedule {
            breaks: vec![Time::ZERO],
            multipliers: vec![1.0],
        }
    }

    /// Product of the multipliers of every window `[start, end)` that is active at each instant.
    pub fn from_windows(windows: &[(Time, Time, f64)]) -> Self {
        let mut points: Vec<Time> = vec![Time::ZERO];
        for &(start, end, _) in windows {
            points.push(start);
            points.push(end);
        }
        points.sort_unstable();
        points.dedup();
        let multipliers = points
            .iter()
            .map(|&t| {
                windows
                    .iter()
                    .filter(|&&(s, e, _)| s <= t && t < e)
                    .map(|&(_, _, m)| m)
                    .product::<f64>()
            })
            .collect();
        RateSchedule {
            breaks: points,
            multipliers,
        }
    }

    /// The multiplier in force at `t`.
    pub fn multiplier_at(&self, t: Time) -> f64 {
        let i = self.breaks.partition_point(|&b| b <= t).saturating_sub(1);
        self.multipliers[i]
    }

    /// The next event after `from` of a Poisson process with base rate `rate_per_sec` scaled by
    /// this schedule, given an Exp(1) draw `e`. `None` if it falls at or after `until`.
    pub fn next_event(
        &self,
        from: Time,
        rate_per_sec: f64,
        mut e: f64,
        until: Time,
    ) -> Option<Time> {
        let mut t = from;
        let mut i = self.breaks.partition_point(|&b| b <= t).saturating_sub(1);
        while t < until {
            let rate = rate_per_sec * self.multipliers[i];
            let seg_end = self
                .breaks
                .get(i + 1)
                .copied()
                .unwrap_or(Time::MAX)
                .min(until);
            let seg_secs = seg_end.saturating_since(t).as_secs_f64();
            if rate > 0.0 && e <= rate * seg_secs {
                let at = Time::from_nanos(t.as_nanos().saturating_add(secs_to_nanos(e / rate)));
                return (at < until).then_some(at);
            }
            e -= rate * seg_secs;
            t = seg_end;
            i += 1;
            if i >= self.multipliers.len() {
                i = self.multipliers.len() - 1;
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spike_multiplies_the_rate_inside_its_window_only() {
        let s = RateSchedule::from_windows(&[(Time::from_secs(10), Time::from_secs(20), 10.0)]);
        assert_eq!(s.multiplier_at(Time::from_secs(5)), 1.0);
        assert_eq!(s.multiplier_at(Time::from_secs(10)), 10.0);
        assert_eq!(s.multiplier_at(Time::from_secs(20)), 1.0);
    }

    #[test]
    fn inversion_spends_the_draw_across_segments() {
        // Rate 1/s, then 10/s from t=10s. A draw of 12 spends 10 before the spike, 2 inside:
        // 0.2 s into the spike.
        let s = RateSchedule::from_windows(&[(Time::from_secs(10), Time::from_secs(20), 10.0)]);
        let at = s
            .next_event(Time::ZERO, 1.0, 12.0, Time::from_secs(100))
            .unwrap();
        assert_eq!(at.as_nanos(), 10_200_000_000);
        assert_eq!(
            s.next_event(Time::ZERO, 1.0, 1000.0, Time::from_secs(100)),
            None
        );
    }
}
