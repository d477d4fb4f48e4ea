//! Integration tests of `spillway_core::upstream::headers`: the shared real-header corpus
//! (`../shared/provider-headers.txt`, every line a typed value or a typed error, trailing-comment
//! meanings asserted), and property tests: no panic on any bytes, exact round trips of every
//! format, lenient/strict agreement. Failure seeds are kept in `proptest-regressions/`.

mod corpus;
mod formats;
mod mutation;
mod robustness;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// Cases per property (the arbitrary-bytes properties use [`FUZZ_CASES`]).
pub const CASES: u32 = 512;
/// Cases for the "never panics on arbitrary input" properties.
pub const FUZZ_CASES: u32 = 2_000;

/// `cases` cases, failures persisted in `proptest-regressions/headers-<module>.txt` at the
/// package root (cargo runs integration tests there), which is kept under version control.
pub fn config(module: &str, cases: u32) -> ProptestConfig {
    let path: &'static str = Box::leak(format!("proptest-regressions/headers-{module}.txt").into());
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(path))),
        ..ProptestConfig::default()
    }
}
