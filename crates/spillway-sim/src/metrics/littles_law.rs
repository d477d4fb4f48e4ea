//! Little's law as a built-in self-check: L = λ·W, measured two independent ways.
//!
//! `L` (mean number in the system) is the exact time integral of the in-system gauge, updated
//! at every admission and departure. `W` (mean time in the system) is the exact sum of each
//! departed request's own admission-to-departure span. `λ` is admissions per unit of time.
//! The two sides come from different code paths (a gauge versus per-request timestamps), so a
//! request that leaves the system without being accounted for shows up as an error.
//!
//! Over a finite run the identity holds exactly only when the system ends empty. Requests still
//! queued or in flight at the end add to `L` but not to `W`, so a large error also means "the
//! run did not drain": read it together with `unfinished`.

use spillway_core::Time;

/// Integer accumulators of one class (no floats until the final ratio).
#[derive(Debug, Clone, Default)]
pub struct LittlesLaw {
    in_system: u64,
    last_change: Time,
    /// ∫ N(t) dt in request·nanoseconds.
    area: u128,
    admissions: u64,
    departures: u64,
    /// Σ (departure − admission) of departed requests, in nanoseconds.
    sojourn_ns: u128,
}

impl LittlesLaw {
    fn advance(&mut self, now: Time) {
        let dt = now.saturating_since(self.last_change).as_nanos();
        self.area += u128::from(self.in_system) * u128::from(dt);
        self.last_change = self.last_change.max(now);
    }

    /// A request entered the system (was admitted) at `now`.
    pub fn admit(&mut self, now: Time) {
        self.advance(now);
        self.in_system += 1;
        self.admissions += 1;
    }

    /// A request admitted at `admitted_at` left the system at `now` (any way: completed,
    /// failed, shed, abandoned).
    pub fn depart(&mut self, now: Time, admitted_at: Time) {
        self.advance(now);
        self.in_system = self.in_system.saturating_sub(1);
        self.departures += 1;
        self.sojourn_ns += u128::from(now.saturating_since(admitted_at).as_nanos());
    }

    /// Requests in the system now.
    pub fn in_system(&self) -> u64 {
        self.in_system
    }

    /// Merge another class (for the `all` row). Both must have been closed at the same `end`.
    pub fn merge(&mut self, other: &LittlesLaw) {
        self.in_system += other.in_system;
        self.last_change = self.last_change.max(other.last_change);
        self.area += other.area;
        self.admissions += other.admissions;
        self.departures += other.departures;
        self.sojourn_ns += other.sojourn_ns;
    }

    /// Close the observation window at `end` (integrates the gauge up to it).
    pub fn close(&mut self, end: Time) {
        self.advance(end);
    }

    /// |L − λW| / L in percent over `[0, end]`, or `None` when nothing was admitted.
    pub fn error_pct(&self, end: Time) -> Option<f64> {
        let t = end.as_nanos() as f64;
        if self.admissions == 0 || self.departures == 0 || t <= 0.0 || self.area == 0 {
            return None;
        }
        let l = self.area as f64 / t;
        let lambda = self.admissions as f64 / t;
        let w = self.sojourn_ns as f64 / self.departures as f64;
        Some(((l - lambda * w) / l).abs() * 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spillway_core::Duration;

    fn at(s: u64) -> Time {
        Time::ZERO.saturating_add(Duration::from_secs(s))
    }

    #[test]
    fn drained_system_satisfies_the_law_exactly() {
        let mut l = LittlesLaw::default();
        l.admit(at(0));
        l.admit(at(1));
        l.depart(at(3), at(0));
        l.depart(at(4), at(1));
        l.close(at(10));
        assert_eq!(l.error_pct(at(10)), Some(0.0));
    }

    #[test]
    fn a_request_never_accounted_for_shows_as_error() {
        let mut l = LittlesLaw::default();
        l.admit(at(0));
        l.admit(at(0));
        l.depart(at(2), at(0));
        l.close(at(10));
        // L = (2·2 + 1·8)/10 = 1.2; λW = 0.2·2 = 0.4.
        let e = l.error_pct(at(10)).unwrap_or(0.0);
        assert!((e - 66.666).abs() < 0.01, "{e}");
    }
}
