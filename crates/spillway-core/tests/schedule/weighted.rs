//! Weighted discipline (DRR across classes by cost).
//!
//! Tolerance: while every class is backlogged, class `c` with weight `q_c` has received service
//! `S_c ∈ (R·q_c − M, (R+1)·q_c]` after `R` full rounds (`M` = largest cost), so for any two
//! classes `|S_c/q_c − S_d/q_d| < 1 + M/min(q_c, q_d)`: shares converge to the weights, the error
//! shrinking like one round's worth over the rounds elapsed. Checked in exact integers.
//!
//! The implementation jumps over rounds in which no class can pay; a differential test checks
//! that it serves exactly the order of plain, round-by-round DRR.

use crate::{START, config, push_ok, scheduler};
use proptest::prelude::*;
use spillway_core::schedule::{ClassSpec, Discipline, SchedulerConfig};
use std::collections::VecDeque;

fn weighted_config(weights: &[u64]) -> SchedulerConfig {
    SchedulerConfig {
        classes: weights
            .iter()
            .enumerate()
            .map(|(i, &w)| ClassSpec::new(&format!("c{i}"), 1_000, w))
            .collect(),
        discipline: Discipline::Weighted,
        tenant_fair_share: false,
        shed_order: Vec::new(),
        ..SchedulerConfig::default()
    }
}

/// Plain DRR, one quantum per visit, no shortcuts: the reference order.
struct NaiveDrr {
    queues: Vec<VecDeque<u64>>,
    quanta: Vec<u64>,
    deficits: Vec<u64>,
    current: usize,
    charged: bool,
}

impl NaiveDrr {
    fn pop(&mut self) -> Option<usize> {
        if self.queues.iter().all(VecDeque::is_empty) {
            return None;
        }
        loop {
            let c = self.current;
            match self.queues[c].front().copied() {
                None => {
                    self.deficits[c] = 0;
                    self.advance();
                }
                Some(cost) => {
                    if !self.charged {
                        self.deficits[c] += self.quanta[c];
                        self.charged = true;
                    }
                    if cost <= self.deficits[c] {
                        self.deficits[c] -= cost;
                        self.queues[c].pop_front();
                        if self.queues[c].is_empty() {
                            self.deficits[c] = 0;
                            self.advance();
                        }
                        return Some(c);
                    }
                    self.advance();
                }
            }
        }
    }

    fn advance(&mut self) {
        self.current = (self.current + 1) % self.queues.len();
        self.charged = false;
    }
}

proptest! {
    #![proptest_config(config("weighted"))]

    #[test]
    fn backlogged_service_follows_the_weights(
        weights in prop::collection::vec(1u64..5_000, 2..=4),
        costs in prop::collection::vec(prop::collection::vec(1u64..10_000, 200), 4),
    ) {
        let n = weights.len();
        let mut s = scheduler(&weighted_config(&weights));
        for (class, class_costs) in costs.iter().take(n).enumerate() {
            for &cost in class_costs {
                push_ok(&mut s, START, class, 0, cost, 0);
            }
        }
        let max_cost = u128::from(costs.iter().take(n).flatten().copied().max().unwrap_or(1));
        let mut served = vec![0u128; n];
        while (0..n).all(|c| s.len_of(c) > 0) {
            let p = s.pop(START).expect("backlogged");
            served[p.class] += u128::from(p.cost);
            for c in 0..n {
                for d in c + 1..n {
                    let (qc, qd) = (u128::from(weights[c]), u128::from(weights[d]));
                    let gap = (served[c] * qd).abs_diff(served[d] * qc);
                    prop_assert!(
                        gap < qc * qd + max_cost * qc.max(qd),
                        "classes {} and {}: served {:?} weights {:?}", c, d, served, weights
                    );
                }
            }
        }
    }

    #[test]
    fn the_round_skipping_shortcut_serves_plain_drr_order(
        weights in prop::collection::vec(1u64..60, 1..=4),
        // (class, cost) to push, or None to pop
        ops in prop::collection::vec(prop::option::weighted(0.6, (0usize..4, 0u64..400)), 1..300),
    ) {
        let n = weights.len();
        let mut s = scheduler(&weighted_config(&weights));
        let mut naive = NaiveDrr {
            queues: vec![VecDeque::new(); n],
            quanta: weights.clone(),
            deficits: vec![0; n],
            current: 0,
            charged: false,
        };
        for op in ops {
            match op {
                Some((class, cost)) => {
                    push_ok(&mut s, START, class % n, 0, cost, 0);
                    naive.queues[class % n].push_back(cost);
                }
                None => prop_assert_eq!(s.pop(START).map(|p| p.class), naive.pop()),
            }
        }
        loop {
            let (ours, reference) = (s.pop(START).map(|p| p.class), naive.pop());
            prop_assert_eq!(ours, reference);
            if ours.is_none() {
                break;
            }
        }
    }
}
