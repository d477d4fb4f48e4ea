//! `spillway validate`: check a scenario, a standalone policy file (what `spillway serve`
//! reads: layers, policies, money, `serve:`; no traffic), or a library file that scenarios
//! refer to (provider profiles, model catalogue), and print every error found.

use crate::Failure;
use std::path::Path;

/// What kind of YAML file this is, from its top-level keys: libraries have one list key
/// (`profiles:` or `models:`) that no scenario has.
#[derive(Debug, PartialEq, Eq)]
enum FileKind {
    Scenario,
    /// `policies:` without `provider:` or `traffic:` (as `spillway serve` tells them apart).
    PolicyFile,
    ProviderLibrary,
    ModelCatalogue,
}

fn kind_of(text: &str) -> FileKind {
    let top_level = || {
        text.lines()
            .filter(|l| !l.starts_with([' ', '\t', '#', '-']) && !l.is_empty())
    };
    let has = |key: &str| top_level().any(|l| l.starts_with(key));
    if has("policies:") && !has("provider:") && !has("traffic:") {
        return FileKind::PolicyFile;
    }
    for line in top_level() {
        if line.starts_with("profiles:") {
            return FileKind::ProviderLibrary;
        }
        // A catalogue's `models:` holds a list; a scenario's names a file (`models: x.yaml`).
        if line.starts_with("models:") && line["models:".len()..].trim().is_empty() {
            return FileKind::ModelCatalogue;
        }
    }
    FileKind::Scenario
}

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
            println!(
                "ok: {} (provider library, {} profiles: {})",
                path.display(),
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
            println!(
                "ok: {} (model catalogue, {} models: {}; {} ladders)",
                path.display(),
                names.len(),
                names.join(", "),
                file.ladders.len()
            );
        }
        FileKind::PolicyFile => {
            let file = spillway_core::policy::parse(path, &text).map_err(|e| bad_input(e, path))?;
            let policies: Vec<&str> = file.policies.iter().map(|p| p.name.as_str()).collect();
            println!(
                "ok: {} (policy file, {}: {})",
                path.display(),
                crate::output::count(policies.len(), "policy", "policies"),
                policies.join(", ")
            );
        }
        FileKind::Scenario => {
            let scenario = spillway_sim::scenario::load(path).map_err(|e| bad_input(e, path))?;
            let policies: Vec<&str> = scenario.policies.iter().map(|p| p.name.as_str()).collect();
            println!(
                "ok: {} ({}, {}: {})",
                path.display(),
                crate::output::count(scenario.groups.len(), "group", "groups"),
                crate::output::count(policies.len(), "policy", "policies"),
                policies.join(", ")
            );
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libraries_are_recognised_by_their_top_level_key() {
        assert_eq!(
            kind_of("# x\ndescription: d\nprofiles:\n  - name: a\n"),
            FileKind::ProviderLibrary
        );
        assert_eq!(
            kind_of("name: s\nprovider:\n  profile: a\n"),
            FileKind::Scenario
        );
        assert_eq!(
            kind_of("models:\n  - name: gpt-4o\n"),
            FileKind::ModelCatalogue
        );
        assert_eq!(
            kind_of("layers: []\npolicies:\n  - name: p\n"),
            FileKind::PolicyFile
        );
        assert_eq!(
            kind_of("provider:\n  rpm: 1\npolicies:\n  - name: p\n"),
            FileKind::Scenario,
            "a scenario has policies too"
        );
        assert_eq!(
            kind_of("name: s\nmodels: models.yaml\n"),
            FileKind::Scenario,
            "a scenario naming its catalogue is still a scenario"
        );
    }
}
