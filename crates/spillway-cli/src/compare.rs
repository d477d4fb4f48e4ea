//! `spillway compare <scenario> --policy FILE...`: the scenario's policies plus policies from
//! other files, all on the scenario's traffic, with the same outputs as `simulate`.

use crate::Failure;
use crate::policy_merge::{check_file, merge};
use crate::simulate::{RunArgs, execute};
use clap::Args;
use std::path::{Path, PathBuf};

/// Arguments of `compare`.
#[derive(Args)]
pub struct CompareArgs {
    /// The scenario file (YAML): its traffic, provider and policies.
    scenario: PathBuf,
    /// A YAML file of extra policies (a `policies:` list, optionally a `layers:` list).
    #[arg(long = "policy", required = true, value_name = "FILE")]
    policies: Vec<PathBuf>,
    #[command(flatten)]
    run: RunArgs,
}

fn read(path: &Path) -> Result<String, Failure> {
    spillway_core::input_file::read_text(path, spillway_core::input_file::MAX_TEXT_BYTES)
        .map_err(|e| Failure::BadInput(format!("{}: cannot read: {e}", path.display())))
}

/// Run the command.
pub fn run(args: &CompareArgs) -> Result<(), Failure> {
    let text = read(&args.scenario)?;
    let extras = args
        .policies
        .iter()
        .map(|p| Ok((p.clone(), read(p)?)))
        .collect::<Result<Vec<_>, Failure>>()?;
    for (path, text) in &extras {
        check_file(path, text).map_err(|e| Failure::BadInput(e.to_string()))?;
    }
    let merged = merge(&text, &extras)
        .map_err(|e| Failure::BadInput(format!("{}: {e}", args.scenario.display())))?;
    let mut scenario = spillway_sim::scenario::parse(&args.scenario, &merged.text)
        .map_err(|e| Failure::BadInput(merged.remap(e, &args.scenario).to_string()))?;
    // The trace's path is located in the merged text; errors about it name the scenario's line.
    if let Some(at) = scenario.trace.as_mut().and_then(|t| t.path_at.as_mut()) {
        at.line = merged.scenario_line(at.line).unwrap_or(at.line);
    }
    let default_out = crate::out_dir::default_out(&args.scenario, &scenario.name, "-compare");
    let label = format!(
        "{} + {}",
        args.scenario.display(),
        args.policies
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(" + ")
    );
    execute(
        &args.run,
        &scenario,
        merged.text.as_bytes(),
        &label,
        default_out,
    )
}
