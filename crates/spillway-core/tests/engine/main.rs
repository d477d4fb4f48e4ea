//! Property tests of `spillway_core::engine` over random sequences of requests, responses
//! (200, 429 with Retry-After, 5xx), completions, cancels and the passing of time: nothing is
//! sent before a Retry-After; every accepted request leaves exactly once (and a refused one
//! never); after draining, no limiter reservation or budget hold is left. Failure seeds are
//! kept in `proptest-regressions/engine-<module>.txt`.

mod billed;
mod bound;
mod client_errors;
mod fallback;
mod freed_slot;
mod gate;
mod headroom;
mod held;
mod hints;
mod key_at_dispatch;
mod lifecycle;
mod long_hint;
mod parts;
mod plain;
mod shared_gate;
mod timers;
mod unanswered;

use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;

/// `cases` cases, failures persisted in `proptest-regressions/engine-<module>.txt` at the
/// package root (cargo runs integration tests there), which is kept under version control.
pub fn config(module: &str, cases: u32) -> ProptestConfig {
    let path: &'static str = Box::leak(format!("proptest-regressions/engine-{module}.txt").into());
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(path))),
        ..ProptestConfig::default()
    }
}

/// The engine can move into a server task: it is `Send` whenever its parts are.
#[test]
fn the_engine_is_send() {
    fn send<T: Send>() {}
    send::<
        spillway_core::engine::Engine<
            u64,
            spillway_core::limit::Layered,
            spillway_core::engine::NoSpend,
            rand_chacha::ChaCha8Rng,
        >,
    >();
}
