//! Differential tests of the window limiters against naive reference models written straight
//! from their definitions: every commit kept, every answer recomputed from scratch.

use proptest::prelude::*;
use spillway_core::limit::{Algorithm, Charge, LimitSpec, Limiter};
use spillway_core::{Duration, Time};
use std::collections::BTreeMap;

/// A window limiter by definition (non-decreasing times).
struct Model {
    algorithm: Algorithm,
    limit: u128,
    w: u64,
    /// Log: (commit instant, cost remaining), in order.
    log: Vec<(u64, u64)>,
    /// Counter and fixed window: units per aligned window.
    counts: BTreeMap<u64, u64>,
}

impl Model {
    fn count(&self, window: Option<u64>) -> u128 {
        window.map_or(0, |k| u128::from(self.counts.get(&k).copied().unwrap_or(0)))
    }

    fn admits(&self, now: u64, cost: u64) -> bool {
        let (n, e, cost) = (now / self.w, now % self.w, u128::from(cost));
        match self.algorithm {
            Algorithm::SlidingLog => {
                let live = self.log.iter().filter(|&&(t, _)| now - t < self.w);
                live.map(|&(_, c)| u128::from(c)).sum::<u128>() + cost <= self.limit
            }
            Algorithm::SlidingCounter => {
                let (prev, cur) = (self.count(n.checked_sub(1)), self.count(Some(n)));
                let w = u128::from(self.w);
                prev * (w - u128::from(e)) + (cur + cost) * w <= self.limit * w
            }
            _ => self.count(Some(n)) + cost <= self.limit,
        }
    }

    fn commit(&mut self, now: u64, cost: u64) {
        self.log.push((now, cost));
        *self.counts.entry(now / self.w).or_insert(0) += cost;
    }

    /// Refund out of the charge made at `at` only: the log's units committed at `at` while they
    /// still count, and the count of `at`'s own aligned window (which decides only while it is
    /// the current or the previous one).
    fn refund(&mut self, now: u64, at: u64, cost: u64) {
        let mut left = if now - at < self.w { cost } else { 0 };
        for entry in self.log.iter_mut().filter(|e| e.0 == at) {
            let take = left.min(entry.1);
            (entry.1, left) = (entry.1 - take, left - take);
        }
        let c = self.counts.entry(at / self.w).or_insert(0);
        *c -= cost.min(*c);
    }
}

fn window_algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::SlidingLog),
        Just(Algorithm::SlidingCounter),
        Just(Algorithm::FixedWindow),
    ]
}

proptest! {
    #![proptest_config(crate::config("models"))]

    /// Same decisions as the model after any mix of acquires, refunds and (counter and fixed
    /// window) debt commits, probed at several costs after every step.
    #[test]
    fn window_limiters_match_their_definitions(
        algorithm in window_algorithm(), limit in 1u64..40, window_ms in 1u64..3_000,
        steps in prop::collection::vec((0u64..500_000, 0u8..6, 1u64..100), 1..200)
    ) {
        let window = Duration::from_millis(window_ms);
        let spec = LimitSpec { algorithm, limit, window, burst: None };
        let mut limiter = spec.build().expect("valid");
        let mut model = Model {
            algorithm,
            limit: u128::from(limit),
            w: window.as_nanos(),
            log: Vec::new(),
            counts: BTreeMap::new(),
        };
        let mut t = crate::START_NS;
        // The commits so far, (instant, units not yet refunded): a refund gives back part of
        // one of them, never more than is left of it (a reservation's settle).
        let mut charges: Vec<(u64, u64)> = Vec::new();
        for (gap_us, kind, x) in steps {
            t += gap_us * 1_000;
            let now = Time::from_nanos(t);
            match kind {
                // The log merges debt beyond `limit` entries (stricter by design): no debt there.
                0 if algorithm != Algorithm::SlidingLog => {
                    limiter.commit(now, x);
                    model.commit(t, x);
                    charges.push((t, x));
                }
                0 | 1 if !charges.is_empty() => {
                    let i = usize::try_from(x).expect("small") % charges.len();
                    let (at, left) = &mut charges[i];
                    let cost = (x % limit + 1).min(*left);
                    *left -= cost;
                    let charge = Charge {
                        at: Time::from_nanos(*at),
                        cost,
                    };
                    limiter.refund(now, charge, cost);
                    model.refund(t, *at, cost);
                }
                0 | 1 => {}
                _ => {
                    let cost = x % limit + 1;
                    let allowed = limiter.acquire(now, cost).expect("fits").is_allowed();
                    prop_assert_eq!(allowed, model.admits(t, cost), "acquire {} at {}", cost, t);
                    if allowed {
                        model.commit(t, cost);
                        charges.push((t, cost));
                    }
                }
            }
            for cost in [1, limit / 2 + 1, limit] {
                let allowed = limiter.check(now, cost).expect("fits").is_allowed();
                prop_assert_eq!(allowed, model.admits(t, cost), "probe {} at {}", cost, t);
            }
        }
    }
}
