//! A file is told apart (scenario, policy file, provider library, model catalogue) by its
//! top-level keys even when it has a YAML mistake or a comment, so its errors come from the
//! right loader: `serve --policy` and `validate` agree.

use crate::{copy_edited, spillway, temp_dir, text, workspace};

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

/// `from` (a shipped YAML file) written as JSON to `dir/name`: what a script emits.
fn as_json(dir: &std::path::Path, from: &str, name: &str) -> String {
    let yaml = std::fs::read_to_string(workspace().join(from)).expect("shipped file");
    let value: serde_json::Value = serde_saphyr::from_str(&yaml).expect("shipped YAML");
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(&value).expect("json")).expect("write");
    path.to_str().expect("utf-8").to_owned()
}

/// JSON is YAML: a catalogue or a library written as JSON loads, named by a scenario or given
/// to `validate`; a file no YAML reading makes one (a key) is still refused, unquoted.
#[test]
fn json_catalogues_and_libraries_load_and_a_key_file_is_still_refused() {
    let dir = temp_dir("kind-json");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let models = as_json(&dir, "scenarios/models.yaml", "models.json");
    let library = as_json(&dir, "scenarios/providers.yaml", "providers.json");
    let key = "sk-proj-SECRETq8Zr2Lw5Xn7Vb3";
    std::fs::write(dir.join("key.txt"), format!("{key}\n")).expect("key file");
    let budget = ("models: models.yaml", "models: models.json");
    let uses_models = copy_edited(&dir, "scenarios/budget.yaml", "budget.yaml", budget);
    let quoted = ("models:\n", "\"models\":\n");
    let quoted = copy_edited(&dir, "scenarios/models.yaml", "quoted.yaml", quoted);
    let profile = "provider: { profile: openai-tier1-gpt-4o-mini, library: providers.json }\n";
    let spike = std::fs::read_to_string(workspace().join("scenarios/spike.yaml")).expect("spike");
    let (head, rest) = spike.split_once("\nprovider:\n").expect("a provider block");
    let tail = &rest[rest.find("\ntraffic:").expect("traffic")..];
    std::fs::write(dir.join("spike.yaml"), format!("{head}\n{profile}{tail}")).expect("write");
    let spike = dir.join("spike.yaml").to_str().expect("utf-8").to_owned();
    for (file, says) in [
        (&models, "(model catalogue,"),
        (&library, "(provider library,"),
        (&quoted, "(model catalogue,"),
        (&uses_models, "ok: "),
        (&spike, "ok: "),
    ] {
        let out = spillway(&["validate", file]);
        assert!(out.status.success(), "{file}: {}", text(&out.stderr));
        assert!(
            text(&out.stdout).contains(says),
            "{file}: {}",
            text(&out.stdout)
        );
    }
    let to_key = ("models: models.yaml", "models: key.txt");
    let uses_key = copy_edited(&dir, "scenarios/budget.yaml", "key.yaml", to_key);
    let out = spillway(&["validate", &uses_key]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("not a model catalogue"), "{err}");
    assert!(!err.contains("SECRET"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A scenario written as JSON is a scenario for `serve --policy` too (it was read as a policy
/// file: "unknown field `name`"), with the scenario's located errors.
#[test]
fn serve_reads_a_json_scenario_as_a_scenario() {
    let dir = temp_dir("kind-json-serve");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let json = as_json(&dir, "scenarios/spike.yaml", "spike.json");
    let text_of = std::fs::read_to_string(&json).expect("json");
    let rpm = "\"rpm\": 500";
    assert!(text_of.contains(rpm), "{text_of}");
    let line = text_of
        .lines()
        .position(|l| l.contains(rpm))
        .expect("rpm line")
        + 1;
    std::fs::write(&json, text_of.replacen(rpm, "\"rpm\": -5", 1)).expect("write");
    let args = [
        "serve",
        "--policy",
        &json,
        "--upstream",
        "http://127.0.0.1:9",
        "--listen",
        "127.0.0.1:0",
    ];
    for out in [spillway(&args), spillway(&["validate", &json])] {
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(
            err.contains(&format!("spike.json:{line}:")) && err.contains("provider.rpm"),
            "{err}"
        );
        assert!(!err.contains("unknown field"), "{err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A JSON catalogue with a syntax mistake is still a catalogue: the mistake is reported,
/// located, instead of "not a model catalogue".
#[test]
fn a_broken_json_catalogue_gets_a_located_parse_error() {
    let dir = temp_dir("kind-json-broken");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let models = as_json(&dir, "scenarios/models.yaml", "models.json");
    let json = std::fs::read_to_string(&models).expect("json");
    let broken = json.trim_end().strip_suffix('}').expect("an object");
    std::fs::write(&models, broken).expect("write");
    let budget = ("models: models.yaml", "models: models.json");
    let uses_models = copy_edited(&dir, "scenarios/budget.yaml", "budget.yaml", budget);
    for file in [&models, &uses_models] {
        let out = spillway(&["validate", file]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{file}: {err}");
        assert!(
            err.contains("models.json:1:1: ") && err.contains("unclosed"),
            "{file}: {err}"
        );
        assert!(!err.contains("not a model catalogue"), "{file}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
