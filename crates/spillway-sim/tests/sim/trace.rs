//! Trace replay: every format parses the real files in ../shared/traces (skipped loudly when
//! absent), fidelity figures match the traces' README, malformed input is located, and the
//! controls (window, speed-up, loop, rate scaling) and determinism hold.

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
        eprintln!(
            "skipped: {} is not present (real traces live outside the repo)",
            path.display()
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

#[test]
fn azure_traces_match_their_readme_figures() {
    // (file, rows, span, mean rps, peak/s, peak/min, cv s, cv min, in mean, in p99, out mean, out p99, tok/min)
    let expected = [
        (
            "azure_llm_2023_code.csv",
            8_819,
            3_436.0,
            2.57,
            67,
            622,
            2.27,
            1.03,
            2_048.0,
            7_436,
            27.9,
            252,
            1_326_349,
        ),
        (
            "azure_llm_2023_conv.csv",
            19_366,
            3_502.0,
            5.53,
            19,
            506,
            0.49,
            0.25,
            1_155.0,
            4_142,
            211.1,
            601,
            809_197,
        ),
    ];
    for (
        file,
        rows,
        span,
        rps,
        peak_s,
        peak_m,
        cv_s,
        cv_m,
        in_mean,
        in_p99,
        out_mean,
        out_p99,
        tpm,
    ) in expected
    {
        let Some(path) = shared(file) else { continue };
        let s = load(
            &format!("    path: {}\n    format: azure\n", path.display()),
            "2h",
        );
        let st = stats_of(&s).expect("parses");
        assert_eq!(st.rows, rows, "{file}");
        close(st.span_s, span, 0.5, "span");
        close(st.mean_rps, rps, 0.005, "mean rps");
        assert_eq!((st.peak_per_s, st.peak_per_min), (peak_s, peak_m), "{file}");
        close(st.cv_per_s, cv_s, 0.005, "cv per s");
        close(st.cv_per_min, cv_m, 0.005, "cv per min");
        close(st.input_mean, in_mean, 0.5, "input mean");
        close(st.output_mean, out_mean, 0.05, "output mean");
        assert_eq!((st.input_p99, st.output_p99), (in_p99, out_p99), "{file}");
        assert_eq!(st.peak_tokens_per_min, tpm, "{file}");
        assert_eq!(st.skipped, 0);
    }
}

#[test]
fn azure_timestamps_are_exact_to_100ns() {
    let Some(path) = shared("azure_llm_2023_code.csv") else {
        return;
    };
    let s = load(
        &format!("    path: {}\n    format: azure\n", path.display()),
        "1m",
    );
    let a = arrivals(&s, 1);
    // Rows 1 and 2: 18:17:03.9799600 and 18:17:04.0319600 (first row is time 0).
    assert_eq!(a[0].at, Time::ZERO);
    assert_eq!(a[1].at.as_nanos(), 52_000_000);
    assert_eq!((a[0].input_tokens, a[0].output_tokens), (4_808, 10));
}

#[test]
fn burstgpt_six_and_eight_column_layouts_parse() {
    for (file, span, failed) in [
        ("burstgpt_1_first400.csv", 37_269.0, 17),
        ("burstgpt_3_first400.csv", 41_453.0, 0),
    ] {
        let Some(path) = shared(file) else { continue };
        let s = load(
            &format!("    path: {}\n    format: burstgpt\n", path.display()),
            "1d",
        );
        let st = stats_of(&s).expect("parses");
        assert_eq!(st.rows, 400, "{file}");
        close(st.span_s, span, 0.5, "span");
        let zero_out = arrivals(&s, 1)
            .iter()
            .filter(|a| a.output_tokens == 0)
            .count() as u64;
        assert_eq!(st.failed, zero_out, "zero-token rows are the failures");
        if failed > 0 {
            assert_eq!(st.failed, failed);
        }
    }
}

#[test]
fn burstgpt_sessions_are_users() {
    let Some(path) = shared("burstgpt_3_first400.csv") else {
        return;
    };
    let s = load(
        &format!(
            "    path: {}\n    format: burstgpt\n    users: {{ count: 1 }}\n",
            path.display()
        ),
        "1d",
    );
    // 394 rows in 135 sessions, 6 API rows without a session → the one Zipf user.
    assert_eq!(stats_of(&s).expect("parses").users, 136);
}

#[test]
fn servegen_windows_generate_each_clients_count() {
    let Some(path) = shared("servegen_deepseek-r1_client_windows_1d.csv") else {
        return;
    };
    let text = std::fs::read_to_string(&path).expect("readable");
    let mut expected = 0u64;
    let mut clients = std::collections::BTreeSet::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        if f[1].parse::<u64>().expect("window") >= 7_200 {
            continue; // the first two hours keep the test quick
        }
        expected += (f[2].parse::<f64>().expect("rate") * 600.0).round() as u64;
        clients.insert(f[0].to_string());
    }
    let block = format!(
        "    path: {}\n    format: servegen\n    tokens: {{ input: {{ median: 500, sigma: 1 }}, output: {{ median: 200, sigma: 0.5 }} }}\n",
        path.display()
    );
    let s = load(&block, "2h");
    let st = stats_of(&s).expect("parses");
    assert_eq!(st.rows, expected);
    assert_eq!(
        st.users,
        clients.len() as u64,
        "one user per client (tenant)"
    );
    // Determinism: the same seed replays the same arrivals.
    let a: Vec<_> = ArrivalStream::new(&s, 9, Duration::from_secs(1_200)).collect();
    let b: Vec<_> = ArrivalStream::new(&s, 9, Duration::from_secs(1_200)).collect();
    assert!(!a.is_empty());
    assert_eq!(a, b);
}

#[test]
fn the_sample_scenario_replays_deterministically() {
    let path = workspace().join("scenarios/trace-sample.yaml");
    let s = spillway_sim::scenario::load(&path).expect("valid");
    let a = arrivals(&s, 3);
    assert_eq!(a.len(), 893);
    assert_eq!(a, arrivals(&s, 3));
    assert!(a.windows(2).all(|w| w[0].at <= w[1].at));
    let groups: std::collections::BTreeSet<u32> = a.iter().map(|x| x.group).collect();
    assert_eq!(
        groups.len(),
        3,
        "class and feature columns pick the mix entry"
    );
}

#[test]
fn rows_without_users_get_seeded_zipf_users() {
    let rows: String = (0..2_000).map(|i| format!("{i},10,5\n")).collect();
    let path = scratch("zipf.csv", &format!("t,in,out\n{rows}"));
    let s = load(
        &csv_block(&path, "    users: { count: 50, zipf: 1.0 }\n"),
        "1h",
    );
    let a = arrivals(&s, 1);
    let b = arrivals(&s, 2);
    assert_ne!(
        a.iter().map(|x| x.user).collect::<Vec<_>>(),
        b.iter().map(|x| x.user).collect::<Vec<_>>()
    );
    let count = |k| a.iter().filter(|x| x.user == k).count();
    assert!(a.iter().all(|x| x.user < 50));
    assert!(
        count(0) > 3 * count(9),
        "user 0 ({}) outweighs user 9 ({})",
        count(0),
        count(9)
    );
}

#[test]
fn crlf_without_final_newline_and_bom_parse() {
    let path = scratch("crlf.csv", "\u{feff}t,in,out\r\n1.5,10,5\r\n2.25,11,6");
    let s = load(&csv_block(&path, ""), "1h");
    let a = arrivals(&s, 1);
    assert_eq!(a.len(), 2);
    assert_eq!(a[1].at.as_nanos(), 750_000_000);
    assert_eq!(a[1].output_tokens, 6);
}

#[test]
fn window_speedup_loop_and_rate_scaling() {
    let rows: String = (0..100).map(|i| format!("{i},10,5\n")).collect();
    let path = scratch("ctl.csv", &format!("t,in,out\n{rows}"));
    let times = |extra: &str, dur: &str| -> Vec<u64> {
        arrivals(&load(&csv_block(&path, extra), dur), 1)
            .iter()
            .map(|a| a.at.as_nanos())
            .collect()
    };
    let windowed = times("    start: 10s\n    end: 20s\n", "1h");
    assert_eq!(
        windowed,
        (0..10).map(|i| i * 1_000_000_000).collect::<Vec<_>>()
    );
    let fast = times("    speedup: 4\n", "1h");
    assert_eq!(fast[4], 1_000_000_000);
    let looped = times("    loop: true\n", "250s");
    assert_eq!(looped.len(), 250, "period = 99 s span + 1 s mean gap");
    assert_eq!(looped[100], 100_000_000_000);
    let doubled = times("    rate_scale: 2\n    copy_offset: 250ms\n", "1h");
    assert_eq!(doubled.len(), 200);
    assert_eq!(doubled[1], 250_000_000);
    assert!(doubled.windows(2).all(|w| w[0] <= w[1]));
    let thinned = times("    rate_scale: 0.5\n", "1h");
    assert!((30..70).contains(&thinned.len()), "{}", thinned.len());
    assert_eq!(
        thinned,
        times("    rate_scale: 0.5\n", "1h"),
        "seeded thinning"
    );
}

#[test]
fn small_disorder_is_reordered_and_large_disorder_is_located() {
    let path = scratch("disorder.csv", "t,in,out\n0,1,1\n1.0,1,1\n0.8,1,1\n2,1,1\n");
    let a = arrivals(
        &load(&csv_block(&path, "    reorder_window: 500ms\n"), "1h"),
        1,
    );
    assert_eq!(
        a.iter().map(|x| x.at.as_nanos()).collect::<Vec<_>>(),
        [0, 800_000_000, 1_000_000_000, 2_000_000_000]
    );
    let path = scratch("disorder2.csv", "t,in,out\n0,1,1\n5,1,1\n9,1,1\n1,1,1\n");
    let err = stats_of(&load(&csv_block(&path, "    reorder_window: 1s\n"), "1h")).unwrap_err();
    let shown = err.to_string();
    assert_eq!(err.line(), 5, "{shown}");
    assert!(
        shown.contains("disorder2.csv:5:") && shown.contains("backwards"),
        "{shown}"
    );
}

#[test]
fn malformed_rows_stop_with_file_and_line_or_are_skipped_and_counted() {
    let body = "t,in,out\n0,1,1\n1,abc,1\n2,1\n3,1,1\n";
    let path = scratch("malformed.csv", body);
    let err = stats_of(&load(&csv_block(&path, ""), "1h")).unwrap_err();
    assert!(matches!(err, TraceError::Row { line: 3, .. }), "{err}");
    assert!(
        err.to_string().contains("malformed.csv:3:") && err.to_string().contains("`in`"),
        "{err}"
    );
    let s = load(&csv_block(&path, "    on_error: skip\n"), "1h");
    let st = stats_of(&s).expect("skips");
    assert_eq!((st.rows, st.skipped), (2, 2));
    let path = scratch("short.csv", "t,in,out\n0,1,1\n2,1\n");
    let err = stats_of(&load(&csv_block(&path, ""), "1h")).unwrap_err();
    assert!(
        err.to_string().contains("short.csv:3:") && err.to_string().contains("missing field `out`"),
        "{err}"
    );
}

#[test]
fn a_missing_mapped_column_and_an_empty_file_are_named() {
    let path = scratch("cols.csv", "time,in,out\n0,1,1\n");
    let err = stats_of(&load(&csv_block(&path, ""), "1h")).unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.contains("cols.csv:1:") && shown.contains("`t`") && shown.contains("time, in, out"),
        "{shown}"
    );
    for (name, body, line) in [("empty.csv", "", 1), ("header-only.csv", "t,in,out\n", 2)] {
        let path = scratch(name, body);
        let err = stats_of(&load(&csv_block(&path, ""), "1h")).unwrap_err();
        assert!(matches!(err, TraceError::Empty { .. }), "{err}");
        assert_eq!(err.line(), line);
        assert!(
            err.to_string().contains(name) && err.to_string().contains("empty"),
            "{err}"
        );
    }
}

#[test]
fn a_missing_file_says_where_to_get_it() {
    let block = "    path: nowhere/azure.csv\n    format: azure\n    get_from: https://github.com/Azure/AzurePublicDataset\n";
    let err = stats_of(&load(block, "1h")).unwrap_err();
    let shown = err.to_string();
    assert!(matches!(err, TraceError::NotFound { .. }));
    assert!(
        shown.contains("nowhere/azure.csv")
            && shown.contains("AzurePublicDataset")
            && shown.contains("--trace"),
        "{shown}"
    );
}

#[test]
fn bad_trace_blocks_are_located_scenario_errors() {
    let errors = scenario_errors("    path: x.csv\n    format: parquet\n");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(
        (errors[0].line, errors[0].field.as_str()),
        (13, "traffic.trace.format")
    );
    assert!(
        errors[0]
            .message
            .contains("`azure`, `burstgpt`, `servegen` or `csv`")
    );
    let errors = scenario_errors(
        "    path: x.csv\n    format: csv\n    columns: { time: t, input_tokens: i, output_tokens: o }\n    time_unit: fortnights\n",
    );
    assert_eq!(errors[0].field, "traffic.trace.time_unit", "{errors:?}");
    assert!(errors[0].message.contains("`ms`"), "{}", errors[0]);
    let errors = scenario_errors(
        "    path: x.csv\n    format: csv\n    columns: { time: t, input_tokens: i, output_tokens: o }\n    time_unit: \"%Y-%q\"\n",
    );
    assert!(errors[0].message.contains("%q"), "{}", errors[0]);
    let errors = scenario_errors("    path: x.csv\n    format: servegen\n");
    assert!(errors[0].message.contains("tokens"), "{}", errors[0]);
    let errors = scenario_errors("    path: x.csv\n    format: azure\n    on_error: ignore\n");
    assert_eq!(errors[0].field, "traffic.trace.on_error");
}

#[test]
fn trace_arrivals_do_not_shift_group_arrivals() {
    // Adding a trace next to a group leaves the group's own arrivals untouched.
    let path = scratch("side.csv", "t,in,out\n0.5,1,1\n1.5,1,1\n");
    let base = crate::BASE;
    let with_trace = base.replace(
        "layers:\n  - name: per-user",
        &format!(
            "  trace:\n{}layers:\n  - name: per-user",
            csv_block(&path, "")
        ),
    );
    let plain = parse(Path::new("/tmp/a.yaml"), base).expect("valid");
    let mixed = parse(Path::new("/tmp/b.yaml"), &with_trace).unwrap_or_else(|e| panic!("{e}"));
    let group_only: Vec<Arrival> = arrivals(&mixed, 1)
        .into_iter()
        .filter(|a| a.group == 0)
        .collect();
    assert_eq!(group_only, arrivals(&plain, 1));
    assert_eq!(
        arrivals(&mixed, 1).iter().filter(|a| a.group == 1).count(),
        2
    );
}
