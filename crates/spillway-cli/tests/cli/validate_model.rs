//! `spillway validate-model`: the report, its determinism, and the refusals (exit 2).
//!
//! The debug binary runs small samples here (10,000 requests per case); the precision of the
//! published numbers is the business of `reports/fidelity.md` and the simulator's tests.

use super::{spillway, spillway_ok, temp_dir, text, workspace};

#[test]
fn writes_every_case_with_theory_interval_and_littles_law_deterministically() {
    let dir = temp_dir("fidelity");
    let (a, b) = (dir.join("a.md"), dir.join("b/fidelity.md"));
    for out in [&a, &b] {
        let run = spillway_ok(&[
            "validate-model",
            "--requests",
            "10000",
            "--replications",
            "10",
            "--out",
            out.to_str().expect("utf-8"),
        ]);
        let summary = text(&run.stdout);
        assert!(
            summary.contains("validation-mmc") && summary.contains("ok"),
            "{summary}"
        );
    }
    let report = std::fs::read_to_string(&a).expect("report written");
    for part in [
        "| validation-mm1 | M/M/1 | Wq = ρ/(μ−λ)",
        "| validation-md1 | M/D/1 | Pollaczek–Khinchine",
        "| validation-mg1-lognormal | M/G/1 | Pollaczek–Khinchine",
        "| validation-mmc | M/M/4 | Erlang C",
        "99 % CI",
        "Little's law error (`littles_law_error_pct`",
        "--requests 10000 --replications 10",
        "## Method",
    ] {
        assert!(report.contains(part), "{part} missing:\n{report}");
    }
    assert_eq!(
        report,
        std::fs::read_to_string(&b).expect("second report"),
        "same command, same bytes"
    );
}

#[test]
fn an_overloaded_case_is_refused_with_exit_2_naming_the_file_and_rho() {
    let dir = temp_dir("fidelity-overload");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mm1 = std::fs::read_to_string(workspace().join("scenarios/validation/mm1.yaml"))
        .expect("mm1.yaml");
    let bad = dir.join("overloaded.yaml");
    std::fs::write(&bad, mm1.replace("rate: 7/s", "rate: 12/s")).expect("write");
    let out = dir.join("fidelity.md");
    let run = spillway(&[
        "validate-model",
        bad.to_str().expect("utf-8"),
        "--requests",
        "10000",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    assert_eq!(run.status.code(), Some(2));
    let err = text(&run.stderr);
    for part in [
        "overloaded.yaml",
        "ρ = λ·E[S]/c",
        "1.2000 ≥ 1",
        "no steady state",
    ] {
        assert!(err.contains(part), "{part} missing: {err}");
    }
    assert!(!out.exists(), "nothing is written for a refused case");
}

#[test]
fn too_few_requests_or_replications_exit_2() {
    let few = spillway(&["validate-model", "--requests", "100"]);
    assert_eq!(few.status.code(), Some(2));
    assert!(
        text(&few.stderr).contains("too few"),
        "{}",
        text(&few.stderr)
    );
    let one = spillway(&["validate-model", "--replications", "1"]);
    assert_eq!(one.status.code(), Some(2));
}

#[test]
fn the_validation_cases_are_ordinary_valid_scenarios() {
    let dir = workspace().join("scenarios/validation");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).expect("scenarios/validation/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let out = spillway(&["validate", path.to_str().expect("utf-8 path")]);
            assert!(
                out.status.success(),
                "{}: {}",
                path.display(),
                text(&out.stderr)
            );
            seen += 1;
        }
    }
    assert_eq!(seen, 5, "mm1, md1, mg1-lognormal, mmc, priority3");
}

/// `--requests` is held to the work bound every command keeps, and an `--out` that cannot be
/// the report is refused before any case runs: both bad input (exit 2), not a run without
/// end or a failure after the work was done.
#[test]
fn endless_requests_or_a_directory_as_out_exit_2_before_running() {
    let huge = spillway(&["validate-model", "--requests", "18446744073709551615"]);
    let err = text(&huge.stderr);
    assert_eq!(huge.status.code(), Some(2), "{err}");
    assert!(err.contains("--max-events"), "{err}");

    let dir = temp_dir("fidelity-dir-out");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let run = spillway(&[
        "validate-model",
        "--requests",
        "10000",
        "--replications",
        "10",
        "--out",
        dir.to_str().expect("utf-8"),
    ]);
    let err = text(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{err}");
    assert!(err.contains("is a directory"), "{err}");
    assert!(!err.contains("validation-mm1"), "no case ran: {err}");
}
