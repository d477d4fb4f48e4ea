//! Tenant fair share (DRR by cost, equal weights, quantum = largest cost queued): two
//! backlogged tenants' service differs by less than one maximum cost `M` whenever a round ends
//! (the server comes back to the first tenant), and by less than quantum + `M` (= 2·`M`) at
//! every pop.

use crate::{START, config, push_ok, scheduler};
use proptest::prelude::*;
use spillway_core::schedule::{Discipline, SchedulerConfig};

proptest! {
    #![proptest_config(config("fairness"))]

    #[test]
    fn two_backlogged_tenants_stay_within_one_maximum_cost(
        costs_a in prop::collection::vec(0u64..10_000, 1..200),
        costs_b in prop::collection::vec(0u64..10_000, 1..200),
        class in 2usize..4,
    ) {
        let config = SchedulerConfig { discipline: Discipline::Strict, ..SchedulerConfig::default() };
        let mut s = scheduler(&config);
        // Interleaved pushes; tenant A (1) pushes first, so it leads every round.
        for i in 0..costs_a.len().max(costs_b.len()) {
            if let Some(&cost) = costs_a.get(i) {
                push_ok(&mut s, START, class, 1, cost, 0);
            }
            if let Some(&cost) = costs_b.get(i) {
                push_ok(&mut s, START, class, 2, cost, 1);
            }
        }
        let max_cost = costs_a.iter().chain(&costs_b).copied().max().unwrap_or(0);
        let (mut left_a, mut left_b) = (costs_a.len(), costs_b.len());
        let (mut served_a, mut served_b) = (0u64, 0u64);
        let mut previous = None;
        let mut rounds = 0;
        while left_a > 0 && left_b > 0 {
            let p = s.pop(START).expect("backlogged");
            if p.tenant == 1 && previous == Some(2) {
                rounds += 1;
                prop_assert!(
                    served_a.abs_diff(served_b) < max_cost.max(1),
                    "round end: A {} B {} max cost {}", served_a, served_b, max_cost
                );
            }
            if p.tenant == 1 { served_a += p.cost; left_a -= 1 } else { served_b += p.cost; left_b -= 1 }
            prop_assert!(
                served_a.abs_diff(served_b) <= 2 * max_cost,
                "mid-round: A {} B {} max cost {}", served_a, served_b, max_cost
            );
            previous = Some(p.tenant);
        }
        // Coverage, not a property: how often a round boundary was checked.
        prop_assert!(rounds <= costs_a.len());
    }
}

/// A tenant that floods a class gets one quantum per round like everyone else: ten light
/// tenants with one request each are all served within the first eleven pops.
#[test]
fn a_flooding_tenant_gets_one_turn_per_round() {
    let mut s = scheduler(&SchedulerConfig {
        discipline: Discipline::Strict,
        ..SchedulerConfig::default()
    });
    for _ in 0..500 {
        push_ok(&mut s, START, 3, 99, 100, 99);
    }
    for tenant in 0..10 {
        push_ok(&mut s, START, 3, tenant, 100, tenant);
    }
    let first: Vec<u64> = (0..11)
        .filter_map(|_| s.pop(START))
        .map(|p| p.tenant)
        .collect();
    assert_eq!(first.iter().filter(|&&t| t == 99).count(), 1, "{first:?}");
}
