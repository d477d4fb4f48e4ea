//! A keyed token bucket with 8 bytes of state per key: [`Keyed`](super::Keyed)`<K, Gcra>`
//! with rate and capacity kept once instead of in every key.
//!
//! Why: at a million keys a lookup is a cache miss whatever the layout, so the cost follows
//! the bytes per entry. `Keyed<u64, Gcra>` stores a whole `Gcra` per key (48 bytes plus the
//! key); this stores the TAT alone (16-byte entries with a `u64` key, governor's size), next
//! to its key in an open-addressing table so a hit reads one cache line where a hashbrown map
//! reads two (control bytes, then the bucket). The decisions are those of `Keyed<K, Gcra>`
//! up to the [horizon](KeyedGcra::horizon).

use super::compact::CompactGcra;
use super::tat_map::TatMap;
use super::tat_table::Hashed;
use super::{Charge, Decision, LimitError};
use crate::time::{Duration, Time};
use std::hash::Hash;

/// One token bucket per key (`capacity` tokens, `rate` per `period`), 8 bytes per resident key.
///
/// Built for integer-like keys (`u64` ids): any `Hash + Eq` key works, but the table compares
/// whole keys while probing, so a `String` key follows a pointer per probed slot; map such
/// keys to integers first.
#[derive(Clone, Debug)]
pub struct KeyedGcra<K> {
    gcra: CompactGcra,
    map: TatMap<K>,
}

impl<K: Hash + Eq + Clone> KeyedGcra<K> {
    /// Every key starts with a full bucket. `None` if any argument is zero or the bucket is
    /// too large to count in one word (`capacity · period / gcd(rate, period) > u64::MAX`).
    pub fn new(capacity: u64, rate: u64, period: Duration) -> Option<Self> {
        Some(KeyedGcra {
            gcra: CompactGcra::new(capacity, rate, period)?,
            map: TatMap::default(),
        })
    }
    super::compact::compact_config!();
    /// Would `cost` be admitted for `key` at `now`? Changes nothing.
    pub fn check(&self, now: Time, key: &K, cost: u64) -> Result<Decision, LimitError> {
        self.gcra.check(self.map.tat(Hashed::new(key)), now, cost)
    }
    /// Check and commit: one hash lookup for a resident key; an absent key is inserted only
    /// when admitted with a non-zero cost.
    #[inline]
    pub fn acquire(&mut self, now: Time, key: &K, cost: u64) -> Result<Decision, LimitError> {
        self.map.acquire(&self.gcra, now, Hashed::new(key), cost)
    }
    /// Consume `cost` for `key` unconditionally (may leave it in debt).
    pub fn commit(&mut self, now: Time, key: &K, cost: u64) {
        self.map.commit(&self.gcra, now, Hashed::new(key), cost);
    }
    /// Give back `cost` of `charge` for `key`: what of it is surely unrefilled, never beyond a
    /// full bucket ([`Gcra`](super::Gcra)'s rule).
    pub fn refund(&mut self, now: Time, charge: Charge, key: &K, cost: u64) {
        self.map
            .refund(&self.gcra, now, charge, Hashed::new(key), cost);
    }
    /// Whole tokens `key` holds at `now`.
    pub fn available(&self, now: Time, key: &K) -> u64 {
        self.gcra.available(self.map.tat(Hashed::new(key)), now)
    }
    /// Drop every key whose bucket is full at `now`; returns how many were dropped.
    pub fn sweep(&mut self, now: Time) -> usize {
        self.map.sweep(&self.gcra, now)
    }
    /// Keys currently resident.
    pub fn len(&self) -> usize {
        self.map.len()
    }
    /// Whether no key is resident.
    pub fn is_empty(&self) -> bool {
        self.map.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::{Gcra, Keyed};
    use proptest::prelude::*;

    #[derive(Clone, Copy, Debug)]
    enum Op {
        Acquire,
        Commit,
        Refund,
        Sweep,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            5 => Just(Op::Acquire),
            1 => Just(Op::Commit),
            2 => Just(Op::Refund),
            1 => Just(Op::Sweep),
        ]
    }

    proptest! {
        /// Differential against `Keyed<u64, Gcra>` on every mutating operation, including
        /// refunds that fill a key and instants at the origin (where a refund brings the TAT
        /// to 0, which removes the key from the table): after each step both answer every key alike
        /// (`check` and `available`), and `acquire` decides alike.
        #[test]
        fn agrees_with_keyed_gcra_on_every_operation(
            capacity in 1u64..8,
            rate in 1u64..20,
            period_ms in 1u64..50,
            steps in proptest::collection::vec((op(), 0u64..12, 0u64..3_000_000, 0u64..9), 1..300),
        ) {
            let period = Duration::from_millis(period_ms);
            let mut compact = KeyedGcra::new(capacity, rate, period).unwrap();
            let mut wide = Keyed::new(Gcra::new(capacity, rate, period).unwrap());
            let mut now = 0;
            for (op, key, dt, cost) in steps {
                // Half the steps stay at the same instant, so t = 0 is well covered.
                now += if dt % 2 == 0 { 0 } else { dt };
                let t = Time::from_nanos(now);
                let cost = cost.min(capacity);
                match op {
                    Op::Acquire => prop_assert_eq!(
                        compact.acquire(t, &key, cost),
                        wide.acquire(t, &key, cost)
                    ),
                    Op::Commit => {
                        compact.commit(t, &key, cost);
                        wide.commit(t, &key, cost);
                    }
                    Op::Refund => {
                        // Of a charge made up to ~1.5 s (dt) before, possibly before the
                        // origin's instant 0, of at least the refunded cost.
                        let charge = Charge {
                            at: Time::from_nanos(now.saturating_sub(dt / 2)),
                            cost: cost + dt % 5,
                        };
                        compact.refund(t, charge, &key, cost);
                        wide.refund(t, charge, &key, cost);
                    }
                    Op::Sweep => {
                        compact.sweep(t);
                        wide.sweep(t);
                    }
                }
                for k in 0..12 {
                    prop_assert_eq!(compact.check(t, &k, 1), wide.check(t, &k, 1));
                    let resident = wide.get(&k).unwrap_or(wide.prototype());
                    prop_assert_eq!(compact.available(t, &k), resident.available(t));
                }
            }
        }
    }

    #[test]
    fn a_key_holds_its_capacity_and_others_are_independent() {
        let mut keyed = KeyedGcra::new(2, 1, Duration::from_secs(1)).unwrap();
        let t = Time::from_secs(10);
        assert!(keyed.acquire(t, &1u64, 2).unwrap().is_allowed());
        assert_eq!(
            keyed.acquire(t, &1, 1),
            Ok(Decision::Denied {
                retry_at: Time::from_secs(11)
            })
        );
        assert!(keyed.acquire(t, &2, 2).unwrap().is_allowed());
        assert_eq!(keyed.available(t, &3), 2);
    }

    #[test]
    fn agrees_with_keyed_gcra_and_forgets_full_keys() {
        let mut compact = KeyedGcra::new(5, 3, Duration::from_millis(700)).unwrap();
        let mut wide = Keyed::new(Gcra::new(5, 3, Duration::from_millis(700)).unwrap());
        for i in 0..50_000u64 {
            let now = Time::from_nanos(i * 9_973);
            let (key, cost) = (i.wrapping_mul(2_654_435_761) % 3_000, i % 4);
            assert_eq!(
                compact.acquire(now, &key, cost),
                wide.acquire(now, &key, cost),
                "step {i}"
            );
        }
        let end = Time::from_secs(100);
        compact.sweep(end);
        assert!(compact.is_empty());
    }

    /// The new key whose insert sweeps goes where the rebuilt table wants it, not where the
    /// lookup before the sweep ended: 1,000 of 1,024 keys are full again and swept, the
    /// table shrinks, and the new key and the 24 survivors are all still found.
    #[test]
    fn a_key_inserted_by_a_sweeping_acquire_is_found() {
        let mut keyed = KeyedGcra::new(2, 1, Duration::from_secs(1)).unwrap();
        let (early, late) = (Time::from_secs(10), Time::from_secs(15));
        for key in 0..1_024u64 {
            let at = if key < 1_000 { early } else { late };
            assert!(keyed.acquire(at, &key, 2).unwrap().is_allowed());
        }
        assert_eq!(keyed.len(), 1_024);
        let now = Time::from_nanos(15_500_000_000);
        assert!(keyed.acquire(now, &9_999, 2).unwrap().is_allowed());
        assert_eq!(keyed.len(), 25);
        assert_eq!(keyed.available(now, &9_999), 0);
        for key in 0..1_024u64 {
            assert_eq!(keyed.available(now, &key), if key < 1_000 { 2 } else { 0 });
        }
    }

    #[test]
    fn past_the_horizon_it_fails_closed() {
        // 1_000_000_007 per second: gcd 1, so the horizon is about 18 s after the origin.
        let keyed = KeyedGcra::<u64>::new(1, 1_000_000_007, Duration::from_secs(1)).unwrap();
        let late = Time::from_secs(3_600);
        assert!(keyed.horizon() < late);
        assert_eq!(
            keyed.check(late, &1, 1),
            Ok(Decision::Denied {
                retry_at: Time::from_nanos(u64::MAX)
            })
        );
        let moved = keyed.with_origin(Time::from_secs(3_590));
        assert!(moved.check(late, &1, 1).unwrap().is_allowed());
    }
}
