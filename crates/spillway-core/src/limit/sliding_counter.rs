//! STUB: to be implemented (see the trait contract in `limit/mod.rs`).

use super::{Decision, LimitError, Limiter};
use crate::time::{Duration, Time};

/// The two-window weighted estimate of a sliding window (Cloudflare's approximation).
#[derive(Clone, Debug)]
pub struct SlidingWindowCounter {
    limit: u64,
    window: Duration,
}

impl SlidingWindowCounter {
    /// A fresh limiter; `None` if `limit` or `window` is zero.
    pub fn new(limit: u64, window: Duration) -> Option<Self> {
        (limit > 0 && !window.is_zero()).then_some(SlidingWindowCounter { limit, window })
    }
}

impl Limiter for SlidingWindowCounter {
    fn capacity(&self) -> u64 {
        self.limit
    }
    fn check(&self, _now: Time, _cost: u64) -> Result<Decision, LimitError> {
        let _ = self.window;
        todo!()
    }
    fn commit(&mut self, _now: Time, _cost: u64) {
        todo!()
    }
    fn refund(&mut self, _now: Time, _cost: u64) {
        todo!()
    }
    fn is_fresh(&self, _now: Time) -> bool {
        todo!()
    }
}
