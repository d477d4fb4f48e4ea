//! Fixed window: at most `limit` units per aligned window `[k·W, (k+1)·W)`.
//!
//! The cheapest limiter and the one many providers actually run (Gemini's per-minute limits
//! reset "at second 00"), which is why the simulator needs it: a client that knows the window
//! is aligned can plan around its reset, and one that does not sees up to 2× the limit across
//! a boundary.
//!
//! Guarantee: at most `limit` per aligned window, hence at most `2·limit` in any window of
//! length `W`. A denial's `retry_at` is the next window's start, exact because the count only
//! ever drops by the window rolling over.
//!
//! Time going backwards: an instant before the current window is treated as part of it, so the
//! count is never forgotten (forgetting it would let a late caller reopen a full window).

use super::{Charge, Decision, LimitError, Limiter, ensure_fits};
use crate::time::{Duration, Time};

/// At most `limit` units per aligned window.
#[derive(Clone, Debug)]
pub struct FixedWindow {
    limit: u64,
    window: Duration,
    /// Start (ns) of the window `used` belongs to. Kept as an instant rather than an index so
    /// the common case (still the same window) is a subtraction, not a division.
    start: u64,
    used: u64,
}

impl FixedWindow {
    /// An empty limiter; `None` if `limit` or `window` is zero.
    pub fn new(limit: u64, window: Duration) -> Option<Self> {
        (limit > 0 && !window.is_zero()).then_some(FixedWindow {
            limit,
            window,
            start: 0,
            used: 0,
        })
    }

    /// Whether `now` falls in the window the count belongs to (an earlier instant counts as
    /// in it: time never goes back before the window).
    #[inline]
    fn in_current(&self, now: Time) -> bool {
        now.as_nanos().saturating_sub(self.start) < self.window.as_nanos()
    }

    /// Start of the window containing `now` (when it is not the current one).
    fn start_of(&self, now: Time) -> u64 {
        now.as_nanos() - now.as_nanos() % self.window.as_nanos()
    }

    /// Units used in the window containing `now`.
    pub fn used(&self, now: Time) -> u64 {
        if self.in_current(now) { self.used } else { 0 }
    }

    /// Start of the window after the one containing `now` (the provider-style reset time).
    pub fn next_reset(&self, now: Time) -> Time {
        let start = if self.in_current(now) {
            self.start
        } else {
            self.start_of(now)
        };
        Time::from_nanos(start.saturating_add(self.window.as_nanos()))
    }
}

impl Limiter for FixedWindow {
    fn capacity(&self) -> u64 {
        self.limit
    }

    fn check(&self, now: Time, cost: u64) -> Result<Decision, LimitError> {
        ensure_fits(cost, self.limit)?;
        // In u128: in debt `used + cost` can exceed u64::MAX, and saturating would admit it.
        if cost == 0 || u128::from(self.used(now)) + u128::from(cost) <= u128::from(self.limit) {
            Ok(Decision::Allowed)
        } else {
            // cost <= limit, so the next (empty) window admits it.
            Ok(Decision::Denied {
                retry_at: self.next_reset(now),
            })
        }
    }

    fn commit(&mut self, now: Time, cost: u64) {
        if cost == 0 {
            return;
        }
        if !self.in_current(now) {
            self.start = self.start_of(now);
            self.used = 0;
        }
        self.used = self.used.saturating_add(cost);
    }

    /// Only a charge made in the window the count belongs to comes back: one made in an
    /// earlier window left with it, and taking it from this window's count would give back room
    /// charged by others. (A charge counted in a later window than its instant, time having
    /// gone backwards, is not refunded: stricter, never looser.)
    fn refund(&mut self, _now: Time, charge: Charge, cost: u64) {
        let counted = charge
            .at
            .as_nanos()
            .checked_sub(self.start)
            .is_some_and(|since| since < self.window.as_nanos());
        if counted {
            self.used = self.used.saturating_sub(cost);
        }
    }

    fn is_fresh(&self, now: Time) -> bool {
        self.used(now) == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_resets_on_its_boundary() {
        let mut w = FixedWindow::new(3, Duration::from_secs(60)).unwrap();
        let t = Time::from_secs(59);
        assert!(w.acquire(t, 3).unwrap().is_allowed());
        assert_eq!(
            w.acquire(t, 1),
            Ok(Decision::Denied {
                retry_at: Time::from_secs(60)
            })
        );
        // The boundary burst: 3 more right after the reset, 6 within two seconds.
        assert!(w.acquire(Time::from_secs(60), 3).unwrap().is_allowed());
    }

    #[test]
    fn debt_is_never_admitted_by_saturation() {
        let mut w = FixedWindow::new(u64::MAX, Duration::from_secs(1)).unwrap();
        w.commit(Time::ZERO, u64::MAX);
        assert!(!w.check(Time::ZERO, 1).unwrap().is_allowed());
        assert_eq!(w.check(Time::ZERO, 0), Ok(Decision::Allowed));
    }

    #[test]
    fn time_going_backwards_does_not_reopen_a_full_window() {
        let mut w = FixedWindow::new(1, Duration::from_secs(1)).unwrap();
        assert!(w.acquire(Time::from_secs(5), 1).unwrap().is_allowed());
        assert_eq!(
            w.acquire(Time::from_secs(4), 1),
            Ok(Decision::Denied {
                retry_at: Time::from_secs(6)
            })
        );
        assert_eq!(w.used(Time::from_secs(5)), 1);
    }
}
