//! Per-key TATs (8 bytes each) with the amortised sweep of [`Keyed`](super::Keyed): the map
//! behind [`KeyedGcra`](super::KeyedGcra) and each shard of
//! [`ShardedKeyedGcra`](super::ShardedKeyedGcra).
//!
//! Same memory rule as `Keyed`: a key whose bucket is full again is indistinguishable from a
//! key never seen, so a sweep (run when the map has doubled since the last one) drops it;
//! denied and zero-cost requests never insert.

use super::compact::{CompactGcra, Step};
use super::{Decision, LimitError};
use crate::time::Time;
use rustc_hash::FxHashMap;
use std::hash::Hash;

/// Fewest resident keys before a sweep is considered.
const MIN_SWEEP_LEN: usize = 1024;

#[derive(Clone, Debug)]
pub(crate) struct TatMap<K> {
    map: FxHashMap<K, u64>,
    /// Sweep when `map.len()` reaches this.
    sweep_at: usize,
}

impl<K> Default for TatMap<K> {
    fn default() -> Self {
        TatMap {
            map: FxHashMap::default(),
            sweep_at: MIN_SWEEP_LEN,
        }
    }
}

impl<K: Hash + Eq + Clone> TatMap<K> {
    /// The key's TAT; an absent key is a full bucket (TAT 0).
    pub(crate) fn tat(&self, key: &K) -> u64 {
        self.map.get(key).copied().unwrap_or(0)
    }

    /// Check and commit with one lookup for a resident key.
    #[inline]
    pub(crate) fn acquire(
        &mut self,
        gcra: &CompactGcra,
        now: Time,
        key: &K,
        cost: u64,
    ) -> Result<Decision, LimitError> {
        if let Some(tat) = self.map.get_mut(key) {
            return Ok(match gcra.step(*tat, now, cost)? {
                Step::Admit(new_tat) => {
                    *tat = new_tat;
                    Decision::Allowed
                }
                Step::Deny(decision) => decision,
            });
        }
        match gcra.step(0, now, cost)? {
            Step::Admit(new_tat) if cost > 0 => {
                self.insert(gcra, now, key, new_tat);
                Ok(Decision::Allowed)
            }
            Step::Admit(_) => Ok(Decision::Allowed),
            Step::Deny(decision) => Ok(decision),
        }
    }

    pub(crate) fn commit(&mut self, gcra: &CompactGcra, now: Time, key: &K, cost: u64) {
        if cost == 0 {
            return;
        }
        match self.map.get_mut(key) {
            Some(tat) => *tat = gcra.committed(*tat, now, cost),
            None => self.insert(gcra, now, key, gcra.committed(0, now, cost)),
        }
    }

    pub(crate) fn refund(&mut self, gcra: &CompactGcra, now: Time, key: &K, cost: u64) {
        if let Some(tat) = self.map.get_mut(key) {
            *tat = gcra.refunded(*tat, now, cost);
        }
    }

    /// Drop every key whose bucket is full at `now`; returns how many were dropped.
    pub(crate) fn sweep(&mut self, gcra: &CompactGcra, now: Time) -> usize {
        let before = self.map.len();
        self.map.retain(|_, tat| !gcra.is_fresh(*tat, now));
        self.sweep_at = self.map.len().saturating_mul(2).max(MIN_SWEEP_LEN);
        before - self.map.len()
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    fn insert(&mut self, gcra: &CompactGcra, now: Time, key: &K, tat: u64) {
        if self.map.len() >= self.sweep_at {
            self.sweep(gcra, now);
        }
        self.map.insert(key.clone(), tat);
    }
}
