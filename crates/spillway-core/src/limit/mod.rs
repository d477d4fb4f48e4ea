//! Rate limiters with variable cost, all behind one [`Limiter`] trait.
//!
//! | type | algorithm | burst | used for |
//! |---|---|---|---|
//! | [`Gcra`] | token bucket in GCRA form | up to capacity | per-user limits (bursty humans) |
//! | [`SlidingWindowLog`] | exact rolling window | none beyond the window | upstream compliance |
//! | [`SlidingWindowCounter`] | two-window weighted estimate | approx. | cheap rolling window |
//! | [`FixedWindow`] | calendar window | up to 2x at a boundary | how many providers count |
//!
//! [`Keyed`] holds one limiter per key with bounded memory; [`Layered`] stacks named layers with
//! check-then-commit and reserve-then-settle semantics.
//!
//! Compact token buckets keep rate and capacity once and 8 bytes of state (the TAT) per key or
//! per limiter: [`KeyedGcra`] (single-threaded, `&mut self`), [`AtomicGcra`] (lock-free, one
//! CAS) and [`ShardedKeyedGcra`] (keys in mutex-guarded shards), the last two for sharing
//! across threads. Same decisions as [`Gcra`] up to their horizon.
//!
//! Every limiter answers a denial with the exact earliest instant the same cost would be admitted
//! if nothing else happened ([`Decision::Denied::retry_at`]), and rejects a cost it can never admit
//! with [`LimitError::CostExceedsCapacity`] instead of denying it forever.

mod atomic_gcra;
mod compact;
mod fixed_window;
mod gcra;
mod keyed;
mod keyed_gcra;
mod layered;
pub mod refusal_labels;
mod settle;
mod sharded;
mod sliding_counter;
mod sliding_log;
mod spec;
mod tat_map;
mod tat_table;

pub use atomic_gcra::AtomicGcra;
pub use fixed_window::FixedWindow;
pub use gcra::Gcra;
pub use keyed::Keyed;
pub use keyed_gcra::KeyedGcra;
pub use layered::{
    Demand, Denial, LayerRoom, LayerSet, LayerSpec, Layered, LayeredDecision, LayeredError,
    Reservation, Scope, Subject, Unit,
};
pub use settle::SettleStep;
pub use sharded::ShardedKeyedGcra;
pub use sliding_counter::SlidingWindowCounter;
pub use sliding_log::SlidingWindowLog;
pub use spec::{Algorithm, AnyLimiter, LimitSpec, SpecError};

use crate::time::Time;

/// The answer to "may this cost pass now?".
#[must_use]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Admitted (by `check`: would be admitted).
    Allowed,
    /// Not now. `retry_at` is the earliest instant the same cost is admitted if nothing else
    /// consumes capacity in between.
    Denied {
        /// Earliest instant of admission.
        retry_at: Time,
    },
}

impl Decision {
    /// Whether the cost was (or would be) admitted.
    pub const fn is_allowed(self) -> bool {
        matches!(self, Decision::Allowed)
    }
}

/// A request that no amount of waiting can admit.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LimitError {
    /// The cost is larger than the most the limiter can ever hold.
    #[error("cost {cost} exceeds capacity {capacity}: it can never be admitted")]
    CostExceedsCapacity {
        /// The cost asked for.
        cost: u64,
        /// The largest cost this limiter can ever admit.
        capacity: u64,
    },
}

/// A rate limiter with variable cost and time passed in.
///
/// `check` and `commit` are separate so that several limiters can be checked before any is
/// charged ([`Layered`]); `acquire` is the single-limiter shortcut. Calls with a `now` earlier
/// than a previous call are tolerated (treated with saturating arithmetic), never a panic.
pub trait Limiter {
    /// The largest cost this limiter can ever admit at once.
    fn capacity(&self) -> u64;

    /// Would `cost` be admitted at `now`? Changes nothing.
    fn check(&self, now: Time, cost: u64) -> Result<Decision, LimitError>;

    /// Consume `cost` at `now` without asking: after a successful `check`, or to charge the
    /// excess when an estimate is settled upwards. May leave the limiter in debt (later requests
    /// wait longer), never panics.
    fn commit(&mut self, now: Time, cost: u64);

    /// Give back `cost` of `charge` (an over-estimate being settled at `now`). Only what is
    /// still live of that charge comes back: nothing once it has left the window (or, for a
    /// token bucket, once it has refilled), and never room charged by others after it (a
    /// refund taken from whatever the limiter holds at settle time would let a settle after
    /// the window rolled admit more than the limit). Never leaves the limiter with more room
    /// than a fresh one.
    fn refund(&mut self, now: Time, charge: Charge, cost: u64);

    /// Whether the state at `now` is indistinguishable from a freshly built limiter, so it can
    /// be dropped and rebuilt later with no change in behaviour ([`Keyed`]'s sweep).
    fn is_fresh(&self, now: Time) -> bool;

    /// Check, and commit if allowed.
    fn acquire(&mut self, now: Time, cost: u64) -> Result<Decision, LimitError> {
        let decision = self.check(now, cost)?;
        if decision.is_allowed() {
            self.commit(now, cost);
        }
        Ok(decision)
    }
}

/// What a reservation charged one limiter: the record a settle's refund comes out of.
///
/// Windows need only the instant (which window the charge counts in); a token bucket also
/// needs the amount, to know when that charge has refilled (see [`Gcra`]'s module docs).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Charge {
    /// When it was charged (the `now` of the admission).
    pub at: Time,
    /// How much was charged then, in the limiter's unit.
    pub cost: u64,
}

/// Shared guard: the error for a cost above capacity, `None` otherwise.
pub(crate) fn ensure_fits(cost: u64, capacity: u64) -> Result<(), LimitError> {
    if cost > capacity {
        Err(LimitError::CostExceedsCapacity { cost, capacity })
    } else {
        Ok(())
    }
}
