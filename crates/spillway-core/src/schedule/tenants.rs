//! Fair share among tenants inside one class: deficit round robin (DRR) by cost.
//!
//! Each tenant with queued requests has a FIFO sub-queue and a deficit; tenants sit in a ring in
//! the order they became backlogged. A visit adds one quantum to the front tenant's deficit and
//! serves its requests while the head's cost fits; then the ring moves on. A tenant whose
//! sub-queue empties leaves the ring and forgets its deficit (DRR's rule: credit is not banked
//! while idle).
//!
//! **Quantum.** All tenants weigh the same, and the quantum is the largest cost ever queued in
//! the class (it only grows). Because the quantum is at least every head's cost, every visit
//! serves at least one request, so a pop is O(1) amortised however many tenants are queued. The
//! price is the classic DRR bound: two backlogged tenants' service differs by less than one
//! maximum cost at the end of every round, and by less than quantum + maximum cost mid-round.
//!
//! Sub-queues hold [`Ref`]s into the class's [`Arrivals`], where the requests live. Refs of
//! requests removed elsewhere (cancel, shed, expiry) stay in the sub-queues until they reach an
//! end or [`TenantRing::compact`] runs (lazy deletion). Each sub-queue counts such stale refs:
//! while the count is 0 (always, without cancels, sheds or expiry) its refs are known live and
//! neither settling nor trimming reads the requests, which sit at scattered places in the class.

use super::arrivals::{Arrivals, Ref};
use super::tenant_index::TenantIndex;
use std::collections::VecDeque;

/// One tenant's sub-queue.
#[derive(Debug, Default)]
struct TenantQueue {
    tenant: u64,
    items: VecDeque<Ref>,
    deficit: u64,
    /// Refs in `items` whose requests may have left by another way than service.
    stale: usize,
}

/// An end of a sub-queue.
#[derive(Copy, Clone)]
enum End {
    Front,
    Back,
}

impl TenantQueue {
    /// Pops stale refs off `end`; returns how many. Reads nothing while none are stale.
    #[inline]
    fn trim<T>(&mut self, end: End, arrivals: &Arrivals<T>) -> usize {
        let mut removed = 0;
        while self.stale > 0 {
            let at_end = match end {
                End::Front => self.items.front(),
                End::Back => self.items.back(),
            };
            if at_end.is_none_or(|&r| arrivals.position(r).is_some()) {
                break;
            }
            match end {
                End::Front => self.items.pop_front(),
                End::Back => self.items.pop_back(),
            };
            self.stale -= 1;
            removed += 1;
        }
        removed
    }
}

/// The tenants of one class and the DRR state over them.
#[derive(Debug, Default)]
pub(crate) struct TenantRing {
    /// Sub-queues by slot; freed slots keep their allocation for the next tenant.
    queues: Vec<TenantQueue>,
    free: Vec<u32>,
    /// Tenant id → slot in `queues`. Only looked up, never iterated, so its order cannot leak.
    slot_of: TenantIndex,
    /// Backlogged tenants in service order; the front is being visited.
    ring: VecDeque<u32>,
    /// Whether the front tenant has received its quantum for the current visit.
    charged: bool,
    /// Credit per visit: the largest cost ever queued.
    quantum: u64,
    /// Refs held in all sub-queues, live or stale.
    entries: usize,
}

impl TenantRing {
    /// Appends a request to `tenant`'s sub-queue, joining the ring if needed.
    #[inline]
    pub fn push(&mut self, tenant: u64, queued: Ref) {
        self.quantum = self.quantum.max(queued.cost);
        self.entries += 1;
        if let Some(slot) = self.slot_of.get(tenant) {
            self.queues[slot as usize].items.push_back(queued);
            return;
        }
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.queues.push(TenantQueue::default());
                // The ring holds at most one slot per queued request, so this cannot exceed u32.
                u32::try_from(self.queues.len() - 1).unwrap_or(u32::MAX)
            }
        };
        let queue = &mut self.queues[slot as usize];
        queue.tenant = tenant;
        queue.deficit = 0;
        queue.stale = 0;
        queue.items.push_back(queued);
        self.slot_of.insert(tenant, u64::from(slot));
        self.ring.push_back(slot);
    }

    /// The ref of the request DRR serves next, settling the ring on it (idempotent until it is
    /// taken). The ref carries the cost, so the weighted class round reads no request.
    #[inline]
    pub fn front<T>(&mut self, arrivals: &Arrivals<T>) -> Option<Ref> {
        loop {
            let slot = *self.ring.front()?;
            let queue = &mut self.queues[slot as usize];
            self.entries -= queue.trim(End::Front, arrivals);
            let Some(&head) = queue.items.front() else {
                self.retire_front();
                continue;
            };
            if !self.charged {
                queue.deficit = queue.deficit.saturating_add(self.quantum);
                self.charged = true;
            }
            if head.cost <= queue.deficit {
                return Some(head);
            }
            self.ring.rotate_left(1);
            self.charged = false;
        }
    }

    /// Removes the request [`TenantRing::front`] returned, whose cost was `cost`, charging it to
    /// its tenant. Call only after taking that request out of `arrivals`.
    #[inline]
    pub fn take_front<T>(&mut self, cost: u64, arrivals: &Arrivals<T>) {
        let Some(&slot) = self.ring.front() else {
            return;
        };
        let queue = &mut self.queues[slot as usize];
        if queue.items.pop_front().is_some() {
            self.entries -= 1;
        }
        queue.deficit = queue.deficit.saturating_sub(cost);
        self.entries -= queue.trim(End::Front, arrivals);
        if queue.items.is_empty() {
            self.retire_front();
        }
    }

    /// After one of `tenant`'s requests left by another way: drops stale refs at the ends of
    /// its sub-queue. An emptied tenant stays in the ring until a visit retires it.
    pub fn trim_tenant<T>(&mut self, tenant: u64, arrivals: &Arrivals<T>) {
        if let Some(slot) = self.slot_of.get(tenant) {
            let queue = &mut self.queues[slot as usize];
            queue.stale += 1;
            let removed = queue.trim(End::Front, arrivals) + queue.trim(End::Back, arrivals);
            self.entries -= removed;
        }
    }

    /// Refs held, live or stale (the compaction trigger).
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// Drops every stale ref and every tenant left without requests. O(refs + tenants).
    /// Call before compacting `arrivals`, then [`TenantRing::renumber`].
    pub fn compact<T>(&mut self, arrivals: &Arrivals<T>) {
        let front_before = self.ring.front().copied();
        let mut entries = 0;
        let mut emptied = Vec::new();
        for &slot in &self.ring {
            let queue = &mut self.queues[slot as usize];
            if queue.stale > 0 {
                queue.items.retain(|&r| arrivals.position(r).is_some());
                queue.stale = 0;
            }
            entries += queue.items.len();
            if queue.items.is_empty() {
                emptied.push(slot);
            }
        }
        for &slot in &emptied {
            self.release(slot);
        }
        let queues = &self.queues;
        self.ring
            .retain(|&slot| !queues[slot as usize].items.is_empty());
        self.entries = entries;
        if self.ring.front().copied() != front_before {
            self.charged = false;
        }
    }

    /// After [`TenantRing::compact`] and the compaction of `arrivals`, whose positions moved:
    /// rebuilds every ref. Each live request has exactly one ref, in its tenant's sub-queue,
    /// and both orders are arrival order, so refilling the sub-queues from `arrivals` in order
    /// reproduces them.
    pub fn renumber<T>(&mut self, arrivals: &Arrivals<T>) {
        for &slot in &self.ring {
            self.queues[slot as usize].items.clear();
        }
        for (tenant, r) in arrivals.refs() {
            if let Some(slot) = self.slot_of.get(tenant) {
                self.queues[slot as usize].items.push_back(r);
            }
        }
    }

    fn retire_front(&mut self) {
        if let Some(slot) = self.ring.pop_front() {
            self.release(slot);
        }
        self.charged = false;
    }

    fn release(&mut self, slot: u32) {
        let queue = &mut self.queues[slot as usize];
        self.entries -= queue.items.len();
        queue.items.clear();
        queue.deficit = 0;
        queue.stale = 0;
        self.slot_of.remove(queue.tenant);
        self.free.push(slot);
    }
}
