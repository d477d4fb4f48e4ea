//! One tenant's sub-queue in a fair-share class: the tenant's requests themselves, FIFO, with
//! its DRR deficit.
//!
//! Why the requests live here and not in an arrival-order deque with refs in the sub-queues
//! (the layout before): DRR serves a tenant about two requests a visit, then moves to the next
//! tenant, so in arrival order each pop read a request at a scattered place in the class (a
//! dependent miss after reading its ref, at 100 k queued) and left a tombstone there. Stored
//! per tenant, a visit reads consecutive entries, and only a thin token per request is kept in
//! arrival order (see [`super::tokens`]).

use crate::schedule::class_queue::Taken;
use crate::schedule::tombstone::Seq;
use crate::time::Time;
use std::collections::VecDeque;

/// Entries a freed sub-queue keeps room for (a tenant's usual backlog at depth is a few dozen).
const RETAINED_CAPACITY: usize = 64;

/// A queued request, or the tombstone of one cancelled from the middle of its tenant's queue
/// (dropped once it reaches an end or at the next compaction). 32 bytes with an 8-byte payload
/// (see [`Seq`] for why that matters to the cold write at the back of a sub-queue).
#[derive(Debug)]
pub(super) struct Entry<T> {
    /// Per-class sequence number: ascending along the sub-queue, never reused.
    seq: Seq,
    pub arrival: Time,
    pub cost: u64,
    /// The request (a stale copy in a tombstone).
    payload: T,
}

// 32 bytes with the engine's 8-byte handles (40 with an `Option<T>` payload).
const _: () = assert!(size_of::<Entry<u64>>() == 32);
const _: () = assert!(size_of::<Entry<crate::engine::RequestId>>() == 32);

/// A request taken out of a sub-queue (or held solo): its payload is there.
#[derive(Debug)]
pub(super) struct Live<T> {
    pub seq: u64,
    pub arrival: Time,
    pub cost: u64,
    pub payload: T,
}

impl<T> Live<T> {
    /// The request as the class hands it back.
    pub fn into_taken(self, tenant: u64) -> Taken<T> {
        Taken {
            payload: self.payload,
            seq: self.seq,
            arrival: self.arrival,
            tenant,
            cost: self.cost,
        }
    }

    /// The entry it is while queued.
    #[inline]
    pub fn into_entry(self) -> Entry<T> {
        Entry {
            seq: Seq::live(self.seq),
            arrival: self.arrival,
            cost: self.cost,
            payload: self.payload,
        }
    }
}

impl<T: Copy> Entry<T> {
    /// The request's seq (a tombstone's too).
    #[inline(always)]
    pub fn seq(&self) -> u64 {
        self.seq.get()
    }

    /// Whether this is a queued request, not a tombstone.
    #[inline(always)]
    pub fn is_live(&self) -> bool {
        self.seq.is_live()
    }

    /// The request, unless this is a tombstone.
    #[inline(always)]
    fn to_live(&self) -> Option<Live<T>> {
        self.is_live().then_some(Live {
            seq: self.seq.get(),
            arrival: self.arrival,
            cost: self.cost,
            payload: self.payload,
        })
    }
}

/// An end of a sub-queue.
#[derive(Copy, Clone)]
enum End {
    Front,
    Back,
}

/// One tenant's sub-queue. Both ends are live (or it is empty): tombstones are trimmed off an
/// end as soon as they reach it.
#[derive(Debug)]
pub(super) struct TenantQueue<T> {
    pub items: VecDeque<Entry<T>>,
    pub tenant: u64,
    pub deficit: u64,
    /// Tombstones in `items`; while 0 (always, without cancels) the ends need no checking.
    pub stale: usize,
    /// Compaction's walk over the tokens: how many of this queue's entries were matched so far
    /// (see [`super::tokens::Tokens::compact`]). Meaningless otherwise.
    pub cursor: usize,
}

impl<T> Default for TenantQueue<T> {
    fn default() -> Self {
        TenantQueue {
            items: VecDeque::new(),
            tenant: 0,
            deficit: 0,
            stale: 0,
            cursor: 0,
        }
    }
}

impl<T: Copy> TenantQueue<T> {
    /// Appends a request.
    #[inline]
    pub fn push(&mut self, entry: Entry<T>) {
        self.items.push_back(entry);
    }

    /// The seq at the front, `u64::MAX` when empty (see [`super::FairClass`]'s `heads`).
    #[inline]
    pub fn head_seq(&self) -> u64 {
        self.items.front().map_or(u64::MAX, Entry::seq)
    }

    /// The front request (live), taken with any tombstones it uncovers. Returns it with the
    /// entries dropped in all.
    #[inline]
    pub fn pop_front(&mut self) -> Option<(Live<T>, usize)> {
        self.pop_end(End::Front)
    }

    /// The request at `end` (live), taken; then that end is trimmed.
    #[inline(always)]
    fn pop_end(&mut self, end: End) -> Option<(Live<T>, usize)> {
        // Checked before anything moves: an end is live, but a broken invariant must not lose
        // a request and skew the counts.
        let live = self.at_end(end)?.to_live()?;
        self.pop(end);
        let mut dropped = 1;
        while self.stale > 0 && self.at_end(end).is_some_and(|e| !e.is_live()) {
            self.pop(end);
            self.stale -= 1;
            dropped += 1;
        }
        Some((live, dropped))
    }

    #[inline(always)]
    fn at_end(&self, end: End) -> Option<&Entry<T>> {
        match end {
            End::Front => self.items.front(),
            End::Back => self.items.back(),
        }
    }

    #[inline(always)]
    fn pop(&mut self, end: End) -> Option<Entry<T>> {
        match end {
            End::Front => self.items.pop_front(),
            End::Back => self.items.pop_back(),
        }
    }

    /// The seq of the live request at the back.
    pub fn back_seq(&self) -> Option<u64> {
        self.items.back().map(Entry::seq)
    }

    /// Where the request with `seq` sits, if it is still queued (not a tombstone).
    pub fn find(&self, seq: u64) -> Option<usize> {
        let at = self.items.binary_search_by_key(&seq, Entry::seq).ok()?;
        self.items[at].is_live().then_some(at)
    }

    /// Takes the request at `at` (found by [`TenantQueue::find`]): at an end it goes with any
    /// tombstones it uncovers, in the middle it leaves a tombstone. Returns what it held and the
    /// entries dropped.
    pub fn take(&mut self, at: usize) -> Option<(Live<T>, usize)> {
        if at == 0 {
            return self.pop_end(End::Front);
        }
        if at + 1 == self.items.len() {
            return self.pop_end(End::Back);
        }
        let entry = self.items.get_mut(at)?;
        let taken = entry.to_live()?;
        entry.seq.bury();
        self.stale += 1;
        Some((taken, 0))
    }

    /// Drops every tombstone (compaction).
    pub fn drop_stale(&mut self) {
        if self.stale > 0 {
            self.items.retain(Entry::is_live);
            self.stale = 0;
        }
    }

    /// Frees the buffer of a queue emptied by removals (its tenant keeps its place in the ring
    /// until a visit or a compaction): a starved class can hold many such tenants.
    pub fn release_buffer(&mut self) {
        if self.items.is_empty() {
            self.items = VecDeque::new();
        }
    }

    /// Empties the queue for reuse by another tenant, keeping a small allocation: a buffer
    /// that once held a deep backlog is freed, so the class's memory follows what is queued
    /// now, not the deepest backlog each slot ever held.
    pub fn reset(&mut self) {
        if self.items.capacity() > RETAINED_CAPACITY {
            self.items = VecDeque::new();
        }
        self.items.clear();
        self.deficit = 0;
        self.stale = 0;
    }
}
