//! `spillway sweep`: cartesian product of `--set` values, identical results for any thread
//! count, errors located in the user's scenario file.

use super::{spillway, temp_dir, text};

fn sweep(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "sweep",
        "scenarios/spike.yaml",
        "--duration",
        "1m",
        "--quiet",
        "--out",
        dir.to_str().expect("utf-8"),
    ];
    args.extend_from_slice(extra);
    spillway(&args)
}

#[test]
fn sweep_csv_has_one_row_per_variant_policy_and_class_whatever_the_thread_count() {
    let (one, two) = (temp_dir("sweep-1"), temp_dir("sweep-2"));
    let sets = [
        "--set",
        "provider.rpm=100,500",
        "--set",
        "policies[0].max_attempts=1,3",
    ];
    let a = sweep(&one, &[&sets[..], &["--threads", "1"]].concat());
    assert!(a.status.success(), "{}", text(&a.stderr));
    let b = sweep(&two, &[&sets[..], &["--threads", "2"]].concat());
    assert!(b.status.success(), "{}", text(&b.stderr));
    let csv = std::fs::read_to_string(one.join("sweep.csv")).expect("sweep.csv");
    assert_eq!(
        csv,
        std::fs::read_to_string(two.join("sweep.csv")).expect("sweep.csv"),
        "thread count changed the results"
    );
    assert!(csv.starts_with("variant,provider.rpm,policies[0].max_attempts,policy,class,"));
    let all_rows: Vec<&str> = csv.lines().filter(|l| l.contains(",all,")).collect();
    assert_eq!(all_rows.len(), 4 * 2, "4 variants × 2 policies: {csv}");
    assert!(
        all_rows[0].starts_with("0,100,1,token-bucket,all,"),
        "{}",
        all_rows[0]
    );
    assert!(
        all_rows[7].starts_with("3,500,3,sliding-window,all,"),
        "{}",
        all_rows[7]
    );
    assert!(
        !one.join("plots").exists(),
        "no charts when two parameters are swept"
    );
}

#[test]
fn one_numeric_parameter_gets_headline_charts() {
    let dir = temp_dir("sweep-charts");
    let out = sweep(&dir, &["--set", "provider.rpm=100,500"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    for chart in [
        "sweep-provider-rpm-p99-latency-all-classes-ms",
        "sweep-provider-rpm-rejected-requests",
    ] {
        assert!(
            dir.join("plots").join(format!("{chart}.png")).exists(),
            "{chart}"
        );
    }
}

#[test]
fn bad_settings_exit_2_with_located_errors() {
    let dir = temp_dir("sweep-bad");
    let out = sweep(&dir, &["--set", "provider.rpm=fast"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("spike.yaml:")
            && err.contains("provider.rpm")
            && err.contains("--set provider.rpm=fast"),
        "{err}"
    );
    let out = sweep(&dir, &["--set", "provider.rpn=5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("no field `provider.rpn`"),
        "{}",
        text(&out.stderr)
    );
    let out = sweep(&dir, &["--set", "provider=5"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("is a section"),
        "{}",
        text(&out.stderr)
    );
    let out = sweep(&dir, &["--set", "provider.rpm"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        !dir.join("sweep.csv").exists(),
        "nothing is written on bad input"
    );
}

/// The work bound of `simulate` holds for a sweep: each variant over `--duration`, and all
/// variants together (a sweep runs every one), checked before any run.
#[test]
fn sweeps_over_the_work_bound_are_refused_before_running() {
    let dir = temp_dir("sweep-work");
    let out = dir.to_str().expect("utf-8");
    let one_long = spillway(&[
        "sweep",
        "scenarios/spike.yaml",
        "--set",
        "provider.rpm=250",
        "--duration",
        "5000d",
        "--out",
        out,
        "-q",
    ]);
    // spike.yaml: about 1.75e4 events over its 15 minutes; two variants make 3.5e4.
    let two_together = spillway(&[
        "--max-events",
        "20000",
        "sweep",
        "scenarios/spike.yaml",
        "--set",
        "provider.rpm=250,500",
        "--out",
        out,
        "-q",
    ]);
    for refused in [one_long, two_together] {
        let err = text(&refused.stderr);
        assert_eq!(refused.status.code(), Some(2), "{err}");
        assert!(err.contains("--max-events"), "{err}");
    }
    assert!(!dir.join("sweep.csv").exists(), "nothing is run");
}

/// The variants are counted before any is built: a product of long value lists is refused,
/// not parsed into memory.
#[test]
fn too_many_variants_are_refused_before_any_is_built() {
    let dir = temp_dir("sweep-many");
    let values = |field: &str| {
        let list: Vec<String> = (1..=101).map(|v| (v * 10).to_string()).collect();
        format!("{field}={}", list.join(","))
    };
    let (rpm, tpm) = (values("provider.rpm"), values("provider.tpm"));
    let out = sweep(&dir, &["--set", &rpm, "--set", &tpm]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("10201 variants"), "{err}");
}

/// An output directory that cannot be made is found before any run.
#[test]
fn an_uncreatable_out_is_refused_before_any_run() {
    let dir = temp_dir("sweep-file-as-dir");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("not-a-dir");
    std::fs::write(&file, "x").expect("write");
    let out = spillway(&[
        "sweep",
        "scenarios/spike.yaml",
        "--set",
        "provider.rpm=250",
        "--duration",
        "1m",
        "--out",
        file.join("x").to_str().expect("utf-8"),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!err.contains("sweeping"), "runs started: {err}");
}

/// `--seed` overrides every variant's seed, so sweeping `seed` with it would run identical
/// variants under different labels.
#[test]
fn sweeping_the_seed_under_a_fixed_seed_is_refused() {
    let dir = temp_dir("sweep-seed");
    let out = sweep(&dir, &["--set", "seed=1,2", "--seed", "5"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--seed") && err.contains("seed"), "{err}");
}

/// Shipped scenarios have `…`, `→` and `×` in their comments: finding the swept key must step
/// over whole characters (it panicked on the first multi-byte one).
#[test]
fn a_scenario_with_non_ascii_text_sweeps() {
    let dir = temp_dir("sweep-non-ascii");
    let out = spillway(&[
        "sweep",
        "scenarios/thundering-herd.yaml",
        "--set",
        "provider.rpm=500,600",
        "--duration",
        "10s",
        "--quiet",
        "--out",
        dir.to_str().expect("utf-8"),
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(dir.join("sweep.csv").exists(), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--threads` is bounded (100,000 threads took the machine for minutes), and says so in
/// `--help`; a count under the maximum but over the runs is fine (the extra would only wait).
#[test]
fn threads_over_the_maximum_are_refused_and_help_says_so() {
    let dir = temp_dir("sweep-threads");
    let out = sweep(&dir, &["--set", "provider.rpm=250", "--threads", "100000"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("--threads 100000") && err.contains("256"),
        "{err}"
    );
    assert!(!dir.join("sweep.csv").exists(), "nothing is run");
    let out = sweep(&dir, &["--set", "provider.rpm=250", "--threads", "256"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let help = text(&spillway(&["sweep", "--help"]).stdout);
    assert!(help.contains("at most 256"), "{help}");
}
