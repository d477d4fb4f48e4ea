//! Property tests of the priority scheduler's contracts: conservation, FIFO within class and
//! tenant, bounds, shedding order, downgrade flag, deadlines, aging's starvation bound, tenant
//! DRR fairness and weighted shares. Every proptest runs [`CASES`] cases; failure seeds are kept
//! in `proptest-regressions/schedule-<module>.txt`.

mod aging;
mod conservation;
mod decisions;
mod fairness;
mod weighted;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use spillway_core::Time;
use spillway_core::schedule::{Item, PriorityScheduler, PushOutcome, SchedulerConfig};

/// Cases per property.
pub const CASES: u32 = 512;

/// [`CASES`] cases, failures persisted in `proptest-regressions/schedule-<module>.txt`.
pub fn config(module: &str) -> ProptestConfig {
    let path: &'static str =
        Box::leak(format!("proptest-regressions/schedule-{module}.txt").into());
    ProptestConfig {
        cases: CASES,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(path))),
        ..ProptestConfig::default()
    }
}

/// Time of the first push: far from the origin.
pub const START: Time = Time::from_secs(1);

/// A scheduler that must build.
pub fn scheduler(config: &SchedulerConfig) -> PriorityScheduler<u64> {
    PriorityScheduler::new(config).expect("generated configs are valid")
}

/// Pushes an item that must be queued without shedding (bounds are large in these tests).
pub fn push_ok(
    s: &mut PriorityScheduler<u64>,
    now: Time,
    class: usize,
    tenant: u64,
    cost: u64,
    id: u64,
) {
    let outcome = s.push(
        now,
        Item {
            class,
            tenant,
            cost,
            payload: id,
        },
    );
    assert!(
        matches!(outcome, PushOutcome::Queued { shed: None, .. }),
        "push {id} was not queued cleanly: {outcome:?}"
    );
}
