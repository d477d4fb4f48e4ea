//! Fair share among tenants inside one class: deficit round robin (DRR) by cost.
//!
//! Each tenant with queued requests has a FIFO of them and a deficit; tenants sit in a ring in
//! the order they became backlogged. A visit adds one quantum to the front tenant's deficit and
//! serves its requests while the head's cost fits; then the ring moves on. A tenant whose
//! requests run out leaves the ring and forgets its deficit (DRR's rule: credit is not banked
//! while idle).
//!
//! **Quantum.** All tenants weigh the same, and the quantum is the largest cost ever queued in
//! the class (it only grows). Because the quantum is at least every head's cost, every visit
//! serves at least one request, so a pop is O(1) amortised however many tenants are queued. The
//! price is the classic DRR bound: two backlogged tenants' service differs by less than one
//! maximum cost at the end of every round, and by less than quantum + maximum cost mid-round.
//!
//! **Lone tenants.** When tenants outnumber queued requests (1,000 tenants over ~250 requests a
//! class is typical), most backlogged tenants hold exactly one request. Such a tenant sits in the
//! ring as a [`Member::Lone`] (its request's ref inline), with no sub-queue, free-list slot or
//! deficit: it joined with deficit 0, so its first visit credits one quantum, which covers its
//! request, and serves it. Only a second request gives it a [`TenantQueue`], converted in place
//! (same ring position, same credit), so the service order is exactly DRR's over sub-queues.
//! A request that finds the ring vacant is not even put in it while it is the class's only
//! one (a class that drains as fast as it fills): see [`solo`].
//!
//! Refs point into the class's [`Arrivals`], where the requests live. Refs of requests removed
//! elsewhere (cancel, shed, expiry) stay in the sub-queues until they reach an end or
//! [`TenantRing::compact`] runs (lazy deletion). Each sub-queue counts such stale refs: while the
//! count is 0 (always, without cancels, sheds or expiry) its refs are known live and neither
//! settling nor trimming reads the requests, which sit at scattered places in the class.

use super::arrivals::{Arrivals, Ref};
use super::ring::Ring;
use super::sub_queue::TenantQueue;
use super::tenant_index::TenantIndex;

#[cfg(test)]
mod check;
mod compaction;
mod leaving;
mod solo;
mod visit;

/// Index values at or above this name a lone member by its ring position; below, a sub-queue
/// slot.
const LONE: u64 = 1 << 62;
/// How many members ahead of the front [`TenantRing::prefetch_upcoming`] loads requests.
const AHEAD: usize = 2;
/// Ring positions are virtual (members ever popped off the front plus the offset), modulo 2^62.
const POSITION_MASK: u64 = LONE - 1;

/// A backlogged tenant in the ring.
#[derive(Copy, Clone, Debug)]
enum Member {
    /// A tenant with one request and no sub-queue. The request's ref is kept as scalars: a
    /// `Ref` built on the stack and copied in whole stalls store forwarding on every push.
    Lone {
        tenant: u64,
        index: u64,
        seq: u64,
        cost: u64,
    },
    /// A lone tenant whose request left by another way: it keeps its place (and, being
    /// visited, its credit) until a visit or a compaction retires it, as an emptied sub-queue
    /// does.
    Gone { tenant: u64 },
    /// A tenant with a sub-queue, by slot.
    Queued(u32),
}

impl Member {
    #[inline]
    fn lone(tenant: u64, queued: Ref) -> Member {
        Member::Lone {
            tenant,
            index: queued.index,
            seq: queued.seq,
            cost: queued.cost,
        }
    }
}

/// The tenants of one class and the DRR state over them.
#[derive(Debug, Default)]
pub(crate) struct TenantRing {
    /// Sub-queues by slot; freed slots keep their allocation for the next tenant.
    queues: Vec<TenantQueue>,
    free: Vec<u32>,
    /// Tenant id → sub-queue slot, or `LONE` | the virtual ring position of its lone member.
    /// Only looked up, never iterated, so its layout cannot leak into a decision.
    index: TenantIndex,
    /// Backlogged tenants in service order; the front is being visited.
    ring: Ring<Member>,
    /// Virtual position of `ring[0]`: a lone member's position stays valid as the ring turns.
    ring_head: u64,
    /// `ring_head` when [`TenantRing::prefetch_upcoming`] last ran.
    prefetched_at: u64,
    /// Whether the front tenant has received its quantum for the current visit.
    charged: bool,
    /// The deficit of the front member while it is a charged lone (or gone) tenant; lone
    /// members carry none otherwise.
    lone_deficit: u64,
    /// Credit per visit: the largest cost ever queued.
    quantum: u64,
    /// Refs held by all members, live or stale.
    entries: usize,
    /// The front member is a lone (or gone) tenant that joined an empty ring and is not in
    /// `index`: in a class that drains as fast as it fills, each tenant is served before
    /// anyone else joins, so it is never mapped or unmapped. It leaves the front only by being
    /// retired (or, gone, dropped by a compaction), unindexed; it is indexed when it takes a
    /// sub-queue (a second request, or a visit it cannot pay) or when a compaction drops members
    /// (re-indexing every lone one). A compaction that drops nothing leaves it unindexed:
    /// `renumber` finds it through `lookup`.
    front_unindexed: bool,
    /// The class's one request, alone in a vacant ring, is held outside it (see [`solo`]).
    solo: bool,
}

impl TenantRing {
    /// Appends a request to `tenant`'s queue, joining the ring if needed. `queued` names the
    /// request just pushed to the back of `arrivals`; while a request is solo, it is the only
    /// other slot there, at the front (where [`TenantRing::seat_solo`] reads it).
    #[inline]
    pub fn push<T>(&mut self, tenant: u64, queued: Ref, arrivals: &Arrivals<T>) {
        self.quantum = self.quantum.max(queued.cost);
        self.entries += 1;
        if self.ring.is_empty() {
            if !self.solo {
                self.solo = true;
                return;
            }
            self.seat_solo(arrivals);
        }
        match self.lookup(tenant) {
            None => {
                let at = self.ring_head.wrapping_add(self.ring.len() as u64) & POSITION_MASK;
                self.index.insert(tenant, LONE | at);
                self.ring.push_back(Member::lone(tenant, queued));
            }
            Some(place) if place < LONE => self.queues[place as usize].items.push_back(queued),
            Some(place) => self.push_to_lone(tenant, self.position(place), queued),
        }
    }

    /// Where `tenant` sits, as its index value: the unindexed front member is checked first.
    #[inline]
    fn lookup(&self, tenant: u64) -> Option<u64> {
        if self.front_unindexed
            && let Some(Member::Lone { tenant: t, .. } | Member::Gone { tenant: t }) =
                self.ring.front()
            && *t == tenant
        {
            return Some(LONE | self.ring_head);
        }
        self.index.get(tenant)
    }

    /// The ring position a lone member's index value names.
    #[inline]
    fn position(&self, place: u64) -> usize {
        let offset = place.wrapping_sub(self.ring_head) & POSITION_MASK;
        usize::try_from(offset).unwrap_or(usize::MAX)
    }

    /// A request for a tenant already in the ring without a sub-queue: a gone tenant becomes
    /// lone again, a lone one gets a sub-queue, both keeping their place and credit.
    ///
    /// The index names a lone or gone member at `position` (it is re-pointed whenever a member
    /// moves or changes kind); anything else would lose the request already counted in
    /// `entries`, hence the assert.
    fn push_to_lone(&mut self, tenant: u64, position: usize, queued: Ref) {
        let member = self.ring.get(position).copied();
        debug_assert!(
            matches!(member, Some(Member::Lone { .. } | Member::Gone { .. })),
            "tenant {tenant}: index names ring position {position}, which holds {member:?}"
        );
        let replacement = match member {
            Some(Member::Gone { .. }) => Member::lone(tenant, queued),
            Some(Member::Lone {
                index, seq, cost, ..
            }) => {
                let first = Ref { index, seq, cost };
                let deficit = if position == 0 && self.charged {
                    self.lone_deficit
                } else {
                    0
                };
                if position == 0 {
                    self.front_unindexed = false;
                }
                let slot = self.new_queue(tenant, deficit);
                let items = &mut self.queues[slot as usize].items;
                items.push_back(first);
                items.push_back(queued);
                Member::Queued(slot)
            }
            Some(Member::Queued(_)) | None => return,
        };
        if let Some(member) = self.ring.get_mut(position) {
            *member = replacement;
        }
    }

    /// An empty sub-queue for `tenant` with `deficit`, indexed.
    fn new_queue(&mut self, tenant: u64, deficit: u64) -> u32 {
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
        queue.deficit = deficit;
        queue.stale = 0;
        self.index.insert(tenant, u64::from(slot));
        slot
    }

    /// Starts loading what later visits read, as a pipeline along the ring: the third
    /// member's first two requests (a visit serves about two: the quantum is the largest cost)
    /// and the fifth member's head ref (which the call two members later reads to find its
    /// request). A class served many times in a row (aging serves the class with the oldest
    /// request until its tenant's turn comes) then finds each request already loading.
    ///
    /// Only after the ring moved: while the front member stays (it serves about two requests
    /// a visit), the members ahead are the same and their lines were asked for already. A
    /// member that changed in place meanwhile (a lone one taking a sub-queue, a newcomer in a
    /// short ring) misses one hint, never a decision.
    #[inline]
    pub fn prefetch_upcoming<T>(&mut self, arrivals: &Arrivals<T>) {
        if self.prefetched_at == self.ring_head {
            return;
        }
        self.prefetched_at = self.ring_head;
        match self.ring.get(AHEAD) {
            Some(&Member::Lone { index, .. }) => arrivals.prefetch(index),
            Some(&Member::Queued(slot)) => {
                // Two indexed reads, not `iter().take(2)`: the iterator is built out of line.
                let items = &self.queues[slot as usize].items;
                if let Some(head) = items.front() {
                    arrivals.prefetch(head.index);
                }
                if let Some(next) = items.get(1) {
                    arrivals.prefetch(next.index);
                }
            }
            _ => {}
        }
        if let Some(&Member::Queued(slot)) = self.ring.get(2 * AHEAD)
            && let Some(head) = self.queues[slot as usize].items.front()
        {
            super::prefetch::prefetch(head);
        }
    }

    /// Refs held, live or stale (the compaction trigger).
    pub fn entries(&self) -> usize {
        self.entries
    }
}
