//! Compaction of a class's tenant ring: dropping stale refs and emptied tenants, then
//! rebuilding the refs after the class deque moved its requests.

use super::{LONE, Member, TenantRing};
use crate::schedule::arrivals::Arrivals;

impl TenantRing {
    /// Drops every stale ref and every tenant left without requests. O(refs + tenants).
    /// Call before compacting `arrivals`, then [`TenantRing::renumber`].
    pub fn compact<T>(&mut self, arrivals: &Arrivals<T>) {
        let mut entries = 0;
        for member in self.ring.iter() {
            entries += match *member {
                Member::Lone { .. } => 1,
                Member::Gone { .. } => 0,
                Member::Queued(slot) => self.queues[slot as usize].drop_stale(arrivals),
            };
        }
        let front_emptied = self.ring.front().is_some_and(|m| self.is_emptied(m));
        let emptied: Vec<Member> = self
            .ring
            .iter()
            .filter(|m| self.is_emptied(m))
            .copied()
            .collect();
        if !emptied.is_empty() {
            self.drop_members(&emptied);
        }
        // A solo request (held outside the vacant ring) keeps its count.
        self.entries = entries + usize::from(self.solo);
        if front_emptied {
            self.charged = false;
        }
    }

    /// Releases the `emptied` members and closes their gaps in the ring, re-indexing the lone
    /// members, whose positions moved (skipped when nothing left: the bench's case, with no
    /// cancels, and the common one).
    fn drop_members(&mut self, emptied: &[Member]) {
        for member in emptied {
            match *member {
                Member::Queued(slot) => self.release(slot),
                Member::Gone { tenant } | Member::Lone { tenant, .. } => {
                    self.index.remove(tenant);
                }
            }
        }
        let queues = &self.queues;
        self.ring.retain(|m| match m {
            Member::Lone { .. } => true,
            Member::Gone { .. } => false,
            Member::Queued(slot) => !queues[*slot as usize].items.is_empty(),
        });
        self.ring_head = 0;
        self.front_unindexed = false;
        for (position, member) in (0u64..).zip(self.ring.iter()) {
            if let Member::Lone { tenant, .. } = *member {
                self.index.insert(tenant, LONE | position);
            }
        }
    }

    /// Whether `member` holds no ref (after stale refs were dropped).
    fn is_emptied(&self, member: &Member) -> bool {
        match *member {
            Member::Lone { .. } => false,
            Member::Gone { .. } => true,
            Member::Queued(slot) => self.queues[slot as usize].items.is_empty(),
        }
    }

    /// After [`TenantRing::compact`] and the compaction of `arrivals`, whose positions moved:
    /// rebuilds every ref. Each live request has exactly one ref, in its tenant's member, and
    /// both orders are arrival order, so refilling them from `arrivals` in order reproduces them.
    pub fn renumber<T>(&mut self, arrivals: &Arrivals<T>) {
        for member in self.ring.iter() {
            if let Member::Queued(slot) = *member {
                self.queues[slot as usize].items.clear();
            }
        }
        for (tenant, r) in arrivals.refs() {
            match self.lookup(tenant) {
                Some(place) if place < LONE => self.queues[place as usize].items.push_back(r),
                Some(place) => {
                    let position = self.position(place);
                    if let Some(member @ Member::Lone { .. }) = self.ring.get_mut(position) {
                        *member = Member::lone(tenant, r);
                    }
                }
                None => {}
            }
        }
    }
}
