//! Property tests of the limiters' contracts: rate bounds, exact `retry_at`, no panics on any
//! input, check-then-commit, reserve/settle, bounded keyed memory, and a differential test
//! against governor. Every proptest runs at least [`CASES`] cases; failure seeds are kept in
//! `proptest-regressions/`.

mod bounds;
mod differential;
mod exact;
mod gcra_refund;
mod keyed;
mod layered;
mod models;
mod settle;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use spillway_core::limit::{Algorithm, LimitSpec};
use spillway_core::{Duration, Time};

/// Cases per property (at least 256).
pub const CASES: u32 = 512;

/// The config of every property in module `module`: [`CASES`] cases, failures persisted in
/// `proptest-regressions/limits-<module>.txt` at the package root (cargo runs integration
/// tests there), which is kept under version control.
pub fn config(module: &str) -> ProptestConfig {
    let path: &'static str = Box::leak(format!("proptest-regressions/limits-{module}.txt").into());
    ProptestConfig {
        cases: CASES,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(path))),
        ..ProptestConfig::default()
    }
}

/// Time of the first request: far from the origin, so "before the first window" is covered.
const START_NS: u64 = 1_000_000_000;

/// Any of the four algorithms.
pub fn algorithm() -> impl Strategy<Value = Algorithm> {
    prop_oneof![
        Just(Algorithm::TokenBucket),
        Just(Algorithm::SlidingLog),
        Just(Algorithm::SlidingCounter),
        Just(Algorithm::FixedWindow),
    ]
}

/// A small valid spec of `algorithm` (limits small enough that requests are often denied).
pub fn spec_of(algorithm: Algorithm) -> impl Strategy<Value = LimitSpec> {
    (1u64..50, 1u64..5_000, proptest::option::of(1u64..80)).prop_map(
        move |(limit, window_ms, burst)| LimitSpec {
            algorithm,
            limit,
            window: Duration::from_millis(window_ms),
            burst: burst.filter(|_| algorithm == Algorithm::TokenBucket),
        },
    )
}

/// A small valid spec of any algorithm.
pub fn spec() -> impl Strategy<Value = LimitSpec> {
    algorithm().prop_flat_map(spec_of)
}

/// Requests as (gap to the previous one in µs, cost).
pub fn requests() -> impl Strategy<Value = Vec<(u64, u64)>> {
    prop::collection::vec((0u64..400_000, 1u64..8), 1..200)
}

/// Absolute, non-decreasing request times from gaps.
pub fn times(reqs: &[(u64, u64)]) -> Vec<(Time, u64)> {
    let mut t = START_NS;
    reqs.iter()
        .map(|&(gap_us, cost)| {
            t += gap_us * 1_000;
            (Time::from_nanos(t), cost)
        })
        .collect()
}

/// Total cost of `admitted` (sorted by time) in `[lo, hi)`, from prefix sums.
pub fn sum_in(admitted: &[(u64, u64)], prefix: &[u128], lo: u64, hi: u64) -> u128 {
    let a = admitted.partition_point(|&(t, _)| t < lo);
    let b = admitted.partition_point(|&(t, _)| t < hi);
    prefix[b] - prefix[a.min(b)]
}

/// Prefix sums of the costs of `admitted`: `prefix[i]` = total of the first `i`.
pub fn prefix_sums(admitted: &[(u64, u64)]) -> Vec<u128> {
    std::iter::once(0)
        .chain(admitted.iter().scan(0u128, |acc, &(_, c)| {
            *acc += u128::from(c);
            Some(*acc)
        }))
        .collect()
}
