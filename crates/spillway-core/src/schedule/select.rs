//! Choosing the class to serve: strict priority, aging, or weighted DRR.

use super::config::{Discipline, MAX_CLASSES};
use super::scheduler::PriorityScheduler;
use crate::time::{Duration, Time};

impl<T: Copy> PriorityScheduler<T> {
    /// The class [`PriorityScheduler::pop`] serves at `now`, `None` if all are empty.
    pub(super) fn select_class(&mut self, now: Time) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        match self.plan.discipline {
            Discipline::Strict => self.strict_class(),
            Discipline::Aging { step } if now.saturating_since(self.oldest_bound) < step => {
                // Nothing has waited a step, so every level is its class: strict's choice.
                self.strict_class()
            }
            Discipline::Aging { step } => self.aged_class(now, step),
            Discipline::Weighted => {
                let classes = &mut self.classes;
                self.round.select(|class| classes[class].next_cost())
            }
        }
    }

    /// The most urgent class with requests.
    #[inline]
    fn strict_class(&self) -> Option<usize> {
        self.classes.iter().position(|q| q.len() > 0)
    }

    /// The class whose oldest request has the best effective level, ties to the earlier
    /// arrival, then the more urgent class. Only class heads are looked at: within a class the
    /// oldest request has waited longest, so it has the best level (one aging step for all).
    /// Having read every head, it raises [`PriorityScheduler::oldest_bound`] to the oldest
    /// (when pushes were in time order: otherwise a later head may be older than this one).
    fn aged_class(&mut self, now: Time, step: Duration) -> Option<usize> {
        let step_ns = step.as_nanos().max(1);
        let mut best = u128::MAX;
        let mut oldest = Time::MAX;
        for (class, queue) in self.classes.iter().enumerate() {
            let Some(arrival) = queue.oldest_arrival() else {
                continue;
            };
            oldest = oldest.min(arrival);
            let level = aged_level(class, now.saturating_since(arrival).as_nanos(), step_ns);
            best = best.min(aging_key(level, arrival, class));
        }
        if self.pushes_in_order {
            self.oldest_bound = oldest;
        }
        // No key reaches `u128::MAX` (its top bits are a level, below 64).
        (best != u128::MAX).then_some((best & CLASS_FIELD) as usize)
    }
}

/// Bits of an [`aging_key`] holding the class (classes are at most [`MAX_CLASSES`] = 2^6).
const CLASS_BITS: u32 = 6;
const CLASS_FIELD: u128 = (1 << CLASS_BITS) - 1;
const _: () = assert!(MAX_CLASSES <= 1 << CLASS_BITS);

/// (level, arrival, class) packed in one integer that orders as the tuple does, so the best
/// class is a branch-free minimum (the class loop ran ~60 instructions a class comparing
/// tuples): the level above bit 70, the arrival's nanoseconds in bits 6 to 69, the class below.
#[inline]
fn aging_key(level: usize, arrival: Time, class: usize) -> u128 {
    (level as u128) << (64 + CLASS_BITS)
        | u128::from(arrival.as_nanos()) << CLASS_BITS
        | class as u128 & CLASS_FIELD
}

/// `class − ⌊waited / step⌋`, clamped at 0, without dividing: a request younger than one step
/// keeps its class, one that waited `class` steps or more is at level 0, and in between the
/// steps are counted by adding (at most `class − 2` additions, one with the usual 4 classes).
/// Why: at depth the oldest request of a low class has always waited a step or more, and a
/// 64-bit division is tens of cycles, once per pop and class.
/// Classes up to which [`aged_level`] counts steps by adding (at most 6 additions).
const ADD_UP_TO: usize = 8;

#[inline]
fn aged_level(class: usize, waited_ns: u64, step_ns: u64) -> usize {
    if waited_ns < step_ns {
        return class;
    }
    // `class` fits u64 (classes are few); a product past u64 is more than any wait.
    if step_ns
        .checked_mul(class as u64)
        .is_some_and(|aged_out| waited_ns >= aged_out)
    {
        return 0;
    }
    // Here 1 ≤ ⌊waited / step⌋ < class, so class ≥ 2 and the level stays ≥ 1. With many
    // classes the additions would outnumber a division's cycles: divide.
    if class > ADD_UP_TO {
        let steps = waited_ns / step_ns;
        return class.saturating_sub(usize::try_from(steps).unwrap_or(usize::MAX));
    }
    let mut level = class - 1;
    let mut next = step_ns.checked_add(step_ns);
    while let Some(reached) = next.filter(|&n| waited_ns >= n) {
        level -= 1;
        next = reached.checked_add(step_ns);
    }
    level
}

#[cfg(test)]
mod tests {
    use super::{CLASS_FIELD, aged_level, aging_key};
    use crate::time::Time;

    #[test]
    fn the_level_matches_the_division_at_every_boundary() {
        let step = 7;
        for class in 0..6 {
            for waited in (0..60).chain([u64::MAX - 1, u64::MAX]) {
                let divided = class - ((waited / step) as usize).min(class);
                assert_eq!(aged_level(class, waited, step), divided, "{class} {waited}");
            }
        }
        assert_eq!(aged_level(63, u64::MAX, u64::MAX), 62);
        assert_eq!(aged_level(63, u64::MAX, 1), 0);
        assert_eq!(
            aged_level(63, u64::MAX, u64::MAX / 40),
            23,
            "class × step overflows"
        );
    }

    proptest::proptest! {
        /// Counting steps by adding answers as the division, for any class, wait and step
        /// (small steps, and steps so large that `class × step` overflows).
        #[test]
        fn the_level_matches_the_division(
            class in 0usize..64,
            waited in proptest::num::u64::ANY,
            step in proptest::prop_oneof![1u64..1_000, 1u64..u64::MAX],
            near in 0u64..64,
        ) {
            for waited in [waited, step.saturating_mul(near), step.saturating_mul(near).saturating_sub(1)] {
                let divided = class - usize::try_from(waited / step).unwrap_or(usize::MAX).min(class);
                proptest::prop_assert_eq!(aged_level(class, waited, step), divided);
            }
        }
    }

    proptest::proptest! {
        /// Packed keys order exactly as (level, arrival, class) tuples, and give the class back.
        #[test]
        fn aging_keys_order_as_the_tuples(
            a in (0usize..64, proptest::num::u64::ANY, 0usize..64),
            b in (0usize..64, proptest::num::u64::ANY, 0usize..64),
            same_arrival: bool,
        ) {
            let b = if same_arrival { (b.0, a.1, b.2) } else { b };
            let key = |(level, arrival, class): (usize, u64, usize)| {
                aging_key(level, Time::from_nanos(arrival), class)
            };
            proptest::prop_assert_eq!(key(a).cmp(&key(b)), a.cmp(&b));
            proptest::prop_assert_eq!((key(a) & CLASS_FIELD) as usize, a.2);
            proptest::prop_assert!(key(a) != u128::MAX);
        }
    }
}
