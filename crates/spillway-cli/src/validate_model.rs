//! `spillway validate-model`: the simulator against queueing theory (M/M/1, M/D/1, M/G/1,
//! M/M/c); prints a summary and writes the evidence to `reports/fidelity.md`.

use crate::Failure;
use crate::stdout::outln;
use anyhow::Context;
use clap::Args;
use spillway_report::AtomicFile;
use spillway_sim::fidelity::{
    CaseResult, DEFAULT_REPLICATIONS, RunPlan, ValidationCase, load_cases, render_markdown,
    run_case,
};
use spillway_sim::scenario::Scenario;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Where the validation scenarios live, relative to the working directory.
const CASES_DIR: &str = "scenarios/validation";
/// Fewest requests per replication: below it the empty start dominates the mean.
const MIN_REQUESTS_PER_REPLICATION: u64 = 500;

/// Arguments of `validate-model`.
#[derive(Args)]
pub struct ValidateModelArgs {
    /// Validation scenarios to run (default: every `.yaml` in scenarios/validation/, by name).
    cases: Vec<PathBuf>,
    /// Where to write the Markdown report.
    #[arg(long, default_value = "reports/fidelity.md")]
    out: PathBuf,
    /// Expected arrivals per case, over all replications. The default (5,000,000, about 10 s
    /// for all cases in a release build) narrows the intervals to about ±1 %.
    #[arg(long, default_value_t = 5_000_000)]
    requests: u64,
    /// Independent replications per case; the confidence interval comes from their means.
    #[arg(long, default_value_t = DEFAULT_REPLICATIONS,
          value_parser = clap::value_parser!(u32).range(2..=1000))]
    replications: u32,
}

/// Run the command: exit 2 if a case cannot be validated (e.g. ρ ≥ 1), 1 if theory falls
/// outside a measured interval (the simulator drifted), 0 otherwise.
pub fn run(args: &ValidateModelArgs) -> Result<(), Failure> {
    let plan = RunPlan {
        requests: args.requests,
        replications: args.replications,
    };
    let floor = MIN_REQUESTS_PER_REPLICATION * u64::from(plan.replications);
    if plan.requests < floor {
        return Err(Failure::BadInput(format!(
            "--requests {} is too few for {} replications: at least {floor} ({} each)",
            plan.requests, plan.replications, MIN_REQUESTS_PER_REPLICATION
        )));
    }
    // Every case and the report's path are checked before any runs, so bad input costs no
    // simulation time.
    let cases = case_files(&args.cases)?
        .iter()
        .map(|path| load_cases(path).map_err(|e| Failure::BadInput(e.to_string())))
        .collect::<Result<Vec<(Scenario, Vec<ValidationCase>)>, _>>()?;
    let cases: Vec<(&Scenario, &ValidationCase)> = cases
        .iter()
        .flat_map(|(scenario, cases)| cases.iter().map(move |case| (scenario, case)))
        .collect();
    // Each case generates about `--requests` arrivals: the bound every command keeps.
    let what = format!("its {} cases (--requests each)", cases.len());
    spillway_sim::scenario::work::check_events(plan.requests as f64 * cases.len() as f64, &what)
        .map_err(|m| Failure::BadInput(format!("--requests {}: {m}", plan.requests)))?;
    prepare_out(&args.out)?;
    let mut results = Vec::with_capacity(cases.len());
    for (scenario, case) in cases {
        eprintln!(
            "{}: {} ({} requests, {} replications)",
            case.file.display(),
            case.model(),
            plan.requests,
            plan.replications
        );
        results
            .push(run_case(scenario, case, &plan).map_err(|e| Failure::BadInput(e.to_string()))?);
    }
    write_report(&args.out, &render_markdown(&results, &command(args)))?;
    print_summary(&results);
    outln!("wrote {}", args.out.display());
    let drifted: Vec<&str> = results
        .iter()
        .filter(|r| !r.agrees())
        .map(|r| r.case.name.as_str())
        .collect();
    if drifted.is_empty() {
        Ok(())
    } else {
        Err(anyhow::anyhow!(
            "theory lies outside the measured interval for: {}",
            drifted.join(", ")
        )
        .into())
    }
}

/// The given files, or every `.yaml` of [`CASES_DIR`] sorted by name.
fn case_files(given: &[PathBuf]) -> Result<Vec<PathBuf>, Failure> {
    if !given.is_empty() {
        return Ok(given.to_vec());
    }
    let entries = std::fs::read_dir(CASES_DIR).map_err(|e| {
        Failure::BadInput(format!(
            "cannot read {CASES_DIR}/: {e} (run from the workspace root, or name the cases)"
        ))
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(Failure::BadInput(format!("no .yaml case in {CASES_DIR}/")));
    }
    Ok(files)
}

/// The command line, as written in the report (without `--out`, so the report's bytes do not
/// depend on where it is written).
fn command(args: &ValidateModelArgs) -> String {
    let mut text = format!(
        "spillway validate-model --requests {} --replications {}",
        args.requests, args.replications
    );
    for case in &args.cases {
        text.push(' ');
        text.push_str(&case.display().to_string());
    }
    text
}

/// Refuse an `--out` that is a directory and create its parent: the report is written after
/// every case ran, too late to find that out.
fn prepare_out(out: &Path) -> Result<(), Failure> {
    if out.is_dir() {
        return Err(Failure::BadInput(format!(
            "--out {} is a directory; name the report file (e.g. {})",
            out.display(),
            out.join("fidelity.md").display()
        )));
    }
    if let Some(dir) = out.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            Failure::BadInput(format!("cannot create directory {}: {e}", dir.display()))
        })?;
    }
    Ok(())
}

fn write_report(out: &Path, markdown: &str) -> Result<(), Failure> {
    let mut file = AtomicFile::create(out)
        .map_err(|e| Failure::BadInput(format!("cannot write {}: {e}", out.display())))?;
    file.write_all(markdown.as_bytes())
        .with_context(|| format!("writing {}", out.display()))?;
    file.commit()
        .with_context(|| format!("writing {}", out.display()))?;
    Ok(())
}

fn print_summary(results: &[CaseResult]) {
    outln!(
        "{:<28} {:<6} {:>12} {:>12} {:>9} {:>10} {:>10}  verdict",
        "case",
        "model",
        "theory_ms",
        "measured_ms",
        "error",
        "tolerance",
        "samples"
    );
    for r in results {
        let theory = r.case.theory_wait_s;
        outln!(
            "{:<28} {:<6} {:>12.3} {:>12.3} {:>8.2}% {:>9.2}% {:>10}  {}",
            r.case.name,
            r.case.model(),
            theory * 1e3,
            r.wait_s.mean * 1e3,
            r.wait_error_pct(),
            r.wait_s.half_width_pct_of(theory),
            r.samples,
            if r.agrees() { "ok" } else { "DRIFT" }
        );
    }
}
