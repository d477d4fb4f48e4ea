//! Trace replay: every format parses the real files in ../shared/traces (skipped loudly when
//! absent), fidelity figures match the traces' README, malformed input is located, and the
//! controls (window, speed-up, loop, rate scaling) and determinism hold.

mod controls;
mod formats;
mod input;

use crate::workspace;
use spillway_core::{Duration, Time};
use spillway_sim::scenario::{Scenario, ScenarioError, parse};
use spillway_sim::traffic::trace::{TraceError, TraceStats, survey};
use spillway_sim::traffic::{Arrival, ArrivalStream};
use std::path::{Path, PathBuf};

/// A real trace from ../shared/traces, or `None` after a loud skip notice.
fn shared(name: &str) -> Option<PathBuf> {
    let path = workspace().join("../shared/traces").join(name);
    if path.is_file() {
        Some(path)
    } else {
        spillway_testkit::skip_or_fail(
            "SPILLWAY_REQUIRE_SHARED",
            &format!(
                "{} is not present (real traces live outside the repo)",
                path.display()
            ),
        );
        None
    }
}

/// A scratch file with `content`, unique per test.
fn scratch(name: &str, content: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spillway-trace-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    std::fs::write(&path, content).expect("write scratch trace");
    path
}

/// A scenario whose traffic is only the given trace block (indented under `trace:`).
fn scenario_text(trace_block: &str, duration: &str) -> String {
    format!(
        "seed: 5
duration: {duration}
provider:
  name: p
  rpm: 600
  tpm: 10000000
  concurrency: 8
  latency: {{ base: 100ms, per_output_token: 1ms }}
  price: {{ input_usd_per_mtok: 0.15, output_usd_per_mtok: 0.6 }}
traffic:
  trace:
{trace_block}
layers:
  - name: per-user
    scope: user
    algorithm: token-bucket
    limit: 100
    per: 1m
policies:
  - name: tb
    layers: [per-user]
"
    )
}

fn load(trace_block: &str, duration: &str) -> Scenario {
    let text = scenario_text(trace_block, duration);
    parse(Path::new("/tmp/t.yaml"), &text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn scenario_errors(trace_block: &str) -> Vec<ScenarioError> {
    match parse(Path::new("bad.yaml"), &scenario_text(trace_block, "1h")) {
        Ok(_) => panic!("expected an error for {trace_block}"),
        Err(e) => e.0,
    }
}

fn stats_of(s: &Scenario) -> Result<TraceStats, TraceError> {
    let spec = s.trace.as_ref().expect("a trace");
    survey(spec, s.seed, Time::ZERO.saturating_add(s.duration))
}

fn arrivals(s: &Scenario, seed: u64) -> Vec<Arrival> {
    ArrivalStream::new(s, seed, s.duration).collect()
}

/// A `csv` trace block over `path` with seconds, plus extra lines.
fn csv_block(path: &Path, extra: &str) -> String {
    format!(
        "    path: {}
    format: csv
    columns: {{ time: t, input_tokens: in, output_tokens: out }}
    time_unit: s
{extra}",
        path.display()
    )
}

fn close(actual: f64, expected: f64, tolerance: f64, what: &str) {
    assert!(
        (actual - expected).abs() <= tolerance,
        "{what}: {actual} vs README {expected}"
    );
}
