//! A class with per-tenant fair share: deficit round robin (DRR) by cost over its tenants.
//!
//! Each tenant with queued requests has a FIFO sub-queue of them and a deficit; tenants sit in
//! a ring in the order they became backlogged. A visit adds one quantum to the front tenant's
//! deficit and serves its requests while the head's cost fits; then the ring moves on. A tenant
//! whose requests run out by service leaves the ring and forgets its deficit (DRR's rule: credit
//! is not banked while idle).
//!
//! **Quantum.** All tenants weigh the same, and the quantum is the largest cost ever queued in
//! the class (it only grows). Because the quantum is at least every head's cost, every visit
//! serves at least one request, so a pop is O(1) amortised however many tenants are queued. The
//! price is the classic DRR bound: two backlogged tenants' service differs by less than one
//! maximum cost at the end of every round, and by less than quantum + maximum cost mid-round.
//!
//! **Layout.** The requests live in their tenants' sub-queues ([`sub_queue`]); arrival order is
//! kept as thin tokens ([`tokens`]). A push's write to its sub-queue is staged and goes out
//! with the next few dozen ([`staging`]). A tenant whose requests all left by another way than
//! service (cancel, shed, expiry) keeps its place in the ring, and its credit, until a visit
//! retires it or a compaction drops it.
//!
//! **Compaction.** Tombstones (requests cancelled from the middle of a sub-queue) and dead
//! tokens (requests served out of arrival order) are dropped once they outnumber live
//! requests plus a slack, with emptied tenants; so each removal costs O(1) amortised. Memory
//! follows what is queued plus the emptied tenants still in the ring (a record and an index
//! entry each, ~90 bytes, their buffers freed): a class that is never served keeps every
//! tenant emptied by cancels, sheds or expiry until its next compaction, as before. The
//! trigger counts what the layouts before counted (a slot per request in arrival order plus a
//! ref per request in its sub-queue), so compaction, a visible decision since it releases
//! emptied tenants, runs at the same moments.

#[cfg(test)]
mod check;
mod compaction;
mod drr;
mod solo;
mod staging;
mod sub_queue;
mod tokens;

use super::class_queue::COMPACTION_SLACK;
use super::class_queue::Taken;
use super::ring::Ring;
use super::tenant_index::TenantIndex;
use crate::time::Time;
use solo::Solo;
use sub_queue::{Entry, Live, TenantQueue};
use tokens::{Token, Tokens};

/// One class's tenants, their requests, and the DRR state over them.
#[derive(Debug)]
pub(crate) struct FairClass<T> {
    /// Sub-queues by slot; freed slots keep their allocation for the next tenant.
    queues: Vec<TenantQueue<T>>,
    /// Each slot's front seq, its staged requests included (`u64::MAX`: empty), for the
    /// tokens' liveness check (see [`tokens`]) and, at a push, whether the tenant was empty.
    heads: Vec<u64>,
    free: Vec<u32>,
    /// Tenant id → sub-queue slot, for every tenant in the ring. Only looked up, never
    /// iterated, so its layout cannot leak into a decision.
    index: TenantIndex,
    /// Tenants in service order, by slot; the front is being visited.
    ring: Ring<u32>,
    /// Times the ring moved (a turn or a retirement): prefetching runs once per move.
    moves: u64,
    /// `moves` when the members ahead were last prefetched.
    prefetched_at: u64,
    /// Whether the front tenant has received its quantum for the current visit.
    charged: bool,
    /// Credit per visit: the largest cost ever queued.
    quantum: u64,
    /// Every request's token, in arrival order.
    tokens: Tokens,
    /// Entries held by all sub-queues, live or tombstones.
    entries: usize,
    /// Requests queued.
    live: usize,
    /// Requests pushed but not yet written to their sub-queues, oldest first (see [`staging`]).
    staged: Vec<(u32, Entry<T>)>,
    /// The class's only request, while the ring is vacant (see [`solo`]).
    solo: Option<Solo<T>>,
    /// Its credit, while its visit is charged.
    solo_credit: u64,
    /// Compactions run, for the model tests.
    #[cfg(test)]
    compactions: u64,
}

impl<T> Default for FairClass<T> {
    fn default() -> Self {
        FairClass {
            queues: Vec::new(),
            heads: Vec::new(),
            free: Vec::new(),
            index: TenantIndex::default(),
            ring: Ring::default(),
            moves: 0,
            prefetched_at: u64::MAX,
            charged: false,
            quantum: 0,
            tokens: Tokens::default(),
            entries: 0,
            live: 0,
            staged: Vec::new(),
            solo: None,
            solo_credit: 0,
            #[cfg(test)]
            compactions: 0,
        }
    }
}

impl<T: Copy> FairClass<T> {
    /// Requests queued.
    #[inline]
    pub fn len(&self) -> usize {
        self.live
    }

    /// Entries and tokens held, live or not (the compaction trigger's count).
    pub fn held(&self) -> usize {
        self.tokens.len() + self.entries + usize::from(self.solo.is_some())
    }

    /// Appends request `seq` to `tenant`'s sub-queue, the tenant joining the ring if needed.
    #[inline]
    pub fn push(&mut self, seq: u64, arrival: Time, tenant: u64, cost: u64, payload: T) {
        self.quantum = self.quantum.max(cost);
        self.entries += 1;
        self.live += 1;
        if self.vacant() {
            let entry = Live {
                seq,
                arrival,
                cost,
                payload,
            };
            self.solo = Some(Solo { tenant, entry });
            return;
        }
        if self.solo.is_some() {
            self.seat_solo();
        }
        let slot = match self.index.get(tenant) {
            // The index holds sub-queue slots, made by `join` from a `u32`.
            Some(slot) => slot as u32,
            None => self.join(tenant),
        };
        let head = &mut self.heads[slot as usize];
        if *head == u64::MAX {
            *head = seq;
        }
        let entry = Live {
            seq,
            arrival,
            cost,
            payload,
        };
        self.stage(slot, entry.into_entry());
        self.tokens.push(Token { seq, arrival, slot });
    }

    /// Gives `tenant` an empty sub-queue at the back of the ring.
    fn join(&mut self, tenant: u64) -> u32 {
        let slot = match self.free.pop() {
            Some(slot) => slot,
            None => {
                self.queues.push(TenantQueue::default());
                self.heads.push(u64::MAX);
                // One slot per tenant in the ring: queued ones (at most the capacity, 2^31) and
                // emptied ones awaiting a visit or a compaction. 2^32 of those would take 2^32
                // pushes with no pop ever reaching them; the saturation is never reached.
                u32::try_from(self.queues.len() - 1).unwrap_or(u32::MAX)
            }
        };
        self.queues[slot as usize].tenant = tenant;
        self.index.insert(tenant, u64::from(slot));
        self.ring.push_back(slot);
        slot
    }

    /// The longest-waiting request's arrival.
    #[inline]
    pub fn oldest_arrival(&self) -> Option<Time> {
        match &self.solo {
            Some(solo) => Some(solo.entry.arrival),
            None => self.tokens.front().map(|t| t.arrival),
        }
    }

    /// Takes the longest-waiting request out (shedding `Oldest`, expiry): its sub-queue's front.
    pub fn take_oldest(&mut self) -> Option<Taken<T>> {
        self.seat_solo();
        self.write_staged();
        let slot = self.tokens.front()?.slot;
        self.take_from(slot, 0)
    }

    /// Takes the most recent request out (shedding `Newest`): its sub-queue's back.
    pub fn take_newest(&mut self) -> Option<Taken<T>> {
        self.seat_solo();
        self.write_staged();
        let slot = self.tokens.back()?.slot;
        let at = self.queues[slot as usize].items.len().checked_sub(1)?;
        self.take_from(slot, at)
    }

    /// Where request `seq` sits (its sub-queue slot and position), if still queued.
    fn locate(&self, seq: u64) -> Option<(u32, usize)> {
        let slot = self.tokens.find(seq)?.slot;
        let at = self.queues.get(slot as usize)?.find(seq)?;
        Some((slot, at))
    }

    /// Whether request `seq` is still queued.
    pub fn contains(&self, seq: u64) -> bool {
        match &self.solo {
            Some(solo) => solo.entry.seq == seq,
            None => self.locate(seq).is_some() || self.is_staged(seq),
        }
    }

    /// Takes request `seq` out (cancellation), if still queued.
    pub fn cancel(&mut self, seq: u64) -> Option<Taken<T>> {
        if self.solo.as_ref().is_some_and(|solo| solo.entry.seq == seq) {
            self.seat_solo();
        }
        self.write_staged();
        let (slot, at) = self.locate(seq)?;
        self.take_from(slot, at)
    }

    /// Takes the request at position `at` of sub-queue `slot` out by another way than service.
    /// An emptied tenant keeps its place in the ring (see the module docs).
    fn take_from(&mut self, slot: u32, at: usize) -> Option<Taken<T>> {
        let queue = self.queues.get_mut(slot as usize)?;
        let (entry, dropped) = queue.take(at)?;
        queue.release_buffer();
        let tenant = queue.tenant;
        self.heads[slot as usize] = queue.head_seq();
        self.entries -= dropped;
        Some(self.left(entry, tenant))
    }

    /// Bookkeeping once `entry` of `tenant` left its sub-queue: counts, token ends, compaction.
    #[inline]
    fn left(&mut self, entry: Live<T>, tenant: u64) -> Taken<T> {
        self.live -= 1;
        self.tokens.trim_after(entry.seq, &self.heads, &self.queues);
        self.compact_if_sparse();
        entry.into_taken(tenant)
    }

    #[inline]
    fn compact_if_sparse(&mut self) {
        // A live request is held twice (its entry and its token), so this tolerates twice the
        // live requests in tombstones and dead tokens, as a FIFO class does.
        if self.held() > 4 * self.live + COMPACTION_SLACK {
            self.compact();
        }
    }
}
