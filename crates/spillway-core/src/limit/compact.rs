//! GCRA arithmetic on a one-word (`u64`) theoretical arrival time, shared by the compact
//! limiters ([`KeyedGcra`](super::KeyedGcra), [`AtomicGcra`](super::AtomicGcra),
//! [`ShardedKeyedGcra`](super::ShardedKeyedGcra)).
//!
//! Why a separate form from [`Gcra`](super::Gcra): a keyed or shared limiter keeps rate and
//! capacity once and only the TAT per key (or in one atomic word), so the TAT must fit 8 bytes.
//!
//! Exactness: [`Gcra`](super::Gcra) scales time by `rate` so one token is `period` units. Every
//! TAT it can reach is a sum of `now·rate` and multiples of `period`, hence a multiple of
//! `g = gcd(rate, period)`. Dividing everything by `g` gives the same decisions and the same
//! `retry_at` in smaller units: `rate/g` units per ns, `period/g` units per token. Counting from
//! an `origin`, a `u64` then covers `u64::MAX / (rate/g)` ns: 584 years for rates that divide
//! the period in ns (100/min, 1000/s), 83 years for 7/min, about 18 s from the origin for a
//! prime rate near 10^9/s. Past that horizon the limiter fails closed (denies, `retry_at` the
//! largest time), never wraps.

use super::gcra::refunded_tat;
use super::{Charge, Decision, LimitError, ensure_fits};
use crate::time::{Duration, Time};

/// `with_origin`, `horizon` and `capacity` for a compact limiter whose `gcra` field is a
/// [`CompactGcra`]: the three types expose the same configuration surface.
macro_rules! compact_config {
    () => {
        /// Count time from `origin` (e.g. process start for a Unix-epoch clock), which pushes
        /// the [horizon](Self::horizon) out by as much. Instants before `origin` count as it.
        pub fn with_origin(mut self, origin: Time) -> Self {
            self.gcra = self.gcra.with_origin(origin);
            self
        }
        /// The last instant represented exactly; after it every request is denied (fail closed).
        pub fn horizon(&self) -> Time {
            self.gcra.horizon()
        }
        /// The largest cost ever admitted at once.
        pub fn capacity(&self) -> u64 {
            self.gcra.capacity()
        }
    };
}
pub(crate) use compact_config;

/// Rate, capacity and time scale of a compact GCRA; the state is a bare `u64` TAT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CompactGcra {
    /// Units per nanosecond (`rate / g`).
    per_ns: u64,
    /// Units per token (`period / g`).
    per_token: u64,
    /// `capacity · per_token`: the largest TAT lead over `now`.
    burst: u64,
    capacity: u64,
    /// Nanoseconds subtracted from every `now` (widens the horizon for Unix-epoch clocks).
    origin: u64,
}

/// What one acquire does to a TAT.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// Admitted: store this TAT.
    Admit(u64),
    /// Denied: the state is unchanged.
    Deny(Decision),
}

const fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The answer past the horizon: deny, and never suggest a retry that could be honoured.
const FAIL_CLOSED: Decision = Decision::Denied {
    retry_at: Time::from_nanos(u64::MAX),
};

impl CompactGcra {
    /// `None` if any argument is zero or `capacity · period / g` does not fit a `u64`.
    pub(crate) fn new(capacity: u64, rate: u64, period: Duration) -> Option<Self> {
        let period = period.as_nanos();
        if capacity == 0 || rate == 0 || period == 0 {
            return None;
        }
        let g = gcd(rate, period);
        let per_token = period / g;
        Some(CompactGcra {
            per_ns: rate / g,
            per_token,
            burst: capacity.checked_mul(per_token)?,
            capacity,
            origin: 0,
        })
    }

    pub(crate) fn with_origin(self, origin: Time) -> Self {
        CompactGcra {
            origin: origin.as_nanos(),
            ..self
        }
    }

    pub(crate) const fn capacity(&self) -> u64 {
        self.capacity
    }

    /// The last instant represented exactly.
    pub(crate) fn horizon(&self) -> Time {
        Time::from_nanos(self.origin.saturating_add(u64::MAX / self.per_ns))
    }

    /// `now` in units, `None` past the horizon (an instant before the origin counts as it).
    #[inline]
    fn units(&self, now: Time) -> Option<u64> {
        now.as_nanos()
            .saturating_sub(self.origin)
            .checked_mul(self.per_ns)
    }

    /// One acquire against `tat`: the new TAT if admitted, the decision otherwise.
    #[inline]
    pub(crate) fn step(&self, tat: u64, now: Time, cost: u64) -> Result<Step, LimitError> {
        ensure_fits(cost, self.capacity)?;
        let Some(now_units) = self.units(now) else {
            return Ok(Step::Deny(FAIL_CLOSED));
        };
        // cost <= capacity, so cost · per_token <= burst fits.
        let Some(new_tat) = tat.max(now_units).checked_add(cost * self.per_token) else {
            return Ok(Step::Deny(FAIL_CLOSED));
        };
        if new_tat - now_units <= self.burst {
            Ok(Step::Admit(new_tat))
        } else {
            Ok(Step::Deny(self.denied(new_tat - self.burst)))
        }
    }

    /// Would `cost` pass at `now` against `tat`?
    #[inline]
    pub(crate) fn check(&self, tat: u64, now: Time, cost: u64) -> Result<Decision, LimitError> {
        Ok(match self.step(tat, now, cost)? {
            Step::Admit(_) => Decision::Allowed,
            Step::Deny(decision) => decision,
        })
    }

    fn denied(&self, earliest_units: u64) -> Decision {
        let ns = earliest_units.div_ceil(self.per_ns);
        Decision::Denied {
            retry_at: Time::from_nanos(self.origin.saturating_add(ns)),
        }
    }

    /// TAT after consuming `cost` unconditionally (debt saturates at the horizon).
    pub(crate) fn committed(&self, tat: u64, now: Time, cost: u64) -> u64 {
        let now_units = self.units(now).unwrap_or(u64::MAX);
        tat.max(now_units)
            .saturating_add(cost.saturating_mul(self.per_token))
    }

    /// TAT after giving back `cost` of `charge`: [`Gcra`](super::Gcra)'s rule
    /// ([`refunded_tat`]) in this limiter's units. Past the horizon nothing comes back (the
    /// limiter fails closed there anyway).
    pub(crate) fn refunded(&self, tat: u64, now: Time, charge: Charge, cost: u64) -> u64 {
        let Some(now_units) = self.units(now) else {
            return tat;
        };
        let per_token = u128::from(self.per_token);
        // A charge past the horizon (time gone backwards) is treated as already refilled.
        let charge_end = self
            .units(charge.at)
            .map_or(0, |at| u128::from(at) + u128::from(charge.cost) * per_token);
        let unused = u128::from(cost) * per_token;
        let new_tat = refunded_tat(tat.into(), now_units.into(), charge_end, unused);
        // Never above `tat`, so it fits.
        u64::try_from(new_tat).unwrap_or(tat)
    }

    /// Whether `tat` means a full bucket at `now` (the key can be forgotten).
    pub(crate) fn is_fresh(&self, tat: u64, now: Time) -> bool {
        self.units(now).is_none_or(|now_units| tat <= now_units)
    }

    /// Whole tokens available at `now`.
    pub(crate) fn available(&self, tat: u64, now: Time) -> u64 {
        let Some(now_units) = self.units(now) else {
            return 0;
        };
        let used = tat.saturating_sub(now_units);
        self.burst.saturating_sub(used) / self.per_token
    }
}
