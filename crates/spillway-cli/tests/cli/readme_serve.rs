//! The README's `spillway serve` example works as written: its shell lines (exports, the key
//! file) give every secret its YAML names, and `simulate` then runs the YAML shown.

use crate::{temp_dir, text, workspace};
use std::path::Path;

/// The first fenced block of `lang` after `heading` in `readme`.
fn block<'a>(readme: &'a str, heading: &str, lang: &str) -> &'a str {
    let section = &readme[readme.find(heading).expect("the serve section")..];
    let fence = format!("```{lang}\n");
    let start = section.find(&fence).expect("a fenced block") + fence.len();
    let len = section[start..].find("```").expect("a closing fence");
    &section[start..start + len]
}

/// Apply the block's `export A=x B=y` and `echo x > FILE` lines: the environment they set.
fn apply_shell(shell: &str, root: &Path) -> Vec<(String, String)> {
    let mut env = Vec::new();
    for line in shell
        .lines()
        .map(|l| l.split(" #").next().unwrap_or(l).trim())
    {
        if let Some(assignments) = line.strip_prefix("export ") {
            for pair in assignments.split_whitespace() {
                let (name, _) = pair.split_once('=').expect("NAME=value");
                env.push((name.to_string(), format!("test-secret-{name}")));
            }
        } else if let Some((_, file)) = line.strip_prefix("echo ").and_then(|l| l.split_once('>')) {
            std::fs::write(root.join(file.trim()), "test-secret-file\n").expect("key file");
        }
    }
    env
}

#[test]
fn the_readme_serve_example_runs_as_written() {
    let readme = std::fs::read_to_string(workspace().join("README.md")).expect("README.md");
    let heading = "## Serve what you simulated";
    let root = temp_dir("readme-serve");
    let scenarios = root.join("scenarios");
    std::fs::create_dir_all(&scenarios).expect("temp dir");
    for library in ["providers.yaml", "models.yaml"] {
        std::fs::copy(
            workspace().join("scenarios").join(library),
            scenarios.join(library),
        )
        .expect("copy library");
    }
    std::fs::write(
        scenarios.join("gateway.yaml"),
        block(&readme, heading, "yaml"),
    )
    .expect("write gateway.yaml");
    let env = apply_shell(block(&readme, heading, "sh"), &root);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_spillway"))
        .args(["simulate", "scenarios/gateway.yaml", "--duration", "1m"])
        .args(["--out", "out", "--no-report", "--quiet"])
        .current_dir(&root)
        .env_clear()
        .envs(env)
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let _ = std::fs::remove_dir_all(&root);
}
