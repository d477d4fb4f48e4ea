//! Integration tests of the simulator: scenario errors, determinism, conservation.

mod bad_input;
mod bad_schedule;
mod budget;
mod distributed;
mod fidelity;
mod fuzz;
mod key_rotation;
mod missing_field;
mod policy_file;
mod provider_profiles;
mod provider_runs;
mod providers;
mod runs;
mod scheduling;
mod team;
mod trace;
mod upstream;

use std::path::{Path, PathBuf};

/// The workspace root (scenarios/ lives there).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A small valid scenario; tests break one thing at a time.
pub const BASE: &str = "\
seed: 1
duration: 30s
provider:
  name: p
  rpm: 60
  tpm: 100000
  concurrency: 4
  latency: { base: 100ms, per_output_token: 1ms }
  price: { input_usd_per_mtok: 0.15, output_usd_per_mtok: 0.6 }
traffic:
  groups:
    - name: chat
      users: 20
      class: interactive
      arrival:
        poisson: { rate: 6/min }
      input_tokens: { median: 100, sigma: 0.5, max: 1000 }
      output_tokens: { median: 50, sigma: 0.5, max: 500 }
layers:
  - name: per-user
    scope: user
    algorithm: token-bucket
    limit: 3
    per: 1m
policies:
  - name: tb
    layers: [per-user]
";
