//! `spillway compare`: extra policy files run on the scenario's traffic; their errors point at
//! their own file, line and column.

use super::{spillway, spillway_ok, temp_dir, text};

const STRICT: &str = "# stricter per-user limit\nlayers:\n  - name: per-user-strict\n    scope: user\n    algorithm: sliding-window\n    limit: 3\n    per: 1m\npolicies:\n  - name: strict\n    layers: [per-user-strict, per-feature]\n    queue_capacity: 500\n    max_attempts: 2\n";

#[test]
fn extra_policies_run_on_the_same_traffic() {
    let dir = temp_dir("compare");
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("strict.yaml");
    std::fs::write(&file, STRICT).expect("policy file");
    let out_dir = dir.join("out");
    spillway_ok(&[
        "compare",
        "scenarios/spike.yaml",
        "--policy",
        file.to_str().expect("utf-8"),
        "--duration",
        "1m",
        "--quiet",
        "--no-report",
        "--out",
        out_dir.to_str().expect("utf-8"),
    ]);
    let summary = std::fs::read_to_string(out_dir.join("summary.csv")).expect("summary.csv");
    let offered = |policy: &str| {
        summary
            .lines()
            .find(|l| l.starts_with(&format!("{policy},all,")))
            .and_then(|l| l.split(',').nth(2))
            .map(str::to_string)
            .unwrap_or_else(|| panic!("{policy} all row in {summary}"))
    };
    assert_eq!(offered("strict"), offered("token-bucket"), "same traffic");
    let echoed = std::fs::read_to_string(out_dir.join("scenario.yaml")).expect("scenario.yaml");
    assert!(
        echoed.contains("name: strict"),
        "the merged scenario is echoed"
    );
}

#[test]
fn errors_in_a_policy_file_name_that_file() {
    let dir = temp_dir("compare-bad");
    std::fs::create_dir_all(&dir).expect("dir");
    let file = dir.join("bad.yaml");
    std::fs::write(
        &file,
        "- name: broken\n  layers: [per-feature]\n  queue_capacity: -1\n",
    )
    .expect("write");
    let out = spillway(&[
        "compare",
        "scenarios/spike.yaml",
        "--policy",
        file.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("bad.yaml:3:19:") && err.contains("queue_capacity"),
        "{err}"
    );
}

/// `--out`'s help is shared with `simulate`; it states compare's own default directory.
#[test]
fn compare_help_gives_its_own_output_default() {
    let help = text(&spillway_ok(&["compare", "--help"]).stdout);
    assert!(help.contains("reports/<scenario name>-compare/"), "{help}");
}

/// A policy file `compare` would merge only in part is refused, located in that file: keys
/// other than `policies:` and `layers:` (they would be dropped), no policies at all, a
/// flow-style list, or a YAML mistake (reported in the policy file, not the scenario).
#[test]
fn policy_files_compare_cannot_merge_whole_are_refused_in_their_own_file() {
    let dir = temp_dir("compare-shape");
    std::fs::create_dir_all(&dir).expect("dir");
    let policy = "policies:\n  - name: s\n    layers: [per-feature]\n";
    let cases = [
        (format!("{policy}bogus_top: 1\n"), "p0.yaml:4:1: bogus_top:"),
        (format!("seed: 5\n{policy}"), "p1.yaml:1:1: seed:"),
        (
            "policies: []\n".to_string(),
            "p2.yaml:1:1: policies: no policies",
        ),
        (String::new(), "p3.yaml:1:1: policies: no policies"),
        (
            "policies: [{ name: s, layers: [per-feature] }]\n".to_string(),
            "p4.yaml:1:1: policies: write the list as a block",
        ),
        (policy.replace("    layers", "\tlayers"), "p5.yaml:2:11:"),
    ];
    for (i, (yaml, expected)) in cases.iter().enumerate() {
        let file = dir.join(format!("p{i}.yaml"));
        std::fs::write(&file, yaml).expect("write");
        let out = spillway(&[
            "compare",
            "scenarios/spike.yaml",
            "--policy",
            file.to_str().expect("utf-8"),
            "--duration",
            "1m",
            "-q",
            "--no-report",
            "--out",
            dir.join("out").to_str().expect("utf-8"),
        ]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{yaml:?}: {err}");
        assert!(
            err.contains(expected),
            "{yaml:?}: `{err}` lacks `{expected}`"
        );
        assert!(!err.contains("spike.yaml:"), "{yaml:?}: {err}");
    }
}

/// `policies:` of `n` policies without layers, named `{prefix}0`, `{prefix}1`, ….
fn many_policies(prefix: &str, n: usize) -> String {
    let items: String = (0..n)
        .map(|k| format!("  - {{ name: {prefix}{k}, layers: [] }}\n"))
        .collect();
    format!("policies:\n{items}")
}

/// Every policy keeps its whole metrics until the reports are written: the number one run
/// compares is bounded (64), and the first one over is located, in whichever file holds it.
#[test]
fn a_run_compares_at_most_64_policies() {
    let dir = temp_dir("many-policies");
    std::fs::create_dir_all(&dir).expect("dir");
    let spike = std::fs::read_to_string(super::workspace().join("scenarios/spike.yaml"))
        .expect("spike.yaml");
    let head = &spike[..spike.find("\npolicies:\n").expect("policies") + 1];
    let scenario = |n: usize| {
        let file = dir.join(format!("many{n}.yaml"));
        std::fs::write(&file, format!("{head}{}", many_policies("p", n))).expect("write");
        file
    };
    let at_cap = scenario(64);
    spillway_ok(&["validate", at_cap.to_str().expect("utf-8")]);
    let over = scenario(65);
    let over = over.to_str().expect("utf-8");
    let out_dir = dir.join("out");
    let simulate = ["simulate", over, "--out", out_dir.to_str().expect("utf-8")];
    let serve = ["serve", "--policy", over, "--listen", "127.0.0.1:0"];
    for command in [&["validate", over][..], &simulate, &serve] {
        let out = spillway(command);
        assert_eq!(out.status.code(), Some(2), "{command:?}");
        let err = text(&out.stderr);
        assert!(
            err.contains("many65.yaml:") && err.contains(": policies[64].name: 65 policies"),
            "{command:?}: {err}"
        );
        // Worded for every command that reads a scenario (serve runs no comparison).
        assert!(
            err.contains("a scenario may hold") && !err.contains("compare them"),
            "{command:?}: {err}"
        );
    }
    // spike.yaml has 2 policies: the extra file's 63rd (policies[62]) is the 65th.
    let extra = dir.join("extra.yaml");
    std::fs::write(&extra, many_policies("e", 70)).expect("write");
    let out = spillway(&[
        "compare",
        "scenarios/spike.yaml",
        "--policy",
        extra.to_str().expect("utf-8"),
        "--out",
        out_dir.to_str().expect("utf-8"),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("extra.yaml:64:") && err.contains("policies[62].name: 72 policies"),
        "{err}"
    );
    assert!(!out_dir.exists(), "refused before anything is written");
}
