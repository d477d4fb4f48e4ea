//! Budget and key-ring contracts: the ledger's overshoot bound, reserve/settle conservation,
//! period rollover and bounded memory, ladder monotonicity, preflight verdicts, and the key
//! ring's validation, rotation, expiry, revocation and redaction. Proptest failures are kept
//! in `proptest-regressions/budget-<module>.txt`.

mod gate;
mod keys;

mod ladder;
mod ledger;
mod rollover;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use spillway_core::budget::{CapSpec, CapTarget, OnExhausted, Period};
use spillway_core::limit::Scope;

/// Cases per property.
pub const CASES: u32 = 256;

/// Proptest config persisting failures in `proptest-regressions/budget-<module>.txt`.
pub fn config(module: &str) -> ProptestConfig {
    let path: &'static str = Box::leak(format!("proptest-regressions/budget-{module}.txt").into());
    ProptestConfig {
        cases: CASES,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(path))),
        ..ProptestConfig::default()
    }
}

/// A cap with the given shape.
pub fn cap(
    name: &str,
    scope: Scope,
    target: CapTarget,
    period: Period,
    limit: u64,
    on: OnExhausted,
) -> CapSpec {
    CapSpec {
        name: name.into(),
        scope,
        target,
        period,
        limit_nano_usd: limit,
        on_exhausted: on,
    }
}

/// A daily cap on each member of `scope`: the shape most of these tests need.
pub fn daily_cap(name: &str, scope: Scope, limit: u64, on: OnExhausted) -> CapSpec {
    cap(name, scope, CapTarget::Each, Period::Day, limit, on)
}

/// Nanoseconds per day.
pub const DAY_NS: u64 = 86_400_000_000_000;
