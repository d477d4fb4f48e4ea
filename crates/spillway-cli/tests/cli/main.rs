//! End-to-end tests of the `spillway` binary: exit codes, outputs, determinism.

mod bad_names;
mod browser;
mod compare;
mod emulate;
mod file_kind;
mod help;
mod hostile_files;
mod inspect_headers;
mod interrupt;
mod load;
mod readme_serve;
mod report;
mod secrets;
mod serve;
mod stale_outputs;
mod sweep;
mod timeseries_step;
mod trace;
mod upstream_url;
mod validate_model;
mod wording;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn spillway(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spillway"))
        .args(args)
        .current_dir(workspace())
        .output()
        .expect("the binary runs")
}

/// Runs the binary and fails the test, showing its stderr, unless it exits 0.
fn spillway_ok(args: &[&str]) -> Output {
    let out = spillway(args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    out
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shipped file `from` written to `dir/name` with its first `edit.0` replaced by `edit.1`
/// (which it must contain); the new file's path.
fn copy_edited(dir: &Path, from: &str, name: &str, edit: (&str, &str)) -> String {
    let yaml = std::fs::read_to_string(workspace().join(from)).expect("shipped file");
    assert!(yaml.contains(edit.0), "{from} has `{}`", edit.0);
    let path = dir.join(name);
    std::fs::write(&path, yaml.replacen(edit.0, edit.1, 1)).expect("write");
    path.to_str().expect("utf-8").to_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("spillway-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

/// The `HOST:PORT` of a server's banner line (`… on http://HOST:PORT …`).
fn banner_addr(banner: &str) -> String {
    banner
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {banner:?}"))
        .to_string()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The shipped scenarios whose trace is not in the repository (get_from says where it is).
const DOWNLOADED_TRACES: [&str; 1] = ["azure-code.yaml"];

#[test]
fn validate_accepts_every_shipped_scenario() {
    for entry in std::fs::read_dir(workspace().join("scenarios")).expect("scenarios/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let out = spillway(&["validate", path.to_str().expect("utf-8 path")]);
            let err = text(&out.stderr);
            let downloaded = path
                .file_name()
                .is_some_and(|n| DOWNLOADED_TRACES.iter().any(|d| n == *d));
            if downloaded && !out.status.success() {
                // Without the trace, all that may be wrong is that it is missing.
                assert!(
                    err.contains("traffic.trace.path: ") && err.contains("not found; get it from"),
                    "{}: {err}",
                    path.display()
                );
                continue;
            }
            assert!(out.status.success(), "{}: {err}", path.display());
        }
    }
}

#[test]
fn a_bad_scenario_exits_2_with_a_located_error() {
    let dir = temp_dir("bad");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let bad = dir.join("bad.yaml");
    let spike = std::fs::read_to_string(workspace().join("scenarios/spike.yaml")).expect("spike");
    std::fs::write(&bad, spike.replace("rpm: 500", "rpm: -5")).expect("write");
    for command in ["validate", "simulate"] {
        let out = spillway(&[command, bad.to_str().expect("utf-8")]);
        assert_eq!(out.status.code(), Some(2), "{command}");
        let err = text(&out.stderr);
        assert!(
            err.contains("bad.yaml:") && err.contains("provider.rpm"),
            "{err}"
        );
    }
}

#[test]
fn a_spike_removed_or_cut_by_duration_is_warned_about() {
    let dir = temp_dir("cut-spike");
    let out_dir = dir.to_str().expect("utf-8");
    // spike.yaml's spike runs from 5m to 7m.
    for (duration, expected) in [("4m", "it never happens"), ("6m", "is cut off at 360s")] {
        let out = spillway_ok(&[
            "simulate",
            "scenarios/spike.yaml",
            "--duration",
            duration,
            "--out",
            out_dir,
            "--no-report",
        ]);
        let err = text(&out.stderr);
        assert!(
            err.contains("traffic.spikes[0]") && err.contains(expected),
            "{duration}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_missing_file_or_bad_flag_exits_2() {
    assert_eq!(
        spillway(&["simulate", "no/such.yaml"]).status.code(),
        Some(2)
    );
    let out = spillway(&[
        "simulate",
        "scenarios/spike.yaml",
        "--duration",
        "5 parsecs",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown unit"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_unwritable_output_directory_exits_2() {
    let dir = temp_dir("file-as-dir");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("not-a-dir");
    std::fs::write(&file, "x").expect("write");
    let out = spillway(&[
        "simulate",
        "scenarios/spike.yaml",
        "--duration",
        "10s",
        "--out",
        file.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn simulate_writes_the_documented_csvs_deterministically() {
    let (a, b) = (temp_dir("a"), temp_dir("b"));
    for dir in [&a, &b] {
        let out = spillway_ok(&[
            "simulate",
            "scenarios/spike.yaml",
            "--duration",
            "6m",
            "--seed",
            "9",
            "--out",
            dir.to_str().expect("utf-8"),
        ]);
        let table = text(&out.stdout);
        assert!(
            table.contains("token-bucket") && table.contains("sliding-window"),
            "{table}"
        );
        assert!(table.contains("seed 9"), "{table}");
    }
    let summary = std::fs::read_to_string(a.join("summary.csv")).expect("summary.csv");
    assert!(summary.starts_with(
        "policy,class,offered,admitted,rejected,shed,completed,failed,p50_ms,p95_ms,p99_ms,p999_ms,max_ms,max_wait_ms,upstream_calls,upstream_429,retries,cost_usd"
    ));
    assert!(summary.lines().any(|l| l.starts_with("token-bucket,all,")));
    let series = std::fs::read_to_string(a.join("timeseries.csv")).expect("timeseries.csv");
    assert!(series.starts_with(
        "policy,t_s,offered,admitted,rejected,queued,in_flight,upstream_429,spend_usd"
    ));
    let rejections = std::fs::read_to_string(a.join("rejections.csv")).expect("rejections.csv");
    assert!(rejections.starts_with("policy,layer,rejected\n"));
    for name in ["summary.csv", "timeseries.csv", "rejections.csv"] {
        let (x, y) = (
            std::fs::read(a.join(name)).expect("a"),
            std::fs::read(b.join(name)).expect("b"),
        );
        assert!(x == y, "{name} differs between two runs with the same seed");
    }
    assert!(
        !a.join("summary.csv.part").exists(),
        "no temporary file is left behind"
    );
}

/// A leaked key's attacker requests are traffic events like any arrival: a leak rate no run
/// could finish is refused up front with the `--max-events` message, not run until killed.
#[test]
fn a_runaway_leak_rate_is_refused_by_the_event_bound() {
    let dir = temp_dir("leak-rate");
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::copy(
        workspace().join("scenarios/models.yaml"),
        dir.join("models.yaml"),
    )
    .expect("models");
    let budget = std::fs::read_to_string(workspace().join("scenarios/budget.yaml")).expect("yaml");
    for rate in ["1e12/s", "1e6/s"] {
        let path = dir.join("leak.yaml");
        std::fs::write(
            &path,
            budget.replacen("rate: 5/s", &format!("rate: {rate}"), 1),
        )
        .expect("write");
        let out = spillway(&["validate", path.to_str().expect("utf-8")]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{rate}: {err}");
        assert!(
            err.contains("leak.yaml:")
                && err.contains("traffic events")
                && err.contains("--max-events"),
            "{rate}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
