//! `spillway simulate`.

use crate::Failure;
use crate::output::{Format, summary_json};
use crate::progress::Progress;
use crate::stdout::{out, outln};
use anyhow::Context;
use clap::Args;
use spillway_core::{Duration, Time};
use spillway_report::csv_out::{
    TimeseriesWriter, write_latency, write_rejections, write_run_info, write_summary,
};
use spillway_report::trace_csv::write_trace_stats;
use spillway_sim::metrics::{Coarsen, PolicyMetrics, TimeseriesRow};
use spillway_sim::scenario::{self, Scenario, units::parse_duration};
use spillway_sim::traffic::trace::TraceStats;
use spillway_sim::{RunOptions, run_policies};
use std::path::{Path, PathBuf};

const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// Arguments of `simulate`.
#[derive(Args)]
pub struct SimulateArgs {
    /// The scenario file (YAML), e.g. scenarios/spike.yaml.
    scenario: PathBuf,
    #[command(flatten)]
    run: RunArgs,
}

/// How to run a scenario and what to write: shared by `simulate` and `compare`.
#[derive(Args)]
pub struct RunArgs {
    /// Seed of every random stream (default: the scenario's `seed`, else 0). The same seed
    /// gives byte-identical outputs.
    #[arg(long)]
    seed: Option<u64>,
    /// Where to write the outputs (default: reports/<scenario name>/ for simulate,
    /// reports/<scenario name>-compare/ for compare).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override how long traffic arrives, e.g. `2m` or `1h` (units: ns us ms s m h d).
    #[arg(long, value_parser = parse_duration_arg)]
    duration: Option<Duration>,
    /// Write only the CSVs: no charts, no report.html.
    #[arg(long)]
    no_report: bool,
    /// No progress bar and no status lines on stderr (errors are still printed).
    #[arg(long, short)]
    quiet: bool,
    /// How to print the summary on stdout.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Replay this trace file instead of the scenario's `traffic.trace.path`.
    #[arg(long, value_name = "PATH")]
    trace: Option<std::path::PathBuf>,
    /// Width of a timeseries.csv row, whole seconds, e.g. `1s` or `5m` (default: 1 s up to
    /// about 100,000 s of traffic and drain, then the smallest round width that keeps 100,000
    /// rows per policy or fewer).
    #[arg(long, value_name = "DURATION", value_parser = parse_step_arg)]
    timeseries_step: Option<u64>,
}

/// Clap parser of `--timeseries-step`: a whole number of seconds, at least one.
fn parse_step_arg(text: &str) -> Result<u64, String> {
    let step = parse_duration(text)?.as_nanos();
    if step == 0 || step % NANOS_PER_SECOND != 0 {
        return Err("the step must be a whole number of seconds, at least 1s".to_string());
    }
    Ok(step / NANOS_PER_SECOND)
}

/// Clap parser of `--duration`: a positive duration with a unit.
pub fn parse_duration_arg(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        d if d.is_zero() => Err("the duration must be longer than 0".to_string()),
        d => Ok(d),
    }
}

/// Run the command.
pub fn run(args: &SimulateArgs) -> Result<(), Failure> {
    let scenario = scenario::load(&args.scenario).map_err(|e| Failure::BadInput(e.to_string()))?;
    let text = std::fs::read(&args.scenario)
        .map_err(|e| Failure::BadInput(format!("{}: cannot read: {e}", args.scenario.display())))?;
    let default_out = crate::out_dir::default_out(&args.scenario, &scenario.name, "");
    execute(
        &args.run,
        &scenario,
        &text,
        &args.scenario.display().to_string(),
        default_out,
    )
}

/// Warns on stderr (unless `--quiet`, which promises a silent stderr) about spikes that `duration` removes or cuts short: the run would silently
/// lack (part of) the burst the user wrote. The file's own duration already refuses spikes
/// that start after it, so a removed spike here always comes from `--duration`.
fn warn_cut_spikes(scenario: &Scenario, from_flag: bool, duration: Duration) {
    let horizon = Time::ZERO.saturating_add(duration);
    let source = if from_flag {
        "--duration"
    } else {
        "`duration`"
    };
    for (i, spike) in scenario.spikes.iter().enumerate() {
        let start = spike.start.saturating_since(Time::ZERO);
        if spike.start >= horizon {
            eprintln!(
                "warning: traffic.spikes[{i}] starts at {start}, after traffic ends at {duration} ({source}): it never happens"
            );
        } else if spike.end > horizon {
            eprintln!(
                "warning: traffic.spikes[{i}] (from {start}, {} long) is cut off at {duration} ({source})",
                spike.end.saturating_since(spike.start)
            );
        }
    }
}

/// The seed and duration of a run of `scenario`: `--seed` and `--duration` where given, else
/// the scenario's own. Resolved once per scenario, by every command that runs one.
pub(crate) fn run_options(
    scenario: &Scenario,
    seed: Option<u64>,
    duration: Option<spillway_core::Duration>,
) -> RunOptions {
    RunOptions {
        seed: seed.unwrap_or(scenario.seed),
        duration: duration.unwrap_or(scenario.duration),
    }
}

/// Run every policy of `scenario` and write the outputs; `yaml` is copied as scenario.yaml.
/// `default_out` is the output directory without `--out` (or why there is none).
pub fn execute(
    args: &RunArgs,
    scenario: &Scenario,
    yaml: &[u8],
    label: &str,
    default_out: Result<PathBuf, Failure>,
) -> Result<(), Failure> {
    let options = run_options(scenario, args.seed, args.duration);
    if !args.quiet {
        warn_cut_spikes(scenario, args.duration.is_some(), options.duration);
    }
    if args.duration.is_some() || args.timeseries_step.is_some() {
        // The scenario's own duration was checked by validation; the flags are checked here.
        let flag = if args.duration.is_some() {
            "--duration"
        } else {
            "--timeseries-step"
        };
        scenario::work::check_with_step(scenario, options.duration, args.timeseries_step)
            .map_err(|m| Failure::BadInput(format!("{label}: {flag}: {m}")))?;
    }
    let mut scenario = scenario.clone();
    let trace_stats = survey_trace(&mut scenario, args, label, &options)?;
    let scenario = &scenario;
    let out = match &args.out {
        Some(out) => out.clone(),
        None => default_out?,
    };
    create_out_dir(&out)?;
    if !args.quiet {
        eprintln!(
            "simulating {label} ({} policies, {} of traffic, seed {})",
            scenario.policies.len(),
            options.duration,
            options.seed
        );
    }
    let runs = run_all(args, scenario, &options, &out)?;
    let outputs = Outputs {
        trace: trace_stats.as_ref(),
        no_report: args.no_report,
    };
    write_outputs(&out, scenario, &options, yaml, &runs, outputs)?;
    match args.format {
        Format::Table => {
            out!(
                "{}",
                spillway_report::table::headline(&String::from_utf8_lossy(yaml), &runs)
            );
            out!("{}", spillway_report::table::render(&runs));
            let written = if args.no_report {
                "summary.csv, timeseries.csv, rejections.csv, latency.csv, users.csv"
            } else {
                "report.html, plots/, summary.csv, timeseries.csv, rejections.csv, latency.csv, users.csv"
            };
            let trace = if trace_stats.is_some() {
                ", trace.csv"
            } else {
                ""
            };
            let budget = if spillway_report::budget_csv::any_budget(&runs) {
                ", spend.csv, budget.csv"
            } else {
                ""
            };
            outln!(
                "\nseed {} · wrote into {}/:\n  {written}{trace}{budget}",
                options.seed,
                out.display()
            );
        }
        Format::Json => {
            let json = summary_json(&scenario.name, options.seed, &out, &runs);
            outln!("{json:#}");
        }
    }
    Ok(())
}

/// Create the output directory (and its parents); failing is the user's input (exit 2).
pub fn create_out_dir(out: &Path) -> Result<(), Failure> {
    std::fs::create_dir_all(out).map_err(|e| {
        Failure::BadInput(format!(
            "cannot create output directory {}: {e}",
            out.display()
        ))
    })
}

/// What a run writes besides the files every run writes.
#[derive(Clone, Copy)]
pub struct Outputs<'a> {
    /// The surveyed trace, written as trace.csv (a trace-driven `simulate` only).
    pub trace: Option<&'a TraceStats>,
    /// No charts and no report.html.
    pub no_report: bool,
}

/// Write the files of a run besides `timeseries.csv` (streamed): summary, rejections,
/// latency, users, trace, spend/budget, run.csv, scenario.yaml (a copy of `yaml`) and,
/// unless `no_report`, the charts and report.html. Shared by `simulate` and `load`.
///
/// The optional files this run does not write are removed first: `--out` (and the default
/// `reports/<name>/`) is reused from run to run, and the report reads whatever is there, so an
/// earlier run's spend.csv would put its budget tables into this run's report.
pub fn write_outputs(
    out: &Path,
    scenario: &Scenario,
    options: &RunOptions,
    yaml: &[u8],
    runs: &[PolicyMetrics],
    outputs: Outputs<'_>,
) -> Result<(), Failure> {
    let budget = spillway_report::budget_csv::any_budget(runs);
    let trace = outputs.trace.zip(scenario.trace.as_ref());
    remove_unwritten(
        out,
        &[
            (!budget, "spend.csv"),
            (!budget, "budget.csv"),
            (trace.is_none(), "trace.csv"),
            (outputs.no_report, "report.html"),
        ],
    )?;
    if let Some((stats, spec)) = trace {
        let file = spec.path.display().to_string();
        write_trace_stats(&out.join("trace.csv"), &file, spec.format.name(), stats)
            .context("writing trace.csv")?;
    }
    write_summary(&out.join("summary.csv"), runs).context("writing summary.csv")?;
    write_rejections(&out.join("rejections.csv"), runs).context("writing rejections.csv")?;
    write_latency(&out.join("latency.csv"), runs).context("writing latency.csv")?;
    spillway_report::users_csv::write_users(&out.join("users.csv"), runs)
        .context("writing users.csv")?;
    if budget {
        spillway_report::budget_csv::write_spend(&out.join("spend.csv"), runs)
            .context("writing spend.csv")?;
        spillway_report::budget_csv::write_budget(&out.join("budget.csv"), runs)
            .context("writing budget.csv")?;
    }
    let traffic_s = options.duration.as_nanos() / NANOS_PER_SECOND;
    write_run_info(
        &out.join("run.csv"),
        &scenario.name,
        options.seed,
        traffic_s,
    )
    .context("writing run.csv")?;
    spillway_report::write_atomic(&out.join("scenario.yaml"), yaml)
        .context("writing scenario.yaml")?;
    if !outputs.no_report {
        // Notes about absent optional inputs are in the page itself; `report` prints them.
        spillway_report::write_report(out).map_err(crate::report_cmd::failure)?;
    }
    Ok(())
}

/// Remove each of the run's own optional files flagged as not written this time (only these
/// known names: nothing else in the directory is touched); an absent file is fine.
fn remove_unwritten(out: &Path, files: &[(bool, &str)]) -> Result<(), Failure> {
    for (_, name) in files.iter().filter(|(unwritten, _)| *unwritten) {
        let path = out.join(name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                let context = format!("removing {} of an earlier run", path.display());
                return Err(anyhow::Error::new(e).context(context).into());
            }
            _ => {}
        }
    }
    Ok(())
}

/// Run every policy, side by side on one stream of arrivals, streaming `timeseries.csv` (the
/// first policy's rows; the others' are held until the end) and the progress bar (from the
/// first policy's seconds) from the sink.
fn run_all(
    args: &RunArgs,
    scenario: &Scenario,
    options: &RunOptions,
    out: &Path,
) -> Result<Vec<PolicyMetrics>, Failure> {
    let mut series = TimeseriesWriter::create(&out.join("timeseries.csv"))
        .map_err(|e| Failure::BadInput(format!("cannot write to {}: {e}", out.display())))?;
    let seconds = options
        .duration
        .as_nanos()
        .saturating_add(scenario.drain.as_nanos())
        / NANOS_PER_SECOND;
    let step = scenario::work::timeseries_step_s(scenario, options.duration, args.timeseries_step);
    let policies = &scenario.policies;
    let names = policies.iter().map(|p| p.name.as_str());
    let mut progress = Progress::new(args.quiet, 1, seconds);
    progress.start_policy(0, &names.collect::<Vec<_>>().join(", "));
    let mut write_error = None;
    let mut write = |index: usize, row: &TimeseriesRow| {
        let name = &policies[index].name;
        let written = match index {
            0 => {
                progress.second(row.t_s);
                series.row(name, row)
            }
            later => series.later_row(later - 1, name, row),
        };
        if write_error.is_none() {
            write_error = written.err();
        }
    };
    let mut buckets: Vec<Coarsen> = policies.iter().map(|_| Coarsen::new(step)).collect();
    let runs = run_policies(scenario, policies, options, &mut |index, row| {
        buckets[index].push(row, &mut |row| write(index, row));
    })
    .map_err(|e| Failure::BadInput(e.to_string()))?;
    for (index, bucket) in buckets.iter_mut().enumerate() {
        bucket.finish(&mut |row| write(index, row));
    }
    if let Some(e) = write_error {
        return Err(anyhow::Error::new(e)
            .context("writing timeseries.csv")
            .into());
    }
    progress.finish_policy(runs.iter().map(|m| m.events).sum());
    progress.finish();
    series.commit().context("writing timeseries.csv")?;
    Ok(runs)
}

/// Apply `--trace`, then read the whole trace once: bad rows, missing files and missing
/// columns fail here (exit 2) before any policy runs, and the offered trace is measured.
fn survey_trace(
    scenario: &mut Scenario,
    args: &RunArgs,
    label: &str,
    options: &RunOptions,
) -> Result<Option<TraceStats>, Failure> {
    if let Some(path) = &args.trace {
        let Some(spec) = scenario.trace.as_mut() else {
            return Err(Failure::BadInput(format!(
                "{label}: `--trace` needs a scenario with a `traffic.trace` block (format, mapping)"
            )));
        };
        spec.path = path.clone();
        spec.path_at = None;
    }
    let Some(spec) = &scenario.trace else {
        return Ok(None);
    };
    let stats = crate::trace_check::survey_trace(
        spec,
        options.seed,
        options.duration,
        crate::trace_check::TraceFlag::Offered,
    )?;
    if !args.quiet {
        eprintln!(
            "trace {}: {} requests over {:.0} s (mean {:.2}/s, peak {}/s), {} skipped",
            spec.path.display(),
            stats.rows,
            stats.span_s,
            stats.mean_rps,
            stats.peak_per_s,
            stats.skipped
        );
    }
    Ok(Some(stats))
}
