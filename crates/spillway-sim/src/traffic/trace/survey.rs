//! One full pass over a trace before any policy runs: fail early on bad input, and measure
//! what the replay will offer (the fidelity figures written to `trace.csv`).

use super::error::TraceError;
use super::source::{TraceSource, stats_alignment};
use super::spec::TraceSpec;
use super::stats::{StatsBuilder, TraceStats};
use spillway_core::Time;

/// Replay `spec` exactly as a run would (same seed, same horizon) and return its statistics,
/// or the first error that would stop it.
pub fn survey(spec: &TraceSpec, seed: u64, horizon: Time) -> Result<TraceStats, TraceError> {
    let mut source = TraceSource::new(spec, seed, horizon);
    let Some(first) = source.next_arrival()? else {
        return Ok(StatsBuilder::new(0).finish(source.skipped()));
    };
    let mut stats = StatsBuilder::new(stats_alignment(&source, spec.speedup));
    stats.add(&first);
    while let Some(a) = source.next_arrival()? {
        stats.add(&a);
    }
    Ok(stats.finish(source.skipped()))
}
