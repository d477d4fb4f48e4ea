//! Exact sliding window: at most `limit` units in any window of length `W`.
//!
//! An entry committed at `t` counts for instants in `[t, t + W)`. This is the algorithm to stay
//! under an upstream per-minute limit: it never admits more than `limit` in any window, whatever
//! the alignment, and a denial's `retry_at` is the expiry of the oldest entry whose departure
//! makes room, which is exact because entries only ever leave by expiring.
//!
//! Memory: entries committed at the same instant are merged, and each entry holds at least one
//! unit, so admitted traffic keeps at most `limit` entries. Commits beyond capacity (settling an
//! under-estimate) could add more; once the log holds `limit` entries such a commit is merged
//! into the newest entry, moved to `now`. That only makes the limiter stricter (the merged units
//! expire later than they would have), and it is reached only when the window is already full.
//!
//! Time going backwards: an entry is never recorded before the newest one, so the log stays
//! sorted (a late commit counts from the newest instant: again stricter, never looser).

use super::{Charge, Decision, LimitError, Limiter, ensure_fits};
use crate::time::{Duration, Time};
use std::collections::VecDeque;

/// Exact rolling-window limiter.
#[derive(Debug)]
pub struct SlidingWindowLog {
    limit: u64,
    window: Duration,
    /// (commit instant, cost), oldest first; instants strictly increasing, costs at least 1.
    /// Expired entries stay until the next commit or refund prunes them.
    log: VecDeque<(Time, u64)>,
    /// Sum of the costs in `log`. A `u128` so that debt cannot overflow it.
    total: u128,
}

impl SlidingWindowLog {
    /// An empty limiter; `None` if `limit` or `window` is zero.
    pub fn new(limit: u64, window: Duration) -> Option<Self> {
        (limit > 0 && !window.is_zero()).then_some(SlidingWindowLog {
            limit,
            window,
            log: VecDeque::new(),
            total: 0,
        })
    }

    /// Whether the entry committed at `at` no longer counts at `now` (`now ≥ at + W`; an
    /// entry whose expiry is past [`Time::MAX`] never expires).
    fn expired(&self, at: Time, now: Time) -> bool {
        now.as_nanos()
            .checked_sub(at.as_nanos())
            .is_some_and(|age| age >= self.window.as_nanos())
    }

    /// Units counted at `now`, in full precision (may exceed `limit` after a debt commit).
    fn live_total(&self, now: Time) -> u128 {
        let expired: u128 = self
            .log
            .iter()
            .take_while(|&&(at, _)| self.expired(at, now))
            .map(|&(_, c)| u128::from(c))
            .sum();
        self.total - expired
    }

    /// Units counted at `now` (saturating at `u64::MAX`).
    pub fn used(&self, now: Time) -> u64 {
        u64::try_from(self.live_total(now)).unwrap_or(u64::MAX)
    }

    /// Entries currently held (a memory gauge; at most `limit`).
    pub fn entries(&self) -> usize {
        self.log.len()
    }

    /// Append `cost > 0` at `now` to a pruned log (see the module docs on merging).
    fn record(&mut self, now: Time, cost: u64) {
        let limit = usize::try_from(self.limit).unwrap_or(usize::MAX);
        let full = self.log.len() >= limit;
        match self.log.back_mut() {
            Some((at, c)) if *at >= now || full => {
                // Same (or a later) instant, or the memory bound: merge into the newest entry,
                // which stays at the latest instant seen.
                *at = (*at).max(now);
                let merged = c.saturating_add(cost);
                self.total += u128::from(merged - *c);
                *c = merged;
            }
            _ => {
                self.log.push_back((now, cost));
                self.total += u128::from(cost);
            }
        }
    }

    fn prune(&mut self, now: Time) {
        while let Some(&(at, cost)) = self.log.front() {
            if !self.expired(at, now) {
                break;
            }
            self.total -= u128::from(cost);
            self.log.pop_front();
        }
    }
}

impl Clone for SlidingWindowLog {
    fn clone(&self) -> Self {
        SlidingWindowLog {
            limit: self.limit,
            window: self.window,
            log: self.log.clone(),
            total: self.total,
        }
    }
    /// Keeps `self`'s log allocation: [`Keyed`](super::Keyed) rebuilds swept keys' limiters
    /// from its prototype this way instead of allocating a new log per returning key.
    fn clone_from(&mut self, source: &Self) {
        self.limit = source.limit;
        self.window = source.window;
        self.log.clone_from(&source.log);
        self.total = source.total;
    }
}

impl Limiter for SlidingWindowLog {
    fn capacity(&self) -> u64 {
        self.limit
    }

    fn check(&self, now: Time, cost: u64) -> Result<Decision, LimitError> {
        ensure_fits(cost, self.limit)?;
        if cost == 0 {
            return Ok(Decision::Allowed);
        }
        let (limit, cost) = (u128::from(self.limit), u128::from(cost));
        let mut used = self.live_total(now);
        if used + cost <= limit {
            return Ok(Decision::Allowed);
        }
        // Live entries oldest first: the request fits once enough of them have expired. The
        // log is sorted, so the first entry that makes room gives the earliest instant.
        for &(at, c) in self
            .log
            .iter()
            .skip_while(|&&(at, _)| self.expired(at, now))
        {
            used -= u128::from(c);
            if used + cost <= limit {
                return Ok(Decision::Denied {
                    retry_at: at.saturating_add(self.window),
                });
            }
        }
        // Unreachable: with every entry gone `used` is 0 and `cost <= limit`.
        Ok(Decision::Denied {
            retry_at: Time::MAX,
        })
    }

    fn commit(&mut self, now: Time, cost: u64) {
        if cost == 0 {
            return;
        }
        self.prune(now);
        self.record(now, cost);
    }

    /// Takes back from the charge's own entry only: the oldest at or after `charge.at` (a
    /// commit is recorded at its instant or merged into a later entry, and merges only move an
    /// entry forward, so with time moving forward that entry holds the charge), at most what
    /// it holds. A charge older than the window has left the log: nothing comes back. Taking
    /// from the newest entries instead would give back room charged by others after a window
    /// roll, and admit more than `limit` in their window.
    fn refund(&mut self, now: Time, charge: Charge, cost: u64) {
        let charged_at = charge.at;
        self.prune(now);
        if self.expired(charged_at, now) {
            return;
        }
        let i = self.log.partition_point(|&(at, _)| at < charged_at);
        let Some((_, c)) = self.log.get_mut(i) else {
            return;
        };
        let take = cost.min(*c);
        *c -= take;
        self.total -= u128::from(take);
        if *c == 0 {
            self.log.remove(i);
        }
    }

    fn is_fresh(&self, now: Time) -> bool {
        self.live_total(now) == 0
    }

    #[inline]
    fn acquire(&mut self, now: Time, cost: u64) -> Result<Decision, LimitError> {
        ensure_fits(cost, self.limit)?;
        if cost == 0 {
            return Ok(Decision::Allowed);
        }
        // After pruning every entry left is live (the log is sorted), so the running total is
        // the count: admission is one comparison, with no walk over the log.
        self.prune(now);
        if self.total + u128::from(cost) <= u128::from(self.limit) {
            self.record(now, cost);
            return Ok(Decision::Allowed);
        }
        self.check(now, cost)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A charge made at `s` seconds (a log reads only its instant).
    fn at(s: u64) -> Charge {
        Charge {
            at: Time::from_secs(s),
            cost: 0,
        }
    }

    #[test]
    fn the_oldest_entry_expiring_admits_the_next_request() {
        let mut w = SlidingWindowLog::new(3, Duration::from_secs(60)).unwrap();
        for s in [0, 10, 20] {
            assert!(w.acquire(Time::from_secs(s), 1).unwrap().is_allowed());
        }
        assert_eq!(
            w.acquire(Time::from_secs(30), 2),
            Ok(Decision::Denied {
                retry_at: Time::from_secs(70)
            })
        );
        assert!(w.check(Time::from_secs(70), 2).unwrap().is_allowed());
        assert!(
            !w.check(Time::from_nanos(70_000_000_000 - 1), 2)
                .unwrap()
                .is_allowed()
        );
    }

    #[test]
    fn same_instant_commits_share_one_entry() {
        let mut w = SlidingWindowLog::new(100, Duration::from_secs(1)).unwrap();
        for _ in 0..50 {
            w.commit(Time::from_secs(5), 1);
        }
        assert_eq!(w.entries(), 1);
        assert_eq!(w.used(Time::from_secs(5)), 50);
        assert!(w.is_fresh(Time::from_secs(6)));
    }

    #[test]
    fn debt_commits_keep_memory_bounded_and_never_overflow() {
        let mut w = SlidingWindowLog::new(3, Duration::from_secs(1)).unwrap();
        for n in 0..1_000 {
            w.commit(Time::from_nanos(n), u64::MAX);
        }
        assert!(w.entries() <= 3);
        assert_eq!(w.used(Time::from_nanos(999)), u64::MAX);
        // Zero cost passes even in debt; anything else waits for the merged entry to expire.
        assert_eq!(w.check(Time::from_nanos(999), 0), Ok(Decision::Allowed));
        let Ok(Decision::Denied { retry_at }) = w.check(Time::from_nanos(999), 1) else {
            panic!("in debt");
        };
        assert!(w.check(retry_at, 1).unwrap().is_allowed());
    }

    #[test]
    fn a_commit_in_the_past_counts_from_the_newest_instant() {
        let mut w = SlidingWindowLog::new(2, Duration::from_secs(10)).unwrap();
        w.commit(Time::from_secs(20), 1);
        w.commit(Time::from_secs(5), 1);
        assert_eq!(w.entries(), 1);
        // Both units count until 30 s, so the log stays sorted and retry_at stays exact.
        assert_eq!(
            w.check(Time::from_secs(21), 1),
            Ok(Decision::Denied {
                retry_at: Time::from_secs(30)
            })
        );
    }

    #[test]
    fn refund_takes_from_the_charge_own_entry_only() {
        let mut w = SlidingWindowLog::new(4, Duration::from_secs(10)).unwrap();
        w.commit(Time::from_secs(1), 2);
        w.commit(Time::from_secs(2), 2);
        // More than the entry at 1 s holds: the entry at 2 s (someone else's) is untouched.
        w.refund(Time::from_secs(3), at(1), 3);
        assert_eq!(w.used(Time::from_secs(3)), 2);
        assert_eq!(w.entries(), 1);
        w.refund(Time::from_secs(3), at(2), 100);
        assert!(w.is_fresh(Time::from_secs(3)));
    }

    #[test]
    fn a_charge_that_left_the_window_refunds_nothing() {
        let mut w = SlidingWindowLog::new(100, Duration::from_secs(60)).unwrap();
        w.commit(Time::from_secs(0), 50);
        w.commit(Time::from_secs(61), 100);
        w.refund(Time::from_secs(62), at(0), 40);
        assert_eq!(w.used(Time::from_secs(62)), 100);
    }
}
