//! Requests and members leaving a class's tenant ring other than by service at the front:
//! a request removed elsewhere (cancel, shed, expiry), and the retirement of the front member
//! with what it holds (its index entry, its sub-queue slot).

use super::{LONE, Member, POSITION_MASK, TenantRing};
use crate::schedule::arrivals::{Arrivals, Ref};
use crate::schedule::sub_queue::End;

impl TenantRing {
    /// After one of `tenant`'s requests left by another way: drops stale refs at the ends of
    /// its queue. An emptied tenant stays in the ring until a visit retires it.
    pub fn trim_tenant<T>(&mut self, tenant: u64, arrivals: &Arrivals<T>) {
        if self.solo {
            debug_assert!(
                arrivals.held() == 0,
                "the solo request was the class's only one"
            );
            self.solo_gone(tenant);
            return;
        }
        match self.lookup(tenant) {
            Some(place) if place < LONE => {
                let queue = &mut self.queues[place as usize];
                queue.stale += 1;
                let removed = queue.trim(End::Front, arrivals) + queue.trim(End::Back, arrivals);
                self.entries -= removed;
            }
            Some(place) => {
                let position = self.position(place);
                if let Some(&Member::Lone {
                    index, seq, cost, ..
                }) = self.ring.get(position)
                    && arrivals.position(Ref { index, seq, cost }).is_none()
                {
                    if let Some(member) = self.ring.get_mut(position) {
                        *member = Member::Gone { tenant };
                    }
                    self.entries -= 1;
                }
            }
            None => {}
        }
    }

    /// Takes the front member out of the ring, releasing what it holds.
    #[inline]
    pub(super) fn retire_front(&mut self) {
        if let Some(member) = self.ring.pop_front() {
            self.ring_head = self.ring_head.wrapping_add(1) & POSITION_MASK;
            let indexed = !std::mem::take(&mut self.front_unindexed);
            match member {
                Member::Queued(slot) => self.release(slot),
                Member::Lone { tenant, .. } | Member::Gone { tenant } => {
                    // A lone member holds its request's ref; a gone one's left already.
                    if matches!(member, Member::Lone { .. }) {
                        self.entries -= 1;
                    }
                    if indexed {
                        self.unmap(tenant);
                    }
                }
            }
        }
        self.charged = false;
    }

    /// Out of line: the unmapped case stays small enough to inline into `pop`.
    #[inline(never)]
    fn unmap(&mut self, tenant: u64) {
        self.index.remove(tenant);
    }

    /// Frees the sub-queue in `slot` (its allocation kept for the next tenant) and unmaps its
    /// tenant. Out of line: a tenant with a sub-queue leaves once per many pops.
    #[inline(never)]
    pub(super) fn release(&mut self, slot: u32) {
        let queue = &mut self.queues[slot as usize];
        self.entries -= queue.items.len();
        queue.items.clear();
        queue.deficit = 0;
        queue.stale = 0;
        self.index.remove(queue.tenant);
        self.free.push(slot);
    }
}
