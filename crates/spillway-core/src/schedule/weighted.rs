//! Deficit round robin across classes ([`super::Discipline::Weighted`]).
//!
//! Classes are visited in index order. A visit adds the class's weight to its deficit and the
//! class is served while its next request's cost fits; an empty class forgets its deficit.
//! Weights may be far smaller than costs (weight 100, cost 8,000 tokens): instead of looping
//! through dozens of fruitless rounds, a full round that serves nobody is followed by a jump
//! that credits every backlogged class with the rounds that would have passed before the first
//! of them could serve. The result is exactly plain DRR's order, in O(classes) per pop.

use super::config::MAX_CLASSES;

// The round keeps one bit per class in a `u64` (`1 << class`, `u64::MAX << start`).
const _: () = assert!(MAX_CLASSES <= u64::BITS as usize);

/// Which class to serve next, and the deficits behind that choice.
#[derive(Clone, Debug)]
pub(crate) struct WeightedRound {
    quanta: Vec<u64>,
    deficits: Vec<u64>,
    /// The class being visited.
    current: usize,
    /// Whether `current` has received its quantum for this visit.
    charged: bool,
}

impl WeightedRound {
    /// A round over classes with these weights (each at least 1). At most [`MAX_CLASSES`]
    /// (64) classes, which the plan enforces: the round keeps a bit per class in a `u64`.
    pub fn new(weights: &[u64]) -> Self {
        debug_assert!(
            weights.len() <= MAX_CLASSES,
            "{} classes: the weighted round holds at most {MAX_CLASSES}",
            weights.len()
        );
        WeightedRound {
            quanta: weights.iter().map(|&w| w.max(1)).collect(),
            deficits: vec![0; weights.len()],
            current: 0,
            charged: false,
        }
    }

    /// The class to serve, given each class's next cost (`None` = empty). Call
    /// [`WeightedRound::on_served`] after serving it.
    ///
    /// One round is walked; if nobody could pay, the jump and the next round's outcome are
    /// computed from the classes found backlogged, without walking another round: the jump
    /// asks each backlogged class its next cost once more, which the class queue answers from
    /// its cache (nothing was pushed or taken in between).
    pub fn select(&mut self, mut next_cost: impl FnMut(usize) -> Option<u64>) -> Option<usize> {
        let count = self.quanta.len();
        let start = self.current;
        // The walk in locals, written back once: `self` is not re-read and re-stored per visit.
        let mut class = start;
        let mut charged = self.charged;
        // Classes are at most `MAX_CLASSES` (64), so a bit each (see `new`).
        let mut backlogged = 0u64;
        for _visit in 0..count {
            match next_cost(class) {
                None => self.deficits[class] = 0,
                Some(cost) => {
                    let deficit = &mut self.deficits[class];
                    if !charged {
                        *deficit = deficit.saturating_add(self.quanta[class]);
                    }
                    if cost <= *deficit {
                        self.current = class;
                        self.charged = true;
                        return Some(class);
                    }
                    backlogged |= 1 << class;
                }
            }
            class += 1;
            if class >= count {
                class = 0;
            }
            charged = false;
        }
        // A whole round: back at `start`, its visit over.
        self.current = start;
        self.charged = false;
        (backlogged != 0).then(|| self.skip_idle_rounds(start, backlogged, &mut next_cost))
    }

    /// Charges `cost` to `class`; `emptied` says it has nothing left queued.
    pub fn on_served(&mut self, class: usize, cost: u64, emptied: bool) {
        if let Some(deficit) = self.deficits.get_mut(class) {
            *deficit = deficit.saturating_sub(cost);
            if emptied {
                *deficit = 0;
                self.advance();
            }
        }
    }

    /// Moves to the next class. A compare, not `% len`: a 64-bit division costs tens of cycles,
    /// and a pop advances several times.
    #[inline]
    fn advance(&mut self) {
        self.current += 1;
        if self.current >= self.quanta.len() {
            self.current = 0;
        }
        self.charged = false;
    }

    /// After a round from `start` in which no class could pay: credits every `backlogged`
    /// class with `k − 1` quanta, where `k` is the fewest further rounds after which some class
    /// can pay, then plays the next round, which ends at the first class (from `start`) that
    /// needs exactly `k`: the classes before it are charged and passed, it is charged and
    /// returned. A class needing `k` rounds is exactly one that can pay after `k` quanta (when
    /// a credit saturates, the true sum exceeded every cost), so this is plain DRR's order.
    fn skip_idle_rounds(
        &mut self,
        start: usize,
        backlogged: u64,
        next_cost: &mut impl FnMut(usize) -> Option<u64>,
    ) -> usize {
        if backlogged & (backlogged - 1) == 0 {
            return self.skip_to_only(backlogged.trailing_zeros() as usize, next_cost);
        }
        let mut fewest = u64::MAX;
        let mut ready = 0u64;
        for class in bits(backlogged) {
            let cost = next_cost(class).unwrap_or(0);
            let rounds = cost
                .saturating_sub(self.deficits[class])
                .div_ceil(self.quanta[class]);
            if rounds < fewest {
                fewest = rounds;
                ready = 0;
            }
            if rounds == fewest {
                ready |= 1 << class;
            }
        }
        let at_or_after_start = ready & (u64::MAX << start);
        let served = if at_or_after_start != 0 {
            at_or_after_start.trailing_zeros() as usize
        } else {
            ready.trailing_zeros() as usize
        };
        let idle_rounds = fewest.saturating_sub(1);
        for class in bits(backlogged) {
            let quantum = self.quanta[class];
            let mut deficit =
                self.deficits[class].saturating_add(quantum.saturating_mul(idle_rounds));
            let visited_first = if served >= start {
                class >= start && class < served
            } else {
                class >= start || class < served
            };
            if visited_first || class == served {
                deficit = deficit.saturating_add(quantum);
            }
            self.deficits[class] = deficit;
        }
        self.current = served;
        self.charged = true;
        served
    }

    /// [`WeightedRound::skip_idle_rounds`] when `only` is the one backlogged class (every
    /// other pop in the scheduler bench): it is served once it has had the quanta it needs,
    /// without the loops over the backlogged classes.
    #[inline]
    fn skip_to_only(
        &mut self,
        only: usize,
        next_cost: &mut impl FnMut(usize) -> Option<u64>,
    ) -> usize {
        let cost = next_cost(only).unwrap_or(0);
        let quantum = self.quanta[only];
        let deficit = self.deficits[only];
        let rounds = cost.saturating_sub(deficit).div_ceil(quantum);
        let idle_rounds = rounds.saturating_sub(1);
        self.deficits[only] = deficit
            .saturating_add(quantum.saturating_mul(idle_rounds))
            .saturating_add(quantum);
        self.current = only;
        self.charged = true;
        only
    }
}

/// The indices of the set bits of `mask`, lowest first.
fn bits(mut mask: u64) -> impl Iterator<Item = usize> {
    std::iter::from_fn(move || {
        let bit = mask.trailing_zeros() as usize;
        mask &= mask.wrapping_sub(1);
        (bit < 64).then_some(bit)
    })
}

#[cfg(test)]
mod tests {
    use super::WeightedRound;
    use std::collections::VecDeque;

    /// Plain DRR, one visit at a time: the order the round must serve.
    struct Walk {
        quanta: Vec<u64>,
        deficits: Vec<u64>,
        current: usize,
        charged: bool,
    }

    impl Walk {
        fn pop(&mut self, queues: &mut [VecDeque<u64>]) -> Option<usize> {
            if queues.iter().all(VecDeque::is_empty) {
                return None;
            }
            loop {
                let class = self.current;
                if let Some(&cost) = queues[class].front() {
                    if !self.charged {
                        self.deficits[class] =
                            self.deficits[class].saturating_add(self.quanta[class]);
                        self.charged = true;
                    }
                    if cost <= self.deficits[class] {
                        self.deficits[class] -= cost;
                        queues[class].pop_front();
                        if queues[class].is_empty() {
                            self.deficits[class] = 0;
                            self.next();
                        }
                        return Some(class);
                    }
                } else {
                    self.deficits[class] = 0;
                }
                self.next();
            }
        }

        fn next(&mut self) {
            self.current = (self.current + 1) % self.quanta.len();
            self.charged = false;
        }
    }

    proptest::proptest! {
        /// Pushes, pops and removals that are not service (which leave an emptied class its
        /// deficit until the walk passes it), against the walk: same class served, same
        /// deficits after every pop. Costs up to 40 quanta of the lightest class, so most pops
        /// jump idle rounds, with one backlogged class (the shortcut) or several.
        #[test]
        fn the_round_serves_the_walks_order(
            weights in proptest::collection::vec(1u64..50, 1..6),
            ops in proptest::collection::vec((0u8..4, 0usize..6, 1u64..2_000), 0..300),
        ) {
            let count = weights.len();
            let mut round = WeightedRound::new(&weights);
            let mut walk = Walk {
                quanta: weights.clone(),
                deficits: vec![0; count],
                current: 0,
                charged: false,
            };
            let mut queues = vec![VecDeque::new(); count];
            let mut walked = queues.clone();
            for (op, class, cost) in ops {
                let class = class % count;
                match op {
                    0 | 1 => {
                        queues[class].push_back(cost);
                        walked[class].push_back(cost);
                    }
                    2 => {
                        // As the scheduler does: no round when nothing is queued.
                        let queued = queues.iter().any(|q| !q.is_empty());
                        let served = queued
                            .then(|| round.select(|c| queues[c].front().copied()))
                            .flatten();
                        proptest::prop_assert_eq!(served, walk.pop(&mut walked));
                        if let Some(c) = served {
                            let cost = queues[c].pop_front().unwrap_or(0);
                            round.on_served(c, cost, queues[c].is_empty());
                        }
                        proptest::prop_assert_eq!(&round.deficits, &walk.deficits);
                    }
                    _ => {
                        queues[class].pop_front();
                        walked[class].pop_front();
                    }
                }
            }
        }
    }

    /// A 65th class would shift out of the round's `u64` masks: refused (in debug builds; the
    /// plan refuses such a configuration before any round is built).
    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "at most 64")]
    fn a_round_over_more_than_64_classes_is_refused() {
        let _ = super::WeightedRound::new(&[1; 65]);
    }
}
