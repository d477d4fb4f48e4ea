//! `spillway`: compare LLM gateway policies on simulated traffic before they meet production.
//!
//! The error boundary lives here: library errors are typed; this binary turns them into a
//! message and an exit code (0 ok, 1 runtime failure, 2 bad input).

mod simulate;
mod validate;
mod validate_model;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Rate limiting and API management for LLM gateways, measured in a deterministic simulator.
#[derive(Parser)]
#[command(name = "spillway", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run every policy of a scenario on the same traffic; print a comparison table and write
    /// summary.csv, timeseries.csv and rejections.csv.
    Simulate(simulate::SimulateArgs),
    /// Check a scenario file, or a provider profile library such as scenarios/providers.yaml,
    /// and print every error found (exit 2 if any).
    Validate {
        /// The scenario or library file (YAML).
        scenario: PathBuf,
    },
    /// Check the simulator against queueing theory (M/M/1, M/D/1, M/G/1, M/M/c) on the
    /// scenarios of scenarios/validation/ and write reports/fidelity.md.
    ValidateModel(validate_model::ValidateModelArgs),
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Simulate(args) => simulate::run(&args),
        Command::Validate { scenario } => validate::run(&scenario),
        Command::ValidateModel(args) => validate_model::run(&args),
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
