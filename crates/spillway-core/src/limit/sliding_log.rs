//! Exact sliding window: at most `limit` units in any window of length `W`.
//!
//! An entry committed at `t` counts for instants in `[t, t + W)`. The log keeps one entry per
//! distinct commit instant (costs at the same instant are merged), and entries only live while
//! they count, so memory is at most `min(limit, commits within W)` entries per limiter.
//!
//! This is the algorithm to stay under an upstream per-minute limit: it never admits more
//! than `limit` in any window, whatever the alignment.

use super::{Decision, LimitError, Limiter, ensure_fits};
use crate::time::{Duration, Time};
use std::collections::VecDeque;

/// Exact rolling-window limiter.
#[derive(Clone, Debug)]
pub struct SlidingWindowLog {
    limit: u64,
    window: Duration,
    /// (commit instant, cost), oldest first; may hold expired entries until the next commit.
    log: VecDeque<(Time, u64)>,
    /// Sum of the costs in `log`.
    total: u64,
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

    /// Whether the entry committed at `at` still counts at `now`.
    fn live(&self, at: Time, now: Time) -> bool {
        now.saturating_since(at) < self.window || now < at
    }

    /// Units counted at `now`.
    pub fn used(&self, now: Time) -> u64 {
        let expired: u64 = self
            .log
            .iter()
            .take_while(|&&(at, _)| !self.live(at, now))
            .map(|&(_, c)| c)
            .sum();
        self.total - expired
    }

    fn prune(&mut self, now: Time) {
        while let Some(&(at, cost)) = self.log.front() {
            if self.live(at, now) {
                break;
            }
            self.total -= cost;
            self.log.pop_front();
        }
    }
}

impl Limiter for SlidingWindowLog {
    fn capacity(&self) -> u64 {
        self.limit
    }

    fn check(&self, now: Time, cost: u64) -> Result<Decision, LimitError> {
        ensure_fits(cost, self.limit)?;
        let mut used = self.used(now);
        if used.saturating_add(cost) <= self.limit {
            return Ok(Decision::Allowed);
        }
        // Walk live entries oldest first: the request fits once enough of them have expired.
        for &(at, c) in &self.log {
            if !self.live(at, now) {
                continue;
            }
            used -= c;
            if used + cost <= self.limit {
                return Ok(Decision::Denied {
                    retry_at: at.saturating_add(self.window),
                });
            }
        }
        // Unreachable for cost <= limit (an empty log admits it); answer conservatively.
        Ok(Decision::Denied {
            retry_at: now.saturating_add(self.window),
        })
    }

    fn commit(&mut self, now: Time, cost: u64) {
        if cost == 0 {
            return;
        }
        self.prune(now);
        match self.log.back_mut() {
            Some((at, c)) if *at == now => *c = c.saturating_add(cost),
            _ => self.log.push_back((now, cost)),
        }
        self.total = self.total.saturating_add(cost);
    }

    fn refund(&mut self, now: Time, mut cost: u64) {
        self.prune(now);
        // Take back from the newest entries: they are the ones that would expire last.
        while cost > 0 {
            let Some((_, c)) = self.log.back_mut() else {
                break;
            };
            let take = cost.min(*c);
            *c -= take;
            cost -= take;
            self.total -= take;
            if *c == 0 {
                self.log.pop_back();
            }
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
        assert_eq!(w.log.len(), 1);
        assert_eq!(w.used(Time::from_secs(5)), 50);
        assert!(w.is_fresh(Time::from_secs(6)));
    }
}
