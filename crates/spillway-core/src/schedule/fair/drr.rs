//! Serving a fair-share class: visiting the front tenant (crediting it one quantum per visit),
//! turning the ring past a tenant whose credit is short, retiring emptied tenants, and charging
//! the request served to its tenant. The DRR rules are in the [parent](super) docs.

use super::FairClass;
use super::sub_queue::TenantQueue;
use crate::schedule::class_queue::Taken;
use crate::schedule::prefetch::prefetch;

/// Tokens held from which a class no longer fits the core's caches: prefetching starts.
pub(super) const PREFETCH_FROM: usize = 4_096;
/// How many tenants ahead of the front prefetching loads the requests a visit reads.
const AHEAD: usize = 2;

impl<T: Copy> FairClass<T> {
    /// The sub-queue slot DRR serves next, settling the ring on it (idempotent until served):
    /// emptied tenants at the front retire, a tenant whose credit is short of its head turns to
    /// the back.
    #[inline]
    fn settle(&mut self) -> Option<u32> {
        loop {
            let slot = *self.ring.front()?;
            let queue = &mut self.queues[slot as usize];
            let Some(head) = queue.items.front() else {
                if !self.staged.is_empty() {
                    self.write_staged();
                    continue;
                }
                self.retire_front();
                continue;
            };
            let cost = head.cost;
            if !self.charged {
                queue.deficit = queue.deficit.saturating_add(self.quantum);
                self.charged = true;
            }
            if cost <= queue.deficit {
                return Some(slot);
            }
            self.turn();
        }
    }

    /// The cost of the request DRR serves next (the weighted class round asks it).
    #[inline]
    pub fn next_cost(&mut self) -> Option<u64> {
        if self.solo.is_some() {
            return self.solo_cost();
        }
        self.ring_next_cost()
    }

    /// [`FairClass::next_cost`] with tenants in the ring: settling it. Out of line, so that the
    /// weighted round's per-class question stays small enough to inline.
    #[inline(never)]
    fn ring_next_cost(&mut self) -> Option<u64> {
        let slot = self.settle()?;
        self.queues[slot as usize].items.front().map(|e| e.cost)
    }

    /// Serves the request DRR picks, charging its cost to its tenant.
    #[inline]
    pub fn serve(&mut self) -> Option<Taken<T>> {
        if self.solo.is_some() {
            return self.serve_solo();
        }
        let slot = self.settle()?;
        let queue = &mut self.queues[slot as usize];
        let (entry, dropped) = queue.pop_front()?;
        queue.deficit = queue.deficit.saturating_sub(entry.cost);
        let (tenant, mut head) = (queue.tenant, queue.head_seq());
        if head == u64::MAX && !self.staged.is_empty() {
            self.write_staged();
            head = self.queues[slot as usize].head_seq();
        }
        self.heads[slot as usize] = head;
        let emptied = head == u64::MAX;
        self.entries -= dropped;
        if emptied {
            self.retire_front();
        }
        let taken = self.left(entry, tenant);
        if self.tokens.len() >= PREFETCH_FROM {
            self.prefetch_upcoming();
        }
        Some(taken)
    }

    /// Moves the front tenant to the back; its visit ends.
    #[inline]
    fn turn(&mut self) {
        self.ring.rotate();
        self.moves = self.moves.wrapping_add(1);
        self.charged = false;
    }

    /// Takes the emptied front tenant out of the ring, freeing its sub-queue slot.
    #[inline]
    fn retire_front(&mut self) {
        if let Some(slot) = self.ring.pop_front() {
            self.moves = self.moves.wrapping_add(1);
            self.release(slot);
        }
        self.charged = false;
    }

    /// Frees sub-queue `slot` (its allocation kept for the next tenant) and unmaps its tenant.
    /// Out of line: a tenant leaves once per a few pops at most.
    #[inline(never)]
    pub(super) fn release(&mut self, slot: u32) {
        let queue = &mut self.queues[slot as usize];
        self.entries -= queue.items.len();
        queue.reset();
        self.heads[slot as usize] = u64::MAX;
        self.index.remove(queue.tenant);
        self.free.push(slot);
    }

    /// Starts loading what later visits read, as a pipeline along the ring: the first two
    /// requests of the tenant [`AHEAD`] places on (a visit serves about two: the quantum is
    /// the largest cost), and the sub-queue record twice as far (which that call, two moves
    /// later, reads to find them). Only after the ring moved: while the front tenant stays,
    /// the tenants ahead are the same and their lines were asked for already. A tenant that
    /// changed meanwhile misses one hint, never a decision.
    #[inline]
    fn prefetch_upcoming(&mut self) {
        if self.prefetched_at == self.moves {
            return;
        }
        self.prefetched_at = self.moves;
        if let Some(&slot) = self.ring.get(AHEAD) {
            let items = &self.queues[slot as usize].items;
            if let Some(head) = items.front() {
                prefetch(head);
            }
            if let Some(next) = items.get(1) {
                prefetch(next);
            }
        }
        if let Some(&slot) = self.ring.get(2 * AHEAD) {
            prefetch::<TenantQueue<T>>(&self.queues[slot as usize]);
        }
    }
}
