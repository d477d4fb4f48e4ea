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
//! Sub-queues hold the requests themselves ([`Queued`]: payload, arrival, and a [`Ref`] to the
//! request's place in the class's arrival order, with its seq and cost). Why: at 100 k queued a
//! pop serves a tenant whose sub-queue sits at a scattered place in memory; with the payload
//! there, that is one cache miss, where a ref into the class's arrival deque cost a second,
//! dependent one. Requests removed elsewhere (cancel, shed, expiry) leave a tombstone
//! (`payload: None`) in the sub-queue until it reaches an end or [`TenantRing::compact`] runs
//! (lazy deletion). Each sub-queue counts its tombstones: while the count is 0 (always, without
//! cancels, sheds or expiry) trimming reads nothing.

use super::arrivals::Ref;
use super::sub_queues::{List, SubQueues};
use crate::time::Time;
use rustc_hash::FxHashMap;
use std::collections::VecDeque;

/// Idle slots kept mapped beyond the tenants in the ring.
const IDLE_SLACK: usize = 1024;

/// A request in its tenant's sub-queue; `payload: None` once it left by another way than
/// service (a tombstone).
#[derive(Debug)]
pub(crate) struct Queued<T> {
    /// Where the request sits in the class's arrival order; carries its seq and cost.
    pub at: Ref,
    pub arrival: Time,
    pub payload: Option<T>,
}

/// One tenant's sub-queue.
#[derive(Debug)]
struct TenantQueue {
    tenant: u64,
    items: List,
    deficit: u64,
    /// Tombstones in `items`.
    stale: usize,
    /// In the ring (backlogged, or emptied and not yet visited). An inactive slot is idle (its
    /// tenant still mapped to it) or free.
    active: bool,
}

impl TenantQueue {
    fn new() -> Self {
        TenantQueue {
            tenant: 0,
            items: List::EMPTY,
            deficit: 0,
            stale: 0,
            active: false,
        }
    }

    /// Pops tombstones off both ends; returns how many. Reads nothing while there are none.
    #[inline(always)]
    fn trim<T>(&mut self, store: &mut SubQueues<T>) -> usize {
        if self.stale == 0 {
            return 0;
        }
        self.trim_tombstones(store)
    }

    #[inline(never)]
    fn trim_tombstones<T>(&mut self, store: &mut SubQueues<T>) -> usize {
        let mut removed = 0;
        while self.stale > 0
            && store
                .front(&self.items)
                .is_some_and(|q| q.payload.is_none())
        {
            store.pop_front(&mut self.items);
            self.stale -= 1;
            removed += 1;
        }
        while self.stale > 0 && store.back(&self.items).is_some_and(|q| q.payload.is_none()) {
            store.pop_back(&mut self.items);
            self.stale -= 1;
            removed += 1;
        }
        removed
    }
}

/// The tenants of one class and the DRR state over them.
#[derive(Debug)]
pub(crate) struct TenantRing<T> {
    /// Sub-queues by slot; freed slots keep their allocation for the next tenant.
    queues: Vec<TenantQueue>,
    /// The requests of all sub-queues.
    store: SubQueues<T>,
    free: Vec<u32>,
    /// Tenant id → slot in `queues`, for active and idle slots. Only looked up, never iterated,
    /// so its order cannot leak.
    slot_of: FxHashMap<u64, u32>,
    /// Slots whose tenant left the ring but is still mapped: a returning tenant (at a shallow
    /// queue nearly every push brings one back) reuses its slot without a hash insert + remove.
    idle: usize,
    /// Backlogged tenants in service order; the front is being visited.
    ring: VecDeque<u32>,
    /// Whether the front tenant has received its quantum for the current visit.
    charged: bool,
    /// Credit per visit: the largest cost ever queued.
    quantum: u64,
    /// Requests and tombstones held in all sub-queues.
    entries: usize,
}

impl<T> TenantRing<T> {
    pub fn new() -> Self {
        TenantRing {
            queues: Vec::new(),
            store: SubQueues::new(),
            free: Vec::new(),
            slot_of: FxHashMap::default(),
            idle: 0,
            ring: VecDeque::new(),
            charged: false,
            quantum: 0,
            entries: 0,
        }
    }

    /// Appends a request to `tenant`'s sub-queue, joining the ring if needed; returns where it
    /// is held (for [`TenantRing::remove`] and [`TenantRing::repoint`]).
    #[inline]
    pub fn push(&mut self, tenant: u64, queued: Queued<T>) -> u32 {
        self.quantum = self.quantum.max(queued.at.cost);
        self.entries += 1;
        let slot = match self.slot_of.get(&tenant) {
            Some(&slot) if self.queues[slot as usize].active => {
                let queue = &mut self.queues[slot as usize];
                return self.store.push_back(&mut queue.items, queued);
            }
            Some(&slot) => {
                self.idle -= 1;
                slot
            }
            None => self.new_slot(tenant),
        };
        // Joining the ring afresh, exactly as a tenant never seen before would.
        let queue = &mut self.queues[slot as usize];
        queue.deficit = 0;
        queue.stale = 0;
        queue.active = true;
        let held = self.store.push_back(&mut queue.items, queued);
        self.ring.push_back(slot);
        held
    }

    /// A slot for a tenant not mapped yet (a free one if any), mapped to it.
    fn new_slot(&mut self, tenant: u64) -> u32 {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.queues.push(TenantQueue::new());
                // Slots are active (at most one per queued request) or idle (at most
                // `IDLE_SLACK` more than active), so this cannot exceed u32.
                u32::try_from(self.queues.len() - 1).unwrap_or(u32::MAX)
            }
        };
        self.queues[slot as usize].tenant = tenant;
        self.slot_of.insert(tenant, slot);
        slot
    }

    /// The request DRR serves next (its ref: position and cost), settling the ring on it
    /// (idempotent until it is taken).
    #[inline]
    pub fn front(&mut self) -> Option<Ref> {
        loop {
            let slot = *self.ring.front()?;
            let queue = &mut self.queues[slot as usize];
            self.entries -= queue.trim(&mut self.store);
            let Some(head) = self.store.front(&queue.items) else {
                self.retire_front();
                continue;
            };
            let head = head.at;
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

    /// Takes out the request [`TenantRing::front`] returned, charging its cost to its tenant;
    /// returns it with its tenant.
    #[inline]
    pub fn take_front(&mut self) -> Option<(u64, Queued<T>)> {
        let slot = *self.ring.front()?;
        let queue = &mut self.queues[slot as usize];
        let taken = self.store.pop_front(&mut queue.items)?;
        self.entries -= 1;
        queue.deficit = queue.deficit.saturating_sub(taken.at.cost);
        let tenant = queue.tenant;
        self.entries -= queue.trim(&mut self.store);
        if queue.items.is_empty() {
            self.retire_front();
        }
        Some((tenant, taken))
    }

    /// Takes out `tenant`'s request held at `held` (whose seq is `seq`), leaving by another way
    /// than service; drops tombstones at the ends of its sub-queue. An emptied tenant stays in
    /// the ring until a visit retires it.
    pub fn remove(&mut self, tenant: u64, held: u32, seq: u64) -> Option<Queued<T>> {
        let slot = *self.slot_of.get(&tenant)?;
        let queue = &mut self.queues[slot as usize];
        let entry = self.store.get_mut(held)?;
        if !queue.active || entry.at.seq != seq {
            return None;
        }
        let taken = Queued {
            at: entry.at,
            arrival: entry.arrival,
            payload: Some(entry.payload.take()?),
        };
        queue.stale += 1;
        self.entries -= queue.trim(&mut self.store);
        Some(taken)
    }

    /// Requests and tombstones held (the compaction trigger).
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// Drops every tombstone and every tenant left without requests. O(entries + tenants).
    /// Call before compacting the class's arrivals, then [`TenantRing::renumber`].
    pub fn compact(&mut self) {
        let front_before = self.ring.front().copied();
        let mut entries = 0;
        let mut emptied = Vec::new();
        for &slot in &self.ring {
            let queue = &mut self.queues[slot as usize];
            if queue.stale > 0 {
                self.store.retain(&mut queue.items, |q| q.payload.is_some());
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

    /// After [`TenantRing::compact`] and the compaction of the class's arrivals, whose
    /// positions moved: re-points the request held at `held` to its new place `at`.
    pub fn repoint(&mut self, held: u32, at: Ref) {
        if let Some(queued) = self.store.get_mut(held) {
            debug_assert_eq!(queued.at.seq, at.seq, "sub-queue and arrivals agree");
            queued.at = at;
        }
    }

    fn retire_front(&mut self) {
        if let Some(slot) = self.ring.pop_front() {
            self.release(slot);
        }
        self.charged = false;
    }

    /// Takes `slot` out of service: it stays mapped to its tenant (idle) until too many are idle.
    fn release(&mut self, slot: u32) {
        let queue = &mut self.queues[slot as usize];
        self.entries -= queue.items.len();
        self.store.clear(&mut queue.items);
        queue.deficit = 0;
        queue.stale = 0;
        queue.active = false;
        self.idle += 1;
        if self.idle > IDLE_SLACK + self.ring.len() {
            self.unmap_idle();
        }
    }

    /// Unmaps every idle slot (in slot order) and frees it. O(slots), once per `IDLE_SLACK`
    /// releases at least, so memory stays proportional to the backlogged tenants.
    #[cold]
    fn unmap_idle(&mut self) {
        for (slot, queue) in self.queues.iter().enumerate() {
            if !queue.active && self.slot_of.get(&queue.tenant) == Some(&(slot as u32)) {
                self.slot_of.remove(&queue.tenant);
                self.free.push(slot as u32);
            }
        }
        self.idle = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_tenants_are_unmapped_once_too_many_and_return_afresh() {
        let mut ring = TenantRing::new();
        let tenants = 3 * IDLE_SLACK as u64;
        for seq in 0..2 * tenants {
            let tenant = seq % tenants;
            let at = Ref {
                index: seq,
                seq,
                cost: 1,
            };
            let queued = Queued {
                at,
                arrival: Time::ZERO,
                payload: Some(seq),
            };
            ring.push(tenant, queued);
            assert_eq!(ring.front().map(|r| r.seq), Some(seq));
            let (served, taken) = ring.take_front().expect("one queued");
            assert_eq!((served, taken.payload), (tenant, Some(seq)));
            assert!(ring.slot_of.len() <= IDLE_SLACK + 1, "idle slots bounded");
            assert!(ring.queues.len() <= IDLE_SLACK + 1, "slots reused");
        }
        assert_eq!((ring.entries(), ring.ring.len()), (0, 0));
    }
}
