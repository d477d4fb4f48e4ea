//! `spillway simulate`.

use crate::Failure;
use anyhow::Context;
use clap::Args;
use spillway_core::{Duration, Time};
use spillway_report::csv_out::{TimeseriesWriter, write_rejections, write_summary};
use spillway_report::trace_csv::write_trace_stats;
use spillway_sim::scenario::{self, units::parse_duration};
use spillway_sim::traffic::trace::{TraceStats, survey};
use spillway_sim::{RunOptions, run_policy};
use std::path::{Path, PathBuf};

/// Arguments of `simulate`.
#[derive(Args)]
pub struct SimulateArgs {
    /// The scenario file (YAML), e.g. scenarios/spike.yaml.
    scenario: PathBuf,
    /// Seed of every random stream (default: the scenario's `seed`, else 0). The same seed
    /// gives byte-identical outputs.
    #[arg(long)]
    seed: Option<u64>,
    /// Where to write the CSVs (default: reports/<scenario name>/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override how long traffic arrives, e.g. `2m` or `1h` (units: ns us ms s m h d).
    #[arg(long, value_parser = parse_duration_arg)]
    duration: Option<Duration>,
    /// Replay this trace file instead of the scenario's `traffic.trace.path`.
    #[arg(long, value_name = "PATH")]
    trace: Option<PathBuf>,
}

fn parse_duration_arg(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        d if d.is_zero() => Err("the duration must be longer than 0".to_string()),
        d => Ok(d),
    }
}

/// Run the command.
pub fn run(args: &SimulateArgs) -> Result<(), Failure> {
    let mut scenario =
        scenario::load(&args.scenario).map_err(|e| Failure::BadInput(e.to_string()))?;
    let options = RunOptions {
        seed: args.seed.unwrap_or(scenario.seed),
        duration: args.duration.unwrap_or(scenario.duration),
    };
    let trace_stats = survey_trace(&mut scenario, args, &options)?;
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| Path::new("reports").join(&scenario.name));
    std::fs::create_dir_all(&out).map_err(|e| {
        Failure::BadInput(format!(
            "cannot create output directory {}: {e}",
            out.display()
        ))
    })?;
    eprintln!(
        "simulating {} ({} policies, {} of traffic, seed {})",
        args.scenario.display(),
        scenario.policies.len(),
        options.duration,
        options.seed
    );
    let mut series = TimeseriesWriter::create(&out.join("timeseries.csv"))
        .map_err(|e| Failure::BadInput(format!("cannot write to {}: {e}", out.display())))?;
    let mut runs = Vec::with_capacity(scenario.policies.len());
    for policy in &scenario.policies {
        let mut write_error = None;
        let metrics = run_policy(&scenario, policy, &options, &mut |row| {
            if write_error.is_none() {
                write_error = series.row(&policy.name, row).err();
            }
        })
        .map_err(|e| Failure::BadInput(e.to_string()))?;
        if let Some(e) = write_error {
            return Err(anyhow::Error::new(e)
                .context("writing timeseries.csv")
                .into());
        }
        runs.push(metrics);
    }
    series.commit().context("writing timeseries.csv")?;
    write_summary(&out.join("summary.csv"), &runs).context("writing summary.csv")?;
    write_rejections(&out.join("rejections.csv"), &runs).context("writing rejections.csv")?;
    if let (Some(stats), Some(spec)) = (&trace_stats, &scenario.trace) {
        let file = spec.path.display().to_string();
        write_trace_stats(&out.join("trace.csv"), &file, spec.format.name(), stats)
            .context("writing trace.csv")?;
    }
    print!("{}", spillway_report::table::render(&runs));
    println!(
        "\nseed {} · wrote {}/summary.csv, timeseries.csv, rejections.csv{}",
        options.seed,
        out.display(),
        if trace_stats.is_some() {
            ", trace.csv"
        } else {
            ""
        }
    );
    Ok(())
}

/// Apply `--trace`, then read the whole trace once: bad rows, missing files and missing
/// columns fail here (exit 2) before any policy runs, and the offered trace is measured.
fn survey_trace(
    scenario: &mut scenario::Scenario,
    args: &SimulateArgs,
    options: &RunOptions,
) -> Result<Option<TraceStats>, Failure> {
    if let Some(path) = &args.trace {
        let Some(spec) = scenario.trace.as_mut() else {
            return Err(Failure::BadInput(format!(
                "{}: `--trace` needs a scenario with a `traffic.trace` block (format, mapping)",
                args.scenario.display()
            )));
        };
        spec.path = path.clone();
    }
    let Some(spec) = &scenario.trace else {
        return Ok(None);
    };
    let horizon = Time::ZERO.saturating_add(options.duration);
    let stats =
        survey(spec, options.seed, horizon).map_err(|e| Failure::BadInput(e.to_string()))?;
    eprintln!(
        "trace {}: {} requests over {:.0} s (mean {:.2}/s, peak {}/s), {} skipped",
        spec.path.display(),
        stats.rows,
        stats.span_s,
        stats.mean_rps,
        stats.peak_per_s,
        stats.skipped
    );
    Ok(Some(stats))
}
