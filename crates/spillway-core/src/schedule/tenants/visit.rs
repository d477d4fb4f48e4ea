//! Serving a class's tenant ring: visiting the front member (crediting it one quantum per
//! visit), turning the ring past a member whose credit is short, retiring emptied members, and
//! charging the request served to its tenant. The DRR rules are in the [parent](super) docs.

use super::{Member, POSITION_MASK, TenantRing};
use crate::schedule::arrivals::{Arrivals, Ref};
use crate::schedule::sub_queue::End;

/// What [`TenantRing::visit_front`] found at the front.
enum Visit {
    /// The front member's credit covers this request.
    Serve(Ref),
    /// A sub-queue (no stale refs) whose credit is short of its head: its visit ends.
    Short,
    /// Anything else (a gone member, stale refs, a lone member short of credit): `settle`.
    Other,
}

impl TenantRing {
    /// The ref of the request DRR serves next, settling the ring on it (idempotent until it is
    /// taken). The ref carries the cost, so the weighted class round reads no request.
    ///
    /// Inline: a lone tenant at the front (the common case when tenants outnumber requests),
    /// and sub-queues without stale refs (the common case when requests outnumber tenants),
    /// turning the ring past one whose credit is short (every other pop when a visit serves
    /// two requests). The general loop stays out of line.
    #[inline(always)]
    pub fn front<T>(&mut self, arrivals: &Arrivals<T>) -> Option<Ref> {
        if self.solo {
            return self.front_solo(arrivals);
        }
        loop {
            match self.visit_front()? {
                Visit::Serve(head) => return Some(head),
                Visit::Short => self.turn(),
                Visit::Other => return self.settle(arrivals),
            }
        }
    }

    /// [`TenantRing::front`] with turns left to `settle`: for the weighted round's out-of-line
    /// question, where the turn loop's registers cost more (saved and restored on every call)
    /// than the turns it saves.
    #[inline(always)]
    pub fn front_no_turn<T>(&mut self, arrivals: &Arrivals<T>) -> Option<Ref> {
        if self.solo {
            return self.front_solo(arrivals);
        }
        match self.visit_front()? {
            Visit::Serve(head) => Some(head),
            Visit::Short | Visit::Other => self.settle(arrivals),
        }
    }

    /// Visits the front member inline if it is a lone one or a sub-queue without stale refs
    /// (charging the visit); `None` for a vacant ring (an emptied class, asked again by the
    /// weighted round). Whatever it leaves to `settle` (gone members, trimming), `settle` finds
    /// this visit already charged.
    #[inline(always)]
    fn visit_front(&mut self) -> Option<Visit> {
        Some(match *self.ring.front()? {
            Member::Lone {
                index, seq, cost, ..
            } => {
                self.charge_lone();
                if cost <= self.lone_deficit {
                    Visit::Serve(Ref { index, seq, cost })
                } else {
                    Visit::Other
                }
            }
            Member::Queued(slot) => match self.queues.get_mut(slot as usize) {
                Some(queue) if queue.stale == 0 => match queue.items.front() {
                    Some(&head) => {
                        queue.charge(&mut self.charged, self.quantum);
                        if head.cost <= queue.deficit {
                            Visit::Serve(head)
                        } else {
                            Visit::Short
                        }
                    }
                    None => Visit::Other,
                },
                _ => Visit::Other,
            },
            Member::Gone { .. } => Visit::Other,
        })
    }

    /// Credits the front lone (or solo) member one quantum, once per visit: it joined with
    /// deficit 0 and carries none of its own, so its credit is the quantum, kept in
    /// `lone_deficit` while it is being visited.
    #[inline(always)]
    pub(super) fn charge_lone(&mut self) {
        if !self.charged {
            self.lone_deficit = self.quantum;
            self.charged = true;
        }
    }

    /// [`TenantRing::front`]'s general case: visits members until one can pay.
    #[inline(never)]
    fn settle<T>(&mut self, arrivals: &Arrivals<T>) -> Option<Ref> {
        loop {
            match *self.ring.front()? {
                Member::Lone {
                    index, seq, cost, ..
                } => {
                    let queued = Ref { index, seq, cost };
                    self.charge_lone();
                    if queued.cost <= self.lone_deficit {
                        return Some(queued);
                    }
                    self.lone_to_back();
                }
                Member::Gone { .. } => self.retire_front(),
                Member::Queued(slot) => {
                    let queue = &mut self.queues[slot as usize];
                    self.entries -= queue.trim(End::Front, arrivals);
                    let Some(&head) = queue.items.front() else {
                        self.retire_front();
                        continue;
                    };
                    queue.charge(&mut self.charged, self.quantum);
                    if head.cost <= queue.deficit {
                        return Some(head);
                    }
                    self.turn();
                }
            }
        }
    }

    /// The front lone tenant cannot pay: its request left while it was being visited, and a
    /// costlier one (which raised the quantum) came back. It takes a sub-queue to carry its
    /// credit to the back of the ring, as DRR does.
    #[cold]
    fn lone_to_back(&mut self) {
        if let Some(&Member::Lone {
            tenant,
            index,
            seq,
            cost,
        }) = self.ring.front()
        {
            let queued = Ref { index, seq, cost };
            self.front_unindexed = false;
            let slot = self.new_queue(tenant, self.lone_deficit);
            self.queues[slot as usize].items.push_back(queued);
            if let Some(front) = self.ring.get_mut(0) {
                *front = Member::Queued(slot);
            }
        }
        self.turn();
    }

    /// Moves the front member (never a lone one) to the back.
    #[inline]
    fn turn(&mut self) {
        if !self.ring.is_empty() {
            self.ring.rotate();
            self.ring_head = self.ring_head.wrapping_add(1) & POSITION_MASK;
        }
        self.charged = false;
    }

    /// Removes the request [`TenantRing::front`] returned, whose cost was `cost`, charging it to
    /// its tenant. Call only after taking that request out of `arrivals`.
    #[inline]
    pub fn take_front<T>(&mut self, cost: u64, arrivals: &Arrivals<T>) {
        if self.solo {
            self.take_solo();
            return;
        }
        match self.ring.front() {
            Some(Member::Lone { .. }) => self.retire_front(),
            Some(&Member::Queued(slot)) => {
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
            Some(Member::Gone { .. }) | None => {}
        }
    }
}
