//! Tenant id → its sub-queue slot in a fair-share class: a purpose-built hash table.
//!
//! Why not `FxHashMap<u64, _>`: at realistic depths (1,000 tenants over ~250 requests per
//! class) most tenants hold one request, so a push to a backlogged class usually maps a tenant
//! and its pop unmaps one (only a class's only request skips the index, as in a class that
//! drains as fast as it fills): insert and remove are on
//! the hot path. Here key and value share one 16-byte slot (a probe touches one cache line, no
//! control-byte group to read first), probing is linear from a multiplicative (Fibonacci)
//! hash, and removal shifts the following entries back (no tombstones, so probe lengths never
//! degrade with churn).
//!
//! Bounded: the table keeps at least twice as many slots as live tenants and halves once it is
//! eight times too large, so its size follows the tenants queued now, never those ever seen.
//! It is only looked up, never iterated, so its layout cannot leak into any decision.

/// A free slot's value. Callers store sub-queue slots (below 2^32), never this.
const FREE: u64 = u64::MAX;
/// The smallest table (slots).
const MIN_SLOTS: usize = 16;
/// 2^64 / φ: multiplying spreads consecutive or strided tenant ids over the high bits.
const FIBONACCI: u64 = 0x9E37_79B9_7F4A_7C15;

#[derive(Copy, Clone, Debug)]
struct Entry {
    key: u64,
    value: u64,
}

const VACANT: Entry = Entry {
    key: 0,
    value: FREE,
};

/// An open-addressing map from tenant id to a `u64` below `u64::MAX`.
#[derive(Debug)]
pub(crate) struct TenantIndex {
    slots: Vec<Entry>,
    /// `slots.len() - 1` (a power of two minus one).
    mask: usize,
    /// `64 - log2(slots.len())`: the hash's top bits pick the home slot.
    shift: u32,
    live: usize,
}

impl Default for TenantIndex {
    fn default() -> Self {
        Self::with_slots(MIN_SLOTS)
    }
}

impl TenantIndex {
    fn with_slots(slots: usize) -> Self {
        TenantIndex {
            slots: vec![VACANT; slots],
            mask: slots - 1,
            shift: 64 - slots.trailing_zeros(),
            live: 0,
        }
    }

    /// Tenants mapped.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.live
    }

    /// Slots allocated (for the boundedness test).
    #[cfg(test)]
    pub fn slot_count(&self) -> usize {
        self.slots.len()
    }

    #[inline]
    fn home(&self, key: u64) -> usize {
        // The shift is at most 60 (16 slots or more), so the result fits the table.
        (key.wrapping_mul(FIBONACCI) >> self.shift) as usize
    }

    /// Where `key`'s probe ends: its slot, or the free slot where it would go.
    #[inline]
    fn probe(&self, key: u64) -> (usize, bool) {
        let mut i = self.home(key);
        loop {
            let entry = self.slots[i];
            if entry.value == FREE {
                return (i, false);
            }
            if entry.key == key {
                return (i, true);
            }
            i = (i + 1) & self.mask;
        }
    }

    /// The value mapped to `key`.
    #[inline]
    pub fn get(&self, key: u64) -> Option<u64> {
        match self.probe(key) {
            (i, true) => Some(self.slots[i].value),
            _ => None,
        }
    }

    /// Maps `key` to `value` (below `u64::MAX`), replacing any previous value.
    #[inline]
    pub fn insert(&mut self, key: u64, value: u64) {
        debug_assert!(value != FREE, "u64::MAX marks a free slot");
        let (i, found) = self.probe(key);
        self.slots[i] = Entry { key, value };
        if !found {
            self.live += 1;
            if self.live * 2 > self.slots.len() {
                self.resize(self.slots.len() * 2);
            }
        }
    }

    /// Unmaps `key`; returns its value.
    #[inline]
    pub fn remove(&mut self, key: u64) -> Option<u64> {
        let (found_at, found) = self.probe(key);
        if !found {
            return None;
        }
        let value = self.slots[found_at].value;
        self.close_gap(found_at);
        self.live -= 1;
        if self.slots.len() > MIN_SLOTS && self.live * 8 < self.slots.len() {
            self.resize(self.slots.len() / 2);
        }
        Some(value)
    }

    /// Backward-shift deletion: moves each following entry of the run into the hole when its
    /// home slot allows (is not cyclically after the hole), so every probe still finds it.
    #[inline]
    fn close_gap(&mut self, mut hole: usize) {
        let mut next = (hole + 1) & self.mask;
        loop {
            let entry = self.slots[next];
            if entry.value == FREE {
                break;
            }
            let displaced = next.wrapping_sub(self.home(entry.key)) & self.mask;
            if displaced >= (next.wrapping_sub(hole) & self.mask) {
                self.slots[hole] = entry;
                hole = next;
            }
            next = (next + 1) & self.mask;
        }
        self.slots[hole] = VACANT;
    }

    #[cold]
    fn resize(&mut self, slots: usize) {
        let old = std::mem::replace(self, Self::with_slots(slots.max(MIN_SLOTS)));
        for entry in old.slots.into_iter().filter(|e| e.value != FREE) {
            let (i, _) = self.probe(entry.key);
            self.slots[i] = entry;
            self.live += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::Strategy;
    use std::collections::HashMap;

    /// The multiplicative inverse of [`FIBONACCI`] modulo 2^64 (Newton's iteration; each
    /// step doubles the correct low bits, and an odd number is its own inverse modulo 8).
    fn fibonacci_inverse() -> u64 {
        let mut inverse = FIBONACCI;
        for _ in 0..5 {
            inverse = inverse.wrapping_mul(2u64.wrapping_sub(FIBONACCI.wrapping_mul(inverse)));
        }
        inverse
    }

    /// A key whose hash is `u64::MAX - j` for `j` below 4 (home: the last slot of any table up
    /// to 2^60 slots) and `j - 4` above (home: slot 0). Such keys make runs that wrap around
    /// the end of the table into another run, which removal's backward shift must handle with
    /// cyclic distances.
    fn at_the_ends(j: u64) -> u64 {
        let hash = if j < 4 { u64::MAX - j } else { j - 4 };
        hash.wrapping_mul(fibonacci_inverse())
    }

    #[test]
    fn keys_at_the_ends_have_their_homes_there() {
        assert_eq!(FIBONACCI.wrapping_mul(fibonacci_inverse()), 1);
        let mut index = TenantIndex::default();
        for j in 0..8 {
            let home = index.home(at_the_ends(j));
            assert_eq!(home, if j < 4 { MIN_SLOTS - 1 } else { 0 }, "j = {j}");
        }
        // A key homed at the last slot, one homed at slot 0, then one more homed at the last
        // slot, which wraps past both to slot 1. Removing the slot-0 key must shift it back
        // (its home is cyclically before the hole), or it is lost behind the hole.
        index.insert(at_the_ends(0), 10);
        index.insert(at_the_ends(4), 14);
        index.insert(at_the_ends(1), 11);
        assert_eq!(index.slots[1].key, at_the_ends(1));
        assert_eq!(index.remove(at_the_ends(4)), Some(14));
        assert_eq!(index.slots[0].key, at_the_ends(1));
        assert_eq!(index.get(at_the_ends(1)), Some(11));
        assert_eq!(index.get(at_the_ends(0)), Some(10));
    }

    proptest::proptest! {
        /// Any sequence of inserts, removes and lookups answers exactly as a `HashMap` does,
        /// with keys drawn from a small range (long collision runs, reinserts after removal),
        /// from keys homed at the table's two ends (runs that wrap around) and from anywhere
        /// (strided and extreme ids).
        #[test]
        fn answers_as_a_hash_map(
            ops in proptest::collection::vec(
                (
                    0u8..3,
                    proptest::prop_oneof![
                        0u64..40,
                        (0u64..8).prop_map(at_the_ends),
                        proptest::num::u64::ANY,
                    ],
                    0..u64::MAX,
                ),
                0..600,
            ),
        ) {
            let mut index = TenantIndex::default();
            let mut model: HashMap<u64, u64> = HashMap::new();
            for (op, key, value) in ops {
                match op {
                    0 => {
                        index.insert(key, value);
                        model.insert(key, value);
                    }
                    1 => proptest::prop_assert_eq!(index.remove(key), model.remove(&key)),
                    _ => {}
                }
                proptest::prop_assert_eq!(index.get(key), model.get(&key).copied());
                proptest::prop_assert_eq!(index.len(), model.len());
                proptest::prop_assert!(index.slot_count() >= 2 * index.len());
            }
            for (key, value) in &model {
                proptest::prop_assert_eq!(index.get(*key), Some(*value));
            }
        }
    }

    #[test]
    fn the_table_follows_live_tenants_not_tenants_ever_seen() {
        let mut index = TenantIndex::default();
        for round in 0..50u64 {
            for tenant in 0..1_000 {
                index.insert(round * 1_000 + tenant, tenant);
            }
            assert!(index.slot_count() >= 2_000);
            for tenant in 0..1_000 {
                assert_eq!(index.remove(round * 1_000 + tenant), Some(tenant));
            }
            assert_eq!(index.len(), 0);
            assert_eq!(index.slot_count(), MIN_SLOTS, "round {round}");
        }
    }
}
