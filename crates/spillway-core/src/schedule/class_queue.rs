//! One class's queue: its requests in arrival order, plus (with fair share) per-tenant DRR.
//!
//! The [`Arrivals`] deque stores the requests themselves and answers "oldest" (aging, expiry,
//! shedding `Oldest`) and "newest" (shedding `Newest`) in O(1): both of its ends are kept live by
//! trimming tombstones after every removal. Without fair share it is also the service order
//! (plain FIFO, read at the front). With fair share, service order comes from the
//! [`TenantRing`], whose sub-queues hold refs into the deque.
//!
//! Tombstones and stale refs in the middle are dropped by a compaction once they outnumber live
//! requests (plus a constant slack), so each removal costs O(1) amortised and memory stays
//! proportional to the queued requests plus the emptied tenants still in the DRR ring. The
//! trigger counts exactly what the slab-based queue before it counted, so compaction (which
//! releases emptied tenants from the DRR ring, a visible decision) runs at the same moments:
//! an emptied tenant (a cancelled lone request's `Gone` marker, as before an emptied
//! sub-queue) is not counted, so in a class that is not being served they wait for a visit
//! or a compaction, at most one per tenant.

use super::arrivals::{Arrivals, Ref, Slot, Taken};
use super::tenants::TenantRing;

/// Tombstones and stale refs tolerated beyond twice the live requests before compacting.
const COMPACTION_SLACK: usize = 64;

/// Classes holding fewer slots than this fit in the core's caches: no prefetching.
const PREFETCH_FROM: usize = 4_096;

/// The queue of one class.
#[derive(Debug)]
pub(crate) struct ClassQueue<T> {
    /// All queued requests, oldest first; front and back are live (or it is empty).
    arrivals: Arrivals<T>,
    /// Per-tenant fair share, if enabled.
    tenants: Option<TenantRing>,
    /// Requests queued.
    live: usize,
    /// The seq the next push gets.
    next_seq: u64,
    /// [`ClassQueue::next_cost`]'s answer while nothing was taken since (a push keeps it unless
    /// it was `None`: the front was charged and settled, and a push only adds behind it): the
    /// weighted round asks a class once or twice per pop (in its round, then in the idle-round
    /// jump if nobody could pay) and pop after pop while the class cannot pay, and settling a
    /// tenant ring is the bulk of a weighted + tenants pop otherwise.
    next_cost: Option<Option<u64>>,
}

impl<T> ClassQueue<T> {
    /// An empty queue, with or without per-tenant fair share.
    pub fn new(fair_share: bool) -> Self {
        ClassQueue {
            arrivals: Arrivals::new(),
            tenants: fair_share.then(TenantRing::default),
            live: 0,
            next_seq: 0,
            next_cost: None,
        }
    }

    /// Requests queued.
    #[inline]
    pub fn len(&self) -> usize {
        self.live
    }

    /// Whether the next push would get a seq at or above `limit` (so must be refused).
    pub fn seq_exhausted(&self, limit: u64) -> bool {
        self.next_seq >= limit
    }

    /// Appends a request; returns its seq.
    #[inline]
    pub fn push(&mut self, arrival: crate::time::Time, tenant: u64, cost: u64, payload: T) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.next_cost == Some(None) {
            self.next_cost = None;
        }
        let slot = Slot {
            seq,
            arrival,
            cost,
            tenant,
            payload: Some(payload),
        };
        let index = self.arrivals.push(slot).index;
        if let Some(ring) = &mut self.tenants {
            // The ref rebuilt from values in registers: the one `push` returns is written to
            // the stack field by field, and copying it on as a whole stalls store forwarding.
            ring.push(tenant, Ref { index, seq, cost }, &self.arrivals);
        }
        self.live += 1;
        seq
    }

    /// The longest-waiting request.
    pub fn oldest(&self) -> Option<&Slot<T>> {
        self.arrivals.front()
    }

    /// The position of the most recent request.
    pub fn newest_position(&self) -> Option<usize> {
        self.arrivals.held().checked_sub(1)
    }

    /// The position of the live request with sequence number `seq`.
    pub fn find(&self, seq: u64) -> Option<usize> {
        self.arrivals.find(seq)
    }

    /// The position of the request this class serves next: its oldest (FIFO) or its tenant
    /// DRR's choice.
    #[inline]
    pub fn next_to_serve(&mut self) -> Option<usize> {
        match &mut self.tenants {
            Some(ring) => ring
                .front(&self.arrivals)
                .map(|r| self.arrivals.position_of_live(r)),
            None => (self.live > 0).then_some(0),
        }
    }

    /// The cost of the request [`ClassQueue::next_to_serve`] returns. With fair share it comes
    /// from the tenant's ref: the request itself, at a scattered place in the class, is not read.
    #[inline]
    pub fn next_cost(&mut self) -> Option<u64> {
        if let Some(known) = self.next_cost {
            return known;
        }
        let cost = match self.tenants {
            Some(_) => self.tenant_next_cost(),
            None => self.arrivals.front().map(|s| s.cost),
        };
        self.next_cost = Some(cost);
        cost
    }

    /// [`ClassQueue::next_cost`] with fair share: settling the ring. Out of line, so that the
    /// weighted round's per-class question stays small enough to inline.
    #[inline(never)]
    fn tenant_next_cost(&mut self) -> Option<u64> {
        let ring = self.tenants.as_mut()?;
        ring.front_no_turn(&self.arrivals).map(|r| r.cost)
    }

    /// Takes the request at `position` out. `served` says it is the one
    /// [`ClassQueue::next_to_serve`] returned (so its tenant is charged its cost).
    #[inline(always)]
    pub fn take(&mut self, position: usize, served: bool) -> Option<Taken<T>> {
        let taken = self.arrivals.take(position)?;
        self.next_cost = None;
        self.live = self.live.saturating_sub(1);
        if let Some(ring) = &mut self.tenants {
            if served {
                ring.take_front(taken.cost, &self.arrivals);
                if worth_prefetching(&self.arrivals) {
                    ring.prefetch_upcoming(&self.arrivals);
                }
            } else {
                ring.trim_tenant(taken.tenant, &self.arrivals);
            }
        }
        self.compact_if_sparse();
        Some(taken)
    }

    /// The tenant ring, for the tests' index audit.
    #[cfg(test)]
    pub fn tenant_ring(&self) -> Option<&TenantRing> {
        self.tenants.as_ref()
    }

    /// Whether a served pop now prefetches (fair share and a class past [`PREFETCH_FROM`]).
    #[cfg(test)]
    pub fn prefetching(&self) -> bool {
        self.tenants.is_some() && worth_prefetching(&self.arrivals)
    }

    /// Slots and refs held, live or stale.
    #[inline]
    pub fn held(&self) -> usize {
        self.arrivals.held() + self.tenants.as_ref().map_or(0, TenantRing::entries)
    }

    #[inline]
    fn compact_if_sparse(&mut self) {
        let per_request = if self.tenants.is_some() { 2 } else { 1 };
        if self.held() > per_request * 2 * self.live + COMPACTION_SLACK {
            self.compact();
        }
    }

    #[cold]
    fn compact(&mut self) {
        if let Some(ring) = &mut self.tenants {
            ring.compact(&self.arrivals);
            self.arrivals.compact();
            ring.renumber(&self.arrivals);
        } else {
            self.arrivals.compact();
        }
    }
}

/// Whether a class holds enough slots that its requests have left the core's caches.
#[inline]
fn worth_prefetching<T>(arrivals: &Arrivals<T>) -> bool {
    arrivals.held() >= PREFETCH_FROM
}
