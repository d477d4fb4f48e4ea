//! [`TatTable`] against a `HashMap` model, with well-spread keys and with keys whose hashes
//! collapse onto the table's two ends.

use super::*;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
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

/// A key whose hash collapses to one of three values: one whose home is the last slot of
/// every table up to 2^10 slots, one whose home is slot 0, and a third. Runs from the last
/// slot wrap around into the run at slot 0, so lookups cross the end of the table and
/// removal's backward shift must use cyclic distances (a linear comparison misplaces keys
/// whose home is near the end but which sit at the start).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Colliding {
    id: u64,
    hashed: u64,
}

impl Hash for Colliding {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.hashed.hash(state);
    }
}

/// The first `u64` whose FxHash has its low `bits` bits equal to those of `low`.
fn hashing_to(low: u64, bits: u32) -> u64 {
    let mask = (1u64 << bits) - 1;
    (0u64..)
        .find(|v| FxBuildHasher.hash_one(v) & mask == low & mask)
        .unwrap_or(0)
}

fn colliding(homes: [u64; 3]) -> impl Fn(u64) -> Colliding {
    move |id| Colliding {
        id,
        hashed: homes[(id % 3) as usize],
    }
}

/// Applies `ops` to a table and to a `HashMap`, with keys `make(k % keys)`. After every
/// operation the table holds exactly the model's keys with the model's TATs (every key of
/// the model is found, a key outside it is not, the lengths agree), and its slot count
/// never exceeds what the resident keys need (the smallest power of two within the load
/// bound, or what the peak needed since the last `retain`).
fn behaves_like_the_model<K: Hash + Ord + Clone + std::fmt::Debug>(
    keys: u64,
    ops: Vec<Op>,
    make: impl Fn(u64) -> K,
) -> Result<(), TestCaseError> {
    let mut table = TatTable::default();
    let mut model = HashMap::new();
    let mut peak = 0;
    for op in ops {
        match op {
            Op::Put(k, t) => {
                let k = k % keys;
                match table.entry(Hashed::new(&make(k))) {
                    Ok(tat) => *tat = nz(t),
                    Err(vacant) => table.insert_at(vacant, make(k), nz(t)),
                }
                model.insert(k, t);
            }
            Op::Remove(k) => {
                table.remove(Hashed::new(&make(k % keys)));
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
            prop_assert_eq!(
                table.get(Hashed::new(&make(k))).map(NonZeroU64::get),
                model.get(&k).copied()
            );
        }
        let mut held: Vec<_> = table
            .slots
            .iter()
            .flatten()
            .map(|(k, t)| (k.clone(), t.get()))
            .collect();
        let mut expected: Vec<_> = model.iter().map(|(k, t)| (make(*k), *t)).collect();
        held.sort_unstable();
        expected.sort_unstable();
        prop_assert_eq!(held, expected);
    }
    Ok(())
}

proptest! {
    /// Differential against `HashMap` with well-spread `u64` keys.
    #[test]
    fn behaves_like_a_hash_map(
        keys in 1u64..200,
        ops in proptest::collection::vec(op(200), 1..400),
    ) {
        behaves_like_the_model(keys, ops, |k| k)?;
    }

    /// The same with three hashes for all keys, two of them at the table's ends: long
    /// runs that wrap around, and removals inside them.
    #[test]
    fn behaves_like_a_hash_map_when_runs_wrap_around(
        keys in 1u64..40,
        ops in proptest::collection::vec(op(40), 1..300),
    ) {
        let homes = [hashing_to(u64::MAX, 10), hashing_to(0, 10), 7];
        behaves_like_the_model(keys, ops, colliding(homes))?;
    }
}

/// The colliding keys do what the wrap-around test needs: a run from the last slot.
#[test]
fn colliding_keys_start_at_the_tables_ends() {
    let last = Colliding {
        id: 0,
        hashed: hashing_to(u64::MAX, 10),
    };
    let first = Colliding {
        id: 1,
        hashed: hashing_to(0, 10),
    };
    for slots in [8usize, 16, 1024] {
        assert_eq!(home(Hashed::new(&last).hash(), slots - 1), slots - 1);
        assert_eq!(home(Hashed::new(&first).hash(), slots - 1), 0);
    }
    // A key homed at the last slot, one at slot 0, then one more at the last slot, which
    // wraps past both to slot 1. Removing the slot-0 key must shift it back (its home is
    // cyclically before the hole), or it is lost behind the hole.
    let mut table = TatTable::default();
    let keys = [
        Colliding {
            id: 0,
            ..last.clone()
        },
        first.clone(),
        Colliding { id: 2, ..last },
    ];
    for key in &keys {
        table.insert_new(key.clone(), nz(key.id + 1));
    }
    assert_eq!(table.slots.len(), 8);
    assert_eq!(table.slots[1].as_ref().map(|(k, _)| k.id), Some(2));
    table.remove(Hashed::new(&first));
    assert_eq!(table.slots[0].as_ref().map(|(k, _)| k.id), Some(2));
    assert_eq!(table.get(Hashed::new(&keys[2])), Some(nz(3)));
    assert_eq!(table.get(Hashed::new(&keys[0])), Some(nz(1)));
}

#[test]
fn an_empty_table_finds_nothing_and_allocates_nothing() {
    let mut table = TatTable::<u64>::default();
    assert_eq!(table.get(Hashed::new(&7)), None);
    table.remove(Hashed::new(&7));
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
