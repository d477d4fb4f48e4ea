//! Compaction of a fair-share class: dropping tombstones, emptied tenants and dead tokens.

use super::FairClass;

impl<T: Copy> FairClass<T> {
    /// Drops every tombstone, every tenant left without requests (it loses its place in the
    /// ring and its credit, as if it had been visited) and every dead token. O(entries +
    /// tokens + tenants).
    #[cold]
    pub(super) fn compact(&mut self) {
        #[cfg(test)]
        {
            self.compactions += 1;
        }
        self.write_staged();
        let mut entries = 0;
        let mut emptied = Vec::new();
        for &slot in self.ring.iter() {
            let queue = &mut self.queues[slot as usize];
            queue.drop_stale();
            queue.cursor = 0;
            entries += queue.items.len();
            if queue.items.is_empty() {
                emptied.push(slot);
            }
        }
        if !emptied.is_empty() {
            // `emptied` is in ring order: the front's visit ends if the front went.
            if self.ring.front() == emptied.first() {
                self.charged = false;
            }
            for &slot in &emptied {
                self.release(slot);
            }
            let queues = &self.queues;
            self.ring
                .retain(|&slot| !queues[slot as usize].items.is_empty());
            self.moves = self.moves.wrapping_add(1);
        }
        // A solo request (held outside the vacant ring) keeps its count.
        self.entries = entries + usize::from(self.solo.is_some());
        self.tokens.compact(&mut self.queues);
    }
}
