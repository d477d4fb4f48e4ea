//! [`LimitSpec`]: a limiter described as data, and [`AnyLimiter`]: any of them behind one enum.
//!
//! Why an enum rather than `Box<dyn Limiter>`: layers and keyed maps hold millions of these;
//! an enum is stored inline (no allocation per key), cloned from a prototype, and dispatched
//! with a predictable branch.

use super::{
    Charge, Decision, FixedWindow, Gcra, LimitError, Limiter, SlidingWindowCounter,
    SlidingWindowLog,
};
use crate::time::{Duration, Time};

/// Which algorithm a [`LimitSpec`] builds.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Algorithm {
    /// [`Gcra`]: `limit` per `window` refill, bursts up to `burst`.
    TokenBucket,
    /// [`SlidingWindowLog`]: at most `limit` in any window of length `window`.
    SlidingLog,
    /// [`SlidingWindowCounter`]: the two-window weighted estimate of a sliding window.
    SlidingCounter,
    /// [`FixedWindow`]: at most `limit` per aligned window.
    FixedWindow,
}

/// A limiter as data: "`limit` per `window`", with a burst size for token buckets.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LimitSpec {
    /// The algorithm.
    pub algorithm: Algorithm,
    /// Units admitted per window (token bucket: refilled per window).
    pub limit: u64,
    /// The window (token bucket: the refill period for `limit`).
    pub window: Duration,
    /// Token bucket capacity; `None` means `limit`. Ignored by window algorithms.
    pub burst: Option<u64>,
}

/// A [`LimitSpec`] that cannot build a limiter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// `limit` was zero: nothing could ever be admitted.
    #[error("limit must be at least 1 (a limit of 0 admits nothing)")]
    ZeroLimit,
    /// `window` was zero.
    #[error("window must be longer than 0")]
    ZeroWindow,
    /// `burst` was zero.
    #[error("burst must be at least 1")]
    ZeroBurst,
}

impl LimitSpec {
    /// The largest single cost the built limiter admits.
    pub fn capacity(&self) -> u64 {
        match self.algorithm {
            Algorithm::TokenBucket => self.burst.unwrap_or(self.limit),
            _ => self.limit,
        }
    }

    /// Build a fresh limiter.
    pub fn build(&self) -> Result<AnyLimiter, SpecError> {
        if self.limit == 0 {
            return Err(SpecError::ZeroLimit);
        }
        if self.window.is_zero() {
            return Err(SpecError::ZeroWindow);
        }
        if self.burst == Some(0) {
            return Err(SpecError::ZeroBurst);
        }
        let limiter = match self.algorithm {
            Algorithm::TokenBucket => AnyLimiter::TokenBucket(
                Gcra::new(self.capacity(), self.limit, self.window).ok_or(SpecError::ZeroLimit)?,
            ),
            Algorithm::SlidingLog => AnyLimiter::SlidingLog(
                SlidingWindowLog::new(self.limit, self.window).ok_or(SpecError::ZeroLimit)?,
            ),
            Algorithm::SlidingCounter => AnyLimiter::SlidingCounter(
                SlidingWindowCounter::new(self.limit, self.window).ok_or(SpecError::ZeroLimit)?,
            ),
            Algorithm::FixedWindow => AnyLimiter::FixedWindow(
                FixedWindow::new(self.limit, self.window).ok_or(SpecError::ZeroLimit)?,
            ),
        };
        Ok(limiter)
    }
}

/// Any of the core limiters, dispatched by `match`.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // stored inline on purpose; see the module docs
pub enum AnyLimiter {
    /// A token bucket.
    TokenBucket(Gcra),
    /// An exact sliding window.
    SlidingLog(SlidingWindowLog),
    /// An estimated sliding window.
    SlidingCounter(SlidingWindowCounter),
    /// A fixed window.
    FixedWindow(FixedWindow),
}

impl Clone for AnyLimiter {
    fn clone(&self) -> Self {
        match self {
            AnyLimiter::TokenBucket(l) => AnyLimiter::TokenBucket(l.clone()),
            AnyLimiter::SlidingLog(l) => AnyLimiter::SlidingLog(l.clone()),
            AnyLimiter::SlidingCounter(l) => AnyLimiter::SlidingCounter(l.clone()),
            AnyLimiter::FixedWindow(l) => AnyLimiter::FixedWindow(l.clone()),
        }
    }
    /// Reuses a sliding log's allocation when both are sliding logs (see
    /// [`SlidingWindowLog`]'s `clone_from`).
    fn clone_from(&mut self, source: &Self) {
        match (self, source) {
            (AnyLimiter::SlidingLog(l), AnyLimiter::SlidingLog(s)) => l.clone_from(s),
            (this, source) => *this = source.clone(),
        }
    }
}

macro_rules! dispatch {
    ($self:expr, $l:ident => $body:expr) => {
        match $self {
            AnyLimiter::TokenBucket($l) => $body,
            AnyLimiter::SlidingLog($l) => $body,
            AnyLimiter::SlidingCounter($l) => $body,
            AnyLimiter::FixedWindow($l) => $body,
        }
    };
}

impl Limiter for AnyLimiter {
    fn capacity(&self) -> u64 {
        dispatch!(self, l => l.capacity())
    }
    fn check(&self, now: Time, cost: u64) -> Result<Decision, LimitError> {
        dispatch!(self, l => l.check(now, cost))
    }
    fn commit(&mut self, now: Time, cost: u64) {
        dispatch!(self, l => l.commit(now, cost))
    }
    fn refund(&mut self, now: Time, charge: Charge, cost: u64) {
        dispatch!(self, l => l.refund(now, charge, cost))
    }
    fn is_fresh(&self, now: Time) -> bool {
        dispatch!(self, l => l.is_fresh(now))
    }
    fn acquire(&mut self, now: Time, cost: u64) -> Result<Decision, LimitError> {
        dispatch!(self, l => l.acquire(now, cost))
    }
}
