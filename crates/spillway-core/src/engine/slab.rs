//! Live requests in a slab with generations: memory follows requests in the system, not
//! requests ever seen, and a stale [`RequestId`] (a late cancel, a timer of a request that
//! already left) never reaches the request that reused its slot.

/// A request inside the engine. Stable for its whole life; never reused while it lives, and
/// never valid again once it left (the slot's generation moved on).
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId {
    slot: u32,
    generation: u32,
}

#[derive(Debug)]
struct Entry<T> {
    generation: u32,
    value: Option<T>,
}

/// Generational slab.
#[derive(Debug)]
pub(crate) struct Slab<T> {
    entries: Vec<Entry<T>>,
    free: Vec<u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            entries: Vec::new(),
            free: Vec::new(),
        }
    }
}

/// Bytes of one slot holding a `T` (the value and its generation): memory per live value.
#[cfg(test)]
pub(crate) const fn slot_bytes<T>() -> usize {
    std::mem::size_of::<Entry<T>>()
}

impl<T> Slab<T> {
    /// Store `value`; `None` when `u32::MAX` slots are live.
    pub(crate) fn insert(&mut self, value: T) -> Option<RequestId> {
        if let Some(slot) = self.free.pop() {
            let entry = &mut self.entries[slot as usize];
            entry.value = Some(value);
            return Some(RequestId {
                slot,
                generation: entry.generation,
            });
        }
        let slot = u32::try_from(self.entries.len()).ok()?;
        self.entries.push(Entry {
            generation: 0,
            value: Some(value),
        });
        Some(RequestId {
            slot,
            generation: 0,
        })
    }

    fn entry(&self, id: RequestId) -> Option<&Entry<T>> {
        self.entries
            .get(id.slot as usize)
            .filter(|e| e.generation == id.generation)
    }

    /// The live value of `id`.
    pub(crate) fn get(&self, id: RequestId) -> Option<&T> {
        self.entry(id).and_then(|e| e.value.as_ref())
    }

    /// The live value of `id`, mutably.
    pub(crate) fn get_mut(&mut self, id: RequestId) -> Option<&mut T> {
        self.entries
            .get_mut(id.slot as usize)
            .filter(|e| e.generation == id.generation)
            .and_then(|e| e.value.as_mut())
    }

    /// Remove `id`'s value; its id is dead from now on.
    pub(crate) fn remove(&mut self, id: RequestId) -> Option<T> {
        let entry = self
            .entries
            .get_mut(id.slot as usize)
            .filter(|e| e.generation == id.generation)?;
        let value = entry.value.take()?;
        entry.generation = entry.generation.wrapping_add(1);
        self.free.push(id.slot);
        Some(value)
    }

    /// Live values.
    pub(crate) fn len(&self) -> usize {
        self.entries.len() - self.free.len()
    }

    /// Ids of every live value, in slot order.
    pub(crate) fn ids(&self) -> Vec<RequestId> {
        (0u32..)
            .zip(&self.entries)
            .filter(|(_, e)| e.value.is_some())
            .map(|(slot, e)| RequestId {
                slot,
                generation: e.generation,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stale_id_misses_the_reused_slot() {
        let mut slab = Slab::default();
        let a = slab.insert("a").unwrap();
        assert_eq!(slab.remove(a), Some("a"));
        let b = slab.insert("b").unwrap();
        assert_eq!(slab.get(a), None);
        assert_eq!(slab.remove(a), None);
        assert_eq!(slab.get(b), Some(&"b"));
        assert_eq!(slab.len(), 1);
        assert_eq!(slab.ids(), vec![b]);
    }
}
