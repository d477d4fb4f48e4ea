//! Test-only audit of the tenant index against the ring it indexes.
//!
//! The tests compare what the ring serves and how many refs it holds; a stale or missing index
//! entry shows there only once a later push for that tenant goes astray (or never, if none
//! comes). This check states the invariant itself, so the model tests can assert it after
//! every operation.

use super::{LONE, Member, POSITION_MASK, TenantRing};

impl TenantRing {
    /// Panics unless the index maps exactly the ring's members, minus the unindexed front one:
    /// each member's tenant is found by [`TenantRing::lookup`] at its own sub-queue slot or
    /// ring position, and the index holds one entry per member, except the front member while
    /// `front_unindexed` (a lone or gone member, absent from the index itself).
    pub fn check_index(&self) {
        for (position, member) in self.ring.iter().enumerate() {
            let (tenant, expected) = match *member {
                Member::Queued(slot) => (self.queues[slot as usize].tenant, u64::from(slot)),
                Member::Lone { tenant, .. } | Member::Gone { tenant } => {
                    let at = self.ring_head.wrapping_add(position as u64) & POSITION_MASK;
                    (tenant, LONE | at)
                }
            };
            let found = self.lookup(tenant);
            assert_eq!(
                found,
                Some(expected),
                "tenant {tenant} at ring position {position} ({member:?}) is looked up as {found:?}"
            );
            if expected >= LONE {
                assert_eq!(self.position(expected), position, "tenant {tenant}");
            }
        }
        if self.front_unindexed {
            let front = self.ring.front();
            let tenant = match front {
                Some(Member::Lone { tenant, .. } | Member::Gone { tenant }) => *tenant,
                _ => panic!("front_unindexed with front member {front:?}"),
            };
            assert_eq!(
                self.index.get(tenant),
                None,
                "unindexed front tenant {tenant}"
            );
        }
        if self.solo {
            assert!(
                self.ring.is_empty() && !self.front_unindexed,
                "a solo request with ring members {:?}",
                self.ring
            );
        }
        let unindexed = usize::from(self.front_unindexed);
        assert_eq!(
            self.index.len(),
            self.ring.len() - unindexed,
            "index entries vs ring members ({} unindexed front)",
            unindexed
        );
    }
}
