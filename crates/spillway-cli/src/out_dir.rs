//! The default output directory of a run, `reports/<scenario name><suffix>/`.

use crate::Failure;
use spillway_sim::scenario::{PLAIN_NAME_RULE, is_plain_name};
use std::path::{Path, PathBuf};

/// `reports/<name><suffix>/`, for a run without `--out`. A `name:` was checked when the
/// scenario was read; a scenario without one is named by its file stem, which no one checked:
/// a file `..yaml` (stem `.`) would write into `reports/` itself. The same rule applies to the
/// stem here, where `--out` is known to be absent. The name is not echoed (it may hold a
/// control character).
pub fn default_out(scenario_file: &Path, name: &str, suffix: &str) -> Result<PathBuf, Failure> {
    if !is_plain_name(name) {
        return Err(Failure::BadInput(format!(
            "{}:1:1: name: the scenario has no `name:`, and its file name cannot be the default \
             output directory (reports/<name>/): {PLAIN_NAME_RULE}; add `name: …` to the \
             scenario or pass `--out DIR`",
            scenario_file.display()
        )));
    }
    Ok(Path::new("reports").join(format!("{name}{suffix}")))
}
