//! Sliding window counter: the two-window weighted estimate of a rolling window.
//!
//! Keeps two counts (previous and current aligned window `[n·W, (n+1)·W)`) and estimates the
//! rolling count at elapsed `e` into the current window as `prev·(W−e)/W + cur`. Constant memory
//! per key, which is why large deployments use it; the price is that it assumes the previous
//! window's units were spread evenly, so it can admit more or fewer than an exact log would.
//!
//! What it guarantees (and the tests check): at most `limit` per aligned window (the estimate is
//! at least `cur`), and in any window of length `W` starting `a` into aligned window `n−1`, at
//! most `limit + prev·a/W` (so always under `2·limit`), where `prev` is what window `n−1` admitted.
//!
//! Exactness: admission is `prev·(W−e) ≤ (limit − cur − cost)·W`, compared in `u128`, so both the
//! decision and `retry_at` are exact integers (no float, no rounding drift). The estimate only
//! falls as time passes (within a window it decays; at a boundary `cur` becomes the new `prev`),
//! so the earliest admitting instant is well defined and is found by one division.
//!
//! Time going backwards: an instant before the current window is treated as that window's start
//! (the strictest point of it), so counts are never forgotten and answers stay monotone.

use super::{Charge, Decision, LimitError, Limiter, ensure_fits};
use crate::time::{Duration, Time};

/// Two-window weighted rolling-window limiter.
#[derive(Clone, Debug)]
pub struct SlidingWindowCounter {
    limit: u64,
    window: Duration,
    /// Start (ns) of the aligned window `current` counts. An instant rather than an index, so
    /// the common cases (same window, next window) are subtractions, not divisions.
    start: u64,
    /// Units admitted in the window before `start`.
    previous: u64,
    /// Units admitted in the window from `start`.
    current: u64,
}

/// The state as seen from one instant.
struct View {
    /// Start (ns) of the aligned window the instant falls in (clamped to the stored one).
    start: u64,
    /// Elapsed ns into that window.
    elapsed: u64,
    /// Units of the window before it.
    prev: u64,
    /// Units of that window.
    cur: u64,
}

impl SlidingWindowCounter {
    /// An empty limiter; `None` if `limit` or `window` is zero.
    pub fn new(limit: u64, window: Duration) -> Option<Self> {
        (limit > 0 && !window.is_zero()).then_some(SlidingWindowCounter {
            limit,
            window,
            start: 0,
            previous: 0,
            current: 0,
        })
    }

    /// The state seen from `now`; an instant before the stored window is seen as its start.
    #[inline]
    fn view(&self, now: Time) -> View {
        let (now, w) = (now.as_nanos(), self.window.as_nanos());
        let since = now.saturating_sub(self.start);
        let (start, elapsed, prev, cur) = if since < w {
            (self.start, since, self.previous, self.current)
        } else if since - w < w {
            (self.start + w, since - w, self.current, 0)
        } else {
            (now - now % w, now % w, 0, 0)
        };
        View {
            start,
            elapsed,
            prev,
            cur,
        }
    }

    /// The rolling estimate at `now`, rounded down (for headers and reports).
    pub fn estimate(&self, now: Time) -> u64 {
        let v = self.view(now);
        let w = u128::from(self.window.as_nanos());
        let decayed = u128::from(v.prev) * (w - u128::from(v.elapsed)) / w;
        u64::try_from(decayed + u128::from(v.cur)).unwrap_or(u64::MAX)
    }

    /// Move the state to the window of `now` (no change in behaviour, only in representation).
    fn roll(&mut self, now: Time) {
        let v = self.view(now);
        if v.start != self.start {
            (self.start, self.previous, self.current) = (v.start, v.prev, v.cur);
        }
    }

    /// The decision for `0 < cost ≤ limit` given the view of `now`.
    #[inline]
    fn decide(&self, v: &View, cost: u64) -> Decision {
        let w = self.window.as_nanos();
        let retry_at = match self
            .limit
            .checked_sub(v.cur)
            .and_then(|r| r.checked_sub(cost))
        {
            Some(room) => {
                // Both sides ≤ (2^64 − 1)², so neither product overflows a u128.
                let weight = u128::from(v.prev) * u128::from(w - v.elapsed);
                if weight <= u128::from(room) * u128::from(w) {
                    return Decision::Allowed;
                }
                // Same window, once the previous window's weight has decayed enough. An answer
                // of `W` is the next window's start, where `cur + cost ≤ limit` admits it.
                v.start.saturating_add(self.earliest_elapsed(v.prev, room))
            }
            // The current window cannot take it: in the next one `cur` becomes the decaying
            // previous count (`cur` is only non-zero here when `now` is in the stored window,
            // so two windows on everything is zero).
            None => v
                .start
                .saturating_add(w)
                .saturating_add(self.earliest_elapsed(v.cur, self.limit - cost)),
        };
        Decision::Denied {
            retry_at: Time::from_nanos(retry_at),
        }
    }

    /// The earliest elapsed time into a window at which `prev·(W−e) ≤ room·W`: `W − ⌊room·W/prev⌋`
    /// (`W` itself meaning "not before the next window").
    fn earliest_elapsed(&self, prev: u64, room: u64) -> u64 {
        let w = u128::from(self.window.as_nanos());
        if prev == 0 {
            return 0;
        }
        let slack = (u128::from(room) * w / u128::from(prev)).min(w);
        // slack ≤ w ≤ u64::MAX, so the difference fits.
        u64::try_from(w - slack).unwrap_or(u64::MAX)
    }
}

impl Limiter for SlidingWindowCounter {
    fn capacity(&self) -> u64 {
        self.limit
    }

    #[inline]
    fn check(&self, now: Time, cost: u64) -> Result<Decision, LimitError> {
        ensure_fits(cost, self.limit)?;
        if cost == 0 {
            return Ok(Decision::Allowed);
        }
        Ok(self.decide(&self.view(now), cost))
    }

    #[inline]
    fn acquire(&mut self, now: Time, cost: u64) -> Result<Decision, LimitError> {
        // One view for both the decision and the update (check + commit would build two).
        ensure_fits(cost, self.limit)?;
        if cost == 0 {
            return Ok(Decision::Allowed);
        }
        let v = self.view(now);
        let decision = self.decide(&v, cost);
        if decision.is_allowed() {
            (self.start, self.previous) = (v.start, v.prev);
            self.current = v.cur.saturating_add(cost);
        }
        Ok(decision)
    }

    fn commit(&mut self, now: Time, cost: u64) {
        if cost == 0 {
            return;
        }
        self.roll(now);
        self.current = self.current.saturating_add(cost);
    }

    /// From the count of the window the charge was made in: the current one, or the previous
    /// one if the window rolled since (its weight still counts); nothing once it is older.
    /// Taking from the current count after a roll would give back room charged by others and
    /// admit more than `limit` in the aligned window. (A charge counted in a later window than
    /// its instant, time having gone backwards, is refunded from its instant's window: that
    /// count cannot tell whose units it holds.)
    fn refund(&mut self, now: Time, charge: Charge, cost: u64) {
        self.roll(now);
        let (at, w) = (charge.at.as_nanos(), self.window.as_nanos());
        let count = match at.checked_sub(self.start) {
            Some(since) => (since < w).then_some(&mut self.current),
            None => (self.start - at <= w).then_some(&mut self.previous),
        };
        if let Some(count) = count {
            *count = count.saturating_sub(cost);
        }
    }

    fn is_fresh(&self, now: Time) -> bool {
        let v = self.view(now);
        v.prev == 0 && v.cur == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_window_decays_linearly() {
        let mut c = SlidingWindowCounter::new(10, Duration::from_secs(10)).unwrap();
        c.commit(Time::from_secs(5), 10); // window 0 full
        // At t=10 (window 1, e=0) the estimate is 10: denied until 10·(10−e)/10 + 1 ≤ 10,
        // i.e. e ≥ 1 s.
        assert_eq!(
            c.check(Time::from_secs(10), 1),
            Ok(Decision::Denied {
                retry_at: Time::from_secs(11)
            })
        );
        assert!(c.check(Time::from_secs(11), 1).unwrap().is_allowed());
        assert_eq!(c.estimate(Time::from_secs(15)), 5);
        assert!(c.is_fresh(Time::from_secs(20)));
    }

    #[test]
    fn a_full_current_window_waits_for_the_next() {
        let mut c = SlidingWindowCounter::new(4, Duration::from_secs(10)).unwrap();
        c.commit(Time::from_secs(1), 4);
        // cur 4 + 2 > 4: next window, where prev=4 must decay to 4·(10−e) ≤ 2·10 → e ≥ 5 s.
        assert_eq!(
            c.check(Time::from_secs(2), 2),
            Ok(Decision::Denied {
                retry_at: Time::from_secs(15)
            })
        );
    }

    #[test]
    fn a_cost_of_the_whole_limit_after_a_full_window_waits_two_windows() {
        let mut c = SlidingWindowCounter::new(4, Duration::from_secs(10)).unwrap();
        c.commit(Time::from_secs(1), 4);
        assert_eq!(
            c.check(Time::from_secs(2), 4),
            Ok(Decision::Denied {
                retry_at: Time::from_secs(20)
            })
        );
        assert!(
            !c.check(Time::from_nanos(19_999_999_999), 4)
                .unwrap()
                .is_allowed()
        );
    }

    #[test]
    fn extreme_counts_do_not_overflow() {
        let mut c = SlidingWindowCounter::new(u64::MAX, Duration::MAX).unwrap();
        c.commit(Time::ZERO, u64::MAX);
        c.commit(Time::ZERO, u64::MAX);
        assert_eq!(c.check(Time::MAX, 0), Ok(Decision::Allowed));
        assert!(!c.check(Time::MAX, 1).unwrap().is_allowed());
    }

    #[test]
    fn time_going_backwards_forgets_nothing() {
        let mut c = SlidingWindowCounter::new(2, Duration::from_secs(10)).unwrap();
        c.commit(Time::from_secs(25), 2);
        assert!(!c.check(Time::from_secs(5), 1).unwrap().is_allowed());
        c.commit(Time::from_secs(5), 1);
        assert_eq!(c.estimate(Time::from_secs(25)), 3);
    }

    #[test]
    fn a_refund_after_the_window_rolled_comes_from_the_previous_count() {
        let mut c = SlidingWindowCounter::new(10, Duration::from_secs(10)).unwrap();
        c.commit(Time::from_secs(9), 10);
        c.refund(
            Time::from_secs(11),
            Charge {
                at: Time::from_secs(9),
                cost: 6,
            },
            6,
        );
        // prev = 4 at e = 1 s: 4·0.9 = 3.6, so 6 more fit.
        assert!(c.check(Time::from_secs(11), 6).unwrap().is_allowed());
    }
}
