//! One class's queue: its requests in arrival order, plus (with fair share) per-tenant DRR.
//!
//! The [`Arrivals`] deque holds the requests in arrival order and answers "oldest" (aging,
//! expiry, shedding `Oldest`) and "newest" (shedding `Newest`) in O(1): both of its ends are kept
//! live by trimming tombstones after every removal. Without fair share it stores the requests
//! and is the service order (plain FIFO, read at the front). With fair share the requests live in
//! the [`TenantRing`]'s sub-queues (the service order), and the deque keeps only their arrival
//! records (seq, arrival, cost, tenant), so serving a request reads its tenant's sub-queue only
//! and marks the record without reading it.
//!
//! Tombstones and stale refs in the middle are dropped by a compaction once they outnumber live
//! requests (plus a constant slack), so memory stays proportional to the queued requests and each
//! removal costs O(1) amortised. The trigger counts exactly what the slab-based queue before it
//! counted, so compaction (which releases emptied tenants from the DRR ring, a visible decision)
//! runs at the same moments.

use super::arrivals::{Arrivals, Slot, Taken};
use super::tenants::{Queued, TenantRing};
use crate::time::Time;

/// Tombstones and stale refs tolerated beyond twice the live requests before compacting.
const COMPACTION_SLACK: usize = 64;

/// Where a class keeps its requests.
// One per class (a handful per scheduler): boxing the larger variant would only add a pointer
// chase to every push and pop.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Store<T> {
    /// FIFO: the requests in arrival order.
    Fifo(Arrivals<T>),
    /// Tenant fair share: arrival records (each naming where its tenant's sub-queue holds the
    /// request), and the requests in their tenants' sub-queues.
    Fair {
        order: Arrivals<u32>,
        ring: TenantRing<T>,
    },
}

/// The queue of one class.
#[derive(Debug)]
pub(crate) struct ClassQueue<T> {
    store: Store<T>,
    /// Requests queued.
    live: usize,
    /// The seq the next push gets.
    next_seq: u64,
}

impl<T> ClassQueue<T> {
    /// An empty queue, with or without per-tenant fair share.
    pub fn new(fair_share: bool) -> Self {
        let store = if fair_share {
            Store::Fair {
                order: Arrivals::new(),
                ring: TenantRing::new(),
            }
        } else {
            Store::Fifo(Arrivals::new())
        };
        ClassQueue {
            store,
            live: 0,
            next_seq: 0,
        }
    }

    /// Requests queued.
    #[inline]
    pub fn len(&self) -> usize {
        self.live
    }

    /// The seq the next push will get, if below `limit`.
    pub fn next_seq(&self, limit: u64) -> Option<u64> {
        (self.next_seq < limit).then_some(self.next_seq)
    }

    /// Appends a request; returns its seq.
    #[inline]
    pub fn push(&mut self, arrival: Time, tenant: u64, cost: u64, payload: T) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        match &mut self.store {
            Store::Fifo(arrivals) => {
                arrivals.push(slot(seq, arrival, cost, tenant, payload));
            }
            Store::Fair { order, ring } => {
                let at = order.next_ref(seq, cost);
                let payload = Some(payload);
                let queued = Queued {
                    at,
                    arrival,
                    payload,
                };
                let held = ring.push(tenant, queued);
                order.push(slot(seq, arrival, cost, tenant, held));
            }
        }
        self.live += 1;
        seq
    }

    /// The arrival of the longest-waiting request.
    #[inline]
    pub fn oldest_arrival(&self) -> Option<Time> {
        match &self.store {
            Store::Fifo(arrivals) => arrivals.front().map(|s| s.arrival),
            Store::Fair { order, .. } => order.front().map(|s| s.arrival),
        }
    }

    /// The position of the most recent request.
    pub fn newest_position(&self) -> Option<usize> {
        self.held_in_order().checked_sub(1)
    }

    /// The position of the live request with sequence number `seq`.
    pub fn find(&self, seq: u64) -> Option<usize> {
        match &self.store {
            Store::Fifo(arrivals) => arrivals.find(seq),
            Store::Fair { order, .. } => order.find(seq),
        }
    }

    /// The position of the request this class serves next: its oldest (FIFO) or its tenant
    /// DRR's choice.
    #[inline]
    pub fn next_to_serve(&mut self) -> Option<usize> {
        match &mut self.store {
            Store::Fifo(_) => (self.live > 0).then_some(0),
            Store::Fair { order, ring } => ring.front().map(|r| order.position_of_live(r)),
        }
    }

    /// The cost of the request [`ClassQueue::next_to_serve`] names, read from the tenant's
    /// sub-queue with fair share (not from the arrival record, at a scattered place).
    #[inline]
    pub fn next_cost(&mut self) -> Option<u64> {
        match &mut self.store {
            Store::Fifo(arrivals) => arrivals.front().map(|s| s.cost),
            Store::Fair { ring, .. } => ring.front().map(|r| r.cost),
        }
    }

    /// Takes the request at `position` out. `served` says it is the one
    /// [`ClassQueue::next_to_serve`] returned (so its tenant is charged its cost).
    #[inline(always)]
    pub fn take(&mut self, position: usize, served: bool) -> Option<Taken<T>> {
        let taken = match &mut self.store {
            Store::Fifo(arrivals) => arrivals.take(position)?,
            Store::Fair { order, ring } if served => {
                let (tenant, queued) = ring.take_front()?;
                order.kill(position);
                taken(tenant, queued)?
            }
            Store::Fair { order, ring } => {
                let record = order.take(position)?;
                let queued = ring.remove(record.tenant, record.payload, record.seq)?;
                taken(record.tenant, queued)?
            }
        };
        self.live = self.live.saturating_sub(1);
        self.compact_if_sparse();
        Some(taken)
    }

    /// Slots in arrival order, live or tombstones.
    fn held_in_order(&self) -> usize {
        match &self.store {
            Store::Fifo(arrivals) => arrivals.held(),
            Store::Fair { order, .. } => order.held(),
        }
    }

    /// Slots and sub-queue entries held, live or tombstones.
    #[inline]
    pub fn held(&self) -> usize {
        match &self.store {
            Store::Fifo(arrivals) => arrivals.held(),
            Store::Fair { order, ring } => order.held() + ring.entries(),
        }
    }

    #[inline]
    fn compact_if_sparse(&mut self) {
        let per_request = match self.store {
            Store::Fifo(_) => 1,
            Store::Fair { .. } => 2,
        };
        if self.held() > per_request * 2 * self.live + COMPACTION_SLACK {
            self.compact();
        }
    }

    #[cold]
    fn compact(&mut self) {
        match &mut self.store {
            Store::Fifo(arrivals) => arrivals.compact(),
            Store::Fair { order, ring } => {
                ring.compact();
                order.compact();
                for (at, &held) in order.refs().filter_map(|(at, h)| Some((at, h?))) {
                    ring.repoint(held, at);
                }
            }
        }
    }
}

/// An arrival slot.
fn slot<P>(seq: u64, arrival: Time, cost: u64, tenant: u64, payload: P) -> Slot<P> {
    Slot {
        seq,
        arrival,
        cost,
        tenant,
        payload: Some(payload),
    }
}

/// A request taken out of a tenant sub-queue, as the scheduler hands it on.
#[inline]
fn taken<T>(tenant: u64, queued: Queued<T>) -> Option<Taken<T>> {
    Some(Taken {
        payload: queued.payload?,
        seq: queued.at.seq,
        arrival: queued.arrival,
        tenant,
        cost: queued.at.cost,
    })
}
