//! A class's only request, held outside its tenant ring.
//!
//! In a class that drains as fast as it fills (the urgent classes of a gateway that keeps up:
//! three pushes in four in the scheduler bench), each request arrives to a vacant ring and is
//! served before another joins. DRR over one tenant is that tenant, so such a request is not put
//! in the ring at all: the ring only notes that it exists, and the request is read at the
//! front of the class's [`Arrivals`] (its only slot, as nothing else is queued in the class).
//!
//! The ring's own state moves exactly as if the request sat in it as an unindexed lone front
//! member (see [`TenantRing::front_unindexed`]): it counts in `entries`, raised the quantum,
//! and a visit charges `lone_deficit`. So the moment a second request arrives (or the solo
//! one leaves by another way than service) it is seated in the ring as that member, and every
//! later decision is the same as without this shortcut.

use super::{Member, TenantRing};
use crate::schedule::arrivals::{Arrivals, Ref};

impl TenantRing {
    /// [`TenantRing::front`] while the class's only request is solo: the visit charges it one
    /// quantum, which covers it (the quantum is the largest cost queued, its own included).
    #[inline]
    pub(super) fn front_solo<T>(&mut self, arrivals: &Arrivals<T>) -> Option<Ref> {
        self.charge_lone();
        let solo = arrivals.front_ref().map(|(_, r)| r);
        debug_assert!(
            solo.is_some_and(|r| r.cost <= self.lone_deficit) && arrivals.held() == 1,
            "a solo request is the class's only slot and its visit covers it"
        );
        solo
    }

    /// The solo request was served: the ring is vacant again, as after retiring a lone front.
    #[inline]
    pub(super) fn take_solo(&mut self) {
        self.solo = false;
        self.entries -= 1;
        self.charged = false;
    }

    /// A second request arrives: the solo one takes its place in the ring, as the lone front
    /// member it stands for (unindexed, its visit's credit kept in `lone_deficit`).
    #[cold]
    pub(super) fn seat_solo<T>(&mut self, arrivals: &Arrivals<T>) {
        debug_assert!(
            self.ring.is_empty() && arrivals.held() == 2,
            "a solo request sits alone, at the front of its class, the newcomer behind it"
        );
        self.solo = false;
        if let Some((tenant, queued)) = arrivals.front_ref() {
            self.front_unindexed = true;
            self.ring.push_back(Member::lone(tenant, queued));
        }
    }

    /// The solo request left by another way (cancel, shed, expiry): its tenant stays as the
    /// gone front member a lone one becomes, keeping its place and any credit of this visit.
    #[cold]
    pub(super) fn solo_gone(&mut self, tenant: u64) {
        debug_assert!(self.ring.is_empty(), "a solo request sits alone");
        self.solo = false;
        self.entries -= 1;
        self.front_unindexed = true;
        self.ring.push_back(Member::Gone { tenant });
    }
}
