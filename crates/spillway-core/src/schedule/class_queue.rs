//! One class's queue: its requests in arrival order, plus (with fair share) per-tenant DRR.
//!
//! The arrival-order deque answers "oldest" (aging, expiry, shedding `Oldest`) and "newest"
//! (shedding `Newest`) in O(1): both of its ends are kept live by trimming stale handles after
//! every removal. Without fair share it is also the service order (plain FIFO). With fair
//! share, service order comes from the [`TenantRing`], and each request has a handle in both.
//!
//! Stale handles in the middle are dropped by a compaction once they outnumber live ones (plus a
//! constant slack), so memory stays proportional to the queued requests and each removal costs
//! O(1) amortised.

use super::slab::{Handle, Slab};
use super::tenants::TenantRing;
use crate::time::Time;
use std::collections::VecDeque;

/// A queued request as the queues see it: its handle plus the two facts the disciplines read on
/// every pop, copied here so choosing a class reads queue heads only, never the slab.
#[derive(Copy, Clone, Debug)]
pub(crate) struct Queued {
    pub handle: Handle,
    pub arrival: Time,
    pub cost: u64,
}

/// Stale handles tolerated beyond twice the live ones before compacting.
const COMPACTION_SLACK: usize = 64;

/// The queue of one class.
#[derive(Debug)]
pub(crate) struct ClassQueue {
    /// All queued requests, oldest first; front and back are live (or it is empty).
    arrival: VecDeque<Queued>,
    /// Per-tenant fair share, if enabled.
    tenants: Option<TenantRing>,
    /// Requests queued.
    live: usize,
}

impl ClassQueue {
    /// An empty queue, with or without per-tenant fair share.
    pub fn new(fair_share: bool) -> Self {
        ClassQueue {
            arrival: VecDeque::new(),
            tenants: fair_share.then(TenantRing::default),
            live: 0,
        }
    }

    /// Requests queued.
    pub fn len(&self) -> usize {
        self.live
    }

    /// Appends a request.
    pub fn push(&mut self, queued: Queued, tenant: u64) {
        self.arrival.push_back(queued);
        if let Some(ring) = &mut self.tenants {
            ring.push(tenant, queued);
        }
        self.live += 1;
    }

    /// The longest-waiting request.
    pub fn oldest(&self) -> Option<Queued> {
        self.arrival.front().copied()
    }

    /// The most recent request.
    pub fn newest(&self) -> Option<Queued> {
        self.arrival.back().copied()
    }

    /// The request this class serves next: its oldest (FIFO) or its tenant DRR's choice.
    pub fn next_to_serve<T>(&mut self, slab: &Slab<T>) -> Option<Queued> {
        match &mut self.tenants {
            Some(ring) => ring.front(slab),
            None => self.oldest(),
        }
    }

    /// Bookkeeping after a request of this class left the slab. `served` says it was the one
    /// [`ClassQueue::next_to_serve`] returned (so its tenant is charged `cost`).
    pub fn on_removed<T>(&mut self, tenant: u64, cost: u64, served: bool, slab: &Slab<T>) {
        self.live = self.live.saturating_sub(1);
        while self
            .arrival
            .front()
            .is_some_and(|q| !slab.is_live(q.handle))
        {
            self.arrival.pop_front();
        }
        while self.arrival.back().is_some_and(|q| !slab.is_live(q.handle)) {
            self.arrival.pop_back();
        }
        if let Some(ring) = &mut self.tenants {
            if served {
                ring.take_front(cost, slab);
            } else {
                ring.trim_tenant(tenant, slab);
            }
        }
        self.compact_if_sparse(slab);
    }

    /// Handles held in all deques, live or stale.
    pub fn held(&self) -> usize {
        self.arrival.len() + self.tenants.as_ref().map_or(0, TenantRing::entries)
    }

    fn compact_if_sparse<T>(&mut self, slab: &Slab<T>) {
        let per_request = if self.tenants.is_some() { 2 } else { 1 };
        if self.held() <= per_request * 2 * self.live + COMPACTION_SLACK {
            return;
        }
        self.arrival.retain(|q| slab.is_live(q.handle));
        if let Some(ring) = &mut self.tenants {
            ring.compact(slab);
        }
    }
}
