//! One class's queue: plain FIFO, or (with tenant fair share) DRR over per-tenant sub-queues.
//!
//! The scheduler names requests by what it wants — the next to serve, the oldest, the newest,
//! a ticket's seq — never by where they are stored, so the two layouts ([`FifoClass`],
//! [`FairClass`]) keep their own representations.

use super::fair::FairClass;
use super::fifo::FifoClass;
use crate::time::Time;

/// A request taken out of its class.
pub(crate) struct Taken<T> {
    pub payload: T,
    pub seq: u64,
    pub arrival: Time,
    pub tenant: u64,
    pub cost: u64,
}

/// Tombstones (and dead tokens) a class tolerates beyond twice its live requests before
/// compacting: removals cost O(1) amortised, memory stays proportional to what is queued.
pub(super) const COMPACTION_SLACK: usize = 64;

/// The requests of one class in their layout.
///
/// Not boxed, though the fair variant is the larger by ~300 bytes (336 against 40 with a `u64`
/// payload; more with a larger one, held inline while solo): a scheduler has at most 64 classes
/// (≤ 22 KB in all), and every push and pop of a fair class reads it, where a box would add a
/// dependent load.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)]
enum Store<T> {
    Fifo(FifoClass<T>),
    Fair(FairClass<T>),
}

/// The queue of one class.
#[derive(Debug)]
pub(crate) struct ClassQueue<T> {
    store: Store<T>,
    /// The seq the next push gets.
    next_seq: u64,
    /// [`ClassQueue::next_cost`]'s answer while nothing was taken since (a push keeps it unless
    /// it was `None`: the front was settled, and a push only adds behind it): the weighted
    /// round asks a class once or twice per pop (in its round, then in the idle-round jump if
    /// nobody could pay) and pop after pop while the class cannot pay, and settling a tenant
    /// ring is the bulk of a weighted + tenants pop otherwise.
    next_cost: Option<Option<u64>>,
}

impl<T: Copy> ClassQueue<T> {
    /// An empty queue, with or without per-tenant fair share.
    pub fn new(fair_share: bool) -> Self {
        let store = if fair_share {
            Store::Fair(FairClass::default())
        } else {
            Store::Fifo(FifoClass::default())
        };
        ClassQueue {
            store,
            next_seq: 0,
            next_cost: None,
        }
    }

    /// Requests queued.
    #[inline]
    pub fn len(&self) -> usize {
        match &self.store {
            Store::Fifo(fifo) => fifo.len(),
            Store::Fair(fair) => fair.len(),
        }
    }

    /// Whether the next push would get a seq at or above `limit` (so must be refused).
    pub fn seq_exhausted(&self, limit: u64) -> bool {
        self.next_seq >= limit
    }

    /// Appends a request; returns its seq.
    #[inline]
    pub fn push(&mut self, arrival: Time, tenant: u64, cost: u64, payload: T) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.next_cost == Some(None) {
            self.next_cost = None;
        }
        match &mut self.store {
            Store::Fifo(fifo) => fifo.push(seq, arrival, tenant, cost, payload),
            Store::Fair(fair) => fair.push(seq, arrival, tenant, cost, payload),
        }
        seq
    }

    /// The longest-waiting request's arrival.
    #[inline]
    pub fn oldest_arrival(&self) -> Option<Time> {
        match &self.store {
            Store::Fifo(fifo) => fifo.oldest_arrival(),
            Store::Fair(fair) => fair.oldest_arrival(),
        }
    }

    /// The cost of the request [`ClassQueue::serve`] would take.
    #[inline]
    pub fn next_cost(&mut self) -> Option<u64> {
        if let Some(known) = self.next_cost {
            return known;
        }
        let cost = match &mut self.store {
            Store::Fifo(fifo) => fifo.next_cost(),
            Store::Fair(fair) => fair.next_cost(),
        };
        self.next_cost = Some(cost);
        cost
    }

    /// Serves the next request: the oldest (FIFO) or the tenant DRR's choice, charged to it.
    #[inline(always)]
    pub fn serve(&mut self) -> Option<Taken<T>> {
        self.next_cost = None;
        match &mut self.store {
            Store::Fifo(fifo) => fifo.take_oldest(),
            Store::Fair(fair) => fair.serve(),
        }
    }

    /// Takes the longest-waiting request out (not served: shed or expired).
    pub fn take_oldest(&mut self) -> Option<Taken<T>> {
        self.next_cost = None;
        match &mut self.store {
            Store::Fifo(fifo) => fifo.take_oldest(),
            Store::Fair(fair) => fair.take_oldest(),
        }
    }

    /// Takes the most recent request out (shed).
    pub fn take_newest(&mut self) -> Option<Taken<T>> {
        self.next_cost = None;
        match &mut self.store {
            Store::Fifo(fifo) => fifo.take_newest(),
            Store::Fair(fair) => fair.take_newest(),
        }
    }

    /// Takes request `seq` out (cancelled), if still queued.
    pub fn cancel(&mut self, seq: u64) -> Option<Taken<T>> {
        let taken = match &mut self.store {
            Store::Fifo(fifo) => fifo.cancel(seq),
            Store::Fair(fair) => fair.cancel(seq),
        }?;
        self.next_cost = None;
        Some(taken)
    }

    /// Whether request `seq` is still queued.
    pub fn contains(&self, seq: u64) -> bool {
        match &self.store {
            Store::Fifo(fifo) => fifo.contains(seq),
            Store::Fair(fair) => fair.contains(seq),
        }
    }

    /// Entries held, live or awaiting compaction (the tests' memory bound).
    #[cfg(test)]
    pub fn held(&self) -> usize {
        match &self.store {
            Store::Fifo(fifo) => fifo.held(),
            Store::Fair(fair) => fair.held(),
        }
    }

    /// The fair-share class, for the tests' model comparisons.
    #[cfg(test)]
    pub fn fair(&self) -> Option<&FairClass<T>> {
        match &self.store {
            Store::Fair(fair) => Some(fair),
            Store::Fifo(_) => None,
        }
    }
}
