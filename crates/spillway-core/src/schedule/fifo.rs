//! A class without fair share: its requests in arrival order, served FIFO.

use super::arrivals::{Arrivals, Slot};
use super::class_queue::COMPACTION_SLACK;
use super::class_queue::Taken;
use crate::time::Time;

/// A FIFO class; cancellation from the middle leaves tombstones (see [`Arrivals`]).
#[derive(Debug)]
pub(crate) struct FifoClass<T> {
    arrivals: Arrivals<T>,
    live: usize,
}

impl<T> Default for FifoClass<T> {
    fn default() -> Self {
        FifoClass {
            arrivals: Arrivals::new(),
            live: 0,
        }
    }
}

impl<T: Copy> FifoClass<T> {
    #[inline]
    pub fn len(&self) -> usize {
        self.live
    }

    #[inline]
    pub fn push(&mut self, seq: u64, arrival: Time, tenant: u64, cost: u64, payload: T) {
        self.arrivals
            .push(Slot::new(seq, arrival, tenant, cost, payload));
        self.live += 1;
    }

    #[inline]
    pub fn oldest_arrival(&self) -> Option<Time> {
        self.arrivals.front().map(|s| s.arrival)
    }

    #[inline]
    pub fn next_cost(&self) -> Option<u64> {
        self.arrivals.front().map(|s| s.cost)
    }

    #[inline(always)]
    pub fn take_oldest(&mut self) -> Option<Taken<T>> {
        self.take(0)
    }

    pub fn take_newest(&mut self) -> Option<Taken<T>> {
        self.take(self.arrivals.held().checked_sub(1)?)
    }

    pub fn cancel(&mut self, seq: u64) -> Option<Taken<T>> {
        self.take(self.arrivals.find(seq)?)
    }

    pub fn contains(&self, seq: u64) -> bool {
        self.arrivals.find(seq).is_some()
    }

    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.arrivals.held()
    }

    #[inline(always)]
    fn take(&mut self, position: usize) -> Option<Taken<T>> {
        let taken = self.arrivals.take(position)?;
        self.live -= 1;
        if self.arrivals.held() > 2 * self.live + COMPACTION_SLACK {
            self.arrivals.compact();
        }
        Some(taken)
    }
}
