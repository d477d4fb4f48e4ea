//! Files named by users that are not ordinary files: refused with a clear error and exit 2,
//! never a hang (named pipe) or an abort (`/dev/zero`, a line without end).

use crate::{spillway, temp_dir, text, workspace};
use std::path::Path;

/// trace-sample.yaml copied into `dir` with its trace path replaced by `trace`.
fn trace_scenario(dir: &Path, trace: &str) -> String {
    let yaml = std::fs::read_to_string(workspace().join("scenarios/trace-sample.yaml"))
        .expect("trace-sample.yaml");
    let path = dir.join(format!("t-{}.yaml", trace.len()));
    std::fs::write(&path, yaml.replace("samples/trace-sample.csv", trace)).expect("write");
    path.to_str().expect("utf-8").to_owned()
}

fn refused(args: &[&str], needle: &str) {
    let out = spillway(args);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
    assert!(
        err.contains(needle),
        "{args:?}: `{err}` should say `{needle}`"
    );
}

#[test]
fn devices_pipes_and_endless_lines_are_refused() {
    let dir = temp_dir("hostile");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = dir.join("out");
    let out = out.to_str().expect("utf-8");
    let run = |scenario: &str, needle: &str| {
        refused(
            &["simulate", scenario, "--out", out, "--no-report", "--quiet"],
            needle,
        );
    };
    run(&trace_scenario(&dir, "/dev/zero"), "is a device");
    let long = dir.join("long.csv");
    std::fs::write(&long, vec![b'x'; (1 << 20) + 10]).expect("write");
    run(
        &trace_scenario(&dir, long.to_str().expect("utf-8")),
        "a line is longer than",
    );
    let pipe = dir.join("pipe.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&pipe)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let pipe = pipe.to_str().expect("utf-8");
    refused(&["validate", pipe], "is a named pipe");
    run(&trace_scenario(&dir, pipe), "is a named pipe");
    let budget =
        std::fs::read_to_string(workspace().join("scenarios/budget.yaml")).expect("budget.yaml");
    let models = dir.join("models-zero.yaml");
    std::fs::write(
        &models,
        budget.replace("models: models.yaml", "models: /dev/zero"),
    )
    .expect("write");
    refused(
        &["validate", models.to_str().expect("utf-8")],
        "is a device",
    );
}

/// `emulate --profile FILE` reads its file with the same bounded reader as `validate`.
#[test]
fn emulate_refuses_a_pipe_or_device_as_its_profile() {
    let dir = temp_dir("hostile-profile");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let pipe = dir.join("p.yaml");
    let made = std::process::Command::new("mkfifo")
        .arg(&pipe)
        .status()
        .expect("mkfifo runs");
    assert!(made.success());
    let zero = dir.join("zero.yaml");
    std::os::unix::fs::symlink("/dev/zero", &zero).expect("symlink");
    for (file, needle) in [(&pipe, "is a named pipe"), (&zero, "is a device")] {
        let file = file.to_str().expect("utf-8");
        refused(
            &["emulate", "--profile", file, "--listen", "127.0.0.1:0"],
            needle,
        );
    }
}
