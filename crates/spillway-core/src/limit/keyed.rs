//! One limiter per key (user, feature, API key) with memory bounded by the *active* keys.
//!
//! A key whose limiter is fresh again (bucket full, window empty) behaves exactly like a key
//! never seen, so it can be dropped. Dropping happens in an amortised sweep: when the map has
//! doubled since the last sweep, one pass removes every fresh entry. Each sweep costs O(len)
//! and is preceded by at least len/2 inserts, so the cost per operation is O(1) amortised, and
//! resident keys stay below about twice the keys active within one window. Ten million
//! distinct users over a day therefore do not stay resident; the ones seen in the last window
//! do.
//!
//! Denied and zero-cost requests never insert a key: an attacker spraying random keys that are
//! all refused costs no memory.

use super::{Charge, Decision, LimitError, Limiter};
use crate::time::Time;
use rustc_hash::FxHashMap;
use std::hash::Hash;

/// Fewest resident keys before a sweep is considered (sweeping tiny maps is wasted work).
const MIN_SWEEP_LEN: usize = 1024;

/// One key's limiter as found by a single lookup: resident, or absent (then it behaves exactly
/// like the prototype). Lets [`Layered`](super::Layered) check and later commit with one hash
/// lookup per layer.
pub(crate) enum Slot<'a, L> {
    /// The key's own limiter.
    Resident(&'a mut L),
    /// The key is not resident: this is the prototype it would be cloned from.
    Absent(&'a L),
}

/// One limiter per key, built from a prototype; keys whose limiter is fresh again are dropped
/// by an amortised sweep so memory follows the keys active within a window, not all keys ever.
#[derive(Clone, Debug)]
pub struct Keyed<K, L> {
    prototype: L,
    map: FxHashMap<K, L>,
    /// Sweep when `map.len()` reaches this.
    sweep_at: usize,
    /// Limiters the last sweep dropped, reset from the prototype when a key is inserted:
    /// about a quarter of a busy map's keys are swept and come back, and a sliding log's
    /// allocation is worth keeping (at most as many as inserts before the next sweep).
    spare: Vec<L>,
}

impl<K: Hash + Eq + Clone, L: Limiter + Clone> Keyed<K, L> {
    /// An empty map whose new keys start as clones of `prototype` (which must be fresh).
    pub fn new(prototype: L) -> Self {
        Keyed {
            prototype,
            map: FxHashMap::default(),
            sweep_at: MIN_SWEEP_LEN,
            spare: Vec::new(),
        }
    }
    /// The largest cost any key can admit.
    pub fn capacity(&self) -> u64 {
        self.prototype.capacity()
    }
    /// The limiter every new key starts from.
    pub fn prototype(&self) -> &L {
        &self.prototype
    }
    /// The limiter resident for `key`, if any (an absent key behaves like the prototype).
    pub fn get(&self, key: &K) -> Option<&L> {
        self.map.get(key)
    }
    /// Would `cost` be admitted for `key` at `now`? Changes nothing.
    pub fn check(&self, now: Time, key: &K, cost: u64) -> Result<Decision, LimitError> {
        match self.map.get(key) {
            Some(limiter) => limiter.check(now, cost),
            None => self.prototype.check(now, cost),
        }
    }
    /// Consume `cost` for `key` unconditionally.
    pub fn commit(&mut self, now: Time, key: &K, cost: u64) {
        if cost == 0 {
            return;
        }
        match self.map.get_mut(key) {
            Some(limiter) => limiter.commit(now, cost),
            None => self.insert_committed(now, key, cost),
        }
    }
    /// Give back `cost` for `key` (nothing to give back for a key not resident: its limiter
    /// is already as fresh as a new one).
    pub fn refund(&mut self, now: Time, charge: Charge, key: &K, cost: u64) {
        if let Some(limiter) = self.map.get_mut(key) {
            limiter.refund(now, charge, cost);
        }
    }
    /// Check and commit for `key`: one hash lookup when the key is resident; a key that is not
    /// resident is inserted only if the request is admitted with a non-zero cost.
    #[inline]
    pub fn acquire(&mut self, now: Time, key: &K, cost: u64) -> Result<Decision, LimitError> {
        if let Some(limiter) = self.map.get_mut(key) {
            return limiter.acquire(now, cost);
        }
        let decision = self.prototype.check(now, cost)?;
        if decision.is_allowed() && cost > 0 {
            self.insert_committed(now, key, cost);
        }
        Ok(decision)
    }
    /// Drop every key whose limiter is fresh at `now`; returns how many were dropped.
    pub fn sweep(&mut self, now: Time) -> usize {
        let before = self.map.len();
        self.spare.clear();
        let keep = before / 2;
        for (_, limiter) in self.map.extract_if(|_, limiter| limiter.is_fresh(now)) {
            if self.spare.len() < keep {
                self.spare.push(limiter);
            }
        }
        self.sweep_at = self.map.len().saturating_mul(2).max(MIN_SWEEP_LEN);
        before - self.map.len()
    }
    /// Keys currently resident.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// Whether no key is resident.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// One lookup: the key's limiter, or the prototype if it is not resident.
    pub(crate) fn slot(&mut self, key: &K) -> Slot<'_, L> {
        match self.map.get_mut(key) {
            Some(limiter) => Slot::Resident(limiter),
            None => Slot::Absent(&self.prototype),
        }
    }

    /// Insert `key` (known not resident, e.g. found [`Slot::Absent`] by this same call) with
    /// `cost` committed: `commit` without its lookup, which would miss.
    pub(crate) fn insert_committed(&mut self, now: Time, key: &K, cost: u64) {
        if self.map.len() >= self.sweep_at {
            self.sweep(now);
        }
        let mut limiter = match self.spare.pop() {
            Some(mut spare) => {
                spare.clone_from(&self.prototype);
                spare
            }
            None => self.prototype.clone(),
        };
        limiter.commit(now, cost);
        self.map.insert(key.clone(), limiter);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::Gcra;
    use crate::time::Duration;

    #[test]
    fn memory_follows_active_keys_not_all_keys() {
        let bucket = Gcra::new(1, 1, Duration::from_secs(1)).unwrap();
        let mut keyed = Keyed::new(bucket);
        // One new key per millisecond for 100 s: at most ~1,000 are non-fresh at any time.
        for i in 0..100_000u64 {
            let now = Time::from_nanos(i * 1_000_000);
            assert!(keyed.acquire(now, &i, 1).unwrap().is_allowed());
            assert!(
                keyed.len() <= 2 * 1_000 + MIN_SWEEP_LEN,
                "len {} at {i}",
                keyed.len()
            );
        }
    }

    #[test]
    fn keys_rebuilt_from_swept_logs_start_fresh() {
        use crate::limit::{AnyLimiter, SlidingWindowLog};
        let window = SlidingWindowLog::new(3, Duration::from_secs(1)).unwrap();
        let mut keyed = Keyed::new(AnyLimiter::SlidingLog(window.clone()));
        // Fill 2,000 keys to the limit, let them expire, then sweep on the next insert.
        for key in 0..2_000u64 {
            for _ in 0..3 {
                assert!(keyed.acquire(Time::ZERO, &key, 1).unwrap().is_allowed());
            }
        }
        let later = Time::from_secs(5);
        for key in 2_000..4_000u64 {
            // Each key comes back on a recycled log: it must admit its full limit, no more.
            let mut fresh = window.clone();
            for _ in 0..4 {
                assert_eq!(keyed.acquire(later, &key, 1), fresh.acquire(later, 1));
            }
        }
        // The old keys were swept (their logs recycled), the new ones are resident.
        assert_eq!(keyed.len(), 2_000);
    }

    #[test]
    fn a_denied_request_inserts_nothing() {
        let bucket = Gcra::new(1, 1, Duration::from_secs(1)).unwrap();
        let mut keyed = Keyed::new(bucket);
        assert!(keyed.acquire(Time::ZERO, &1u64, 2).is_err());
        assert!(keyed.acquire(Time::ZERO, &2u64, 0).unwrap().is_allowed());
        assert!(keyed.is_empty());
    }
}
