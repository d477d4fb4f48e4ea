// Each bench uses a subset of these helpers.
#![allow(dead_code)]

//! The one time source both sides of a limiter bench read, so neither pays for a clock the
//! other does not: a plain per-thread counter (no atomics, no syscall) that governor reads
//! through its `Clock` trait and Spillway through [`now`].

use governor::clock::Clock;
use std::cell::Cell;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

thread_local! {
    static NOW: Cell<u64> = const { Cell::new(0) };
}

/// The latest instant any thread has published, so new threads start where others stopped.
static LATEST: AtomicU64 = AtomicU64::new(0);

/// Advance this thread's clock by `step` ns.
#[inline]
pub fn tick(step: u64) {
    NOW.with(|n| n.set(n.get() + step));
}

/// This thread's clock in ns (what governor reads through [`PlainClock`]).
#[inline]
pub fn now() -> u64 {
    NOW.with(Cell::get)
}

/// Move this thread's clock up to the latest published instant (call when a thread starts).
pub fn sync() {
    NOW.with(|n| n.set(n.get().max(LATEST.load(Ordering::Relaxed))));
}

/// Publish this thread's clock (call when a thread ends).
pub fn publish() {
    LATEST.fetch_max(now(), Ordering::Relaxed);
}

/// Governor's view of the same counter.
#[derive(Clone, Copy, Debug, Default)]
pub struct PlainClock;

impl Clock for PlainClock {
    type Instant = Duration;
    #[inline]
    fn now(&self) -> Duration {
        Duration::from_nanos(now())
    }
}

/// A scattered walk over `0..keys` (multiplicative hashing by a prime, so consecutive
/// iterations hit unrelated buckets and cache lines).
pub fn scattered(i: u64, keys: u64) -> u64 {
    i.wrapping_mul(2_654_435_761) % keys
}

/// Governor's keyed limiter on a Mutex'd `HashMap` with FxHash (the hasher ours uses).
pub type FxHashMapLimiter = governor::RateLimiter<
    u64,
    governor::state::keyed::HashMapStateStore<u64, rustc_hash::FxBuildHasher>,
    PlainClock,
    governor::middleware::NoOpMiddleware<Duration>,
>;

/// Governor's keyed limiter on a `DashMap` with FxHash.
pub type FxDashMapLimiter = governor::RateLimiter<
    u64,
    governor::state::keyed::DashMapStateStore<u64, rustc_hash::FxBuildHasher>,
    PlainClock,
    governor::middleware::NoOpMiddleware<Duration>,
>;

pub fn fx_hashmap(quota: governor::Quota) -> FxHashMapLimiter {
    let map = std::collections::HashMap::with_hasher(rustc_hash::FxBuildHasher);
    governor::RateLimiter::new(
        quota,
        governor::state::keyed::HashMapStateStore::new(map),
        PlainClock,
    )
}

pub fn fx_dashmap(quota: governor::Quota) -> FxDashMapLimiter {
    let map = governor::state::keyed::DashMapStateStore::with_hasher(rustc_hash::FxBuildHasher);
    governor::RateLimiter::new(quota, map, PlainClock)
}
