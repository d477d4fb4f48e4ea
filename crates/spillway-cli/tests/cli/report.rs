//! `simulate` writes charts and report.html; `spillway report DIR` rebuilds them from the
//! CSVs alone, byte for byte, and refuses bad CSVs with exit 2 without touching the outputs.

use super::{spillway, spillway_ok, temp_dir, text};
use std::path::{Path, PathBuf};

/// A short simulated run in a fresh directory.
fn simulated(name: &str, extra: &[&str]) -> PathBuf {
    let dir = temp_dir(name);
    let mut args = vec![
        "simulate",
        "scenarios/spike.yaml",
        "--duration",
        "2m",
        "--out",
        dir.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    spillway_ok(&args);
    dir
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn plots(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join("plots"))
        .expect("plots/")
        .map(|e| e.expect("entry").path())
        .collect();
    files.sort();
    files
}

#[test]
fn simulate_writes_a_self_contained_report_with_the_scenario_and_seed() {
    let dir = simulated("report-html", &["--seed", "7"]);
    let html = String::from_utf8(read(&dir.join("report.html"))).expect("utf-8");
    assert!(html.contains("seed <b>7</b>"), "the seed is echoed");
    assert!(html.contains("rpm: 500"), "the scenario YAML is echoed");
    assert!(
        html.contains("class=\"num best\""),
        "best values are highlighted"
    );
    assert!(html.matches("<svg").count() >= 5, "charts are inline SVG");
    for external in ["src=\"http", "href=\"http", "<script", "<link", "@import"] {
        assert!(
            !html.contains(external),
            "report.html must not contain {external}"
        );
    }
    assert_eq!(
        read(&dir.join("scenario.yaml")),
        read(&super::workspace().join("scenarios/spike.yaml"))
    );
    let latency = String::from_utf8(read(&dir.join("latency.csv"))).expect("utf-8");
    assert!(latency.starts_with("policy,class,quantile,latency_ms\n"));
    assert!(latency.contains("\ntoken-bucket,all,1.0000,"));
    let names: Vec<String> = plots(&dir)
        .iter()
        .filter_map(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .collect();
    for expected in [
        "latency-cdf-interactive.png",
        "latency-cdf-interactive.svg",
        "traffic-token-bucket.png",
        "queue-token-bucket.png",
        "spend.png",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    assert!(!names.iter().any(|n| n.ends_with(".part")));
}

#[test]
fn report_rebuilds_the_same_bytes_from_the_csvs_alone() {
    let dir = simulated("report-again", &["--quiet"]);
    let before: Vec<(PathBuf, Vec<u8>)> = plots(&dir)
        .into_iter()
        .chain([dir.join("report.html")])
        .map(|p| {
            let bytes = read(&p);
            (p, bytes)
        })
        .collect();
    std::fs::remove_dir_all(dir.join("plots")).expect("remove plots");
    std::fs::remove_file(dir.join("report.html")).expect("remove html");
    let out = spillway_ok(&["report", dir.to_str().expect("utf-8")]);
    assert!(text(&out.stdout).contains("report.html"));
    for (path, bytes) in before {
        assert!(read(&path) == bytes, "{} differs", path.display());
    }
}

#[test]
fn two_runs_draw_byte_identical_charts() {
    let (a, b) = (
        simulated("report-det-a", &[]),
        simulated("report-det-b", &[]),
    );
    let (pa, pb) = (plots(&a), plots(&b));
    assert_eq!(pa.len(), pb.len());
    for (x, y) in pa.iter().zip(&pb) {
        assert!(read(x) == read(y), "{} differs", x.display());
    }
}

#[test]
fn a_missing_column_exits_2_naming_file_and_column_and_writes_nothing() {
    let dir = simulated("report-bad", &["--no-report"]);
    assert!(
        !dir.join("report.html").exists(),
        "--no-report writes no report"
    );
    let series = String::from_utf8(read(&dir.join("timeseries.csv"))).expect("utf-8");
    std::fs::write(
        dir.join("timeseries.csv"),
        series.replacen("spend_usd", "spent", 1),
    )
    .expect("write");
    let out = spillway(&["report", dir.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("timeseries.csv") && err.contains("`spend_usd`"),
        "{err}"
    );
    assert!(!dir.join("report.html").exists() && !dir.join("plots").exists());
    let out = spillway(&["report", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("summary.csv"),
        "{}",
        text(&out.stderr)
    );
}

/// A file that lacks a column may be no run's CSV at all (a key file in its place): its
/// header line is not echoed, only the file, the line and the column looked for.
#[test]
fn a_missing_column_does_not_echo_the_header_line() {
    let dir = simulated("report-no-header-echo", &["--no-report"]);
    let secret = "API_KEY=sk-live-abcdef1234567890";
    std::fs::write(dir.join("summary.csv"), format!("{secret}\nx\n")).expect("write");
    let out = spillway(&["report", dir.to_str().expect("utf-8")]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("summary.csv:1: missing column `policy`"),
        "{err}"
    );
    assert!(
        !err.contains("sk-live") && !err.contains("API_KEY"),
        "{err}"
    );
}

#[test]
fn a_bad_cell_is_located_by_line_and_column() {
    let dir = simulated("report-cell", &["--no-report"]);
    let summary = String::from_utf8(read(&dir.join("summary.csv"))).expect("utf-8");
    let mut lines: Vec<String> = summary.lines().map(str::to_string).collect();
    lines[2] = lines[2].replacen(",0,", ",zero,", 1);
    std::fs::write(dir.join("summary.csv"), lines.join("\n") + "\n").expect("write");
    let out = spillway(&["report", dir.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("summary.csv:3: column") && err.contains("`zero`"),
        "{err}"
    );
}

/// A count is a non-negative integer: a hand-edited `-5` in summary.csv is a located error
/// (exit 2), not a negative count shown in the tables.
#[test]
fn a_negative_count_is_located_by_line_and_column() {
    let dir = simulated("report-negative", &["--no-report"]);
    let summary = String::from_utf8(read(&dir.join("summary.csv"))).expect("utf-8");
    let mut lines: Vec<String> = summary.lines().map(str::to_string).collect();
    let mut cells: Vec<&str> = lines[2].split(',').collect();
    cells[2] = "-5"; // `offered`
    lines[2] = cells.join(",");
    std::fs::write(dir.join("summary.csv"), lines.join("\n") + "\n").expect("write");
    let out = spillway(&["report", dir.to_str().expect("utf-8")]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("summary.csv:3: column `offered`")
            && err.contains("non-negative integer")
            && err.contains("`-5`"),
        "{err}"
    );
    assert!(!dir.join("report.html").exists());
}

/// Without scenario.yaml the headline questions are unknown: the report says so (instead of
/// "the scenario asks no headline questions") and warns on stderr; it is still written.
#[test]
fn a_missing_scenario_yaml_is_said_in_the_headline_and_warned() {
    let dir = simulated("report-no-scenario", &["--no-report"]);
    std::fs::remove_file(dir.join("scenario.yaml")).expect("remove scenario.yaml");
    let out = spillway(&["report", dir.to_str().expect("utf-8")]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("warning:") && err.contains("scenario.yaml") && err.contains("headline"),
        "{err}"
    );
    let html = String::from_utf8(read(&dir.join("report.html"))).expect("utf-8");
    let headline = html
        .split("<section id=\"headline\">")
        .nth(1)
        .and_then(|h| h.split("</section>").next())
        .expect("a headline section");
    assert!(headline.contains("scenario.yaml"), "{headline}");
    assert!(
        !headline.contains("asks no headline questions"),
        "{headline}"
    );
}

/// Columns appended by newer writers are ignored; optional files add their charts.
#[test]
fn extra_columns_are_tolerated_and_optional_inputs_add_charts() {
    let dir = simulated("report-extra", &["--no-report"]);
    let series = String::from_utf8(read(&dir.join("timeseries.csv"))).expect("utf-8");
    let widened: Vec<String> = series
        .lines()
        .enumerate()
        .map(|(i, line)| match i {
            0 => format!(
                "{line},queued_interactive,queued_standard,queued_batch,queued_background,future"
            ),
            _ => format!("{line},{i},2,1,0,x"),
        })
        .collect();
    std::fs::write(dir.join("timeseries.csv"), widened.join("\n") + "\n").expect("write");
    std::fs::write(
        dir.join("users.csv"),
        "policy,class,user,completed,tokens,extra\n\
         token-bucket,interactive,u1,3,900,x\ntoken-bucket,interactive,u2,1,100,x\n\
         sliding-window,interactive,u1,2,500,x\nsliding-window,interactive,u2,2,500,x\n",
    )
    .expect("users.csv");
    std::fs::write(dir.join("budget.csv"), "name,limit_usd\ndaily,0.5\n").expect("budget.csv");
    spillway_ok(&["report", dir.to_str().expect("utf-8")]);
    for chart in [
        "fairness.png",
        "queue-token-bucket.png",
        "queue-sliding-window.png",
    ] {
        assert!(dir.join("plots").join(chart).exists(), "{chart}");
    }
    let html = String::from_utf8(read(&dir.join("report.html"))).expect("utf-8");
    assert!(
        html.contains("Gini 0.400") && html.contains("Gini 0.000"),
        "Gini per policy"
    );
    assert!(
        html.contains("budget daily: $0.5"),
        "the budget line is in the legend"
    );
}

#[test]
fn json_format_prints_the_summary_for_scripts() {
    let dir = temp_dir("report-json");
    let out = spillway_ok(&[
        "simulate",
        "scenarios/spike.yaml",
        "--duration",
        "1m",
        "--no-report",
        "--quiet",
        "--format",
        "json",
        "--out",
        dir.to_str().expect("utf-8"),
    ]);
    assert!(out.stderr.is_empty(), "--quiet: {}", text(&out.stderr));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(json["scenario"], "spike");
    assert_eq!(json["seed"], 42);
    let rows = json["summary"].as_array().expect("summary rows");
    let all = rows
        .iter()
        .find(|r| r["policy"] == "token-bucket" && r["class"] == "all")
        .expect("the all row");
    let offered = all["offered"].as_u64().expect("integer");
    let admitted = all["admitted"].as_u64().expect("integer");
    let rejected = all["rejected"].as_u64().expect("integer");
    assert_eq!(offered, admitted + rejected);
    assert!(all["p99_ms"].is_f64() || all["p99_ms"].is_u64());
}
