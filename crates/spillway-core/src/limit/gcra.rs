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
//! Refunds come out of their own charge, as far as one number can tell ([`refunded_tat`]). See
//! the TAT as the end of a queue: each commit appends `cost·T` starting at `max(TAT, now)`, and
//! the bucket is full once `now` passes the end. A charge of `c` at `t0` occupies `c·T` of the
//! queue starting at or after `t0`. Later commits append after it; a refund at `t1 ≥ t0` of
//! a charge queued before it removes only what of that charge lies after `t1`, so it moves
//! this charge down, but not below `t1`. So the charge ends at or after `charge_end = t0 + c·T`,
//! and at least `charge_end − now` of it is still unrefilled at `now`: a refund of at most
//! `min(unused·T, charge_end − now, TAT − now)` gives back only room the charge still holds.
//! The exact refund is `min(unused·T, least TAT_i − t_i over the commits since, TAT − now)`
//! (each commit at `t_i` that found `TAT_i` absorbs what of the charge lies before `t_i`); the
//! charge lies below every such `TAT_i`, so `charge_end − now ≤ TAT_i − t_i`: never more than
//! exact, so the limit holds. It is exact when the bucket was full at the charge (the charge
//! started at `t0`) or the settle comes at the charge's instant; when the queue was deep at the
//! charge, a settle later than `c·T` after it gives nothing back.
//!
//! Why not the charge's recorded place in the queue (`TAT` right after it): refunds of charges
//! queued before it move it down by amounts the bucket does not record. Capacity 100 per 60 s,
//! S and R reserve 50 each at 0 s (R queued at [30 s, 60 s]), S settles at 0 s having used
//! nothing (R moves to [0 s, 30 s]), the bucket is full at 30 s and others take 100 then, R
//! settles at 31 s having used nothing: its recorded place says 29 s of it (48 tokens) are
//! unrefilled, in truth nothing is, and refunding that would admit 150 within [30 s, 31 s]
//! where exact accounting admits 101. Without S's settle (others then fit only 50 at 30 s)
//! the TAT, the instant and R's record are the same, and R truly holds 48 tokens: no rule on
//! those alone is exact there and safe here. Exactness for deep queues needs the bucket to
//! count its refunds (a second word per key), which this does not do.
//!
//! The Redis script applies the same rule (spillway-redis, `G.refund`).

use super::{Charge, Decision, LimitError, Limiter, ensure_fits};
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

/// The TAT after giving back `unused` (in the bucket's units) of a charge that ends at or after
/// `charge_end` (its instant plus its cost, in the same units): `unused`, but no more than what
/// of the charge is surely still unrefilled (`charge_end − now`) and never beyond a full bucket
/// (`TAT − now`). The one rule of every token bucket (why it is safe: the module docs).
pub(crate) fn refunded_tat(tat: u128, now: u128, charge_end: u128, unused: u128) -> u128 {
    let back = unused
        .min(charge_end.saturating_sub(now))
        .min(tat.saturating_sub(now));
    tat - back
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

    /// Only what of `charge` is surely unrefilled comes back (`refunded_tat`).
    fn refund(&mut self, now: Time, charge: Charge, cost: u64) {
        let charge_end = self
            .scaled(charge.at)
            .saturating_add(u128::from(charge.cost) * self.token_units);
        let unused = u128::from(cost) * self.token_units;
        self.tat = refunded_tat(self.tat, self.scaled(now), charge_end, unused);
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
        b.refund(t, Charge { at: t, cost: 4 }, 100);
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
