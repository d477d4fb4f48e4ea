//! A keyed token bucket shared across threads: keys hashed to shards, each shard a
//! `Mutex` around a map of 8-byte TATs (a `TatTable` per shard: key and
//! TAT in one slot, so a lookup under the lock usually reads one cache line).
//!
//! Why shards of plain maps rather than a lock-free map: the per-key update is a handful of
//! instructions, so the cost is the lock and the cache miss on the entry; with one lock per
//! shard two threads rarely meet, and the state per key stays 8 bytes (no atomic per entry,
//! no per-key allocation). Rate and capacity live once in the limiter. Decisions are those of
//! [`KeyedGcra`](super::KeyedGcra) applied in lock order.

use super::compact::CompactGcra;
use super::tat_map::TatMap;
use super::tat_table::Hashed;
use super::{Charge, Decision, LimitError};
use crate::time::{Duration, Time};
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Shards per limiter: enough that a few threads rarely share one, few enough to stay small.
const SHARDS: usize = 64;

/// A shard on its own cache line, so two threads locking neighbours do not false-share.
#[repr(align(64))]
#[derive(Debug, Default)]
struct Shard<K>(Mutex<TatMap<K>>);

/// One token bucket per key, shareable by `&self` across threads, 8 bytes per resident key.
///
/// Built for integer-like keys, as [`KeyedGcra`](super::KeyedGcra) is (same table per shard).
#[derive(Debug)]
pub struct ShardedKeyedGcra<K> {
    gcra: CompactGcra,
    shards: Box<[Shard<K>]>,
}

impl<K: Hash + Eq + Clone> ShardedKeyedGcra<K> {
    /// Every key starts with a full bucket. `None` if any argument is zero or the bucket is
    /// too large to count in one word.
    pub fn new(capacity: u64, rate: u64, period: Duration) -> Option<Self> {
        let shards = (0..SHARDS)
            .map(|_| Shard(Mutex::new(TatMap::default())))
            .collect();
        Some(ShardedKeyedGcra {
            gcra: CompactGcra::new(capacity, rate, period)?,
            shards,
        })
    }
    super::compact::compact_config!();
    /// Check and commit for `key` under its shard's lock.
    #[inline]
    pub fn acquire(&self, now: Time, key: &K, cost: u64) -> Result<Decision, LimitError> {
        let key = Hashed::new(key);
        self.shard(key).acquire(&self.gcra, now, key, cost)
    }
    /// Would `cost` be admitted for `key` at `now`? Changes nothing.
    pub fn check(&self, now: Time, key: &K, cost: u64) -> Result<Decision, LimitError> {
        let key = Hashed::new(key);
        self.gcra.check(self.shard(key).tat(key), now, cost)
    }
    /// Give back `cost` of `charge` for `key` ([`Gcra`](super::Gcra)'s rule).
    pub fn refund(&self, now: Time, charge: Charge, key: &K, cost: u64) {
        let key = Hashed::new(key);
        self.shard(key).refund(&self.gcra, now, charge, key, cost);
    }
    /// Drop every key whose bucket is full at `now`, one shard at a time; returns how many.
    pub fn sweep(&self, now: Time) -> usize {
        (self.shards.iter())
            .map(|shard| lock(&shard.0).sweep(&self.gcra, now))
            .sum()
    }
    /// Keys currently resident (a snapshot; other threads may be inserting).
    pub fn len(&self) -> usize {
        self.shards.iter().map(|shard| lock(&shard.0).len()).sum()
    }
    /// Whether no key is resident.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The key's shard, locked. The key's hash is computed once, by the caller: its high bits
    /// pick the shard, the table inside uses the low bits for its slots.
    fn shard(&self, key: Hashed<'_, K>) -> MutexGuard<'_, TatMap<K>> {
        lock(&self.shards[(key.hash() >> 58) as usize % SHARDS].0)
    }
}

/// A panic elsewhere cannot leave a TAT half-written (it is one store), so a poisoned shard
/// is still consistent: keep serving it.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::KeyedGcra;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn agrees_with_keyed_gcra_on_one_thread() {
        let sharded = ShardedKeyedGcra::new(4, 7, Duration::from_secs(60)).unwrap();
        let mut plain = KeyedGcra::new(4, 7, Duration::from_secs(60)).unwrap();
        for i in 0..20_000u64 {
            let now = Time::from_nanos(i * 1_000_003);
            let (key, cost) = (i.wrapping_mul(40_503) % 500, i % 3);
            assert_eq!(
                sharded.acquire(now, &key, cost),
                plain.acquire(now, &key, cost)
            );
        }
        assert_eq!(sharded.len(), plain.len());
    }

    /// Threads racing on the same few keys at one instant: each key admits exactly its capacity.
    #[test]
    fn threads_never_admit_more_than_each_key_holds() {
        let limiter = ShardedKeyedGcra::new(100, 1, Duration::from_secs(60)).unwrap();
        let admitted = AtomicUsize::new(0);
        let now = Time::from_secs(1);
        std::thread::scope(|s| {
            for thread in 0..4u64 {
                let (limiter, admitted) = (&limiter, &admitted);
                s.spawn(move || {
                    for i in 0..3_000u64 {
                        if limiter
                            .acquire(now, &((i + thread) % 10), 1)
                            .unwrap()
                            .is_allowed()
                        {
                            admitted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert_eq!(admitted.load(Ordering::Relaxed), 10 * 100);
        assert_eq!(limiter.len(), 10);
    }
}
