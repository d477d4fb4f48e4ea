//! Why a validation case cannot be checked against queueing theory.

use crate::scenario::ScenarioErrors;
use std::path::PathBuf;

/// A validation case that cannot be run or compared; every variant names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FidelityError {
    /// The file is not a valid scenario at all.
    #[error("{0}")]
    Scenario(#[from] ScenarioErrors),
    /// A valid scenario, but not one of the textbook queues (see [`super::case_of`]).
    #[error("{file}: not a queueing-theory validation case: {reason}")]
    NotACase {
        /// The scenario file.
        file: PathBuf,
        /// What makes it differ from a textbook queue, and what to change.
        reason: String,
    },
    /// ρ ≥ 1: the queue grows without bound, so there is no steady-state wait to compare.
    #[error(
        "{file}: utilisation ρ = λ·E[S]/c = {arrival_rate_per_s}/s × {mean_service_ms:.3} ms / {servers} = {utilisation:.4} ≥ 1: \
         arrivals outpace service, the queue grows without bound and there is no steady state to \
         compare with queueing theory; lower the arrival rate or add servers (validation cases \
         should keep ρ between 0.5 and 0.8)"
    )]
    Unstable {
        /// The scenario file.
        file: PathBuf,
        /// λ, requests per second.
        arrival_rate_per_s: f64,
        /// E\[S\] in milliseconds.
        mean_service_ms: f64,
        /// c.
        servers: u64,
        /// ρ.
        utilisation: f64,
    },
    /// The simulation did not produce a clean sample (nothing measured, requests left over,
    /// shed or failed, or the policy could not be built).
    #[error("{file}: {reason}")]
    Run {
        /// The scenario file.
        file: PathBuf,
        /// What went wrong.
        reason: String,
    },
}
