//! Tenant sub-queues as doubly linked lists through one slab per class.
//!
//! Why not a `VecDeque` per tenant: at a shallow queue with many tenants (1 k queued, 1,000
//! tenants) most tenants hold zero or one request, and a buffer per tenant spreads a few hundred
//! requests over hundreds of separate allocations, each a cache miss. In one slab, slots freed by
//! pops are reused by the next pushes (last in, first out), so the entries in use stay few and
//! warm; at 100 k queued a pop still reads its request in one place.
//!
//! The links live apart from the requests (8 bytes per entry, cache-resident at 100 k queued
//! where the requests are not), so appending to a tenant writes its tail's link without touching
//! the tail request's line, and each request sits on one cache line of its own: a pop misses
//! once.

use super::tenants::Queued;

/// No entry.
const NIL: u32 = u32::MAX;

/// One tenant's list: its oldest and newest entries and their count.
#[derive(Copy, Clone, Debug)]
pub(crate) struct List {
    head: u32,
    tail: u32,
    len: usize,
}

impl List {
    pub const EMPTY: List = List {
        head: NIL,
        tail: NIL,
        len: 0,
    };

    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A request on a cache line of its own (two lines for a payload over ~24 bytes).
#[derive(Debug)]
#[repr(align(64))]
struct Entry<T> {
    queued: Queued<T>,
}

/// An entry's neighbours in its list.
#[derive(Copy, Clone, Debug)]
struct Link {
    prev: u32,
    next: u32,
}

/// The entries of all of a class's sub-queues.
#[derive(Debug)]
pub(crate) struct SubQueues<T> {
    entries: Vec<Entry<T>>,
    /// `links[i]` links `entries[i]`.
    links: Vec<Link>,
    /// Entries not in any list, reused last freed first.
    free: Vec<u32>,
}

impl<T> SubQueues<T> {
    pub fn new() -> Self {
        SubQueues {
            entries: Vec::new(),
            links: Vec::new(),
            free: Vec::new(),
        }
    }

    /// Appends `queued` to `list`; returns its entry index (stable until it leaves).
    #[inline]
    pub fn push_back(&mut self, list: &mut List, queued: Queued<T>) -> u32 {
        let entry = Entry { queued };
        let link = Link {
            prev: list.tail,
            next: NIL,
        };
        let index = match self.free.pop() {
            Some(index) => {
                self.entries[index as usize] = entry;
                self.links[index as usize] = link;
                index
            }
            None => {
                self.entries.push(entry);
                self.links.push(link);
                // At most one entry per request or tombstone, below MAX_CAPACITY's scale.
                u32::try_from(self.entries.len() - 1).unwrap_or(NIL)
            }
        };
        match list.tail {
            NIL => list.head = index,
            tail => self.links[tail as usize].next = index,
        }
        list.tail = index;
        list.len += 1;
        index
    }

    #[inline]
    pub fn front(&self, list: &List) -> Option<&Queued<T>> {
        self.entries.get(list.head as usize).map(|e| &e.queued)
    }

    #[inline]
    pub fn back(&self, list: &List) -> Option<&Queued<T>> {
        self.entries.get(list.tail as usize).map(|e| &e.queued)
    }

    /// The entry at `index`.
    pub fn get_mut(&mut self, index: u32) -> Option<&mut Queued<T>> {
        self.entries.get_mut(index as usize).map(|e| &mut e.queued)
    }

    /// Unlinks and returns `list`'s oldest entry.
    #[inline]
    pub fn pop_front(&mut self, list: &mut List) -> Option<Queued<T>> {
        let index = list.head;
        self.unlink(list, index)
    }

    /// Unlinks and returns `list`'s newest entry.
    pub fn pop_back(&mut self, list: &mut List) -> Option<Queued<T>> {
        let index = list.tail;
        self.unlink(list, index)
    }

    /// Unlinks every entry of `list` that `keep` refuses.
    pub fn retain(&mut self, list: &mut List, mut keep: impl FnMut(&Queued<T>) -> bool) {
        let mut index = list.head;
        while index != NIL {
            let next = self.links[index as usize].next;
            if !keep(&self.entries[index as usize].queued) {
                self.unlink(list, index);
            }
            index = next;
        }
    }

    /// Unlinks every entry of `list`.
    pub fn clear(&mut self, list: &mut List) {
        while self.pop_front(list).is_some() {}
    }

    #[inline]
    fn unlink(&mut self, list: &mut List, index: u32) -> Option<Queued<T>> {
        let entry = self.entries.get_mut(index as usize)?;
        let Link { prev, next } = self.links[index as usize];
        // The payload moves out; the slot keeps a tombstone until reused.
        let queued = Queued {
            at: entry.queued.at,
            arrival: entry.queued.arrival,
            payload: entry.queued.payload.take(),
        };
        match prev {
            NIL => list.head = next,
            prev => self.links[prev as usize].next = next,
        }
        match next {
            NIL => list.tail = prev,
            next => self.links[next as usize].prev = prev,
        }
        list.len -= 1;
        self.free.push(index);
        Some(queued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::arrivals::Ref;
    use crate::time::Time;

    fn queued(seq: u64) -> Queued<u64> {
        let at = Ref {
            index: seq,
            seq,
            cost: 1,
        };
        Queued {
            at,
            arrival: Time::ZERO,
            payload: Some(seq),
        }
    }

    fn payloads(q: &mut SubQueues<u64>, list: &mut List) -> Vec<u64> {
        std::iter::from_fn(|| q.pop_front(list).and_then(|e| e.payload)).collect()
    }

    #[test]
    fn lists_interleaved_in_one_slab_keep_their_own_order() {
        let mut q = SubQueues::new();
        let (mut a, mut b) = (List::EMPTY, List::EMPTY);
        for seq in 0..6 {
            let list = if seq % 2 == 0 { &mut a } else { &mut b };
            q.push_back(list, queued(seq));
        }
        q.retain(&mut a, |e| e.payload != Some(2));
        assert_eq!(q.pop_back(&mut b).and_then(|e| e.payload), Some(5));
        assert_eq!((a.len(), b.len()), (2, 2));
        assert_eq!(q.back(&a).and_then(|e| e.payload), Some(4));
        q.push_back(&mut b, queued(7));
        assert_eq!(q.entries.len(), 6, "freed entries are reused");
        assert_eq!(payloads(&mut q, &mut a), vec![0, 4]);
        assert_eq!(payloads(&mut q, &mut b), vec![1, 3, 7]);
        assert!(a.is_empty() && b.is_empty());
    }
}
