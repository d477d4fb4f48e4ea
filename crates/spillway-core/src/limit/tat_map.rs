//! Per-key TATs (8 bytes each) with the amortised sweep of [`Keyed`](super::Keyed): the map
//! behind [`KeyedGcra`](super::KeyedGcra) and each shard of
//! [`ShardedKeyedGcra`](super::ShardedKeyedGcra).
//!
//! Same memory rule as `Keyed`: a key whose bucket is full again is indistinguishable from a
//! key never seen, so a sweep (run when the map has doubled since the last one) drops it;
//! denied and zero-cost requests never insert. A refund does not remove a key it leaves
//! full: a refund never takes a TAT below `now` (no fuller than full), so the key stays until
//! the next sweep, like any other full key. Only a refund to TAT 0 removes a key, and
//! [`refunded`](super::compact::CompactGcra::refunded) allows 0 only at or before the
//! limiter's origin.
//!
//! The keys live in a [`TatTable`] (key and TAT in one slot, one cache line a hit). A
//! resident TAT is never 0: admitting or committing a non-zero cost only raises a TAT above
//! the cost's units, and a refund down to 0 removes the key, which is the same bucket (an
//! absent key reads as TAT 0).

use super::compact::{CompactGcra, Step};
use super::tat_table::{Hashed, TatTable, Vacant};
use super::{Charge, Decision, LimitError};
use crate::time::Time;
use std::hash::Hash;
use std::num::NonZeroU64;

/// Fewest resident keys before a sweep is considered.
const MIN_SWEEP_LEN: usize = 1024;

#[derive(Clone, Debug)]
pub(crate) struct TatMap<K> {
    map: TatTable<K>,
    /// Sweep when `map.len()` reaches this.
    sweep_at: usize,
}

impl<K> Default for TatMap<K> {
    fn default() -> Self {
        TatMap {
            map: TatTable::default(),
            sweep_at: MIN_SWEEP_LEN,
        }
    }
}

impl<K: Hash + Eq + Clone> TatMap<K> {
    /// The key's TAT; an absent key is a full bucket (TAT 0).
    pub(crate) fn tat(&self, key: Hashed<'_, K>) -> u64 {
        self.map.get(key).map_or(0, NonZeroU64::get)
    }

    /// Check and commit with one lookup for a resident key.
    #[inline]
    pub(crate) fn acquire(
        &mut self,
        gcra: &CompactGcra,
        now: Time,
        key: Hashed<'_, K>,
        cost: u64,
    ) -> Result<Decision, LimitError> {
        let vacant = match self.map.entry(key) {
            Ok(tat) => {
                return Ok(match gcra.step(tat.get(), now, cost)? {
                    Step::Admit(new_tat) => {
                        *tat = raised(*tat, new_tat);
                        Decision::Allowed
                    }
                    Step::Deny(decision) => decision,
                });
            }
            Err(vacant) => vacant,
        };
        match gcra.step(0, now, cost)? {
            Step::Admit(new_tat) if cost > 0 => {
                self.insert(gcra, now, key, new_tat, vacant);
                Ok(Decision::Allowed)
            }
            Step::Admit(_) => Ok(Decision::Allowed),
            Step::Deny(decision) => Ok(decision),
        }
    }

    pub(crate) fn commit(&mut self, gcra: &CompactGcra, now: Time, key: Hashed<'_, K>, cost: u64) {
        if cost == 0 {
            return;
        }
        match self.map.entry(key) {
            Ok(tat) => *tat = raised(*tat, gcra.committed(tat.get(), now, cost)),
            Err(vacant) => self.insert(gcra, now, key, gcra.committed(0, now, cost), vacant),
        }
    }

    pub(crate) fn refund(
        &mut self,
        gcra: &CompactGcra,
        now: Time,
        charge: Charge,
        key: Hashed<'_, K>,
        cost: u64,
    ) {
        let Some(tat) = self.map.get_mut(key) else {
            return;
        };
        match NonZeroU64::new(gcra.refunded(tat.get(), now, charge, cost)) {
            Some(refunded) => *tat = refunded,
            None => self.map.remove(key),
        }
    }

    /// Drop every key whose bucket is full at `now`; returns how many were dropped.
    pub(crate) fn sweep(&mut self, gcra: &CompactGcra, now: Time) -> usize {
        let before = self.map.len();
        self.map.retain(|tat| !gcra.is_fresh(tat.get(), now));
        self.sweep_at = self.map.len().saturating_mul(2).max(MIN_SWEEP_LEN);
        before - self.map.len()
    }

    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    /// Inserts the absent `key`, which a lookup just found would go at `vacant`.
    fn insert(
        &mut self,
        gcra: &CompactGcra,
        now: Time,
        key: Hashed<'_, K>,
        tat: u64,
        vacant: Vacant,
    ) {
        let vacant = if self.map.len() >= self.sweep_at {
            self.sweep(gcra, now);
            // The sweep rebuilt the table: the lookup's slot means nothing now.
            self.map.vacancy(key)
        } else {
            vacant
        };
        // A TAT of 0 is a full bucket, which an absent key already reads as: nothing to store.
        if let Some(tat) = NonZeroU64::new(tat) {
            self.map.insert_at(vacant, key.key().clone(), tat);
        }
    }
}

/// `new` as a resident TAT, given that admitting or committing never lowers one: `new >= old`
/// so the result is exactly `new` (branch-free, and never 0).
#[inline]
fn raised(old: NonZeroU64, new: u64) -> NonZeroU64 {
    old.saturating_add(new.saturating_sub(old.get()))
}
