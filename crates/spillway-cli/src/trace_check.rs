//! Reading a scenario's trace once before anything runs: `simulate`, `load` and `validate`
//! make the same check and print the same errors, so a scenario `validate` accepts does not
//! then fail in `simulate` on its trace.

use crate::Failure;
use spillway_core::Time;
use spillway_sim::traffic::trace::{TraceError, TraceSpec, TraceStats, survey};

/// Replay `spec` as a run of `duration` with `seed` would and return its statistics. A file
/// that is missing or unreadable is reported at the scenario's `traffic.trace.path` (or at
/// `--trace` when the flag replaced it), the field the user has to fix; a bad row or header
/// is reported at its line of the trace file.
pub fn survey_trace(
    spec: &TraceSpec,
    seed: u64,
    duration: spillway_core::Duration,
) -> Result<TraceStats, Failure> {
    let horizon = Time::ZERO.saturating_add(duration);
    survey(spec, seed, horizon).map_err(|e| Failure::BadInput(located(spec, &e)))
}

/// The message of `e`, located at the field that named the file when the file itself failed.
fn located(spec: &TraceSpec, e: &TraceError) -> String {
    if !matches!(e, TraceError::NotFound { .. } | TraceError::Io { .. }) {
        return e.to_string();
    }
    match &spec.path_at {
        Some(at) => format!(
            "{}:{}:{}: traffic.trace.path: {e}",
            at.file.display(),
            at.line,
            at.column
        ),
        None => format!("--trace: {e}"),
    }
}
