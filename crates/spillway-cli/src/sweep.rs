//! `spillway sweep <scenario> --set path=v1,v2 [--set ...]`: every combination of the values
//! (cartesian product, the first `--set` varying slowest), each policy on each variant, in
//! parallel. Results do not depend on the thread count: every run is seeded the same way and
//! rows are written in variant × policy order.

use crate::Failure;
use crate::output::count;
use crate::stdout::outln;
use crate::yaml_set::{Setting, parse_setting, set_value};
use anyhow::Context;
use clap::Args;
use rayon::prelude::*;
use spillway_report::plot::{SweepPoint, render, sweep_chart};
use spillway_report::sweep_out::{SweepRun, write_sweep};
use spillway_sim::scenario::{self, Scenario, units::parse_duration};
use spillway_sim::{RunOptions, run_policy};
use std::path::{Path, PathBuf};

/// Arguments of `sweep`.
#[derive(Args)]
pub struct SweepArgs {
    /// The scenario file (YAML).
    scenario: PathBuf,
    /// A field and the values to try, e.g. `--set provider.rpm=250,500,1000` (repeatable).
    #[arg(long = "set", required = true, value_name = "PATH=V1,V2")]
    sets: Vec<String>,
    /// Seed of every random stream (default: each variant's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// Where to write sweep.csv and plots/ (default: reports/<scenario name>-sweep/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override how long traffic arrives in every variant, e.g. `2m`.
    #[arg(long, value_parser = crate::simulate::parse_duration_arg)]
    duration: Option<spillway_core::Duration>,
    /// Worker threads (default: one per core), at most 256; never more than the sweep has
    /// runs. Results are identical for any count.
    #[arg(long)]
    threads: Option<usize>,
    /// No status lines on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// The headline metrics charted against a single swept parameter: (summary column, label).
const HEADLINES: [(&str, &str); 5] = [
    ("p99_ms", "p99 latency, all classes (ms)"),
    ("rejected", "rejected requests"),
    ("upstream_429", "upstream 429 answers"),
    ("completed", "completed requests"),
    ("cost_usd", "spend (USD)"),
];

/// Most worker threads `--threads` may ask for: each thread reserves a stack, so a typo of
/// extra zeros must be an error, not a machine spent starting threads.
const MAX_THREADS: usize = 256;

/// Most variants a sweep may have: each is parsed and held in memory before any run, so the
/// product of the `--set` lists is bounded (2 lists of 2,001 values reached 1.2 GB unparsed).
const MAX_VARIANTS: u128 = 10_000;

struct Variant {
    values: Vec<String>,
    scenario: Scenario,
    /// Its seed and duration (`--seed` / `--duration`, else its own), resolved once: the
    /// checks and the runs use these.
    options: RunOptions,
}

/// Run the command.
pub fn run(args: &SweepArgs) -> Result<(), Failure> {
    let text = spillway_core::input_file::read_text(
        &args.scenario,
        spillway_core::input_file::MAX_TEXT_BYTES,
    )
    .map_err(|e| {
        Failure::BadInput(format!(
            "{}: cannot read the scenario: {e}",
            args.scenario.display()
        ))
    })?;
    if let Some(n) = args.threads.filter(|&n| n > MAX_THREADS) {
        return Err(Failure::BadInput(format!(
            "--threads {n}: at most {MAX_THREADS} worker threads (one per core is the default; \
             a sweep never uses more threads than it has runs)"
        )));
    }
    let settings = args
        .sets
        .iter()
        .map(|s| parse_setting(s))
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::BadInput)?;
    for (i, s) in settings.iter().enumerate() {
        if settings[..i].iter().any(|t| t.path == s.path) {
            return Err(Failure::BadInput(format!("--set {}: given twice", s.path)));
        }
    }
    if args.seed.is_some() && settings.iter().any(|s| s.path == "seed") {
        return Err(Failure::BadInput(
            "--set seed=… with --seed: --seed overrides every variant's seed, so the variants \
             would be identical; drop one"
                .to_string(),
        ));
    }
    let variants = variants(args, &text, &settings)?;
    check_work(args, &variants)?;
    let paths: Vec<String> = settings.iter().map(|s| s.path.clone()).collect();
    check_traces(&variants, &paths)?;
    let name = &variants[0].scenario.name;
    let out = crate::out_dir::chosen(args.out.as_deref(), &args.scenario, name, "-sweep")?;
    // Before the runs: an output directory that cannot be made must not cost the whole sweep.
    crate::simulate::create_out_dir(&out)?;
    let runs = run_variants(args, &variants)?;
    write_sweep(&out.join("sweep.csv"), &paths, &runs).context("writing sweep.csv")?;
    let charts = write_charts(&out, &settings, &runs)?;
    for (variant, v) in variants.iter().enumerate() {
        let label: Vec<String> = paths
            .iter()
            .zip(&v.values)
            .map(|(p, value)| format!("{p}={}", shown(p, value)))
            .collect();
        outln!("variant {variant}: {}", label.join(" "));
        let rows: Vec<Vec<String>> = runs
            .iter()
            .filter(|r| r.variant == variant)
            .flat_map(|r| r.rows.iter().cloned())
            .collect();
        outln!("{}", spillway_report::table::render_rows(&rows));
    }
    outln!(
        "{} × {} · wrote {}/sweep.csv{}",
        count(variants.len(), "variant", "variants"),
        count(variants[0].scenario.policies.len(), "policy", "policies"),
        out.display(),
        if charts > 0 {
            format!(" and {charts} charts in plots/")
        } else {
            String::new()
        }
    );
    Ok(())
}

/// `message` about one variant, naming it by its settings: "(with --set p=v …)" on a line of
/// its own (secrets shown by their source's name, as [`shown`]).
fn with_settings<'a>(
    message: &dyn std::fmt::Display,
    paths: impl Iterator<Item = &'a str>,
    values: &[String],
) -> String {
    let set: Vec<String> = paths
        .zip(values)
        .map(|(p, v)| format!("--set {p}={}", shown(p, v)))
        .collect();
    format!("{message}\n(with {})", set.join(" "))
}

/// A swept value as echoed: values of `secret` fields only as their source name would be
/// (never a pasted secret).
fn shown(path: &str, value: &str) -> String {
    if path.contains("secret") {
        spillway_core::keys::shown_source_name(value)
    } else {
        value.to_string()
    }
}

/// The bounds `simulate` enforces, for a sweep: each variant over `--duration` (its own
/// duration was checked when it was parsed), and the events of all variants together, since
/// the sweep runs every one.
fn check_work(args: &SweepArgs, variants: &[Variant]) -> Result<(), Failure> {
    let bad = |m: String| Failure::BadInput(format!("{}: {m}", args.scenario.display()));
    let mut total = 0.0;
    for v in variants {
        let duration = v.options.duration;
        if args.duration.is_some() {
            scenario::work::check(&v.scenario, duration)
                .map_err(|m| bad(format!("--duration: {m}")))?;
        }
        total += scenario::work::estimated_events(&v.scenario, duration);
    }
    let what = format!(
        "the sweep's {}, each running its policies",
        count(variants.len(), "variant", "variants")
    );
    scenario::work::check_events(total, &what).map_err(bad)
}

/// Every combination of the settings' values, parsed (the file is `args.scenario`); errors
/// point at the user's file.
fn variants(args: &SweepArgs, text: &str, settings: &[Setting]) -> Result<Vec<Variant>, Failure> {
    let n = settings
        .iter()
        .fold(1u128, |n, s| n.saturating_mul(s.values.len() as u128));
    if n > MAX_VARIANTS {
        return Err(Failure::BadInput(format!(
            "--set: these values make {n} variants, more than the {MAX_VARIANTS} a sweep may \
             run; sweep fewer values at once"
        )));
    }
    let mut combos: Vec<Vec<String>> = vec![Vec::new()];
    for s in settings {
        combos = combos
            .into_iter()
            .flat_map(|prefix| {
                s.values.iter().map(move |v| {
                    let mut next = prefix.clone();
                    next.push(v.clone());
                    next
                })
            })
            .collect();
    }
    combos
        .into_iter()
        .map(|values| {
            let mut edited = text.to_string();
            for (s, v) in settings.iter().zip(&values) {
                edited = set_value(&edited, &s.path, v).map_err(Failure::BadInput)?;
            }
            let scenario = scenario::parse(&args.scenario, &edited).map_err(|e| {
                let paths = settings.iter().map(|s| s.path.as_str());
                Failure::BadInput(with_settings(&e, paths, &values))
            })?;
            let options = crate::simulate::run_options(&scenario, args.seed, args.duration);
            Ok(Variant {
                values,
                scenario,
                options,
            })
        })
        .collect()
}

/// Read the trace once before any run, as `simulate` does: a run whose trace fails (missing
/// file, bad row) ends its traffic there, and the sweep would report its zeros as results.
/// Variants replay different traces only through `--set traffic.trace.…` or `duration`; else
/// the first variant's reading stands for all (a large trace is not read once per variant).
fn check_traces(variants: &[Variant], paths: &[String]) -> Result<(), Failure> {
    let per_variant = paths
        .iter()
        .any(|p| p.starts_with("traffic.trace") || p == "duration");
    let read = if per_variant { variants.len() } else { 1 };
    for v in variants.iter().take(read) {
        let Some(spec) = &v.scenario.trace else {
            continue;
        };
        crate::trace_check::survey_trace(
            spec,
            v.options.seed,
            v.options.duration,
            crate::trace_check::TraceFlag::Absent,
        )
        .map_err(|e| match e {
            Failure::BadInput(m) if per_variant => Failure::BadInput(with_settings(
                &m,
                paths.iter().map(String::as_str),
                &v.values,
            )),
            other => other,
        })?;
    }
    Ok(())
}

fn run_variants(args: &SweepArgs, variants: &[Variant]) -> Result<Vec<SweepRun>, Failure> {
    let jobs: Vec<(usize, usize)> = variants
        .iter()
        .enumerate()
        .flat_map(|(v, variant)| (0..variant.scenario.policies.len()).map(move |p| (v, p)))
        .collect();
    if !args.quiet {
        eprintln!(
            "sweeping {}: {}, {}",
            args.scenario.display(),
            count(variants.len(), "variant", "variants"),
            count(jobs.len(), "run", "runs")
        );
    }
    let bar = sweep_bar(args.quiet, jobs.len());
    let mut pool = rayon::ThreadPoolBuilder::new();
    if let Some(n) = args.threads {
        // Threads beyond the runs would only wait.
        pool = pool.num_threads(n.clamp(1, jobs.len().max(1)));
    }
    let pool = pool.build().context("starting worker threads")?;
    let results: Vec<Result<SweepRun, String>> = pool.install(|| {
        jobs.par_iter()
            .map(|&(v, p)| {
                let variant = &variants[v];
                let scenario = &variant.scenario;
                let policy = &scenario.policies[p];
                let metrics = run_policy(scenario, policy, &variant.options, &mut |_| {})
                    .map_err(|e| e.to_string())?;
                bar.inc(1);
                Ok(SweepRun::new(v, variant.values.clone(), &metrics))
            })
            .collect()
    });
    bar.finish_and_clear();
    results
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .map_err(Failure::BadInput)
}

/// A bar of finished runs on stderr: only on a terminal and without `--quiet`, so
/// scripted and test output stays clean.
fn sweep_bar(quiet: bool, runs: usize) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    let target = if !quiet && std::io::stderr().is_terminal() {
        indicatif::ProgressDrawTarget::stderr()
    } else {
        indicatif::ProgressDrawTarget::hidden()
    };
    let bar = indicatif::ProgressBar::with_draw_target(Some(runs as u64), target);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{elapsed:>3} [{wide_bar}] {pos}/{len} runs")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// A swept value as a number for the X axis: plain numbers, or durations in seconds.
fn numeric(value: &str) -> Option<f64> {
    value
        .parse::<f64>()
        .ok()
        .or_else(|| parse_duration(value).ok().map(|d| d.as_secs_f64()))
        .filter(|v| v.is_finite())
}

/// Headline charts when exactly one numeric parameter is swept; returns how many.
fn write_charts(out: &Path, settings: &[Setting], runs: &[SweepRun]) -> Result<usize, Failure> {
    let [setting] = settings else { return Ok(0) };
    let Some(xs) = setting
        .values
        .iter()
        .map(|v| numeric(v))
        .collect::<Option<Vec<_>>>()
    else {
        return Ok(0);
    };
    let columns = spillway_report::csv_out::SUMMARY_COLUMNS;
    let plots = out.join("plots");
    std::fs::create_dir_all(&plots).with_context(|| format!("creating {}", plots.display()))?;
    for (column, label) in HEADLINES {
        let index = columns.iter().position(|c| *c == column).unwrap_or(0);
        let points: Vec<SweepPoint> = runs
            .iter()
            .filter_map(|r| {
                Some(SweepPoint {
                    policy: r.policy.clone(),
                    parameter: *xs.get(r.variant)?,
                    value: r.all().get(index)?.parse().ok()?,
                })
            })
            .collect();
        let rendered = render(&sweep_chart(&setting.path, label, &points))
            .map_err(crate::report_cmd::failure)?;
        for (ext, bytes) in [("png", rendered.png), ("svg", rendered.svg.into_bytes())] {
            let path = plots.join(format!("{}.{ext}", rendered.stem));
            spillway_report::write_atomic(&path, &bytes)
                .with_context(|| format!("writing {}", path.display()))?;
        }
    }
    Ok(HEADLINES.len())
}

#[cfg(test)]
mod tests {
    use super::with_settings;

    #[test]
    fn a_variants_message_names_its_settings_without_a_pasted_secret() {
        let paths = ["provider.rpm", "provider.api_key_secret"].into_iter();
        let values = ["500".to_string(), "sk-live-abcdefgh1234".to_string()];
        let shown = with_settings(&"bad", paths, &values);
        assert!(
            shown.starts_with("bad\n(with --set provider.rpm=500 --set provider.api_key_secret="),
            "{shown}"
        );
        assert!(!shown.contains("sk-live"), "{shown}");
    }
}
