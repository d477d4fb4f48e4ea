//! Errors the library would word in its own terms (the scheduler's "capacity", "drop step 0",
//! the limiter's "two layers are named") are said at the field the user wrote, in the file's
//! words.

use crate::{spillway, temp_dir, text, workspace};

/// Validate spike.yaml with `from` replaced by `to`; the error output (exit 2 asserted).
fn refused(name: &str, from: &str, to: &str) -> String {
    refused_edits(name, &[(from, to)])
}

/// Validate spike.yaml with each `(from, to)` replaced once; the error output (exit 2).
fn refused_edits(name: &str, edits: &[(&str, &str)]) -> String {
    let dir = temp_dir(&format!("wording-{name}"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut spike =
        std::fs::read_to_string(workspace().join("scenarios/spike.yaml")).expect("spike");
    for (from, to) in edits {
        assert!(spike.contains(from), "spike.yaml has `{from}`");
        spike = spike.replacen(from, to, 1);
    }
    let file = dir.join(format!("{name}.yaml"));
    std::fs::write(&file, spike).expect("write");
    let out = spillway(&["validate", file.to_str().expect("utf-8")]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
    err
}

#[test]
fn a_queue_capacity_too_large_is_refused_at_queue_capacity() {
    let err = refused(
        "queue",
        "queue_capacity: 5000",
        "queue_capacity: 3000000000",
    );
    assert!(
        err.contains(
            ":102:21: policies[0].queue_capacity: queue_capacity must be at most 2147483648"
        ),
        "{err}"
    );
    assert!(!err.contains("scheduler:"), "{err}");
}

#[test]
fn shed_order_errors_point_at_the_step_in_the_files_words() {
    let policy = "queue_capacity: 5000\n";
    for (name, order, field, says) in [
        (
            "shed-twice",
            "[background, downgrade-background]",
            "shed_order[1]: `downgrade-background`: class `background` is already in shed_order",
            "",
        ),
        (
            "shed-order",
            "[background, interactive]",
            "shed_order[1]: `interactive` cannot be dropped before `batch`",
            "least urgent classes first",
        ),
    ] {
        let with = format!("{policy}    scheduler: {{ shed_order: {order} }}\n");
        let err = refused(name, policy, &with);
        assert!(
            err.contains(&format!("policies[0].scheduler.{field}")) && err.contains(says),
            "{name}: {err}"
        );
        assert!(
            !err.contains("drop step") && !err.contains("scheduler:"),
            "{err}"
        );
    }
}

#[test]
fn a_layer_listed_twice_in_a_policy_is_refused_at_the_repeat() {
    let err = refused(
        "layer-twice",
        "layers: [per-user-bucket, per-feature]",
        "layers: [per-user-bucket, per-user-bucket, per-feature]",
    );
    assert!(
        err.contains(
            "policies[0].layers[1]: layer `per-user-bucket` is listed twice in this policy"
        ),
        "{err}"
    );
}

#[test]
fn more_layers_than_a_policy_may_stack_are_refused_at_the_first_over() {
    let defined: String = (0..33)
        .map(|i| {
            format!(
                "  - {{ name: l{i}, scope: user, algorithm: fixed-window, limit: 10, per: 1m }}\n"
            )
        })
        .collect();
    let listed: Vec<String> = (0..33).map(|i| format!("l{i}")).collect();
    let err = refused_edits(
        "many-layers",
        &[
            ("layers:\n", &format!("layers:\n{defined}")),
            (
                "layers: [per-user-bucket, per-feature]",
                &format!("layers: [{}]", listed.join(", ")),
            ),
        ],
    );
    assert!(
        err.contains("policies[0].layers[32]: 33 layers, more than the 32 a policy may stack"),
        "{err}"
    );
}

/// A `keys:` entry without `expires` is said at the entry (`keys[0]`, its first key), not at
/// its last field: by every command that reads the file, scenario or policy file.
#[test]
fn a_key_without_expires_is_refused_at_the_entry_not_its_last_field() {
    let dir = temp_dir("wording-no-expires");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let budget =
        std::fs::read_to_string(workspace().join("scenarios/budget.yaml")).expect("budget");
    let cut = "    role: primary\n    expires: 60d\n";
    assert!(budget.contains(cut), "budget.yaml has `{cut}`");
    let scenario = dir.join("no-expires.yaml");
    std::fs::write(&scenario, budget.replacen(cut, "    role: primary\n", 1)).expect("write");
    let policy = dir.join("no-expires-policy.yaml");
    let gateway = std::fs::read_to_string(workspace().join("scenarios/policies/gateway.yaml"))
        .expect("gateway");
    let keys =
        "keys:\n  - name: up\n    environment: production\n    service: chat\n    role: primary\n";
    std::fs::write(&policy, format!("{keys}{gateway}")).expect("write");
    let (scenario, policy) = (
        scenario.to_str().expect("utf-8"),
        policy.to_str().expect("utf-8"),
    );
    let runs: [(&[&str], String); 3] = [
        (
            &["validate", scenario],
            format!("{scenario}:100:5: keys[0]: missing field `expires`"),
        ),
        (
            &["validate", policy],
            format!("{policy}:2:5: keys[0]: missing field `expires`"),
        ),
        (
            &["serve", "--policy", policy, "--listen", "127.0.0.1:0"],
            format!("{policy}:2:5: keys[0]: missing field `expires`"),
        ),
    ];
    for (args, expected) in runs {
        let out = spillway(args);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert_eq!(
            err.lines().next(),
            Some(expected.as_str()),
            "{args:?}: {err}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
