//! Sliding window counter: the two-window weighted estimate of a rolling window.
//!
//! Keeps two counts (previous and current aligned window) and estimates the rolling count at
//! elapsed `e` into the current window as `prev·(W−e)/W + cur`. Constant memory per key, which is
//! why large deployments use it; the price is that it assumes the previous window's requests
//! were spread evenly, so it can admit somewhat more or fewer than an exact log would.
//!
//! All comparisons are made multiplied through by `W` in `u128`, so the decision and the
//! `retry_at` are exact for the estimate (no float, no rounding drift).

use super::{Decision, LimitError, Limiter, ensure_fits};
use crate::time::{Duration, Time};

/// Two-window weighted rolling-window limiter.
#[derive(Clone, Debug)]
pub struct SlidingWindowCounter {
    limit: u64,
    window: Duration,
    /// Index of the window `current` counts.
    index: u64,
    previous: u64,
    current: u64,
}

impl SlidingWindowCounter {
    /// An empty limiter; `None` if `limit` or `window` is zero.
    pub fn new(limit: u64, window: Duration) -> Option<Self> {
        (limit > 0 && !window.is_zero()).then_some(SlidingWindowCounter {
            limit,
            window,
            index: 0,
            previous: 0,
            current: 0,
        })
    }

    /// (window index, elapsed ns into it, previous count, current count) as seen at `now`.
    fn view(&self, now: Time) -> (u64, u64, u64, u64) {
        let w = self.window.as_nanos();
        let n = now.as_nanos() / w;
        let e = now.as_nanos() % w;
        let (prev, cur) = match n.checked_sub(self.index) {
            Some(0) => (self.previous, self.current),
            Some(1) => (self.current, 0),
            _ if n < self.index => (self.previous, self.current), // time went back: keep counts
            _ => (0, 0),
        };
        (n, e, prev, cur)
    }

    /// The earliest elapsed time into a window where `prev·(W−e) ≤ room·W`.
    fn earliest_elapsed(&self, prev: u64, room: u64) -> u64 {
        let w = u128::from(self.window.as_nanos());
        if prev == 0 {
            return 0;
        }
        let slack = (u128::from(room) * w) / u128::from(prev);
        u64::try_from(w.saturating_sub(slack)).unwrap_or(u64::MAX)
    }
}

impl Limiter for SlidingWindowCounter {
    fn capacity(&self) -> u64 {
        self.limit
    }

    fn check(&self, now: Time, cost: u64) -> Result<Decision, LimitError> {
        ensure_fits(cost, self.limit)?;
        let (n, e, prev, cur) = self.view(now);
        let w = self.window.as_nanos();
        let wide = |x: u64| u128::from(x);
        let estimate = wide(prev) * wide(w - e) + (wide(cur) + wide(cost)) * wide(w);
        if estimate <= wide(self.limit) * wide(w) {
            return Ok(Decision::Allowed);
        }
        let retry_at = if cur.saturating_add(cost) <= self.limit {
            // Same window: wait until the previous window's weight has decayed enough.
            let e_min = self.earliest_elapsed(prev, self.limit - cur - cost);
            n.saturating_mul(w).saturating_add(e_min)
        } else {
            // Next window: the current count becomes the decaying previous one.
            let e_min = self.earliest_elapsed(cur, self.limit - cost);
            n.saturating_add(1).saturating_mul(w).saturating_add(e_min)
        };
        Ok(Decision::Denied {
            retry_at: Time::from_nanos(retry_at),
        })
    }

    fn commit(&mut self, now: Time, cost: u64) {
        let (n, _, prev, cur) = self.view(now);
        if n > self.index {
            self.index = n;
            self.previous = prev;
            self.current = cur;
        }
        self.current = self.current.saturating_add(cost);
    }

    fn refund(&mut self, now: Time, cost: u64) {
        if self.view(now).0 == self.index {
            self.current = self.current.saturating_sub(cost);
        }
    }

    fn is_fresh(&self, now: Time) -> bool {
        let (_, _, prev, cur) = self.view(now);
        prev == 0 && cur == 0
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
}
