//! Aging's starvation bound: with step `s` and `L` classes, no request is popped after a
//! class-0 request that arrived more than `(L − 1)·s` after it. (The brief's `L·s` follows.)
//! Tenant fair share is off here: with it, the bound holds per class, not per request.

use crate::{START, config, push_ok, scheduler};
use proptest::prelude::*;
use spillway_core::schedule::{ClassSpec, Discipline, SchedulerConfig};
use spillway_core::{Duration, Time};

fn aging_config(levels: usize, step: Duration) -> SchedulerConfig {
    SchedulerConfig {
        classes: (0..levels)
            .map(|i| ClassSpec::new(&format!("c{i}"), 10_000, 1))
            .collect(),
        discipline: Discipline::Aging { step },
        tenant_fair_share: false,
        capacity: None,
        shed_order: Vec::new(),
        ..SchedulerConfig::default()
    }
}

proptest! {
    #![proptest_config(config("aging"))]

    #[test]
    fn no_request_waits_behind_a_much_younger_top_class_request(
        levels in 1usize..=5,
        step_us in 1u64..2_000,
        // (gap µs, push class or pop when None)
        ops in prop::collection::vec((0u64..1_500, prop::option::weighted(0.6, 0usize..5)), 1..300),
    ) {
        let step = Duration::from_micros(step_us);
        let mut s = scheduler(&aging_config(levels, step));
        let mut now = START;
        let mut arrivals: Vec<Time> = Vec::new();
        let mut popped: Vec<(usize, Time)> = Vec::new();
        for (gap_us, op) in ops {
            now = now.saturating_add(Duration::from_micros(gap_us));
            match op {
                Some(class) => {
                    push_ok(&mut s, now, class % levels, 0, 1, arrivals.len() as u64);
                    arrivals.push(now);
                }
                None => popped.extend(s.pop(now).map(|p| (p.class, arrivals[p.payload as usize]))),
            }
        }
        while let Some(p) = s.pop(now) {
            popped.push((p.class, arrivals[p.payload as usize]));
        }
        prop_assert_eq!(popped.len(), arrivals.len());
        let slack = step.saturating_mul(levels as u64 - 1);
        let mut oldest_after = Time::MAX;
        for &(class, arrival) in popped.iter().rev() {
            if class == 0 {
                prop_assert!(
                    arrival <= oldest_after.saturating_add(slack),
                    "class-0 request of {:?} served before one of {:?} (slack {:?})",
                    arrival, oldest_after, slack
                );
            }
            oldest_after = oldest_after.min(arrival);
        }
    }
}

/// The bound is tight: a class-3 request (of 4 classes) that has waited `3·s` when a class-0
/// request arrives has reached level 0 and wins by arrival; 1 ns less and it is still level 1.
#[test]
fn the_bound_is_reached_exactly_at_l_minus_one_steps() {
    let step = Duration::from_secs(10);
    let thirty = Duration::from_secs(30);
    for (gap, first) in [
        (thirty, 3u64),
        (thirty.saturating_sub(Duration::from_nanos(1)), 0),
    ] {
        let mut s = scheduler(&aging_config(4, step));
        push_ok(&mut s, START, 3, 0, 1, 3);
        let later = START.saturating_add(gap);
        push_ok(&mut s, later, 0, 0, 1, 0);
        assert_eq!(s.pop(later).map(|p| p.payload), Some(first), "gap {gap}");
    }
}
