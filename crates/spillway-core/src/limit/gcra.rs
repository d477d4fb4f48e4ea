//! Token bucket in GCRA form (generic cell rate algorithm).
//!
//! Why GCRA: a token bucket needs two numbers of state (level, last update) and a division on
//! every call; GCRA keeps one, the *theoretical arrival time* (TAT) at which the bucket would be
//! full again, and admits with a compare. The two are equivalent: a bucket of `capacity` tokens
//! refilling one token per emission interval `T` admits `cost` at `now` iff
//! `max(TAT, now) + cost·T − now ≤ capacity·T`.
//!
//! Exactness: `T = period / rate` is rarely a whole number of nanoseconds. Instead of rounding
//! (which drifts by up to `rate` ns per period), all times are scaled by `rate`: one token is
//! worth exactly `period` scaled units, and an instant `t` ns is `t·rate` units. State is a
//! `u128`, so `u64` nanoseconds times a `u64` rate cannot overflow. Only a denial divides, to turn
//! the scaled answer back into nanoseconds (rounded up, so retrying at `retry_at` is admitted).
//!
//! Refunds are not tied to their charge. A refund lowers the TAT by its cost, floored at `now`
//! (never more than a full bucket); how much of an old charge is still unrefilled depends on
//! every commit since (each one that found the bucket full absorbed part of it), which one
//! number does not record. So a refund after the bucket refilled can restore room twice:
//! capacity 100 per 60 s, reserve 100 at 0 s, the bucket is full again at 60 s and others take
//! 100 then, a settle at 61 s with actual 10 gives back 90: 191 admitted within [60 s, 61 s]
//! where an exact accounting admits 101. Tying it to its charge would need per-reservation
//! state (the least debt seen by a commit since the charge), so it is not done here.

use super::{Decision, LimitError, Limiter, ensure_fits};
use crate::time::{Duration, Time};

/// A token bucket of `capacity` that refills `rate` tokens every `period`, in GCRA form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gcra {
    /// Theoretical arrival time in scaled units (ns × rate). The bucket is full at and after it.
    tat: u128,
    /// Scaled units one token is worth: the period in ns.
    token_units: u128,
    /// Tokens per period; the scale factor.
    rate: u64,
    /// Bucket size: the largest burst and the largest single cost.
    capacity: u64,
}

impl Gcra {
    /// A full bucket holding `capacity` tokens, refilling `rate` tokens per `period`.
    ///
    /// Returns `None` if any argument is zero (such a bucket would never admit anything; the
    /// config layer reports that as an error with its location).
    pub fn new(capacity: u64, rate: u64, period: Duration) -> Option<Self> {
        if capacity == 0 || rate == 0 || period.is_zero() {
            return None;
        }
        Some(Gcra {
            tat: 0,
            token_units: u128::from(period.as_nanos()),
            rate,
            capacity,
        })
    }

    fn scaled(&self, now: Time) -> u128 {
        u128::from(now.as_nanos()) * u128::from(self.rate)
    }

    /// TAT after admitting `cost` at scaled instant `now`.
    fn tat_after(&self, now: u128, cost: u64) -> u128 {
        self.tat.max(now) + u128::from(cost) * self.token_units
    }

    /// How many whole tokens the bucket holds at `now` (for headers and reports).
    pub fn available(&self, now: Time) -> u64 {
        let now = self.scaled(now);
        let burst = u128::from(self.capacity) * self.token_units;
        let used = self.tat.saturating_sub(now);
        let free = burst.saturating_sub(used) / self.token_units;
        u64::try_from(free).unwrap_or(u64::MAX)
    }

    /// The instant at which the bucket is full again (OpenAI's `x-ratelimit-reset-*` meaning).
    pub fn full_at(&self) -> Time {
        Time::from_nanos(ceil_div_to_u64(self.tat, u128::from(self.rate)))
    }
}

fn ceil_div_to_u64(value: u128, divisor: u128) -> u64 {
    u64::try_from(value.div_ceil(divisor)).unwrap_or(u64::MAX)
}

impl Limiter for Gcra {
    fn capacity(&self) -> u64 {
        self.capacity
    }

    fn check(&self, now: Time, cost: u64) -> Result<Decision, LimitError> {
        ensure_fits(cost, self.capacity)?;
        let now_units = self.scaled(now);
        let burst = u128::from(self.capacity) * self.token_units;
        let new_tat = self.tat_after(now_units, cost);
        // Admit iff new_tat - now <= burst. Otherwise the earliest admitting instant t solves
        // tat + cost·T - t = burst (tat > t there, since cost <= capacity).
        if new_tat - now_units <= burst {
            Ok(Decision::Allowed)
        } else {
            let earliest = new_tat - burst;
            Ok(Decision::Denied {
                retry_at: Time::from_nanos(ceil_div_to_u64(earliest, u128::from(self.rate))),
            })
        }
    }

    fn commit(&mut self, now: Time, cost: u64) {
        self.tat = self.tat_after(self.scaled(now), cost);
    }

    /// `charged_at` is not used: the bucket's one number cannot tell how much of a charge is
    /// still unrefilled once others have charged since, so a refund after the bucket refilled
    /// can give back room it had already restored (bounded by a full bucket; see the module
    /// docs).
    fn refund(&mut self, now: Time, _charged_at: Time, cost: u64) {
        // A refund cannot fill the bucket beyond full: the TAT never goes below now.
        let floor = self.scaled(now);
        self.tat = self
            .tat
            .saturating_sub(u128::from(cost) * self.token_units)
            .max(floor.min(self.tat));
    }

    fn is_fresh(&self, now: Time) -> bool {
        self.tat <= self.scaled(now)
    }

    fn acquire(&mut self, now: Time, cost: u64) -> Result<Decision, LimitError> {
        // One computation instead of check + commit: this is the hot path.
        ensure_fits(cost, self.capacity)?;
        let now_units = self.scaled(now);
        let new_tat = self.tat_after(now_units, cost);
        let burst = u128::from(self.capacity) * self.token_units;
        if new_tat - now_units <= burst {
            self.tat = new_tat;
            Ok(Decision::Allowed)
        } else {
            let earliest = new_tat - burst;
            Ok(Decision::Denied {
                retry_at: Time::from_nanos(ceil_div_to_u64(earliest, u128::from(self.rate))),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn per_second(capacity: u64, rate: u64) -> Gcra {
        Gcra::new(capacity, rate, Duration::from_secs(1)).expect("valid bucket")
    }

    #[test]
    fn a_full_bucket_admits_its_capacity_then_denies() {
        let mut b = per_second(10, 10);
        let t = Time::from_secs(100);
        assert_eq!(b.acquire(t, 10), Ok(Decision::Allowed));
        assert_eq!(
            b.acquire(t, 1),
            Ok(Decision::Denied {
                retry_at: Time::from_nanos(100_100_000_000)
            })
        );
    }

    #[test]
    fn retry_at_is_exact_for_rates_that_do_not_divide_a_second() {
        // 3 tokens/s: one token every 333_333_333.33 ns. Rounding would drift; scaling does not.
        let mut b = per_second(3, 3);
        let t = Time::from_secs(1);
        assert!(b.acquire(t, 3).unwrap().is_allowed());
        let Decision::Denied { retry_at } = b.acquire(t, 1).unwrap() else {
            panic!("bucket is empty");
        };
        assert_eq!(retry_at.as_nanos(), 1_333_333_334);
        assert!(b.check(retry_at, 1).unwrap().is_allowed());
        assert!(
            !b.check(Time::from_nanos(retry_at.as_nanos() - 1), 1)
                .unwrap()
                .is_allowed()
        );
    }

    #[test]
    fn a_cost_above_capacity_is_an_error_not_a_denial() {
        let mut b = per_second(5, 100);
        assert_eq!(
            b.acquire(Time::ZERO, 6),
            Err(LimitError::CostExceedsCapacity {
                cost: 6,
                capacity: 5
            })
        );
    }

    #[test]
    fn refund_never_fills_beyond_full() {
        let mut b = per_second(10, 1);
        let t = Time::from_secs(50);
        assert!(b.acquire(t, 4).unwrap().is_allowed());
        b.refund(t, t, 100);
        assert_eq!(b.available(t), 10);
        assert!(b.is_fresh(t));
    }

    #[test]
    fn commit_beyond_capacity_puts_the_bucket_in_debt() {
        let mut b = per_second(10, 10);
        let t = Time::from_secs(1);
        b.commit(t, 25);
        assert_eq!(b.available(t), 0);
        // 25 tokens at 10/s: full again after 2.5 s; 1 token fits after 1.6 s.
        assert_eq!(b.full_at(), Time::from_nanos(3_500_000_000));
        assert_eq!(
            b.check(t, 1),
            Ok(Decision::Denied {
                retry_at: Time::from_nanos(2_600_000_000)
            })
        );
    }
}
