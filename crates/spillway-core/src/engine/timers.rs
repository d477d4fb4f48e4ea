//! Pending timers: a min-heap on (time, sequence number).
//!
//! The sequence number is assigned at scheduling, so timers due at the same nanosecond fire in
//! the order they were set: ties never depend on heap internals or on the timer's contents.
//!
//! Time and sequence are packed into one `u128` key (time in the high half): every pending
//! arrival, timer and provider completion of the simulator goes through one of these heaps,
//! and one integer comparison per level is cheaper than comparing a pair. Keys are unique, so
//! the order is exactly the pair's.

use crate::Time;
use std::cmp::Ordering;
use std::collections::BinaryHeap;

#[derive(Clone, Debug)]
struct Entry<E> {
    /// `(at << 64) | seq`.
    key: u128,
    event: E,
}

impl<E> Entry<E> {
    fn at(&self) -> Time {
        Time::from_nanos((self.key >> 64) as u64)
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
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
        other.key.cmp(&self.key)
    }
}

/// The key of an event scheduled at `at` now: the next sequence number is taken.
fn take_key(at: Time, next_seq: &mut u64) -> u128 {
    let seq = *next_seq;
    *next_seq += 1;
    (u128::from(at.as_nanos()) << 64) | u128::from(seq)
}

/// Pending timers in time order, ties in scheduling order.
#[derive(Clone, Debug)]
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
        let key = take_key(at, &mut self.next_seq);
        self.heap.push(Entry { key, event });
    }
    /// The earliest event, if any.
    pub fn pop(&mut self) -> Option<(Time, E)> {
        self.heap.pop().map(|e| (e.at(), e.event))
    }
    /// The earliest event without removing it.
    pub fn peek(&self) -> Option<(Time, &E)> {
        self.heap.peek().map(|e| (e.at(), &e.event))
    }
    /// Pop the earliest event and schedule `event` at `at` in its place: exactly `pop` then
    /// `push` (the new event takes the next sequence number), in one sift instead of two.
    /// Why: an event source that reschedules itself on every firing (a user's next request)
    /// does this once per simulated request.
    pub fn replace_first(&mut self, at: Time, event: E) -> Option<(Time, E)> {
        let Some(mut first) = self.heap.peek_mut() else {
            self.push(at, event);
            return None;
        };
        let popped_at = first.at();
        first.key = take_key(at, &mut self.next_seq);
        let popped = std::mem::replace(&mut first.event, event);
        Some((popped_at, popped))
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
        self.heap.peek().map(Entry::at)
    }
    /// Keep only the events `keep` accepts (the order of the rest is unchanged: keys are
    /// unique). Why: a driver drops timers whose firing would do nothing, so that memory
    /// follows what is live rather than what was ever scheduled.
    pub fn retain(&mut self, mut keep: impl FnMut(Time, &E) -> bool) {
        self.heap.retain(|e| keep(e.at(), &e.event));
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

    proptest::proptest! {
        /// Any interleaving of pushes and pops yields events in (time, scheduling order), the
        /// order of a sorted list of the same pushes.
        #[test]
        fn pops_come_in_time_then_scheduling_order(
            ops in proptest::collection::vec(proptest::option::of(0u64..20), 0..300),
        ) {
            let mut q = Timers::default();
            let mut model: Vec<(u64, usize)> = Vec::new();
            for (n, op) in ops.into_iter().enumerate() {
                match op {
                    Some(at) => {
                        q.push(Time::from_nanos(at), n);
                        model.push((at, n));
                    }
                    None => {
                        model.sort_unstable();
                        let expected = (!model.is_empty()).then(|| model.remove(0));
                        let got = q.pop().map(|(t, e)| (t.as_nanos(), e));
                        proptest::prop_assert_eq!(got, expected);
                    }
                }
                proptest::prop_assert_eq!(q.len(), model.len());
            }
            model.sort_unstable();
            let rest: Vec<_> = std::iter::from_fn(|| q.pop().map(|(t, e)| (t.as_nanos(), e))).collect();
            proptest::prop_assert_eq!(rest, model);
        }

        /// `replace_first` is exactly `pop` then `push`: the same events come out, in the
        /// same order, from a twin queue that does the two steps apart.
        #[test]
        fn replace_first_is_pop_then_push(
            ops in proptest::collection::vec((0u8..3, 0u64..20), 0..300),
        ) {
            let (mut fused, mut apart) = (Timers::default(), Timers::default());
            for (n, (op, at)) in ops.into_iter().enumerate() {
                let at = Time::from_nanos(at);
                match op {
                    0 => {
                        fused.push(at, n);
                        apart.push(at, n);
                    }
                    1 => proptest::prop_assert_eq!(fused.pop(), apart.pop()),
                    _ => {
                        let popped = apart.pop();
                        apart.push(at, n);
                        proptest::prop_assert_eq!(fused.replace_first(at, n), popped);
                    }
                }
                proptest::prop_assert_eq!(fused.peek().map(|(t, &e)| (t, e)), apart.peek().map(|(t, &e)| (t, e)));
            }
            let drain = |q: &mut Timers<usize>| std::iter::from_fn(|| q.pop()).collect::<Vec<_>>();
            proptest::prop_assert_eq!(drain(&mut fused), drain(&mut apart));
        }
    }
}
