//! Integration tests of the upstream client parts of `spillway_core::upstream`: every backoff
//! delay within its strategy's bounds (checked against independent formulas), no send before a
//! Retry-After, the breaker's full transition table, escalation at exactly the threshold, the
//! retry budget never above its ratio, and headroom never permitting a send the modelled quota
//! cannot cover. Failure seeds are kept in `proptest-regressions/upstream-<module>.txt`.

mod backoff;
mod breaker;
mod budget;
mod escalation;
mod failover;
mod headroom;
mod provider;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

/// Cases per property.
pub const CASES: u32 = 512;

/// `cases` cases, failures persisted in `proptest-regressions/upstream-<module>.txt` at the
/// package root (cargo runs integration tests there), which is kept under version control.
pub fn config(module: &str, cases: u32) -> ProptestConfig {
    let path: &'static str =
        Box::leak(format!("proptest-regressions/upstream-{module}.txt").into());
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(path))),
        ..ProptestConfig::default()
    }
}

/// The seeded, portable RNG the simulator hands in (one stream per concern).
pub fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}
