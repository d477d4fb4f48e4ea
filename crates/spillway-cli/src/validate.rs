//! `spillway validate`: check a scenario, a standalone policy file (what `spillway serve`
//! reads: layers, policies, money, `serve:`; no traffic), or a library file that scenarios
//! refer to (provider profiles, model catalogue), and print every error found.

use crate::Failure;
use crate::stdout::outln;
use spillway_core::policy::shown_path;
use spillway_core::policy::{FileKind, kind_of};
use std::path::Path;

fn bad_input(e: spillway_sim::scenario::ScenarioErrors, path: &Path) -> Failure {
    let n = e.0.len();
    Failure::BadInput(format!(
        "{e}\n{n} error{} in {}",
        if n == 1 { "" } else { "s" },
        path.display()
    ))
}

/// Run the command.
pub fn run(path: &Path) -> Result<(), Failure> {
    let text =
        spillway_core::input_file::read_text(path, spillway_core::input_file::MAX_TEXT_BYTES)
            .map_err(|e| Failure::BadInput(format!("{}: cannot read: {e}", path.display())))?;
    match kind_of(&text) {
        FileKind::ProviderLibrary => {
            let profiles = spillway_sim::scenario::provider::load_library(path)
                .map_err(|e| bad_input(e, path))?;
            let names: Vec<&str> = profiles.keys().map(String::as_str).collect();
            outln!(
                "ok: {} (provider library, {} profiles: {})",
                shown_path(path),
                names.len(),
                names.join(", ")
            );
        }
        FileKind::ModelCatalogue => {
            let file = spillway_sim::scenario::models::load_models(path)
                .map_err(|e| bad_input(e, path))?;
            let names: Vec<&str> = file
                .catalogue
                .iter()
                .map(|(_, m)| m.name.as_str())
                .collect();
            outln!(
                "ok: {} (model catalogue, {} models: {}; {} ladders)",
                shown_path(path),
                names.len(),
                names.join(", "),
                file.ladders.len()
            );
        }
        FileKind::PolicyFile => {
            let file = spillway_core::policy::parse(path, &text).map_err(|e| bad_input(e, path))?;
            let policies: Vec<&str> = file.policies.iter().map(|p| p.name.as_str()).collect();
            outln!(
                "ok: {} (policy file, {}: {})",
                shown_path(path),
                crate::output::count(policies.len(), "policy", "policies"),
                policies.join(", ")
            );
        }
        FileKind::Scenario => {
            let scenario = spillway_sim::scenario::load(path).map_err(|e| bad_input(e, path))?;
            if let Some(spec) = &scenario.trace {
                // What `simulate` reads before it runs: a scenario whose trace is missing,
                // unreadable or malformed is not OK.
                crate::trace_check::survey_trace(
                    spec,
                    scenario.seed,
                    scenario.duration,
                    crate::trace_check::TraceFlag::Absent,
                )?;
            }
            if let Some(warning) = crate::out_dir::stem_warning(path, &scenario.name) {
                eprintln!("{warning}");
            }
            let policies: Vec<&str> = scenario.policies.iter().map(|p| p.name.as_str()).collect();
            outln!(
                "ok: {} ({}, {}: {})",
                shown_path(path),
                crate::output::count(scenario.groups.len(), "group", "groups"),
                crate::output::count(policies.len(), "policy", "policies"),
                policies.join(", ")
            );
        }
    }
    Ok(())
}
