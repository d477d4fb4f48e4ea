//! Secrets are never echoed: not by a valid run (stdout, stderr, every output file), not by an
//! invalid one (a secret pasted where its env var name or file path belongs, or given to
//! `sweep --set`), not from a secret file's contents. At most `…last4` may appear.

use crate::{temp_dir, text, workspace};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Read from the environment by the valid run.
const ENV_SECRET: &str = "sk-test-Q7wXz9PaLmN3vB5rT1yU";
/// Read from a file by the valid run.
const FILE_SECRET: &str = "sk-file-H4kD8sWq2ZcV6nJ0eR3t";
/// Pasted where a name or path belongs by the invalid runs.
const PASTED: &str = "sk-paste-M1xY5bQ9wE7rT3uI8oPa";

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_spillway"))
        .args(args)
        .env("SPILLWAY_TEST_SECRET", ENV_SECRET)
        .current_dir(workspace())
        .output()
        .expect("the binary runs")
}

/// budget.yaml (in `dir`, beside a copy of models.yaml) with the first two keys' secrets.
fn scenario(dir: &Path, name: &str, first: &str, second: &str) -> String {
    let yaml = std::fs::read_to_string(workspace().join("scenarios/budget.yaml")).expect("yaml");
    let yaml = yaml
        .replacen(
            "    role: primary\n    expires: 60d\n",
            &format!("    role: primary\n    expires: 60d\n    secret: {first}\n"),
            1,
        )
        .replacen(
            "    role: secondary\n    expires: 80d\n",
            &format!("    role: secondary\n    expires: 80d\n    secret: {second}\n"),
            1,
        );
    let path = dir.join(name);
    std::fs::write(&path, yaml).expect("write scenario");
    path.to_str().expect("utf-8").to_owned()
}

fn owned(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| (*a).to_owned()).collect()
}

fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files_under(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// The first 8-byte run of any secret found in `bytes`.
fn leaked(bytes: &[u8]) -> Option<String> {
    [ENV_SECRET, FILE_SECRET, PASTED].iter().find_map(|secret| {
        secret
            .as_bytes()
            .windows(8)
            .find(|run| bytes.windows(8).any(|w| w == *run))
            .map(|run| String::from_utf8_lossy(run).into_owned())
    })
}

#[test]
fn no_run_valid_or_invalid_echoes_a_secret() {
    let dir = temp_dir("secrets");
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::copy(
        workspace().join("scenarios/models.yaml"),
        dir.join("models.yaml"),
    )
    .expect("models");
    std::fs::write(dir.join("key.txt"), format!("{FILE_SECRET}\n")).expect("secret file");
    let valid = scenario(
        &dir,
        "valid.yaml",
        "{ env: SPILLWAY_TEST_SECRET }",
        "{ file: key.txt }",
    );
    let pasted_env = scenario(
        &dir,
        "env.yaml",
        &format!("{{ env: {PASTED} }}"),
        "{ file: key.txt }",
    );
    let pasted_file = scenario(
        &dir,
        "file.yaml",
        &format!("{{ file: {PASTED} }}"),
        "{ file: key.txt }",
    );
    let out = |name: &str| dir.join(name).to_str().expect("utf-8").to_owned();
    let set_pasted = format!("keys[0].secret.env={PASTED}");
    let runs: Vec<(Vec<String>, bool)> = vec![
        (owned(&["validate", &valid]), true),
        (
            owned(&[
                "simulate",
                &valid,
                "--duration",
                "1m",
                "--quiet",
                "--out",
                &out("sim"),
            ]),
            true,
        ),
        (owned(&["validate", &pasted_env]), false),
        (owned(&["validate", &pasted_file]), false),
        (
            owned(&["simulate", &pasted_env, "--out", &out("bad")]),
            false,
        ),
        (
            owned(&[
                "sweep",
                &valid,
                "--set",
                &set_pasted,
                "--out",
                &out("sweep"),
            ]),
            false,
        ),
        (
            owned(&[
                "sweep",
                &valid,
                "--set",
                &format!("keys[0].secret.env{PASTED}"),
            ]),
            false,
        ),
    ];
    for (args, ok) in &runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = run(&args);
        assert_eq!(
            output.status.success(),
            *ok,
            "{args:?}: {}",
            text(&output.stderr)
        );
        for (stream, bytes) in [("stdout", &output.stdout), ("stderr", &output.stderr)] {
            assert_eq!(leaked(bytes), None, "{args:?} {stream}: {}", text(bytes));
        }
    }
    let mut files = Vec::new();
    files_under(&dir.join("sim"), &mut files);
    files_under(&dir.join("sweep"), &mut files);
    assert!(
        files.len() > 5,
        "the valid run wrote its outputs: {files:?}"
    );
    for file in files {
        let bytes = std::fs::read(&file).expect("read output");
        assert_eq!(leaked(&bytes), None, "{}", file.display());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A file named where a trace, a profile library or a model catalogue belongs, but holding
/// something else (a key file, `/etc/shadow`), is refused without quoting its lines: only the
/// YAML or CSV file being read as such is ever quoted.
#[test]
fn a_file_of_the_wrong_kind_is_refused_without_quoting_it() {
    let dir = temp_dir("wrong-kind");
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(dir.join("key.txt"), format!("{FILE_SECRET}\n")).expect("key file");
    let shadow = format!("root:{FILE_SECRET}:19000:0:99999:7:::\nbin:x:1:1\n");
    std::fs::write(dir.join("shadow"), shadow).expect("shadow-like file");
    let spike = std::fs::read_to_string(workspace().join("scenarios/spike.yaml")).expect("spike");
    let (head, rest) = spike.split_once("\nprovider:\n").expect("a provider block");
    let tail = &rest[rest.find("\ntraffic:").expect("traffic")..];
    let library = format!("{head}\nprovider: {{ profile: x, library: shadow }}\n{tail}");
    std::fs::write(dir.join("library.yaml"), library).expect("scenario");
    let budget = std::fs::read_to_string(workspace().join("scenarios/budget.yaml")).expect("yaml");
    let models = budget.replacen("models: models.yaml", "models: shadow", 1);
    std::fs::write(dir.join("models.yaml"), models).expect("scenario");
    let path = |name: &str| dir.join(name).to_str().expect("utf-8").to_owned();
    let runs = [
        (
            owned(&[
                "simulate",
                "scenarios/trace-sample.yaml",
                "--trace",
                &path("key.txt"),
                "--out",
                &path("out"),
            ]),
            "not a `csv` trace header",
        ),
        (
            owned(&["validate", &path("library.yaml")]),
            "not a profile library",
        ),
        (
            owned(&["validate", &path("models.yaml")]),
            "not a model catalogue",
        ),
    ];
    for (args, expected) in &runs {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = run(&args);
        let err = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains(expected), "{args:?}: {err}");
        assert_eq!(leaked(&output.stderr), None, "{args:?}: {err}");
        assert_eq!(leaked(&output.stdout), None, "{args:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A key (upstream or virtual) with a line break or another control character inside cannot
/// be sent in a header: every call would fail. It is refused at load, located, shown as
/// `…last4` at most.
#[test]
fn a_key_with_a_control_character_is_refused_at_load() {
    let dir = temp_dir("control-key");
    std::fs::create_dir_all(&dir).expect("temp dir");
    std::fs::write(
        dir.join("crlf.key"),
        format!("{FILE_SECRET}\r\nX-Evil: 1\n"),
    )
    .expect("key");
    std::fs::write(dir.join("good.key"), format!("{PASTED}\n")).expect("key");
    let gateway = std::fs::read_to_string(workspace().join("scenarios/policies/gateway.yaml"))
        .expect("gateway.yaml");
    let models = workspace().join("scenarios/models.yaml");
    let base = gateway.replace(
        "models: ../models.yaml",
        &format!("models: {}", models.display()),
    );
    let upstream = format!(
        "{base}  upstream_key: main\nkeys:\n  - {{ name: main, environment: production, \
         service: gateway, role: primary, expires: 60d, secret: {{ file: crlf.key }} }}\n"
    );
    let client = format!(
        "{base}  virtual_keys:\n    - {{ name: ann, secret: {{ file: good.key }} }}\n    \
         - {{ name: bob, secret: {{ file: crlf.key }} }}\n"
    );
    for (name, yaml, field) in [
        ("upstream.yaml", upstream, "keys[0]"),
        ("client.yaml", client, "serve.virtual_keys[1]"),
    ] {
        let path = dir.join(name);
        std::fs::write(&path, yaml).expect("policy file");
        // `serve --policy` loads the file through the same checks (and, if it let the key
        // through, would serve until killed: not run here).
        let output = run(&["validate", path.to_str().expect("utf-8")]);
        let err = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {err}");
        assert!(
            err.contains(&format!("{name}:"))
                && err.contains(field)
                && err.contains("control character"),
            "{name}: {err}"
        );
        assert_eq!(leaked(&output.stderr), None, "{name}: {err}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `load --target` with a password before the host or a key in the query (the review's repro)
/// is refused, exit 2, and neither secret is echoed: not by the refusal, not by a URL that does
/// not parse (a bad port), not by the start-up line.
#[test]
fn load_refuses_a_target_with_secrets_without_echoing_them() {
    let out_dir = temp_dir("load-secret-target");
    let out_dir = out_dir.to_str().expect("utf-8");
    let password = "pw-Zq8rT4vW";
    for target in [
        format!("http://admin:{password}@127.0.0.1:1/v1?api_key={PASTED}"),
        format!("http://admin:{password}@127.0.0.1:1/v1"),
        format!("http://127.0.0.1:1/v1?api_key={PASTED}"),
        format!("http://127.0.0.1:1/v1#{PASTED}"),
        format!("http://admin:{password}@127.0.0.1:99999/?api_key={PASTED}"),
        format!("http://admin:{password}/x@127.0.0.1:1/?api_key={PASTED}"),
    ] {
        let output = run(&[
            "load",
            "scenarios/sim-vs-real.yaml",
            "--target",
            &target,
            "--duration",
            "2s",
            "--time-scale",
            "100",
            "--timeout",
            "1s",
            "--no-report",
            "--out",
            out_dir,
        ]);
        let err = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{target}: {err}");
        assert!(err.contains("--target"), "{target}: {err}");
        for bytes in [&output.stdout, &output.stderr] {
            assert_eq!(leaked(bytes), None, "{target}: {err}");
            assert!(!text(bytes).contains(password), "{target}: {err}");
        }
    }
    let _ = std::fs::remove_dir_all(out_dir);
}
