//! `--profile NAME|FILE`: which provider to impersonate, resolved with the scenario loader so
//! errors are the same located `file:line:col: field: message` as `simulate` gives.
//!
//! - `NAME`: a profile of the library (`--library`, default `scenarios/providers.yaml`).
//! - `FILE` (an existing file, or a name ending `.yaml`/`.yml`): a library with exactly one
//!   profile, or a scenario, whose `provider:` block is used with its outages and shared quota.

use spillway_core::input_file::{MAX_TEXT_BYTES, read_text};
use spillway_sim::provider::ProviderSpec;
use spillway_sim::scenario::provider::load_library;
use spillway_sim::scenario::{ScenarioError, ScenarioErrors};
use std::path::Path;

/// The library `--profile NAME` looks in by default (relative to the working directory).
pub const DEFAULT_LIBRARY: &str = "scenarios/providers.yaml";

/// The provider `profile` names (see the module docs).
pub fn resolve(profile: &str, library: &Path) -> Result<ProviderSpec, ScenarioErrors> {
    let as_path = Path::new(profile);
    let looks_like_file = as_path.is_file()
        || matches!(
            as_path.extension().and_then(|e| e.to_str()),
            Some("yaml" | "yml")
        );
    if looks_like_file {
        return from_file(as_path);
    }
    let profiles = load_library(library)?;
    match profiles.get(profile) {
        Some(spec) => Ok(spec.clone()),
        None => {
            let names: Vec<&str> = profiles.keys().map(String::as_str).collect();
            Err(one(
                library,
                format!(
                    "no profile `{profile}` in this library (--profile); profiles are: {}",
                    names.join(", ")
                ),
            ))
        }
    }
}

/// A file holding one profile (`profiles:` with one entry) or a scenario.
fn from_file(path: &Path) -> Result<ProviderSpec, ScenarioErrors> {
    // Bounded, regular files only: a named pipe would block `open`, `/dev/zero` never ends.
    let text = read_text(path, MAX_TEXT_BYTES)
        .map_err(|e| one(path, format!("cannot read the profile file: {e}")))?;
    let is_library = text.lines().any(|l| l.starts_with("profiles:"));
    if !is_library {
        return spillway_sim::scenario::load(path).map(|s| s.provider);
    }
    let profiles = load_library(path)?;
    let mut specs = profiles.into_values();
    match (specs.next(), specs.next()) {
        (Some(spec), None) => Ok(spec),
        (None, _) => Err(one(path, "the library has no profile".to_string())),
        (Some(_), Some(_)) => Err(one(
            path,
            "the library has several profiles: pick one with `--profile NAME --library FILE`"
                .to_string(),
        )),
    }
}

fn one(file: &Path, message: String) -> ScenarioErrors {
    ScenarioErrors(vec![ScenarioError::whole_file(file, message)])
}
