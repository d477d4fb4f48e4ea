//! Names users choose: a scenario's `name` (its default output directory), layer names (the
//! `layer=` label of /metrics and rejections.csv) and references to them. A name that would
//! escape `reports/` or clash with a reserved label is refused, located, exit 2; wrong
//! references are reported in bounded output; names whose chart file names collide get
//! numbered ones.

use crate::{spillway, temp_dir, text, workspace};

/// spike.yaml in `dir` as `file`, with `from` replaced by `to`.
fn edited(dir: &std::path::Path, file: &str, from: &str, to: &str) -> String {
    crate::copy_edited(dir, "scenarios/spike.yaml", file, (from, to))
}

/// Refused by `validate` (checked before anything is written: `simulate` would write into the
/// escaped directory on a build without the check).
#[test]
fn a_scenario_name_that_is_no_plain_directory_name_is_refused() {
    let dir = temp_dir("bad-scenario-names");
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (i, name) in [
        "/tmp/x",
        "../../x",
        "..",
        ".",
        "\"\"",
        "\"a\\nb\"",
        "a\\\\b",
        ".hidden",
    ]
    .iter()
    .enumerate()
    {
        let file = format!("name-{i}.yaml");
        let path = edited(&dir, &file, "name: spike\n", &format!("name: {name}\n"));
        let out = spillway(&["validate", &path]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains(&format!("{file}:16:7: name:")) && err.contains("output directory"),
            "{name}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Without `name:`, the file stem names the default output directory: the same rule applies
/// (`..yaml` has stem `.`, which would write into reports/ itself), unless `--out` is given.
#[test]
fn a_file_stem_that_is_no_plain_directory_name_needs_a_name_or_out() {
    let dir = temp_dir("bad-scenario-stems");
    std::fs::create_dir_all(dir.join("reports")).expect("temp dir");
    let spike = std::fs::read_to_string(workspace().join("scenarios/spike.yaml")).expect("spike");
    let unnamed = spike.replacen("name: spike\n", "", 1);
    assert_ne!(unnamed, spike, "spike.yaml has `name: spike`");
    std::fs::write(
        dir.join("p.yaml"),
        "policies:\n  - { name: extra, layers: [] }\n",
    )
    .expect("write");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_spillway"))
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("the binary runs")
    };
    for file in ["..yaml", ".hidden.yaml"] {
        std::fs::write(dir.join(file), &unnamed).expect("write");
        let quick = ["--duration", "30s", "--quiet"];
        for command in [
            &["simulate", file, "--no-report"][..],
            &["compare", file, "--policy", "p.yaml", "--no-report"],
            &["sweep", file, "--set", "seed=1,2"],
        ] {
            let out = run(&[command, &quick].concat());
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{command:?}: {err}");
            assert!(
                err.contains(&format!("{file}:1:1: name: ")) && err.contains("--out DIR"),
                "{command:?}: {err}"
            );
        }
        let out = run(&[
            "simulate",
            file,
            "--no-report",
            "--out",
            "out",
            "--duration",
            "30s",
        ]);
        assert!(out.status.success(), "{file}: {}", text(&out.stderr));
        // With `--out` the file runs, so validate accepts it, but warns where simulate would
        // refuse it without one.
        let out = run(&["validate", file]);
        let err = text(&out.stderr);
        assert!(out.status.success(), "{file}: {err}");
        assert!(
            err.contains(&format!("warning: {file}:1:1: name: ")) && err.contains("--out DIR"),
            "{file}: {err}"
        );
    }
    let written: Vec<_> = std::fs::read_dir(dir.join("reports"))
        .expect("reports")
        .collect();
    assert!(written.is_empty(), "{written:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file stem holding a control character is refused as a default output directory, and the
/// error escapes it (the path is echoed as the location: raw, it would reach the terminal).
#[test]
fn a_file_stem_with_a_control_character_is_escaped_in_the_error() {
    let dir = temp_dir("control-stem");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let spike = std::fs::read_to_string(workspace().join("scenarios/spike.yaml")).expect("spike");
    let file = "a\u{1b}[31mb.yaml";
    std::fs::write(dir.join(file), spike.replacen("name: spike\n", "", 1)).expect("write");
    for command in [
        &["simulate", file, "--no-report", "--quiet"][..],
        &["validate", file],
    ] {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_spillway"))
            .args(command)
            .current_dir(&dir)
            .output()
            .expect("the binary runs");
        let err = text(&out.stderr);
        assert!(!err.contains('\u{1b}'), "{command:?}: {err:?}");
        assert!(!text(&out.stdout).contains('\u{1b}'), "{command:?}: stdout");
        assert!(
            err.contains("a\\u{1b}[31mb.yaml:1:1: name: "),
            "{command:?}: {err}"
        );
    }
    // Only control characters are escaped: a quote stays as typed, so the location names the
    // file.
    let quoted = ".it's.yaml";
    std::fs::write(dir.join(quoted), spike.replacen("name: spike\n", "", 1)).expect("write");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_spillway"))
        .args(["validate", quoted])
        .current_dir(&dir)
        .output()
        .expect("the binary runs");
    let err = text(&out.stderr);
    assert!(err.contains(".it's.yaml:1:1: name: "), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Layers are counted by name under `spillway_rejected_total{layer=…}` (and in
/// rejections.csv), next to the refusals that are no layer's: a layer named like one of those
/// would merge two series into one.
#[test]
fn a_layer_named_like_a_reserved_refusal_label_is_refused() {
    let dir = temp_dir("reserved-layer-names");
    std::fs::create_dir_all(&dir).expect("temp dir");
    for (i, name) in ["budget", "full", "never_fits", "store_unavailable"]
        .iter()
        .enumerate()
    {
        let spike =
            std::fs::read_to_string(workspace().join("scenarios/spike.yaml")).expect("spike");
        let file = format!("layer-{i}.yaml");
        let path = dir.join(&file);
        std::fs::write(&path, spike.replace("per-user-bucket", name)).expect("write");
        let out = spillway(&["validate", path.to_str().expect("utf-8")]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains(&format!("{file}:82:11: layers[0].name:")) && err.contains("reserved"),
            "{name}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `serve` names a budget cap that refuses where other refusals name their layer or a
/// reserved label (`x-spillway-rejected-by`, the body's `blocking`): a cap may not take a
/// reserved label either, in a scenario or in a policy file for `serve`.
#[test]
fn a_budget_cap_named_like_a_reserved_refusal_label_is_refused() {
    let dir = temp_dir("reserved-cap-names");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let models = workspace().join("scenarios/models.yaml");
    let models = format!("models: {}", models.to_str().expect("utf-8"));
    for (source, models_line, cap, at) in [
        (
            "scenarios/budget.yaml",
            "models: models.yaml",
            "name: daily,",
            "133:19",
        ),
        (
            "scenarios/policies/gateway.yaml",
            "models: ../models.yaml",
            "name: daily,",
            "41:19",
        ),
    ] {
        let yaml = std::fs::read_to_string(workspace().join(source)).expect("read");
        assert!(yaml.contains(models_line) && yaml.contains(cap), "{source}");
        for (i, label) in ["budget", "full", "never_fits", "store_unavailable"]
            .iter()
            .enumerate()
        {
            let file = format!("cap-{i}.yaml");
            let path = dir.join(&file);
            let edited =
                yaml.replacen(models_line, &models, 1)
                    .replacen(cap, &format!("name: {label},"), 1);
            std::fs::write(&path, edited).expect("write");
            let out = spillway(&["validate", path.to_str().expect("utf-8")]);
            let err = text(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{source} {label}: {err}");
            assert!(
                err.contains(&format!(
                    "{file}:{at}: policies[0].budget.caps[0].name: cap name `{label}` is reserved"
                )),
                "{source} {label}: {err}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every "no layer is named" error listed every layer: a file with many layers and as many
/// wrong references printed a quadratic amount. Lists show the closest few, and only the first
/// errors are printed (the rest counted).
#[test]
fn many_unknown_names_give_bounded_error_output() {
    let dir = temp_dir("many-unknown-names");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let layers: String = (0..300)
        .map(|i| format!("  - {{ name: layer-{i}, scope: user, algorithm: token-bucket, limit: 6, per: 1m }}\n"))
        .collect();
    let wrong: Vec<String> = (0..300).map(|i| format!("layer-{i}x")).collect();
    let spike = std::fs::read_to_string(workspace().join("scenarios/spike.yaml")).expect("spike");
    let yaml = spike
        .replacen("layers:\n", &format!("layers:\n{layers}"), 1)
        .replacen(
            "layers: [per-user-bucket, per-feature]",
            &format!("layers: [{}]", wrong.join(", ")),
            1,
        );
    let path = dir.join("many.yaml");
    std::fs::write(&path, yaml).expect("write");
    let out = spillway(&["validate", path.to_str().expect("utf-8")]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.len() < 64 * 1024, "{} bytes of errors", err.len());
    assert!(
        err.contains("no layer is named `layer-7x`; layers are: layer-7, "),
        "{err}"
    );
    assert!(
        err.contains(" more") && err.contains("errors not shown"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Chart files are named by slugs of the policy names: names with the same slug (`A b` and
/// `a-b`) get numbered files instead of one overwriting the other.
#[test]
fn policies_whose_names_slug_alike_get_a_chart_each() {
    let dir = temp_dir("slug-collision");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let spike = std::fs::read_to_string(workspace().join("scenarios/spike.yaml")).expect("spike");
    let yaml = spike
        .replacen("name: token-bucket", "name: A b", 1)
        .replacen("name: sliding-window", "name: a-b", 1);
    let path = dir.join("alike.yaml");
    std::fs::write(&path, yaml).expect("write");
    let out = dir.join("out");
    crate::spillway_ok(&[
        "simulate",
        path.to_str().expect("utf-8"),
        "--duration",
        "1m",
        "--quiet",
        "--out",
        out.to_str().expect("utf-8"),
    ]);
    for chart in ["traffic-a-b", "traffic-a-b-2", "queue-a-b", "queue-a-b-2"] {
        assert!(
            out.join("plots").join(format!("{chart}.png")).exists(),
            "{chart}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
