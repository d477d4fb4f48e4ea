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
