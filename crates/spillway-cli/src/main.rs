//! `spillway`: compare LLM gateway policies on simulated traffic before they meet production.
//!
//! The error boundary lives here: library errors are typed; this binary turns them into a
//! message and an exit code (0 ok, 1 runtime failure, 2 bad input).

#![forbid(unsafe_code)]
// Clap shows the arguments' doc comments as `--help`, where `<scenario name>` is a placeholder
// the user reads as such; rustdoc alone would take it for an HTML tag.
#![allow(rustdoc::invalid_html_tags)]

mod compare;
mod emulate;
mod inspect_headers;
mod load;
mod out_dir;
mod output;
mod policy_merge;
mod progress;
mod report_cmd;
mod serve;
mod simulate;
mod stdout;
mod sweep;
mod trace_check;
mod validate;
mod validate_model;
mod yaml_set;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Rate limiting and API management for LLM gateways, measured in a deterministic simulator.
#[derive(Parser)]
#[command(name = "spillway", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Bound on the traffic events a run may generate, over all its policies (default 2e9,
    /// about half an hour of simulation); scenarios over it are refused, with the estimate.
    /// For the commands that read scenarios (simulate, compare, sweep, load, validate,
    /// validate-model); other commands ignore it.
    #[arg(long, global = true, value_name = "N")]
    max_events: Option<u64>,
    /// Bound on timeseries.csv rows a run may write (default 5e6, about 320 MB). For the
    /// commands that read scenarios (simulate, compare, sweep, load, validate,
    /// validate-model); other commands ignore it.
    #[arg(long, global = true, value_name = "N")]
    max_rows: Option<u64>,
}

#[derive(Subcommand)]
enum Command {
    /// Run every policy of a scenario on the same traffic; print a comparison table and write
    /// the CSVs, charts (plots/) and report.html.
    Simulate(simulate::SimulateArgs),
    /// Like simulate, with extra policies from other files run on the same traffic.
    Compare(compare::CompareArgs),
    /// Rebuild the charts and report.html of a run directory from its CSVs alone.
    Report(report_cmd::ReportArgs),
    /// Run every policy on every combination of `--set path=v1,v2` values; write sweep.csv
    /// and, for one numeric parameter, headline charts.
    Sweep(sweep::SweepArgs),
    /// Check a scenario file (and the trace it replays, read as simulate reads it), a policy
    /// file for serve (scenarios/policies/gateway.yaml), a provider profile library
    /// (scenarios/providers.yaml) or a model catalogue (scenarios/models.yaml), and print
    /// every error found (exit 2 if any).
    Validate {
        /// The file to check (YAML): scenario, policy file, provider library or model catalogue.
        scenario: PathBuf,
    },
    /// Read response header lines on stdin; print the parsed rate-limit snapshot as JSON.
    #[command(long_about = inspect_headers::LONG_ABOUT)]
    InspectHeaders(inspect_headers::InspectHeadersArgs),
    /// Check the simulator against queueing theory (M/M/1, M/D/1, M/G/1, M/M/c) on the
    /// scenarios of scenarios/validation/ and write reports/fidelity.md.
    ValidateModel(validate_model::ValidateModelArgs),
    /// Serve HTTP as a provider of the provider library (OpenAI / Anthropic shapes), with the
    /// simulator's limits, headers, latency and failures, until Ctrl-C.
    #[command(long_about = emulate::LONG_ABOUT)]
    Emulate(emulate::EmulateArgs),
    /// Serve a policy of a scenario or policy file as an OpenAI-compatible gateway (rate limits,
    /// priority queue, retries, failover) in front of an upstream, until Ctrl-C.
    #[command(long_about = serve::LONG_ABOUT)]
    Serve(serve::ServeArgs),
    /// Replay a scenario's traffic for real against an OpenAI-compatible endpoint and write
    /// the same files as simulate from what came back.
    #[command(long_about = load::LONG_ABOUT)]
    Load(load::LoadArgs),
}

/// How a command failed: decides the exit code.
pub enum Failure {
    /// The user's input is wrong (exit 2).
    BadInput(String),
    /// Something failed while running (exit 1).
    Runtime(anyhow::Error),
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Runtime(e)
    }
}

/// SIGINT/SIGTERM: remove the `.part` files being written, say so, exit 130 (the shell's
/// convention for an interrupted command). Committed outputs of finished files stay.
fn remove_partial_outputs_on_interrupt() {
    let installed = ctrlc::set_handler(|| {
        eprintln!("interrupted: partial output files removed");
        spillway_report::remove_partial_files(Some(130));
    });
    if let Err(e) = installed {
        eprintln!("warning: cannot handle interrupts ({e}); a Ctrl-C may leave .part files");
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(max) = cli.max_events {
        spillway_sim::scenario::work::set_max_events(max);
    }
    if let Some(max) = cli.max_rows {
        spillway_sim::scenario::work::set_max_rows(max);
    }
    if !matches!(
        cli.command,
        Command::Emulate(_) | Command::Load(_) | Command::Serve(_)
    ) {
        // `emulate`, `load` and `serve` shut down gracefully through tokio's own signal
        // handling instead (`load` then writes what it observed; `serve` drains in flight).
        remove_partial_outputs_on_interrupt();
    }
    let result = match cli.command {
        Command::Simulate(args) => simulate::run(&args),
        Command::Validate { scenario } => validate::run(&scenario),
        Command::InspectHeaders(args) => inspect_headers::run(&args),
        Command::Compare(args) => compare::run(&args),
        Command::Report(args) => report_cmd::run(&args),
        Command::Sweep(args) => sweep::run(&args),
        Command::ValidateModel(args) => validate_model::run(&args),
        Command::Emulate(args) => emulate::run(&args),
        Command::Serve(args) => serve::run(&args),
        Command::Load(args) => load::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::BadInput(message)) => {
            eprintln!("{message}");
            ExitCode::from(2)
        }
        Err(Failure::Runtime(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
