//! An open-addressing table of keys and their TATs side by side: the store behind
//! [`TatMap`](super::tat_map::TatMap).
//!
//! Why not `FxHashMap<K, u64>`: at a million keys every lookup misses the cache, and a
//! hashbrown lookup misses twice (its control-byte group, then the bucket, which live in two
//! regions of the allocation). Here a slot holds the key and its TAT together (16 bytes for a
//! `u64` key, four slots a cache line) and probing is linear, so a hit usually reads one line.
//!
//! Layout without `unsafe` or a flag byte: a slot is `Option<(K, NonZeroU64)>`. A resident
//! TAT is never 0 (TAT 0 is a full bucket, which is the same as an absent key), so `None`
//! lives in the TAT's zero niche and the slot stays as wide as the key plus 8 bytes.
//!
//! Deletion happens one key at a time only when a refund brings a TAT to 0, which only a
//! refund at or before the limiter's origin can do (backward shift, so no tombstones), or by
//! [`retain`](TatTable::retain), which rebuilds at the size the survivors need. The hash is FxHash, as before (like for like with governor's FxHash).

use rustc_hash::FxBuildHasher;
use std::hash::{BuildHasher, Hash};
use std::num::NonZeroU64;

/// One slot: empty, or a key and its (non-zero) TAT.
type Slot<K> = Option<(K, NonZeroU64)>;

/// The table grows when more than `LOAD_NUM / LOAD_DEN` of its slots would be full; some slot
/// is always empty, so a probe run always ends. Measured (reports/perf.md, keyed5): at 1/2 the
/// table doubles long before hashbrown (7/8) does and lost to governor where hashbrown still
/// fitted half the memory (786 k keys 0.94–1.20×, 300 k 1.36×; at 3/4: 1.06–1.24×, 1.94–1.99×).
/// At 7/8 hits were as fast or faster (900 k keys: 1.99–2.12× against 1.61–1.86×), but a miss
/// (every new key) took 2.2× as long there (21 ns against 9 ns): linear probing's miss runs
/// grow with 1/(1-load)², hashbrown's control bytes do not.
const LOAD_NUM: usize = 3;
const LOAD_DEN: usize = 4;

/// Slots of the first allocation (two cache lines with `u64` keys).
const MIN_SLOTS: usize = 8;

#[derive(Clone, Debug)]
pub(crate) struct TatTable<K> {
    /// A power of two long (or empty until the first insert).
    slots: Vec<Slot<K>>,
    len: usize,
}

impl<K> Default for TatTable<K> {
    fn default() -> Self {
        TatTable {
            slots: Vec::new(),
            len: 0,
        }
    }
}

impl<K: Hash + Eq> TatTable<K> {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The key's TAT, if resident.
    #[inline]
    pub(crate) fn get(&self, key: &K) -> Option<NonZeroU64> {
        let i = self.find(key).ok()?;
        self.slots.get(i)?.as_ref().map(|(_, tat)| *tat)
    }

    /// The key's TAT, if resident, to update in place.
    #[inline]
    pub(crate) fn get_mut(&mut self, key: &K) -> Option<&mut NonZeroU64> {
        let i = self.find(key).ok()?;
        self.slots.get_mut(i)?.as_mut().map(|(_, tat)| tat)
    }

    /// Insert a key known to be absent (the caller has just missed it).
    pub(crate) fn insert_new(&mut self, key: K, tat: NonZeroU64) {
        debug_assert!(self.find(&key).is_err(), "insert_new of a resident key");
        if self.full_after(self.len.saturating_add(1)) {
            self.resize(slots_for(self.len.saturating_add(1)));
        }
        self.place(key, tat);
        self.len += 1;
    }

    /// Remove `key` if resident, shifting later members of its probe run back into the gap
    /// (so a lookup never stops early at the hole).
    pub(crate) fn remove(&mut self, key: &K) {
        let Ok(mut hole) = self.find(key) else {
            return;
        };
        let mask = self.mask();
        self.slots[hole] = None;
        self.len -= 1;
        let mut i = hole;
        loop {
            i = (i + 1) & mask;
            let Some((k, _)) = &self.slots[i] else {
                return;
            };
            // The member at `i` may fill the hole unless its home lies cyclically in
            // (hole, i]: then the hole is before its home and a lookup would not pass it.
            let home = home(k, mask);
            if i.wrapping_sub(home) & mask >= i.wrapping_sub(hole) & mask {
                self.slots.swap(hole, i);
                hole = i;
            }
        }
    }

    /// Keep only the keys `keep` accepts; the table is rebuilt at the size the survivors
    /// need, so its memory follows the resident keys down as well as up.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(NonZeroU64) -> bool) {
        let survivors: Vec<(K, NonZeroU64)> = std::mem::take(&mut self.slots)
            .into_iter()
            .flatten()
            .filter(|(_, tat)| keep(*tat))
            .collect();
        self.len = survivors.len();
        self.slots = empty_slots(slots_for(self.len));
        for (key, tat) in survivors {
            self.place(key, tat);
        }
    }

    /// `Ok(slot of key)` or `Err(first empty slot of its probe run)`. Terminates: the load
    /// bound leaves an empty slot in every non-empty table, and an empty table has no slot
    /// (`get` answers `None` at once).
    #[inline]
    fn find(&self, key: &K) -> Result<usize, usize> {
        let mask = self.mask();
        let mut i = home(key, mask);
        loop {
            match self.slots.get(i) {
                Some(Some((k, _))) if k == key => return Ok(i),
                Some(Some(_)) => i = (i + 1) & mask,
                _ => return Err(i),
            }
        }
    }

    /// Put an absent key in the first empty slot of its run (room is already ensured).
    fn place(&mut self, key: K, tat: NonZeroU64) {
        if let Err(i) = self.find(&key)
            && let Some(slot) = self.slots.get_mut(i)
        {
            *slot = Some((key, tat));
        }
    }

    fn resize(&mut self, slots: usize) {
        let old = std::mem::replace(&mut self.slots, empty_slots(slots));
        for (key, tat) in old.into_iter().flatten() {
            self.place(key, tat);
        }
    }

    /// Whether `len` keys would exceed the load bound of the current slots.
    fn full_after(&self, len: usize) -> bool {
        len.saturating_mul(LOAD_DEN) > self.slots.len().saturating_mul(LOAD_NUM)
    }

    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }
}

/// Where `key`'s probe run starts. FxHash's finish moves the best-mixed bits of its product
/// to the bottom, so the low bits index (as hashbrown does).
#[inline]
fn home<K: Hash>(key: &K, mask: usize) -> usize {
    FxBuildHasher.hash_one(key) as usize & mask
}

/// The fewest slots (a power of two, at least [`MIN_SLOTS`]) holding `len` keys within the
/// load bound; 0 for no keys. Saturates: a table of 2^62 slots cannot be allocated anyway
/// (the allocation fails first, as for any collection).
fn slots_for(len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    let needed = len.saturating_mul(LOAD_DEN).div_ceil(LOAD_NUM);
    needed
        .checked_next_power_of_two()
        .unwrap_or(usize::MAX)
        .max(MIN_SLOTS)
}

fn empty_slots<K>(slots: usize) -> Vec<Slot<K>> {
    std::iter::repeat_with(|| None).take(slots).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// The whole point of the layout: a `u64` key and its TAT in 16 bytes, no flag byte.
    const _: () = assert!(std::mem::size_of::<Slot<u64>>() == 16);

    #[derive(Clone, Debug)]
    enum Op {
        /// Look the key up; insert it with this TAT when absent, else overwrite its TAT.
        Put(u64, u64),
        Remove(u64),
        /// Keep only TATs above this threshold.
        Retain(u64),
    }

    fn op(keys: u64) -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0..keys, 1..100u64).prop_map(|(k, t)| Op::Put(k, t)),
            2 => (0..keys).prop_map(Op::Remove),
            1 => (0..100u64).prop_map(Op::Retain),
        ]
    }

    fn nz(tat: u64) -> NonZeroU64 {
        NonZeroU64::new(tat).unwrap()
    }

    proptest! {
        /// Differential against `HashMap`: after every operation the table holds exactly the
        /// model's keys with the model's TATs (every key of the model is found, a key outside
        /// it is not, the lengths agree), and its slot count never exceeds what the resident
        /// keys need (the smallest power of two within the load bound, or what the peak
        /// needed since the last `retain`).
        #[test]
        fn behaves_like_a_hash_map(
            keys in 1u64..200,
            ops in proptest::collection::vec(op(200), 1..400),
        ) {
            let mut table = TatTable::default();
            let mut model = HashMap::new();
            let mut peak = 0;
            for op in ops {
                match op {
                    Op::Put(k, t) => {
                        let k = k % keys;
                        match table.get_mut(&k) {
                            Some(tat) => *tat = nz(t),
                            None => table.insert_new(k, nz(t)),
                        }
                        model.insert(k, t);
                    }
                    Op::Remove(k) => {
                        table.remove(&(k % keys));
                        model.remove(&(k % keys));
                    }
                    Op::Retain(floor) => {
                        table.retain(|tat| tat.get() > floor);
                        model.retain(|_, tat| *tat > floor);
                        peak = 0;
                    }
                }
                peak = peak.max(model.len());
                prop_assert_eq!(table.len(), model.len());
                prop_assert!(table.slots.len() <= slots_for(peak));
                for k in 0..keys {
                    prop_assert_eq!(table.get(&k).map(NonZeroU64::get), model.get(&k).copied());
                }
                let mut held: Vec<_> = table.slots.iter().flatten().map(|(k, t)| (*k, t.get())).collect();
                let mut expected: Vec<_> = model.iter().map(|(k, t)| (*k, *t)).collect();
                held.sort_unstable();
                expected.sort_unstable();
                prop_assert_eq!(held, expected);
            }
        }
    }

    #[test]
    fn an_empty_table_finds_nothing_and_allocates_nothing() {
        let mut table = TatTable::<u64>::default();
        assert_eq!(table.get(&7), None);
        table.remove(&7);
        table.retain(|_| true);
        assert!(table.slots.is_empty());
        table.insert_new(7, nz(3));
        assert_eq!((table.len(), table.slots.len()), (1, MIN_SLOTS));
        table.retain(|_| false);
        assert!(table.slots.is_empty());
    }

    #[test]
    fn slots_grow_in_powers_of_two_at_three_quarters_load() {
        assert_eq!(slots_for(0), 0);
        assert_eq!(slots_for(1), MIN_SLOTS);
        assert_eq!(slots_for(6), 8);
        assert_eq!(slots_for(7), 16);
        assert_eq!(slots_for(1_000_000), 1 << 21);
        // Unreachable sizes saturate instead of overflowing.
        assert!(slots_for(usize::MAX).is_power_of_two());
    }
}
