//! STUB: one limiter per key with bounded memory (amortised sweep of fresh state).

use super::{Decision, LimitError, Limiter};
use crate::time::Time;
use rustc_hash::FxHashMap;
use std::hash::Hash;

/// One limiter per key, built from a prototype; keys whose limiter is fresh again are dropped
/// by an amortised sweep so memory follows the keys active within a window, not all keys ever.
#[derive(Clone, Debug)]
pub struct Keyed<K, L> {
    prototype: L,
    map: FxHashMap<K, L>,
}

impl<K: Hash + Eq + Clone, L: Limiter + Clone> Keyed<K, L> {
    /// An empty map whose new keys start as clones of `prototype` (which must be fresh).
    pub fn new(prototype: L) -> Self {
        Keyed {
            prototype,
            map: FxHashMap::default(),
        }
    }
    /// The largest cost any key can admit.
    pub fn capacity(&self) -> u64 {
        self.prototype.capacity()
    }
    /// Would `cost` be admitted for `key` at `now`? Changes nothing.
    pub fn check(&self, _now: Time, _key: &K, _cost: u64) -> Result<Decision, LimitError> {
        todo!()
    }
    /// Consume `cost` for `key` unconditionally.
    pub fn commit(&mut self, _now: Time, _key: &K, _cost: u64) {
        todo!()
    }
    /// Give back `cost` for `key`.
    pub fn refund(&mut self, _now: Time, _key: &K, _cost: u64) {
        todo!()
    }
    /// Check and commit for `key`.
    pub fn acquire(&mut self, _now: Time, _key: &K, _cost: u64) -> Result<Decision, LimitError> {
        todo!()
    }
    /// Drop every key whose limiter is fresh at `now`; returns how many were dropped.
    pub fn sweep(&mut self, _now: Time) -> usize {
        todo!()
    }
    /// Keys currently resident.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// Whether no key is resident.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
