//! A reused `--out` directory holds only the last run's outputs: files a run writes only when
//! needed (spend.csv, budget.csv, trace.csv, report.html) are removed when it does not, so the
//! report never mixes in an earlier run's tables.

use crate::{spillway_ok, temp_dir};

#[test]
fn a_reused_out_directory_drops_the_earlier_runs_optional_files() {
    let dir = temp_dir("stale-outputs");
    let out = dir.to_str().expect("utf-8");
    let run = |scenario: &str, extra: &[&str]| {
        let mut args = vec!["simulate", scenario, "--duration", "1m", "--out", out, "-q"];
        args.extend_from_slice(extra);
        spillway_ok(&args);
    };
    run("scenarios/budget.yaml", &[]);
    assert!(
        dir.join("spend.csv").exists(),
        "the budget run writes spend.csv"
    );
    run("scenarios/spike.yaml", &[]);
    for name in ["spend.csv", "budget.csv"] {
        assert!(!dir.join(name).exists(), "{name} of an earlier run is left");
    }
    let html = std::fs::read_to_string(dir.join("report.html")).expect("report.html");
    assert!(
        !html.contains("API-key budgets"),
        "budget.yaml's table in spike's report"
    );
    run("scenarios/trace-sample.yaml", &[]);
    assert!(
        dir.join("trace.csv").exists(),
        "the trace run writes trace.csv"
    );
    run("scenarios/spike.yaml", &["--no-report"]);
    assert!(
        !dir.join("trace.csv").exists(),
        "trace.csv of an earlier run is left"
    );
    assert!(
        !dir.join("report.html").exists(),
        "a report of an earlier run is left"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
