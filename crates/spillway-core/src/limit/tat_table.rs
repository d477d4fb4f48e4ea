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

/// Built for small, integer-like keys (`u64` ids, small `Copy` tuples). A slot stores the key
/// inline and no hash or tag, so a probe compares whole keys, and the hash is recomputed from
/// the key whenever a slot moves (resize, retain, backward shift). For a `u64` that is one
/// compare inside the cache line the probe already read, which is why storing a tag would
/// only widen the slot (16 to 24 bytes). Other keys pay more:
/// - a key owning heap data (`String`, `Vec`) follows a pointer for every probed slot whose
///   key has the same length, a cache miss each at a million keys, and linear probing probes
///   (1 + 1/(1-load)²)/2 slots per miss: 8.5 at the 3/4 load bound, 2.5 on a hit;
/// - a wider key makes a wider slot (a `String` key: 32 bytes, two slots a line), and moving
///   slots rehashes every byte of the key;
/// - inserting stores a clone of the key (an allocation for such keys).
///
/// So map such keys to integers before they reach a keyed limiter (an id table, or a 64-bit
/// hash when a collision merging two buckets is acceptable).
#[derive(Clone, Debug)]
pub(crate) struct TatTable<K> {
    /// A power of two long (or empty until the first insert).
    slots: Vec<Slot<K>>,
    len: usize,
}

/// A key with its FxHash, computed once per call: [`ShardedKeyedGcra`](super::ShardedKeyedGcra)
/// picks the shard from the high bits, the table the home slot from the low ones.
#[derive(Debug)]
pub(crate) struct Hashed<'a, K> {
    key: &'a K,
    hash: u64,
}

impl<K> Clone for Hashed<'_, K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K> Copy for Hashed<'_, K> {}

impl<'a, K: Hash> Hashed<'a, K> {
    #[inline]
    pub(crate) fn new(key: &'a K) -> Self {
        Hashed {
            key,
            hash: FxBuildHasher.hash_one(key),
        }
    }

    pub(crate) fn hash(self) -> u64 {
        self.hash
    }

    pub(crate) fn key(self) -> &'a K {
        self.key
    }
}

/// The empty slot where a key's lookup ended: where that key goes, until the table changes.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Vacant(usize);

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
    pub(crate) fn get(&self, key: Hashed<'_, K>) -> Option<NonZeroU64> {
        let i = self.find(key).ok()?;
        self.slots.get(i)?.as_ref().map(|(_, tat)| *tat)
    }

    /// The key's TAT, if resident, to update in place.
    #[inline]
    pub(crate) fn get_mut(&mut self, key: Hashed<'_, K>) -> Option<&mut NonZeroU64> {
        self.entry(key).ok()
    }

    /// The key's TAT to update in place, or where it would be inserted: a miss (every new
    /// key) then inserts with [`insert_at`](Self::insert_at) without probing again.
    #[inline]
    pub(crate) fn entry(&mut self, key: Hashed<'_, K>) -> Result<&mut NonZeroU64, Vacant> {
        match self.find(key) {
            Ok(i) => (self.slots.get_mut(i).and_then(Option::as_mut))
                .map(|(_, tat)| tat)
                .ok_or(Vacant(i)),
            Err(i) => Err(Vacant(i)),
        }
    }

    /// Where the absent `key` would be inserted (for a caller whose earlier miss is stale).
    pub(crate) fn vacancy(&self, key: Hashed<'_, K>) -> Vacant {
        let found = self.find(key);
        debug_assert!(found.is_err(), "vacancy of a resident key");
        let (Ok(i) | Err(i)) = found;
        Vacant(i)
    }

    /// Insert a key known to be absent (tests: the limiters insert where they missed).
    #[cfg(test)]
    pub(crate) fn insert_new(&mut self, key: K, tat: NonZeroU64) {
        let vacant = self.vacancy(Hashed::new(&key));
        self.insert_at(vacant, key, tat);
    }

    /// Insert an absent key at `vacant`, from a lookup of that key with no change to the
    /// table since (else the key could land outside its probe run, and be lost).
    pub(crate) fn insert_at(&mut self, vacant: Vacant, key: K, tat: NonZeroU64) {
        debug_assert!(
            self.find(Hashed::new(&key)) == Err(vacant.0),
            "insert_at a stale vacancy or of a resident key"
        );
        if self.full_after(self.len.saturating_add(1)) {
            self.resize(slots_for(self.len.saturating_add(1)));
            self.place(key, tat);
        } else {
            match self.slots.get_mut(vacant.0) {
                Some(slot @ None) => *slot = Some((key, tat)),
                _ => self.place(key, tat),
            }
        }
        self.len += 1;
    }

    /// Remove `key` if resident, shifting later members of its probe run back into the gap
    /// (so a lookup never stops early at the hole).
    pub(crate) fn remove(&mut self, key: Hashed<'_, K>) {
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
            let home = home(Hashed::new(k).hash, mask);
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
    fn find(&self, key: Hashed<'_, K>) -> Result<usize, usize> {
        let mask = self.mask();
        let mut i = home(key.hash, mask);
        loop {
            match self.slots.get(i) {
                Some(Some((k, _))) if k == key.key => return Ok(i),
                Some(Some(_)) => i = (i + 1) & mask,
                _ => return Err(i),
            }
        }
    }

    /// Put an absent key in the first empty slot of its run (room is already ensured).
    fn place(&mut self, key: K, tat: NonZeroU64) {
        if let Err(i) = self.find(Hashed::new(&key))
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

/// Where the probe run of a key with this hash starts. FxHash's finish moves the best-mixed
/// bits of its product to the bottom, so the low bits index (as hashbrown does).
#[inline]
fn home(hash: u64, mask: usize) -> usize {
    hash as usize & mask
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
mod tests;
