//! One class's requests, stored inline in arrival order.
//!
//! Why inline: at 100 k queued, a pop serves a request pushed ~100 k operations earlier. Held in
//! arrival order, its bytes are read where the deque's front already is (prefetched), instead of
//! at a scattered slab index plus a generation array (two cache misses per pop, the cost that
//! kept the scheduler 6–10× behind four plain `VecDeque`s). A request removed from the middle
//! (cancel, shed, tenant fair share serving out of arrival order) leaves a tombstone (`payload:
//! None`); both ends are kept live by trimming, and the class queue compacts tombstones once
//! they outnumber live requests, so memory stays proportional to what is queued.
//!
//! Requests are named two ways: by their per-class sequence number `seq` (tickets: stable
//! forever, found by position guess then binary search, since seqs ascend along the deque), and
//! by a [`Ref`] (tenant sub-queues: a virtual index, O(1), checked against the seq so a stale ref
//! never names a later request that reuses the index).

use crate::time::Time;
use std::collections::VecDeque;

/// A queued request (or its tombstone) as stored in its class.
#[derive(Debug)]
pub(crate) struct Slot<T> {
    /// Per-class sequence number: ascending along the deque, never reused.
    pub seq: u64,
    pub arrival: Time,
    pub cost: u64,
    pub tenant: u64,
    /// `None` once the request has left (a tombstone awaiting trimming or compaction).
    pub payload: Option<T>,
}

/// A request taken out of its class.
pub(crate) struct Taken<T> {
    pub payload: T,
    pub seq: u64,
    pub arrival: Time,
    pub tenant: u64,
    pub cost: u64,
}

impl<T> Taken<T> {
    #[inline]
    fn from(slot: &mut Slot<T>) -> Option<Self> {
        Some(Taken {
            payload: slot.payload.take()?,
            seq: slot.seq,
            arrival: slot.arrival,
            tenant: slot.tenant,
            cost: slot.cost,
        })
    }
}

/// Where a tenant sub-queue finds a request: virtual index in the class deque (its position
/// plus the slots ever popped off the front) and the seq expected there; plus its cost, so DRR
/// settles on a tenant without reading the request itself.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Ref {
    pub index: u64,
    pub seq: u64,
    pub cost: u64,
}

/// The class's slots in arrival order; front and back are live (or it is empty).
#[derive(Debug)]
pub(crate) struct Arrivals<T> {
    slots: VecDeque<Slot<T>>,
    /// Virtual index of `slots[0]`.
    head: u64,
}

impl<T> Arrivals<T> {
    pub fn new() -> Self {
        Arrivals {
            slots: VecDeque::new(),
            head: 0,
        }
    }

    /// Slots held, live or tombstones.
    #[inline]
    pub fn held(&self) -> usize {
        self.slots.len()
    }

    /// Appends a live slot; returns its ref.
    #[inline]
    pub fn push(&mut self, slot: Slot<T>) -> Ref {
        let r = Ref {
            index: self.head.wrapping_add(self.slots.len() as u64),
            seq: slot.seq,
            cost: slot.cost,
        };
        self.slots.push_back(slot);
        r
    }

    pub fn front(&self) -> Option<&Slot<T>> {
        self.slots.front()
    }

    #[cfg(test)]
    pub fn at(&self, position: usize) -> Option<&Slot<T>> {
        self.slots.get(position)
    }

    /// The deque position of virtual index `index` (`None` only where `usize` is narrower than
    /// the distance; a position past the back is the caller's to reject).
    #[inline]
    fn offset(&self, index: u64) -> Option<usize> {
        usize::try_from(index.wrapping_sub(self.head)).ok()
    }

    /// The position of the request `r` names, which the caller knows is still queued.
    pub fn position_of_live(&self, r: Ref) -> usize {
        self.offset(r.index).unwrap_or(usize::MAX)
    }

    /// Starts loading the slot at virtual index `index` (a [`Ref`]'s), if it is held.
    #[inline]
    pub fn prefetch(&self, index: u64) {
        if let Some(slot) = self.offset(index).and_then(|p| self.slots.get(p)) {
            super::prefetch::prefetch(slot);
        }
    }

    /// The position of the live request `r` names, if it is still queued.
    pub fn position(&self, r: Ref) -> Option<usize> {
        let position = self.offset(r.index)?;
        let slot = self.slots.get(position)?;
        (slot.seq == r.seq && slot.payload.is_some()).then_some(position)
    }

    /// The position of the live request with sequence number `seq`. Without compaction or
    /// back-trimming since its push, its position is `seq − front.seq`; otherwise it is earlier,
    /// found by binary search (seqs ascend).
    pub fn find(&self, seq: u64) -> Option<usize> {
        let guess = usize::try_from(seq.checked_sub(self.slots.front()?.seq)?).ok()?;
        let position = match self.slots.get(guess) {
            Some(slot) if slot.seq == seq => guess,
            _ => self.slots.binary_search_by_key(&seq, |s| s.seq).ok()?,
        };
        self.slots[position].payload.is_some().then_some(position)
    }

    /// Takes the request at `position` out. At an end the slot goes, with any tombstones it
    /// uncovers (so both ends stay live); in the middle it leaves a tombstone.
    #[inline(always)]
    pub fn take(&mut self, position: usize) -> Option<Taken<T>> {
        if position == 0 {
            // The front is live (trimmed after every removal): no check needed.
            let mut slot = self.slots.pop_front()?;
            self.head = self.head.wrapping_add(1);
            self.trim_front();
            return Taken::from(&mut slot);
        }
        // Only a live request is taken.
        self.slots.get(position)?.payload.as_ref()?;
        if position + 1 == self.slots.len() {
            let mut slot = self.slots.pop_back()?;
            self.trim_back();
            Taken::from(&mut slot)
        } else {
            // Left in place as a tombstone: its payload taken, the slot is no longer live.
            Taken::from(self.slots.get_mut(position)?)
        }
    }

    #[inline]
    fn trim_front(&mut self) {
        while self.slots.front().is_some_and(|s| s.payload.is_none()) {
            self.slots.pop_front();
            self.head = self.head.wrapping_add(1);
        }
    }

    fn trim_back(&mut self) {
        while self.slots.back().is_some_and(|s| s.payload.is_none()) {
            self.slots.pop_back();
        }
    }

    /// Drops every tombstone. Positions change: refs must be rebuilt from [`Arrivals::refs`].
    pub fn compact(&mut self) {
        self.slots.retain(|s| s.payload.is_some());
    }

    /// The front slot's tenant and ref: [`Arrivals::refs`]'s first, without building the
    /// iterator (which splits the deque into its two slices first).
    #[inline]
    pub fn front_ref(&self) -> Option<(u64, Ref)> {
        let front = self.slots.front()?;
        let r = Ref {
            index: self.head,
            seq: front.seq,
            cost: front.cost,
        };
        Some((front.tenant, r))
    }

    /// Every slot's tenant and ref, in arrival order.
    pub fn refs(&self) -> impl Iterator<Item = (u64, Ref)> + '_ {
        self.slots.iter().enumerate().map(|(i, s)| {
            let r = Ref {
                index: self.head.wrapping_add(i as u64),
                seq: s.seq,
                cost: s.cost,
            };
            (s.tenant, r)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(seq: u64) -> Slot<u64> {
        Slot {
            seq,
            arrival: Time::ZERO,
            tenant: 0,
            cost: 1,
            payload: Some(seq),
        }
    }

    #[test]
    fn a_stale_ref_misses_the_request_that_reuses_its_index() {
        let mut a = Arrivals::new();
        let _first = a.push(slot(0));
        let second = a.push(slot(1));
        assert!(a.take(1).is_some());
        let third = a.push(slot(2));
        assert_eq!(second.index, third.index, "the back index is reused");
        assert_eq!(a.position(second), None);
        let found = a.position(third).and_then(|p| a.at(p));
        assert_eq!(found.and_then(|s| s.payload), Some(2));
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
        a.compact();
        let found: Vec<_> = (0..12).filter_map(|seq| a.find(seq)).collect();
        assert_eq!(found, vec![0, 1, 2, 3, 4, 5]);
        assert_eq!(a.find(7).and_then(|p| a.at(p)).map(|s| s.seq), Some(7));
        let first = |(tenant, r): (u64, Ref)| (tenant, r.index, r.seq, r.cost);
        assert_eq!(a.front_ref().map(first), a.refs().next().map(first));
        assert_eq!(a.front_ref().map(first), Some((0, 1, 1, 1)));
        let refs: Vec<u64> = a.refs().map(|(_, r)| r.index).collect();
        assert_eq!(
            refs,
            vec![1, 2, 3, 4, 5, 6],
            "virtual indices continue from the head"
        );
    }
}
