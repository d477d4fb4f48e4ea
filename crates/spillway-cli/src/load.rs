//! `spillway load`: replay a scenario's traffic for real against an OpenAI-compatible endpoint
//! (see `spillway_load`), and write the same files as `simulate` from what came back.

use crate::Failure;
use crate::simulate::{Outputs, create_out_dir, parse_duration_arg, write_outputs};
use crate::stdout::{out, outln};
use anyhow::Context;
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use spillway_core::Duration;
use spillway_emulate::TimeScale;
use spillway_load::{Ending, LoadConfig, Observed, Observer, Plan, Tick};
use spillway_report::csv_out::TimeseriesWriter;
use spillway_sim::RunOptions;
use spillway_sim::metrics::Coarsen;
use spillway_sim::scenario::{self, Scenario};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

const NANOS_PER_SECOND: u64 = 1_000_000_000;

/// The long `--help` text.
pub const LONG_ABOUT: &str = "Replay a scenario's traffic for real: the same arrivals, users, \
classes and sizes as `simulate` (the simulator's own generator, same seed), sent in real time \
(divided by --time-scale) as POST /v1/chat/completions to --target, with headers \
x-spillway-user, x-spillway-feature, x-spillway-class and (for a group with a team:) \
x-spillway-team. The prompt is 4 characters per input \
token (what `spillway emulate` counts back exactly); max_tokens is the output tokens.\n\n\
Writes the same files as `simulate` (summary.csv, timeseries.csv, latency.csv, rejections.csv, \
users.csv, run.csv, report.html) from what it observed, in the scenario's time base (real times \
multiplied back by the scale), so they compare directly with a `simulate` run.\n\n\
A 429 is the gateway's when it carries x-spillway-rejected-by (or an error code starting \
`spillway`): counted `rejected`; any other 429 is the provider's: `upstream_429` and `failed`. \
Connection refused, timeouts (--timeout on every call), other statuses and answers that are not \
a chat completion count as failed, with the reason printed. At most --max-in-flight calls are \
open: a request due beyond that is not sent and counts as failed. Ctrl-C stops and writes what \
was observed (calls still open count as unfinished).";

/// Arguments of `load`.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  spillway emulate --profile scenarios/sim-vs-real.yaml \
--listen 127.0.0.1:9000 --time-scale 10 &\n  spillway load scenarios/sim-vs-real.yaml --target \
http://127.0.0.1:9000 --time-scale 10 --out /tmp/real"
)]
pub struct LoadArgs {
    /// The scenario file (YAML) whose traffic is replayed.
    scenario: PathBuf,
    /// Where to send: a base URL (http://HOST:PORT or …/v1) or the full chat-completions URL;
    /// without credentials, query or fragment (refused: never echoed, never sent).
    #[arg(long)]
    target: String,
    /// The scenario's policy the target runs (the label of the output rows; default: the first).
    #[arg(long)]
    policy: Option<String>,
    /// How many times faster than the scenario's time to replay (0.001 to 10000); give the
    /// target the same scale.
    #[arg(long, default_value = "1", value_parser = TimeScale::parse)]
    time_scale: TimeScale,
    /// Where to write the outputs (default: reports/<scenario name>-load/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override how long traffic arrives, in the scenario's time, e.g. `2m`.
    #[arg(long, value_parser = parse_duration_arg)]
    duration: Option<Duration>,
    /// Seed of the traffic (default: the scenario's `seed`).
    #[arg(long)]
    seed: Option<u64>,
    /// The `model` of every request (default: the scenario provider's name).
    #[arg(long)]
    model: Option<String>,
    /// Calls open at once, at most (a request due beyond it is not sent: failed).
    #[arg(long, default_value_t = 256, value_parser = clap::value_parser!(u64).range(1..=100_000))]
    max_in_flight: u64,
    /// Real-time limit of every call, connection to last byte, e.g. `30s`.
    #[arg(long, default_value = "60s", value_parser = parse_duration_arg)]
    timeout: Duration,
    /// Write only the CSVs: no charts, no report.html.
    #[arg(long)]
    no_report: bool,
    /// No progress bar and no status lines on stderr.
    #[arg(long, short)]
    quiet: bool,
}

/// Run the command.
pub fn run(args: &LoadArgs) -> Result<(), Failure> {
    let label = args.scenario.display().to_string();
    let scenario = scenario::load(&args.scenario).map_err(|e| Failure::BadInput(e.to_string()))?;
    let yaml = std::fs::read(&args.scenario)
        .map_err(|e| Failure::BadInput(format!("{label}: cannot read: {e}")))?;
    let options = crate::simulate::run_options(&scenario, args.seed, args.duration);
    check_inputs(args, &scenario, &options, &label)?;
    let policy = policy_name(args, &scenario, &label)?;
    let config = LoadConfig {
        url: chat_url(&args.target).map_err(|m| Failure::BadInput(format!("--target: {m}")))?,
        model: args
            .model
            .clone()
            .unwrap_or_else(|| scenario.provider.name.clone()),
        scale: args.time_scale,
        max_in_flight: usize::try_from(args.max_in_flight).unwrap_or(usize::MAX),
        timeout: std::time::Duration::from_nanos(args.timeout.as_nanos()),
    };
    let out = crate::out_dir::chosen(args.out.as_deref(), &args.scenario, &scenario.name, "-load")?;
    create_out_dir(&out)?;
    if !args.quiet {
        eprintln!(
            "load: {label} → {} ({} of traffic at time scale {}, seed {}, policy {policy}); Ctrl-C stops and writes what was seen",
            config.url, options.duration, config.scale, options.seed
        );
    }
    let (observed, ending) = replay(args, &scenario, &options, &config, &policy)?;
    write_all(args, &out, &scenario, &options, &yaml, &observed)?;
    print_summary(&observed, ending, &out);
    Ok(())
}

/// `--duration` within the run bounds, and a trace that reads (as `simulate` checks them).
fn check_inputs(
    args: &LoadArgs,
    scenario: &Scenario,
    options: &RunOptions,
    label: &str,
) -> Result<(), Failure> {
    if args.duration.is_some() {
        scenario::work::check_with_step(scenario, options.duration, None)
            .map_err(|m| Failure::BadInput(format!("{label}: --duration: {m}")))?;
    }
    if let Some(spec) = &scenario.trace {
        crate::trace_check::survey_trace(
            spec,
            options.seed,
            options.duration,
            crate::trace_check::TraceFlag::Absent,
        )?;
    }
    Ok(())
}

/// `--policy`, which must name a policy of the scenario; default the first.
fn policy_name(args: &LoadArgs, scenario: &Scenario, label: &str) -> Result<String, Failure> {
    let names: Vec<&str> = scenario.policies.iter().map(|p| p.name.as_str()).collect();
    match &args.policy {
        None => Ok(names.first().map_or("load", |n| n).to_string()),
        Some(p) if names.contains(&p.as_str()) => Ok(p.clone()),
        Some(p) => Err(Failure::BadInput(format!(
            "{label}: --policy: no policy `{p}` in this scenario; policies are: {}",
            names.join(", ")
        ))),
    }
}

/// The chat-completions URL of `target`: a base (`http://host:port`, `…/v1`) or the full URL.
///
/// A target with credentials (`user:password@`), a query or a fragment is refused, as `serve
/// --upstream` refuses them (`spillway_core::policy::base_url::check`), and no error quotes
/// them: the target is echoed on stderr, and `load` has no use for them. Credentials would go
/// out as `Basic` authorization, which neither `spillway serve` nor an OpenAI-compatible
/// endpoint reads; a query would be sent on every call, and one often holds a key.
pub fn chat_url(target: &str) -> Result<reqwest::Url, String> {
    // Not quoted: a target that does not parse may still hold a password or a key.
    let url = reqwest::Url::parse(target.trim()).map_err(|e| {
        format!(
            "it is not a URL ({e}); write e.g. http://127.0.0.1:8080 (not quoted: it may hold \
             a secret)"
        )
    })?;
    match url.scheme() {
        "http" | "https" => {}
        other => return Err(format!("scheme `{other}` is not http:// or https://")),
    }
    // The parsed URL is in its canonical form, where a `?` or `#` only starts the query or
    // the fragment and `shown` finds the credentials.
    let before_query = url.as_str().split(['?', '#']).next().unwrap_or_default();
    let shown = spillway_core::policy::base_url::shown(before_query);
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "`{shown}` carries credentials before its host; `load` sends no credentials, so \
             give the target without them"
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!(
            "`{shown}…` has a query or a fragment (not shown); `load` sends none: give the \
             target without it"
        ));
    }
    let path = url.path().trim_end_matches('/').to_string();
    let full = if path.ends_with("/chat/completions") {
        path
    } else if path.ends_with("/v1") {
        format!("{path}/chat/completions")
    } else {
        format!("{path}/v1/chat/completions")
    };
    let mut url = url;
    url.set_path(&full);
    Ok(url)
}

/// Run the replay on a tokio runtime with a progress bar, until done or Ctrl-C.
fn replay(
    args: &LoadArgs,
    scenario: &Scenario,
    options: &RunOptions,
    config: &LoadConfig,
    policy: &str,
) -> Result<(Observed, Ending), Failure> {
    let timeout_sim = args.time_scale.to_emulated(args.timeout);
    let span = options
        .duration
        .saturating_add(scenario.drain)
        .saturating_add(timeout_sim);
    let observer = Observer::new(
        policy,
        scenario.provider.price,
        span.as_nanos() / NANOS_PER_SECOND + 1,
    );
    let plan = Plan::new(scenario, options.seed, options.duration);
    let bar = progress_bar(args.quiet, options.duration.as_nanos() / NANOS_PER_SECOND);
    let mut tick = |t: Tick| {
        bar.set_position(t.sim_s);
        bar.set_message(format!(
            "sent {} · answered {} · open {}",
            t.offered, t.answered, t.in_flight
        ));
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(e.into()))?;
    let shutdown = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let result = runtime.block_on(spillway_load::run(
        plan, config, observer, &mut tick, shutdown,
    ));
    bar.finish_and_clear();
    result.map_err(|e| Failure::Runtime(anyhow::anyhow!("cannot build the HTTP client: {e}")))
}

fn progress_bar(quiet: bool, seconds: u64) -> ProgressBar {
    let target = if quiet || !std::io::stderr().is_terminal() {
        ProgressDrawTarget::hidden()
    } else {
        ProgressDrawTarget::stderr()
    };
    let bar = ProgressBar::with_draw_target(Some(seconds.max(1)), target);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} {elapsed:>3} [{wide_bar}] {pos}/{len} simulated s · {msg}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// timeseries.csv (rows coarsened as `simulate` does) and every other file of a run.
fn write_all(
    args: &LoadArgs,
    out: &Path,
    scenario: &Scenario,
    options: &RunOptions,
    yaml: &[u8],
    observed: &Observed,
) -> Result<(), Failure> {
    let mut series = TimeseriesWriter::create(&out.join("timeseries.csv"))
        .map_err(|e| Failure::BadInput(format!("cannot write to {}: {e}", out.display())))?;
    let step = scenario::work::timeseries_step_s(scenario, options.duration, None);
    let mut buckets = Coarsen::new(step);
    let policy = observed.metrics.policy.clone();
    let mut write_error = None;
    let mut write = |row: &spillway_sim::metrics::TimeseriesRow| {
        if write_error.is_none() {
            write_error = series.row(&policy, row).err();
        }
    };
    for row in &observed.rows {
        buckets.push(row, &mut write);
    }
    buckets.finish(&mut write);
    if let Some(e) = write_error {
        return Err(anyhow::Error::new(e)
            .context("writing timeseries.csv")
            .into());
    }
    series.commit().context("writing timeseries.csv")?;
    let runs = std::slice::from_ref(&observed.metrics);
    let outputs = Outputs {
        trace: None,
        no_report: args.no_report,
    };
    write_outputs(out, scenario, options, yaml, runs, outputs)
}

/// The table `simulate` prints, then how the run ended and why requests failed.
fn print_summary(observed: &Observed, ending: Ending, out: &Path) {
    let runs = std::slice::from_ref(&observed.metrics);
    out!("{}", spillway_report::table::render(runs));
    if ending == Ending::Interrupted {
        outln!("\ninterrupted: wrote what was observed (calls still open count as unfinished)");
    }
    if !observed.reasons.is_empty() {
        outln!("\nfailed requests by reason:");
        for (reason, n) in &observed.reasons {
            outln!("  {n:>8}  {reason}");
        }
    }
    outln!("\nwrote into {}/", out.display());
}

#[cfg(test)]
mod tests {
    use super::chat_url;

    #[test]
    fn targets_become_the_chat_url() {
        let url = |t: &str| chat_url(t).map(|u| u.to_string());
        let full = "http://127.0.0.1:9000/v1/chat/completions";
        assert_eq!(url("http://127.0.0.1:9000").as_deref(), Ok(full));
        assert_eq!(url("http://127.0.0.1:9000/v1/").as_deref(), Ok(full));
        assert_eq!(url(full).as_deref(), Ok(full));
        assert_eq!(
            url("https://api.openai.com").as_deref(),
            Ok("https://api.openai.com/v1/chat/completions")
        );
        assert!(url("localhost:9000").is_err());
        assert!(url("not a url").is_err());
        for target in ["http://u:pw@h", "http://h/?key=pw", "http://h/v1#pw"] {
            let e = url(target).unwrap_err();
            assert!(!e.contains("pw"), "{target}: {e}");
        }
    }
}
