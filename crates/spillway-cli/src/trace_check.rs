//! Reading a scenario's trace once before anything runs: `simulate`, `load` and `validate`
//! make the same check and print the same errors, so a scenario `validate` accepts does not
//! then fail in `simulate` on its trace.

use crate::Failure;
use spillway_core::Time;
use spillway_core::policy::LocatedError;
use spillway_sim::traffic::trace::{TraceError, TraceSpec, TraceStats, survey};

/// Whether the command has `--trace PATH` (`simulate`, `compare`), which a missing trace's
/// message then offers beside `traffic.trace.path`; `validate`, `sweep` and `load` do not.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TraceFlag {
    /// The command has `--trace PATH`.
    Offered,
    /// It has not.
    Absent,
}

/// Replay `spec` as a run of `duration` with `seed` would and return its statistics. A file
/// that is missing or unreadable is reported at the scenario's `traffic.trace.path` (or at
/// `--trace` when the flag replaced it), the field the user has to fix; a bad row or header
/// is reported at its line of the trace file.
pub fn survey_trace(
    spec: &TraceSpec,
    seed: u64,
    duration: spillway_core::Duration,
    flag: TraceFlag,
) -> Result<TraceStats, Failure> {
    let horizon = Time::ZERO.saturating_add(duration);
    survey(spec, seed, horizon).map_err(|e| Failure::BadInput(located(spec, &e, flag)))
}

/// The message of `e`, located at the field that named the file when the file itself failed.
fn located(spec: &TraceSpec, e: &TraceError, flag: TraceFlag) -> String {
    if !matches!(e, TraceError::NotFound { .. } | TraceError::Io { .. }) {
        return e.to_string();
    }
    match &spec.path_at {
        Some(at) => LocatedError {
            file: at.file.clone(),
            line: at.line,
            column: at.column,
            field: "traffic.trace.path".into(),
            message: format!("{e}{}", where_to_point(e, flag)),
        }
        .to_string(),
        // The flag named the file: the location says what to fix.
        None => format!("--trace: {e}"),
    }
}

/// For a missing file named by the scenario: what the user can point at the file, in the words
/// of the command's flags.
fn where_to_point(e: &TraceError, flag: TraceFlag) -> &'static str {
    let TraceError::NotFound { hint, .. } = e else {
        return "";
    };
    match (hint.is_some(), flag) {
        (true, TraceFlag::Offered) => ", then point `traffic.trace.path` or `--trace PATH` at it",
        (true, TraceFlag::Absent) => ", then point `traffic.trace.path` at it",
        (false, TraceFlag::Offered) => "; fix `traffic.trace.path` or pass `--trace PATH`",
        (false, TraceFlag::Absent) => "; fix `traffic.trace.path`",
    }
}
