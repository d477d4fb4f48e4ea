//! Deficit round robin across classes ([`super::Discipline::Weighted`]).
//!
//! Classes are visited in index order. A visit adds the class's weight to its deficit and the
//! class is served while its next request's cost fits; an empty class forgets its deficit.
//! Weights may be far smaller than costs (weight 100, cost 8,000 tokens): instead of looping
//! through dozens of fruitless rounds, a full round that serves nobody is followed by a jump
//! that credits every backlogged class with the rounds that would have passed before the first
//! of them could serve. The result is exactly plain DRR's order, in O(classes) per pop.

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
    /// A round over classes with these weights (each at least 1).
    pub fn new(weights: &[u64]) -> Self {
        WeightedRound {
            quanta: weights.iter().map(|&w| w.max(1)).collect(),
            deficits: vec![0; weights.len()],
            current: 0,
            charged: false,
        }
    }

    /// The class to serve, given each class's next cost (`None` = empty). Call
    /// [`WeightedRound::on_served`] after serving it.
    pub fn select(&mut self, mut next_cost: impl FnMut(usize) -> Option<u64>) -> Option<usize> {
        let classes = self.quanta.len();
        for _pass in 0..2 {
            for _visit in 0..classes {
                let class = self.current;
                match next_cost(class) {
                    None => {
                        self.deficits[class] = 0;
                        self.advance();
                    }
                    Some(cost) => {
                        if !self.charged {
                            self.deficits[class] =
                                self.deficits[class].saturating_add(self.quanta[class]);
                            self.charged = true;
                        }
                        if cost <= self.deficits[class] {
                            return Some(class);
                        }
                        self.advance();
                    }
                }
            }
            if !self.skip_idle_rounds(&mut next_cost) {
                return None;
            }
        }
        // Unreachable: after the jump some class can pay in the next round.
        (0..classes).find(|&class| next_cost(class).is_some())
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

    /// After a round in which no class could pay for its next request: credits every
    /// backlogged class with `k − 1` quanta, where `k` is the fewest further rounds after which
    /// some class can pay. Returns whether any class is backlogged.
    fn skip_idle_rounds(&mut self, next_cost: &mut impl FnMut(usize) -> Option<u64>) -> bool {
        let rounds_needed = |class: usize, cost: u64, deficits: &[u64], quanta: &[u64]| {
            cost.saturating_sub(deficits[class]).div_ceil(quanta[class])
        };
        let mut fewest: Option<u64> = None;
        for class in 0..self.quanta.len() {
            if let Some(cost) = next_cost(class) {
                let rounds = rounds_needed(class, cost, &self.deficits, &self.quanta);
                fewest = Some(fewest.map_or(rounds, |f| f.min(rounds)));
            }
        }
        let Some(fewest) = fewest else {
            return false;
        };
        let idle_rounds = fewest.saturating_sub(1);
        for class in 0..self.quanta.len() {
            if next_cost(class).is_some() {
                let credit = self.quanta[class].saturating_mul(idle_rounds);
                self.deficits[class] = self.deficits[class].saturating_add(credit);
            }
        }
        true
    }
}
