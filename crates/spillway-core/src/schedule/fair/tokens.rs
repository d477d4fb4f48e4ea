//! A fair-share class's requests in arrival order, as thin tokens: "oldest" for aging, expiry
//! and shedding `Oldest`, "newest" for shedding `Newest`, and tickets found by seq.
//!
//! The requests live in their tenants' sub-queues. A token only says where (`slot`) and when
//! (`seq`, `arrival`), and dies lazily: service, which takes requests out of arrival order,
//! writes nothing here (a write per pop at a scattered token cost 10–30 % at 100 k queued).
//! Both ends are kept live by trimming after every removal, so the deque holds exactly what the
//! arrival-order deque of the layout before held (live requests and the tombstones between
//! them): the compaction trigger counts it, and compaction timing is a visible decision (it
//! releases emptied tenants from the DRR ring).
//!
//! Why an end's liveness is one comparison: the class's oldest live request is its tenant's
//! oldest, so it is its sub-queue's front (sub-queue ends are always live); likewise the
//! newest is its sub-queue's back. A dead token's seq matches neither (seqs are never reused,
//! even when its sub-queue slot went to another tenant). The fronts' seqs are kept in a dense
//! array by slot (8 bytes a tenant), so trimming the oldest end, once a pop, reads no
//! sub-queue record (64 bytes a tenant, scattered at depth: a cache miss a pop).

use super::sub_queue::TenantQueue;
use crate::schedule::ring::Ring;
use crate::time::Time;

/// A request's place in arrival order.
#[derive(Copy, Clone, Debug)]
pub(super) struct Token {
    pub seq: u64,
    pub arrival: Time,
    /// The sub-queue slot of its tenant when pushed.
    pub slot: u32,
}

/// The tokens of one class, oldest first; front and back are live (or it is empty).
#[derive(Debug, Default)]
pub(super) struct Tokens {
    deque: Ring<Token>,
}

impl Tokens {
    /// Tokens held, live or dead.
    #[inline]
    pub fn len(&self) -> usize {
        self.deque.len()
    }

    #[inline]
    pub fn push(&mut self, token: Token) {
        self.deque.push_back(token);
    }

    /// The oldest queued request's token.
    #[inline]
    pub fn front(&self) -> Option<&Token> {
        self.deque.front()
    }

    /// Every token, oldest first (the tests' audit).
    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = &Token> + '_ {
        self.deque.iter()
    }

    /// The newest queued request's token.
    pub fn back(&self) -> Option<&Token> {
        self.deque.back()
    }

    /// The token of `seq`, live or dead, if still held. While no token was dropped behind the
    /// front since the last compaction (front trims keep the guess), its position is
    /// `seq − front.seq`; otherwise it is earlier, found by binary search.
    pub fn find(&self, seq: u64) -> Option<Token> {
        let guess = usize::try_from(seq.checked_sub(self.deque.front()?.seq)?).ok()?;
        match self.deque.get(guess) {
            Some(token) if token.seq == seq => Some(*token),
            _ => self.search(seq),
        }
    }

    /// Binary search by seq (seqs ascend along the deque).
    fn search(&self, seq: u64) -> Option<Token> {
        let (mut low, mut high) = (0, self.deque.len());
        while low < high {
            let mid = low + (high - low) / 2;
            let token = *self.deque.get(mid)?;
            match token.seq.cmp(&seq) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Some(token),
            }
        }
        None
    }

    /// After the request `seq` left: if its token was at an end, drops it and the dead tokens
    /// it uncovers there. (Both ends were live, so at most one end is affected.)
    /// `heads` holds each sub-queue slot's front seq.
    #[inline]
    pub fn trim_after<T: Copy>(&mut self, seq: u64, heads: &[u64], queues: &[TenantQueue<T>]) {
        if self.deque.front().is_some_and(|t| t.seq == seq) {
            self.deque.pop_front();
            while let Some(t) = self.deque.front() {
                if heads.get(t.slot as usize) == Some(&t.seq) {
                    break;
                }
                self.deque.pop_front();
            }
        } else if self.deque.back().is_some_and(|t| t.seq == seq) {
            self.trim_back(queues);
        }
    }

    #[cold]
    fn trim_back<T: Copy>(&mut self, queues: &[TenantQueue<T>]) {
        self.deque.pop_back();
        while let Some(t) = self.deque.back() {
            if queues[t.slot as usize].back_seq() == Some(t.seq) {
                break;
            }
            self.deque.pop_back();
        }
    }

    /// Drops every dead token, once every sub-queue holds exactly its live requests (after
    /// their tombstones were dropped) and the cursors of those with requests are 0. Each
    /// slot's live tokens and its requests ascend alike, so a cursor per slot tells a live
    /// token (its seq is the next request there) from a dead one; a freed slot holds nothing,
    /// so its cursor is never read. O(tokens), no allocation.
    pub fn compact<T: Copy>(&mut self, queues: &mut [TenantQueue<T>]) {
        self.deque.retain(|t| {
            let queue = &mut queues[t.slot as usize];
            let next = queue.items.get(queue.cursor);
            let live = next.is_some_and(|e| e.seq() == t.seq);
            queue.cursor += usize::from(live);
            live
        });
    }
}
