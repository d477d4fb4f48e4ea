//! A queued request's seq and its tombstone mark in one word, for both class layouts (the FIFO
//! class's [`super::arrivals`], a fair class's tenant sub-queues).
//!
//! A request cancelled from the middle of a queue stays in place as a tombstone until it
//! reaches an end or the class compacts, so a cancel is O(1) amortised. Why the mark is a bit
//! of the seq and not `payload: Option<T>`: with an 8-byte payload (the engine's `RequestId`,
//! a `u64`) the option's tag costs 8 more bytes an entry. A push writes the back of a
//! sub-queue last touched thousands of pushes earlier, a cold line (two, when the entry
//! straddles). At 40 bytes four entries in ten straddled; at 32, only those of a buffer that
//! starts 16 bytes past a 32-byte boundary (the allocator aligns to 16), 17 % in a test of
//! 20 k requests; and the class's requests take a fifth less memory to miss in (issue 19,
//! aging + tenants at 100 k: see `reports/perf.md`). Aligning entries to 32 bytes would end
//! the straddling, but measured no faster, and would pad larger payloads to 64. The price is
//! that payloads are `Copy` handles: a tombstone keeps a stale copy of its payload, which
//! needs no drop.

use super::types::Ticket;

/// A request's per-class seq, marked once the request left from the middle of its queue.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) struct Seq(u64);

/// The mark: above every seq a class hands out.
const TOMBSTONE: u64 = 1 << 63;
const _: () = assert!(Ticket::SEQ_LIMIT <= TOMBSTONE);

impl Seq {
    /// The seq of a queued request (below [`Ticket::SEQ_LIMIT`], so unmarked).
    #[inline(always)]
    pub fn live(seq: u64) -> Seq {
        debug_assert!(seq < TOMBSTONE, "seq {seq} is above the seq limit");
        Seq(seq & !TOMBSTONE)
    }

    /// The request's seq, a tombstone's included.
    #[inline(always)]
    pub fn get(self) -> u64 {
        self.0 & !TOMBSTONE
    }

    /// Whether the request is still queued (not a tombstone).
    #[inline(always)]
    pub fn is_live(self) -> bool {
        self.0 & TOMBSTONE == 0
    }

    /// Marks the request as gone, leaving its place as a tombstone.
    #[inline(always)]
    pub fn bury(&mut self) {
        self.0 |= TOMBSTONE;
    }
}

#[cfg(test)]
mod tests {
    use super::{Seq, Ticket};

    #[test]
    fn burying_keeps_the_seq_and_ends_the_life() {
        let last = Ticket::SEQ_LIMIT - 1;
        for seq in [0, 1, 41, last] {
            let mut s = Seq::live(seq);
            assert!(s.is_live());
            s.bury();
            assert!(!s.is_live(), "{seq} buried");
            assert_eq!(s.get(), seq);
            assert_ne!(s, Seq::live(seq), "a tombstone is not its live request");
        }
    }
}
