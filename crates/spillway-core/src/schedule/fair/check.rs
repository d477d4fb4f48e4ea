//! Test-only audit of a fair-share class's invariants, so the model tests can assert them after
//! every operation (a stale index entry or a dead token at an end shows in decisions only once
//! a later operation goes astray, or never).

use super::FairClass;
use super::sub_queue::Entry;

impl<T: Copy> FairClass<T> {
    /// Panics unless: the index maps exactly the ring's tenants to their slots; every
    /// sub-queue's ends are live and its front seq is `heads`'s; free slots are empty; the
    /// counts match; and the tokens' ends are the oldest and newest live requests. A staged
    /// request counts at the back of its sub-queue (see [`super::staging`]), so the audit
    /// leaves the staging as it is.
    pub fn check(&self) {
        let mut entries = 0;
        let mut live = 0;
        let mut fronts = Vec::new();
        let mut backs = Vec::new();
        for &slot in self.ring.iter() {
            let queue = &self.queues[slot as usize];
            let found = self.index.get(queue.tenant);
            assert_eq!(found, Some(u64::from(slot)), "tenant {}", queue.tenant);
            let held: Vec<&Entry<T>> = queue.items.iter().chain(self.staged_for(slot)).collect();
            let ends = [held.first(), held.last()];
            assert!(ends.iter().flatten().all(|e| e.is_live()), "ends live");
            assert_eq!(
                self.heads[slot as usize],
                held.first().map_or(u64::MAX, |e| e.seq())
            );
            let stale = held.iter().filter(|e| !e.is_live()).count();
            assert_eq!(queue.stale, stale, "tombstones counted");
            assert!(held.is_sorted_by(|a, b| a.seq() < b.seq()), "seqs ascend");
            entries += held.len();
            live += held.len() - stale;
            fronts.extend(held.first().map(|e| e.seq()));
            backs.extend(held.last().map(|e| e.seq()));
        }
        assert!(
            self.staged
                .iter()
                .all(|&(slot, _)| self.ring.iter().any(|&s| s == slot)),
            "staged for a tenant in the ring"
        );
        assert_eq!(self.heads.len(), self.queues.len(), "a front seq per slot");
        for &slot in &self.free {
            assert!(
                self.ring.iter().all(|&s| s != slot),
                "free slot {slot} in the ring"
            );
            assert!(
                self.queues[slot as usize].items.is_empty(),
                "free slot {slot}"
            );
            assert_eq!(
                self.heads[slot as usize],
                u64::MAX,
                "free slot {slot}'s front"
            );
        }
        let live_tokens: Vec<u64> = self
            .tokens
            .iter()
            .filter(|t| self.holds(t.slot, t.seq))
            .map(|t| t.seq)
            .collect();
        assert!(
            live_tokens.is_sorted_by(|a, b| a < b),
            "tokens in arrival order"
        );
        assert_eq!(
            live_tokens.len(),
            live,
            "one token per request in a sub-queue"
        );
        assert_eq!(
            self.index.len(),
            self.ring.len(),
            "index entries vs ring members"
        );
        if self.solo.is_some() {
            assert!(
                self.ring.iter().next().is_none(),
                "a solo request with a ring"
            );
            assert!(self.tokens.front().is_none(), "a solo request with tokens");
            assert!(self.staged.is_empty(), "a solo request with staged ones");
            (entries, live) = (1, 1);
        }
        assert_eq!((self.entries, self.live), (entries, live), "entries, live");
        assert_eq!(self.tokens.front().map(|t| t.seq), fronts.into_iter().min());
        assert_eq!(self.tokens.back().map(|t| t.seq), backs.into_iter().max());
    }

    /// The entries staged for sub-queue `slot`, oldest first.
    fn staged_for(&self, slot: u32) -> impl Iterator<Item = &Entry<T>> {
        self.staged
            .iter()
            .filter(move |&&(s, _)| s == slot)
            .map(|(_, e)| e)
    }

    /// Whether sub-queue `slot` holds request `seq`, live, staged or not.
    fn holds(&self, slot: u32, seq: u64) -> bool {
        self.queues[slot as usize].find(seq).is_some()
            || self.staged_for(slot).any(|e| e.seq() == seq && e.is_live())
    }

    /// Whether a served pop now prefetches.
    pub fn prefetching(&self) -> bool {
        self.tokens.len() >= super::drr::PREFETCH_FROM
    }

    /// Entries held by the sub-queues, live or tombstones.
    pub fn entries(&self) -> usize {
        self.entries
    }

    /// Compactions run so far (a model mirrors each).
    pub fn compactions(&self) -> u64 {
        self.compactions
    }

    /// Entries the freed sub-queues have room for.
    pub fn free_capacity(&self) -> usize {
        self.free
            .iter()
            .map(|&s| self.queues[s as usize].items.capacity())
            .sum()
    }

    /// Entries the emptied tenants still in the ring have room for.
    pub fn emptied_capacity(&self) -> usize {
        let emptied = self
            .ring
            .iter()
            .filter(|&&s| self.staged_for(s).next().is_none());
        let queues = emptied.map(|&s| &self.queues[s as usize].items);
        queues.filter(|q| q.is_empty()).map(|q| q.capacity()).sum()
    }

    /// Compacts now, whatever the trigger says.
    pub fn compact_now(&mut self) {
        self.compact();
    }
}
