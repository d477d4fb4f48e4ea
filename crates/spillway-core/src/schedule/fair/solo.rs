//! A class's only request, held outside its ring.
//!
//! In a class that drains as fast as it fills (the urgent classes of a gateway that keeps up:
//! three pushes in four in the scheduler bench), each request arrives to a vacant ring and is
//! served before another joins. DRR over one tenant is that tenant, so such a request is not
//! given a sub-queue, an index entry or a token: it is held here.
//!
//! The class's own state moves exactly as if it sat in the ring as its front tenant: it counts
//! in `entries` (and as a token in [`FairClass::held`]), it raised the quantum, and a visit
//! credits it one quantum. So the moment anything else happens to the class (a second request,
//! or this one leaving by another way than service) it is seated in the ring as that tenant,
//! with that credit, and every later decision is the same as without this shortcut.

use super::FairClass;
use super::sub_queue::Live;
use super::tokens::Token;
use crate::schedule::class_queue::Taken;

/// The class's only request and its tenant.
#[derive(Debug)]
pub(super) struct Solo<T> {
    pub tenant: u64,
    pub entry: Live<T>,
}

impl<T: Copy> FairClass<T> {
    /// Whether a request would be the class's only one (the ring is vacant).
    #[inline]
    pub(super) fn vacant(&self) -> bool {
        self.ring.front().is_none() && self.solo.is_none()
    }

    /// The solo request's cost, its visit credited (the quantum covers it: it is the largest
    /// cost queued, this one's included).
    #[inline]
    pub(super) fn solo_cost(&mut self) -> Option<u64> {
        let cost = self.solo.as_ref()?.entry.cost;
        if !self.charged {
            self.solo_credit = self.quantum;
            self.charged = true;
        }
        Some(cost)
    }

    /// Serves the solo request: the ring is vacant again, as after retiring its tenant.
    #[inline]
    pub(super) fn serve_solo(&mut self) -> Option<Taken<T>> {
        let Solo { tenant, entry } = self.solo.take()?;
        self.charged = false;
        self.entries -= 1;
        self.live -= 1;
        Some(entry.into_taken(tenant))
    }

    /// Seats the solo request in the ring as the front tenant it stands for, with the credit
    /// of a visit in progress, and gives it its token.
    #[cold]
    pub(super) fn seat_solo(&mut self) {
        let Some(Solo { tenant, entry }) = self.solo.take() else {
            return;
        };
        let slot = self.join(tenant);
        let token = Token {
            seq: entry.seq,
            arrival: entry.arrival,
            slot,
        };
        let queue = &mut self.queues[slot as usize];
        if self.charged {
            queue.deficit = self.solo_credit;
        }
        self.heads[slot as usize] = entry.seq;
        queue.push(entry.into_entry());
        self.tokens.push(token);
    }
}
