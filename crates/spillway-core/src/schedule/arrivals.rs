//! A FIFO class's requests, stored inline in arrival order.
//!
//! Why inline: at 100 k queued, a pop serves a request pushed ~100 k operations earlier. Held in
//! arrival order, its bytes are read where the deque's front already is (prefetched), instead of
//! at a scattered slab index plus a generation array (two cache misses per pop, the cost that
//! kept the scheduler 6–10× behind four plain `VecDeque`s). A request removed from the middle
//! (cancel) leaves a tombstone (its seq marked, see [`super::tombstone`]); both ends are kept
//! live by trimming, and the class compacts tombstones once they outnumber live requests, so
//! memory stays proportional to what is queued.
//!
//! Requests are named by their per-class sequence number `seq` (tickets: stable forever, found
//! by position guess then binary search, since seqs ascend along the deque).

use super::class_queue::Taken;
use super::tombstone::Seq;
use crate::time::Time;
use std::collections::VecDeque;

/// A queued request (or its tombstone) as stored in its class.
#[derive(Debug)]
pub(crate) struct Slot<T> {
    /// Per-class sequence number: ascending along the deque, never reused; marked once the
    /// request has left (a tombstone awaiting trimming or compaction).
    seq: Seq,
    pub arrival: Time,
    pub cost: u64,
    tenant: u64,
    /// The request (a stale copy in a tombstone).
    payload: T,
}

// 40 bytes with the engine's 8-byte handles (48 with an `Option<T>` payload).
const _: () = assert!(size_of::<Slot<crate::engine::RequestId>>() == 40);

impl<T: Copy> Slot<T> {
    /// A queued request's slot.
    #[inline]
    pub fn new(seq: u64, arrival: Time, tenant: u64, cost: u64, payload: T) -> Self {
        Slot {
            seq: Seq::live(seq),
            arrival,
            cost,
            tenant,
            payload,
        }
    }

    /// Its seq, a tombstone's included.
    #[inline(always)]
    pub fn seq(&self) -> u64 {
        self.seq.get()
    }

    #[inline(always)]
    fn is_live(&self) -> bool {
        self.seq.is_live()
    }

    /// Its request, taken out (leaving a tombstone), unless it is one already.
    #[inline]
    fn take(&mut self) -> Option<Taken<T>> {
        let live = self.is_live();
        self.seq.bury();
        live.then_some(Taken {
            payload: self.payload,
            seq: self.seq.get(),
            arrival: self.arrival,
            tenant: self.tenant,
            cost: self.cost,
        })
    }
}

/// The class's slots in arrival order; front and back are live (or it is empty).
#[derive(Debug)]
pub(crate) struct Arrivals<T> {
    slots: VecDeque<Slot<T>>,
}

impl<T> Arrivals<T> {
    pub fn new() -> Self {
        Arrivals {
            slots: VecDeque::new(),
        }
    }
}

impl<T: Copy> Arrivals<T> {
    /// Slots held, live or tombstones.
    #[inline]
    pub fn held(&self) -> usize {
        self.slots.len()
    }

    /// Appends a live slot.
    #[inline]
    pub fn push(&mut self, slot: Slot<T>) {
        self.slots.push_back(slot);
    }

    pub fn front(&self) -> Option<&Slot<T>> {
        self.slots.front()
    }

    #[cfg(test)]
    pub fn at(&self, position: usize) -> Option<&Slot<T>> {
        self.slots.get(position)
    }

    /// The position of the live request with sequence number `seq`. Without compaction or
    /// back-trimming since its push, its position is `seq − front.seq`; otherwise it is earlier,
    /// found by binary search (seqs ascend).
    pub fn find(&self, seq: u64) -> Option<usize> {
        let guess = usize::try_from(seq.checked_sub(self.slots.front()?.seq())?).ok()?;
        let position = match self.slots.get(guess) {
            Some(slot) if slot.seq() == seq => guess,
            _ => self.slots.binary_search_by_key(&seq, Slot::seq).ok()?,
        };
        self.slots[position].is_live().then_some(position)
    }

    /// Takes the request at `position` out. At an end the slot goes, with any tombstones it
    /// uncovers (so both ends stay live); in the middle it leaves a tombstone.
    #[inline(always)]
    pub fn take(&mut self, position: usize) -> Option<Taken<T>> {
        if position == 0 {
            // The front is live (trimmed after every removal): no check needed.
            let mut slot = self.slots.pop_front()?;
            self.trim_front();
            return slot.take();
        }
        // Only a live request is taken.
        if !self.slots.get(position)?.is_live() {
            return None;
        }
        if position + 1 == self.slots.len() {
            let mut slot = self.slots.pop_back()?;
            self.trim_back();
            slot.take()
        } else {
            // Left in place as a tombstone: its seq marked, the slot is no longer live.
            self.slots.get_mut(position)?.take()
        }
    }

    #[inline]
    fn trim_front(&mut self) {
        while self.slots.front().is_some_and(|s| !s.is_live()) {
            self.slots.pop_front();
        }
    }

    fn trim_back(&mut self) {
        while self.slots.back().is_some_and(|s| !s.is_live()) {
            self.slots.pop_back();
        }
    }

    /// Drops every tombstone.
    pub fn compact(&mut self) {
        self.slots.retain(Slot::is_live);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(seq: u64) -> Slot<u64> {
        Slot::new(seq, Time::ZERO, 0, 1, seq)
    }

    #[test]
    fn seqs_are_found_after_compaction_and_trimming() {
        let mut a = Arrivals::new();
        for seq in 0..10 {
            a.push(slot(seq));
        }
        for position in [3, 4, 9, 0] {
            assert!(a.take(position).is_some());
        }
        assert_eq!(a.held(), 8, "seqs 1 to 8 remain, 3 and 4 as tombstones");
        assert_eq!(a.find(3), None, "a tombstone is not found");
        a.compact();
        let found: Vec<_> = (0..12).filter_map(|seq| a.find(seq)).collect();
        assert_eq!(found, vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(a.find(7).and_then(|p| a.at(p)).map(Slot::seq), Some(7));
    }
}
