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

#[derive(Debug)]
struct Slot<T> {
    generation: u32,
    entry: Option<Entry<T>>,
}

/// The slab: occupied and free slots, with a LIFO free list (hot slots stay in cache).
#[derive(Debug)]
pub(crate) struct Slab<T> {
    slots: Vec<Slot<T>>,
    free: Vec<u32>,
}

impl<T> Slab<T> {
    /// An empty slab with room for `capacity` entries before it reallocates.
    pub fn with_capacity(capacity: usize) -> Self {
        Slab {
            slots: Vec::with_capacity(capacity),
            free: Vec::new(),
        }
    }

    /// Stores `entry`, or hands it back if 2³² slots are in use or retired.
    pub fn insert(&mut self, entry: Entry<T>) -> Result<Handle, Entry<T>> {
        if let Some(index) = self.free.pop() {
            let slot = &mut self.slots[index as usize];
            slot.entry = Some(entry);
            return Ok(Handle {
                index,
                generation: slot.generation,
            });
        }
        let Ok(index) = u32::try_from(self.slots.len()) else {
            return Err(entry);
        };
        self.slots.push(Slot {
            generation: 0,
            entry: Some(entry),
        });
        Ok(Handle {
            index,
            generation: 0,
        })
    }

    /// The entry `handle` names, if it is still queued.
    pub fn get(&self, handle: Handle) -> Option<&Entry<T>> {
        let slot = self.slots.get(handle.index as usize)?;
        if slot.generation == handle.generation {
            slot.entry.as_ref()
        } else {
            None
        }
    }

    /// Whether `handle` still names a queued entry.
    pub fn is_live(&self, handle: Handle) -> bool {
        self.get(handle).is_some()
    }

    /// Takes the entry out; later lookups with this handle miss.
    pub fn remove(&mut self, handle: Handle) -> Option<Entry<T>> {
        let slot = self.slots.get_mut(handle.index as usize)?;
        if slot.generation != handle.generation {
            return None;
        }
        let entry = slot.entry.take()?;
        if let Some(next) = slot.generation.checked_add(1) {
            slot.generation = next;
            self.free.push(handle.index);
        }
        Some(entry)
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
        assert_eq!(slab.get(second).map(|e| e.payload), Some(2));
    }
}
