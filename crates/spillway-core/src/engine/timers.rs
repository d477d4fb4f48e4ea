//! Pending timers: a min-heap on (time, sequence number).
//!
//! The sequence number is assigned at scheduling, so timers due at the same nanosecond fire in
//! the order they were set: ties never depend on heap internals or on the timer's contents.

use crate::Time;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

struct Entry<E> {
    at: Time,
    seq: u64,
    event: E,
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and we want the earliest first.
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// Pending timers in time order, ties in scheduling order.
pub struct Timers<E> {
    heap: BinaryHeap<Entry<E>>,
    next_seq: u64,
}

impl<E> Default for Timers<E> {
    fn default() -> Self {
        Timers {
            heap: BinaryHeap::new(),
            next_seq: 0,
        }
    }
}

impl<E> Timers<E> {
    /// Schedule `event` at `at`.
    pub fn push(&mut self, at: Time, event: E) {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.heap.push(Entry { at, seq, event });
    }
    /// The earliest event, if any.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        self.heap.pop().map(|e| (e.at, e.event))
    }
    /// The earliest event if it is due by `now`.
    pub fn pop_due(&mut self, now: Time) -> Option<E> {
        match self.peek_time() {
            Some(at) if at <= now => self.pop().map(|(_, e)| e),
            _ => None,
        }
    }
    /// When the earliest event is due.
    pub fn peek_time(&self) -> Option<Time> {
        self.heap.peek().map(|e| e.at)
    }
    /// Pending events.
    pub fn len(&self) -> usize {
        self.heap.len()
    }
    /// Whether nothing is pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_break_by_scheduling_order() {
        let mut q = Timers::default();
        q.push(Time::from_nanos(5), "b");
        q.push(Time::from_nanos(1), "a");
        q.push(Time::from_nanos(5), "c");
        q.push(Time::from_nanos(5), "d");
        assert_eq!(q.pop_due(Time::from_nanos(0)), None);
        let order: Vec<_> = std::iter::from_fn(|| q.pop().map(|(_, e)| e)).collect();
        assert_eq!(order, ["a", "b", "c", "d"]);
    }
}
