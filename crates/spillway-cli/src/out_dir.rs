//! The default output directory of a run, `reports/<scenario name><suffix>/`.

use crate::Failure;
use spillway_core::policy::LocatedError;
use spillway_sim::scenario::{PLAIN_NAME_RULE, is_plain_name};
use std::path::{Path, PathBuf};

/// `reports/<name><suffix>/`, for a run without `--out`. A `name:` was checked when the
/// scenario was read; a scenario without one is named by its file stem, which no one checked:
/// a file `..yaml` (stem `.`) would write into `reports/` itself. The same rule applies to the
/// stem here, where `--out` is known to be absent. The name is not echoed, and the file's path
/// is shown as every located error shows it (control characters escaped).
pub fn default_out(scenario_file: &Path, name: &str, suffix: &str) -> Result<PathBuf, Failure> {
    if let Some(why) = unnamed_stem(scenario_file, name) {
        return Err(Failure::BadInput(format!(
            "{why}; add `name: …` to the scenario or pass `--out DIR`"
        )));
    }
    Ok(Path::new("reports").join(format!("{name}{suffix}")))
}

/// The run's output directory: `--out` if given, else [`default_out`].
pub fn chosen(
    out: Option<&Path>,
    scenario_file: &Path,
    name: &str,
    suffix: &str,
) -> Result<PathBuf, Failure> {
    match out {
        Some(out) => Ok(out.to_path_buf()),
        None => default_out(scenario_file, name, suffix),
    }
}

/// What `validate` says of a scenario the runs would refuse without `--out` (see
/// [`default_out`]): a warning, not an error, for with `--out DIR` the file runs as it is.
pub fn stem_warning(scenario_file: &Path, name: &str) -> Option<String> {
    unnamed_stem(scenario_file, name).map(|why| {
        format!(
            "warning: {why}; add `name: …` to the scenario, or give simulate, compare, sweep \
             and load `--out DIR` (it runs with one)"
        )
    })
}

/// Why `name` (a file stem: a `name:` was checked when read) cannot name the default output
/// directory, located where the missing `name:` would go; `None` when it can.
fn unnamed_stem(scenario_file: &Path, name: &str) -> Option<String> {
    (!is_plain_name(name)).then(|| {
        LocatedError {
            file: scenario_file.to_path_buf(),
            line: 1,
            column: 1,
            field: "name".into(),
            message: format!(
                "the scenario has no `name:`, and its file name cannot be the default output \
                 directory (reports/<name>/): {PLAIN_NAME_RULE}"
            ),
        }
        .to_string()
    })
}
