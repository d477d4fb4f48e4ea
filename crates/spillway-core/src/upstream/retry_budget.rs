//! [`RetryBudget`]: retries may be at most a fixed fraction of requests over a sliding window.
//!
//! Google SRE book ("Handling Overload"): a per-client retry budget, "a request will only be
//! retried as long as this ratio is below 10%", turns a provider outage into 1.1x load instead
//! of `max_attempts`x. Here a retry is admitted only if, counting it, the window's retries are
//! at most `ratio` of the window's first attempts: `retries·denominator ≤ numerator·requests`,
//! in integers. An optional floor (`min_retries`) lets a quiet client retry at all.
//!
//! The window slides in `slots` steps (bounded memory: one pair of counters per slot); a slot
//! older than the window is forgotten whole, so the window is exact at slot granularity.

use crate::time::{Duration, Time};

/// A retry budget configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RetryBudgetError {
    /// The ratio's denominator is zero.
    #[error("retry ratio {numerator}/0 has a zero denominator")]
    ZeroDenominator {
        /// The numerator given.
        numerator: u64,
    },
    /// The window is zero or shorter than one nanosecond per slot.
    #[error(
        "retry budget window {window} cannot be split into {slots} slots (1 to 1000, each at least 1 ns)"
    )]
    BadWindow {
        /// The window.
        window: Duration,
        /// The slot count.
        slots: u32,
    },
}

#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
struct Slot {
    /// Which slot number (`now / slot_len`) these counts belong to.
    index: u64,
    requests: u64,
    retries: u64,
}

/// Retries ≤ `numerator/denominator` × first attempts over a sliding window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryBudget {
    numerator: u64,
    denominator: u64,
    min_retries: u64,
    slot_len: u64,
    slots: Vec<Slot>,
}

impl RetryBudget {
    /// The SRE default: 10 % over 60 s in 10 slots, no floor.
    pub fn sre_default() -> Self {
        RetryBudget {
            numerator: 1,
            denominator: 10,
            min_retries: 0,
            slot_len: Duration::from_secs(6).as_nanos(),
            slots: vec![Slot::default(); 10],
        }
    }

    /// Retries ≤ `numerator/denominator` of first attempts (at least `min_retries`) in the last
    /// `window`, sliding in `slots` steps (1 to 1000).
    pub fn new(
        numerator: u64,
        denominator: u64,
        window: Duration,
        slots: u32,
        min_retries: u64,
    ) -> Result<Self, RetryBudgetError> {
        if denominator == 0 {
            return Err(RetryBudgetError::ZeroDenominator { numerator });
        }
        let slot_len = window.as_nanos() / u64::from(slots.max(1));
        if !(1..=1000).contains(&slots) || slot_len == 0 {
            return Err(RetryBudgetError::BadWindow { window, slots });
        }
        Ok(RetryBudget {
            numerator,
            denominator,
            min_retries,
            slot_len,
            slots: vec![Slot::default(); slots as usize],
        })
    }

    /// A first attempt (not a retry) was sent at `now`.
    pub fn on_request(&mut self, now: Time) {
        let slot = self.slot_mut(now);
        slot.requests = slot.requests.saturating_add(1);
    }

    /// Whether a retry at `now` fits the budget; if it does it is counted, so call this only
    /// when the retry will be sent.
    pub fn try_retry(&mut self, now: Time) -> bool {
        let (requests, retries) = self.totals(now);
        if !self.allows(requests, retries.saturating_add(1)) {
            return false;
        }
        let slot = self.slot_mut(now);
        slot.retries = slot.retries.saturating_add(1);
        true
    }

    /// `(first attempts, retries)` in the window ending at `now`.
    pub fn totals(&self, now: Time) -> (u64, u64) {
        let current = now.as_nanos() / self.slot_len;
        let oldest = current.saturating_sub(self.slots.len() as u64 - 1);
        self.slots
            .iter()
            .filter(|s| (oldest..=current).contains(&s.index))
            .fold((0, 0), |(q, r), s| {
                (q.saturating_add(s.requests), r.saturating_add(s.retries))
            })
    }

    /// Whether `retries` retries against `requests` first attempts are within the budget.
    pub fn allows(&self, requests: u64, retries: u64) -> bool {
        if retries <= self.min_retries {
            return true;
        }
        u128::from(retries) * u128::from(self.denominator)
            <= u128::from(self.numerator) * u128::from(requests)
    }

    fn slot_mut(&mut self, now: Time) -> &mut Slot {
        let index = now.as_nanos() / self.slot_len;
        let len = self.slots.len() as u64;
        let slot = &mut self.slots[(index % len) as usize];
        if slot.index != index {
            *slot = Slot {
                index,
                ..Slot::default()
            };
        }
        slot
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ten_percent_of_requests() {
        let mut b = RetryBudget::sre_default();
        let t = Time::from_secs(1);
        assert!(!b.try_retry(t), "no requests, no floor: no retry");
        for _ in 0..20 {
            b.on_request(t);
        }
        assert!(b.try_retry(t));
        assert!(b.try_retry(t));
        assert!(!b.try_retry(t), "3/20 > 10%");
        assert_eq!(b.totals(t), (20, 2));
        // 61 s later the old slot has left the window.
        assert_eq!(b.totals(Time::from_secs(62)), (0, 0));
    }

    #[test]
    fn the_floor_allows_a_quiet_client_to_retry() {
        let mut b = RetryBudget::new(1, 10, Duration::from_secs(10), 10, 1).unwrap();
        assert!(b.try_retry(Time::ZERO));
        assert!(!b.try_retry(Time::ZERO));
    }

    #[test]
    fn bad_configs_are_errors() {
        let w = Duration::from_secs(1);
        assert!(RetryBudget::new(1, 0, w, 10, 0).is_err());
        assert!(RetryBudget::new(1, 10, w, 0, 0).is_err());
        assert!(RetryBudget::new(1, 10, Duration::from_nanos(5), 10, 0).is_err());
    }
}
