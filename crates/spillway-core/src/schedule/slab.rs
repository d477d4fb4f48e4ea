//! Storage of queued requests, addressed by generation-checked handles.
//!
//! Why a slab: queues hold 8-byte [`Handle`]s instead of moving payloads around, and removing a
//! request from the middle (cancel, shed, expiry) is O(1): the slot is emptied and the queues'
//! stale handles are skipped later (lazy deletion). The generation makes a stale handle miss
//! instead of hitting whatever request reuses the slot. A slot whose generation would wrap is
//! retired, never reused, so a stale handle can never alias a new request.

use super::types::Item;
use crate::time::Time;

/// A queued request and what the scheduler needs to know about it.
#[derive(Debug)]
pub(crate) struct Entry<T> {
    /// The caller's payload.
    pub payload: T,
    /// When it was pushed.
    pub arrival: Time,
    /// The tenant it belongs to (fair share key).
    pub tenant: u64,
    /// Its cost (tokens), the unit of the DRR disciplines.
    pub cost: u64,
    /// Its class index.
    pub class: usize,
}

impl<T> Entry<T> {
    /// The item this entry was made from.
    pub fn into_item(self) -> Item<T> {
        Item {
            class: self.class,
            tenant: self.tenant,
            cost: self.cost,
            payload: self.payload,
        }
    }
}

/// Index and generation of a slot: valid while the slot holds the same occupancy.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Handle {
    index: u32,
    generation: u32,
}

/// The generation a retired slot is parked at: even, so no handle (always odd) matches it.
const RETIRED: u32 = u32::MAX - 1;

/// The slab. Generations live in their own dense array (odd = occupied), so liveness checks of
/// queued handles touch 4 bytes per request instead of the whole entry; a LIFO free list keeps
/// hot slots in cache.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    generations: Vec<u32>,
    entries: Vec<Option<Entry<T>>>,
    free: Vec<u32>,
}

impl<T> Slab<T> {
    /// An empty slab with room for `capacity` entries before it reallocates.
    pub fn with_capacity(capacity: usize) -> Self {
        Slab {
            generations: Vec::with_capacity(capacity),
            entries: Vec::with_capacity(capacity),
            free: Vec::new(),
        }
    }

    /// Stores `entry`, or hands it back if 2³² slots are in use or retired.
    pub fn insert(&mut self, entry: Entry<T>) -> Result<Handle, Entry<T>> {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                let Ok(index) = u32::try_from(self.entries.len()) else {
                    return Err(entry);
                };
                self.generations.push(0);
                self.entries.push(None);
                index
            }
        };
        let generation = &mut self.generations[index as usize];
        *generation += 1;
        self.entries[index as usize] = Some(entry);
        Ok(Handle {
            index,
            generation: *generation,
        })
    }

    /// Whether `handle` still names a queued entry.
    pub fn is_live(&self, handle: Handle) -> bool {
        self.generations.get(handle.index as usize) == Some(&handle.generation)
    }

    /// Takes the entry out; later lookups with this handle miss.
    pub fn remove(&mut self, handle: Handle) -> Option<Entry<T>> {
        if !self.is_live(handle) {
            return None;
        }
        let index = handle.index as usize;
        let generation = &mut self.generations[index];
        // Occupied generations are odd and at most u32::MAX; the slot retires before wrapping.
        if *generation >= RETIRED - 1 {
            *generation = RETIRED;
        } else {
            *generation += 1;
            self.free.push(handle.index);
        }
        self.entries[index].take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(cost: u64) -> Entry<u64> {
        Entry {
            payload: cost,
            arrival: Time::ZERO,
            tenant: 0,
            cost,
            class: 0,
        }
    }

    #[test]
    fn a_stale_handle_misses_the_reused_slot() {
        let mut slab = Slab::with_capacity(1);
        let first = slab.insert(entry(1)).expect("room");
        assert_eq!(slab.remove(first).map(|e| e.payload), Some(1));
        let second = slab.insert(entry(2)).expect("room");
        assert!(!slab.is_live(first));
        assert!(slab.remove(first).is_none());
        assert_eq!(slab.remove(second).map(|e| e.payload), Some(2));
    }

    #[test]
    fn a_slot_retires_instead_of_wrapping_its_generation() {
        let mut slab = Slab::with_capacity(2);
        let first = slab.insert(entry(1)).expect("room");
        assert!(slab.remove(first).is_some());
        slab.generations[0] = RETIRED - 2;
        let last_use = slab.insert(entry(2)).expect("room");
        assert_eq!(last_use.index, 0);
        assert!(slab.remove(last_use).is_some());
        assert!(slab.free.is_empty(), "slot 0 is retired");
        assert!(!slab.is_live(last_use) && !slab.is_live(first));
        assert_eq!(slab.insert(entry(3)).expect("room").index, 1);
    }
}
