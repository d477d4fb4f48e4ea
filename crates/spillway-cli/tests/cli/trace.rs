//! `simulate --trace`: replaying a file the scenario does not name, and the errors a user sees
//! when the trace is missing or malformed.

use super::{spillway, temp_dir, text};

#[test]
fn trace_flag_replays_another_file_and_writes_trace_csv() {
    let out_dir = temp_dir("trace-flag");
    let out = spillway(&[
        "simulate",
        "scenarios/trace-sample.yaml",
        "--trace",
        "scenarios/samples/trace-sample.csv",
        "--no-report",
        "--quiet",
        "--out",
        out_dir.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stats = std::fs::read_to_string(out_dir.join("trace.csv")).expect("trace.csv");
    assert!(stats.lines().count() >= 2, "{stats}");
    assert!(stats.contains("trace-sample.csv"), "{stats}");
}

#[test]
fn a_missing_trace_exits_2_and_says_where_to_get_it() {
    let out = spillway(&[
        "simulate",
        "scenarios/azure-code.yaml",
        "--trace",
        "no/such/AzureLLMInferenceTrace_code.csv",
        "--no-report",
        "--out",
        temp_dir("trace-missing").to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("not found") && err.contains("AzurePublicDataset"),
        "{err}"
    );
}

#[test]
fn a_malformed_row_exits_2_naming_the_file_and_line() {
    let dir = temp_dir("trace-bad-row");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let sample =
        std::fs::read_to_string(super::workspace().join("scenarios/samples/trace-sample.csv"))
            .expect("sample");
    let mut lines: Vec<&str> = sample.lines().collect();
    lines[3] = "not-a-time,abc,def";
    let bad = dir.join("bad.csv");
    std::fs::write(&bad, lines.join("\n")).expect("write");
    let out = spillway(&[
        "simulate",
        "scenarios/trace-sample.yaml",
        "--trace",
        bad.to_str().expect("utf-8"),
        "--no-report",
        "--out",
        dir.join("out").to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stdout));
    let err = text(&out.stderr);
    assert!(err.contains("bad.csv") && err.contains(":4"), "{err}");
}

#[test]
fn trace_flag_needs_a_trace_scenario() {
    let out = spillway(&[
        "simulate",
        "scenarios/spike.yaml",
        "--trace",
        "scenarios/samples/trace-sample.csv",
        "--out",
        temp_dir("trace-none").to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("traffic.trace"));
}

/// `file:line:col: traffic.trace.path:` of trace-sample.yaml's `path:` line in `yaml`.
fn trace_path_location(file: &std::path::Path, yaml: &str) -> String {
    let line = yaml
        .lines()
        .position(|l| l.trim_start().starts_with("path: samples/"))
        .expect("a trace path line")
        + 1;
    format!("{}:{line}:11: traffic.trace.path: ", file.display())
}

/// scenarios/trace-sample.yaml as shipped.
fn trace_sample_yaml() -> String {
    std::fs::read_to_string(super::workspace().join("scenarios/trace-sample.yaml"))
        .expect("trace-sample.yaml")
}

/// `yaml` written as `t.yaml` in a fresh temp dir with no samples/ beside it (so its trace is
/// missing): the dir, the scenario file, and where its trace path sits (`file:line:col: field`).
fn scenario_without_its_trace(
    dir_name: &str,
    yaml: &str,
) -> (std::path::PathBuf, std::path::PathBuf, String) {
    let dir = temp_dir(dir_name);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let scenario = dir.join("t.yaml");
    std::fs::write(&scenario, yaml).expect("write");
    let location = trace_path_location(&scenario, yaml);
    (dir, scenario, location)
}

#[test]
fn validate_refuses_a_missing_or_unreadable_trace_as_simulate_does() {
    let (dir, scenario, location) =
        scenario_without_its_trace("trace-validate", &trace_sample_yaml());
    let file = scenario.to_str().expect("utf-8");
    let out_dir = dir.join("out");
    let simulate = ["simulate", file, "--no-report", "--out"];
    let simulate = [&simulate[..], &[out_dir.to_str().expect("utf-8")]].concat();
    // No samples/ next to the copy: the trace is missing.
    for args in [&["validate", file][..], &simulate] {
        let out = spillway(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains(&location) && err.contains("not found"),
            "{err}"
        );
        // Only simulate has the flag to offer.
        assert_eq!(err.contains("--trace"), args[0] == "simulate", "{err}");
    }
    // A directory where the file should be: unreadable.
    std::fs::create_dir_all(dir.join("samples/trace-sample.csv")).expect("dir");
    let out = spillway(&["validate", file]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(&location) && err.contains("cannot read"),
        "{err}"
    );
}

#[test]
fn compare_locates_a_missing_trace_on_the_scenarios_own_line() {
    let yaml = trace_sample_yaml();
    // Layers before the traffic: the policy file's layers are spliced in above the trace.
    let (head, rest) = yaml.split_at(yaml.find("traffic:\n").expect("traffic"));
    let (traffic, rest) = rest.split_at(rest.find("layers:\n").expect("layers"));
    let (layers, policies) = rest.split_at(rest.find("policies:\n").expect("policies"));
    let yaml = format!("{head}{layers}{traffic}{policies}");
    let (dir, scenario, location) = scenario_without_its_trace("trace-compare", &yaml);
    let extra = dir.join("extra.yaml");
    let policy = "layers:\n  - { name: strict, scope: user, algorithm: sliding-window, limit: 3, per: 1m }\n  - { name: strict2, scope: user, algorithm: sliding-window, limit: 3, per: 1m }\npolicies:\n  - { name: strict, layers: [strict] }\n";
    std::fs::write(&extra, policy).expect("write");
    let out = spillway(&[
        "compare",
        scenario.to_str().expect("utf-8"),
        "--policy",
        extra.to_str().expect("utf-8"),
        "--no-report",
        "--out",
        dir.join("out").to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains(&location) && err.contains("not found"),
        "{err}"
    );
}

/// `sweep` reads the trace before its runs too: without it, a missing trace made every run end
/// its traffic at once and the sweep printed zeros, exit 0.
#[test]
fn sweep_refuses_a_missing_trace_before_running() {
    let (dir, scenario, location) = scenario_without_its_trace("trace-sweep", &trace_sample_yaml());
    let out_dir = dir.join("out");
    for set in ["seed=1,2", "traffic.trace.on_error=stop,skip"] {
        let out = spillway(&[
            "sweep",
            scenario.to_str().expect("utf-8"),
            "--set",
            set,
            "--quiet",
            "--out",
            out_dir.to_str().expect("utf-8"),
        ]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{set}: {err}");
        assert!(
            err.contains(&location) && err.contains("not found"),
            "{set}: {err}"
        );
        assert!(!err.contains("--trace"), "sweep has no --trace: {err}");
    }
    assert!(!out_dir.exists(), "refused before anything is written");
}
