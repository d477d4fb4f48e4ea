//! A file is told apart (scenario, policy file, provider library, model catalogue) by its
//! top-level keys even when it has a YAML mistake or a comment, so its errors come from the
//! right loader: `serve --policy` and `validate` agree.

use crate::{spillway, temp_dir, text, workspace};

fn copy_edited(dir: &std::path::Path, from: &str, name: &str, edit: (&str, &str)) -> String {
    let yaml = std::fs::read_to_string(workspace().join(from)).expect("shipped file");
    assert!(yaml.contains(edit.0), "{from} has `{}`", edit.0);
    let path = dir.join(name);
    std::fs::write(&path, yaml.replacen(edit.0, edit.1, 1)).expect("write");
    path.to_str().expect("utf-8").to_owned()
}

#[test]
fn a_scenario_with_a_duplicate_key_is_still_read_as_a_scenario_by_serve() {
    let dir = temp_dir("kind-dupkey");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let dup = copy_edited(
        &dir,
        "scenarios/spike.yaml",
        "dupkey.yaml",
        ("seed: 42\n", "seed: 42\nseed: 43\n"),
    );
    let args = [
        "serve",
        "--policy",
        &dup,
        "--upstream",
        "http://127.0.0.1:9",
        "--listen",
        "127.0.0.1:0",
    ];
    for out in [spillway(&args), spillway(&["validate", &dup])] {
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(":19:1: seed:") && err.contains("written twice"),
            "{err}"
        );
    }
}

#[test]
fn a_catalogue_whose_models_key_has_a_comment_validates() {
    let dir = temp_dir("kind-comment");
    std::fs::create_dir_all(&dir).expect("temp dir");
    // The copy sits next to nothing: the catalogue names no other file.
    let models = copy_edited(
        &dir,
        "scenarios/models.yaml",
        "models.yaml",
        ("models:\n", "models:   # the catalogue\n"),
    );
    let out = spillway(&["validate", &models]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("(model catalogue,"));
}
