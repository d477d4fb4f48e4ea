//! `spillway report DIR`: rebuild the charts and `report.html` of a run from its CSVs alone.

use crate::Failure;
use crate::stdout::outln;
use clap::Args;
use std::path::PathBuf;

/// Arguments of `report`.
#[derive(Args)]
pub struct ReportArgs {
    /// A directory written by `simulate` (holding summary.csv, timeseries.csv, ...).
    dir: PathBuf,
}

/// Turn a report error into an exit code: bad or missing input is 2, anything else 1.
pub fn failure(e: spillway_report::ReportError) -> Failure {
    if e.is_bad_input() {
        Failure::BadInput(format!("error: {e}"))
    } else {
        Failure::Runtime(anyhow::Error::new(e))
    }
}

/// Run the command.
pub fn run(args: &ReportArgs) -> Result<(), Failure> {
    let report = spillway_report::write_report(&args.dir).map_err(failure)?;
    for warning in &report.warnings {
        eprintln!("warning: {warning}");
    }
    for note in &report.notes {
        eprintln!("note: {note}");
    }
    let plots = report
        .files
        .iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "png"))
        .count();
    outln!(
        "wrote {} and {plots} charts (PNG + SVG) in {}",
        args.dir.join("report.html").display(),
        args.dir.join("plots").display()
    );
    Ok(())
}
