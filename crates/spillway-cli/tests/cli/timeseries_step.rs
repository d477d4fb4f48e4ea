//! Long runs write a coarser timeseries.csv: the width is automatic, or `--timeseries-step`.

use crate::{spillway, spillway_ok, temp_dir, text};
use std::path::Path;

/// One user sending one request an hour: long runs of it are cheap to simulate.
const SLOW: &str = r#"
seed: 1
duration: 30s
provider: { name: p, rpm: 60, tpm: 100000, concurrency: 4,
  latency: { base: 100ms, per_output_token: 1ms },
  price: { input_usd_per_mtok: 0.15, output_usd_per_mtok: 0.6 } }
traffic:
  groups:
    - { name: chat, users: 1, class: interactive, arrival: { poisson: { rate: 1/h } },
        input_tokens: { median: 100, sigma: 0.5, max: 1000 },
        output_tokens: { median: 50, sigma: 0.5, max: 500 } }
layers:
  - { name: per-user, scope: user, algorithm: token-bucket, limit: 3, per: 1m }
policies:
  - { name: tb, layers: [per-user] }
"#;

/// The `t_s` column of `dir/timeseries.csv`.
fn seconds_of(dir: &Path) -> Vec<u64> {
    let csv = std::fs::read_to_string(dir.join("timeseries.csv")).expect("timeseries.csv");
    csv.lines()
        .skip(1)
        .map(|line| line.split(',').nth(1).expect("t_s").parse().expect("u64"))
        .collect()
}

#[test]
fn a_long_run_writes_at_most_100000_rows_per_policy_of_the_automatic_width() {
    let dir = temp_dir("coarse");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let scenario = dir.join("slow.yaml");
    std::fs::write(&scenario, SLOW).expect("write");
    let out = dir.join("out");
    let args = [
        "simulate",
        scenario.to_str().expect("utf-8"),
        "--no-report",
        "--quiet",
    ];
    let run = |extra: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--out", out.to_str().expect("utf-8")]);
        all.extend(extra);
        spillway_ok(&all);
        seconds_of(&out)
    };
    // 200 days: 17.28 M seconds, 300 s rows are the smallest round width under 100,000 rows.
    let t_s = run(&["--duration", "200d"]);
    assert!(t_s.len() <= 100_000, "{} rows", t_s.len());
    // Rows run to the last event's bucket, near the end of the run.
    assert!(t_s.len() > 57_000, "{} rows", t_s.len());
    assert!(t_s.iter().enumerate().all(|(i, &t)| t == 300 * i as u64));
    let offered: u64 = std::fs::read_to_string(out.join("summary.csv"))
        .expect("summary.csv")
        .lines()
        .last()
        .and_then(|l| l.split(',').nth(2)?.parse().ok())
        .expect("offered");
    let csv = std::fs::read_to_string(out.join("timeseries.csv")).expect("timeseries.csv");
    let summed: u64 = csv
        .lines()
        .skip(1)
        .map(|l| {
            l.split(',')
                .nth(2)
                .and_then(|v| v.parse::<u64>().ok())
                .expect("offered")
        })
        .sum();
    assert_eq!(summed, offered, "rows sum to the summary's count");
    // Forced: a 1 h width.
    let t_s = run(&["--duration", "200d", "--timeseries-step", "1h"]);
    assert!((4_700..=4_801).contains(&t_s.len()), "{} rows", t_s.len());
    assert!(t_s.iter().enumerate().all(|(i, &t)| t == 3_600 * i as u64));
    // The scenario's own 30 s stay per second.
    let t_s = run(&[]);
    assert!(t_s.len() <= 31 && t_s.iter().enumerate().all(|(i, &t)| t == i as u64));
}

#[test]
fn a_forced_narrow_width_meets_the_row_bound_and_a_bad_width_is_refused() {
    let dir = temp_dir("coarse-bad");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let scenario = dir.join("slow.yaml");
    std::fs::write(&scenario, SLOW).expect("write");
    let path = scenario.to_str().expect("utf-8");
    let out = spillway(&[
        "simulate",
        path,
        "--duration",
        "1000d",
        "--timeseries-step",
        "1s",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("--timeseries-step") && err.contains("--max-rows"),
        "{err}"
    );
    for bad in ["0s", "1500ms", "soon"] {
        let out = spillway(&["simulate", path, "--timeseries-step", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
    }
}
