//! SIGINT and SIGTERM during a run: no `.part` file is left behind, exit 130 with a message.

use super::{temp_dir, text, workspace};
use std::path::Path;
use std::process::Command;
use std::thread::sleep;
use std::time::Duration;

/// Files under `dir` (one level of subfolders: plots/) whose name ends in `.part`.
fn part_files(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.to_string_lossy().ends_with(".part") {
                found.push(path.display().to_string());
            }
        }
    }
    found
}

fn interrupted_run_cleans_up(signal: &str) {
    let dir = temp_dir(&format!("interrupt{signal}"));
    // A week of traffic keeps the run busy writing timeseries.csv.part for a long while.
    let mut child = Command::new(env!("CARGO_BIN_EXE_spillway"))
        .args([
            "simulate",
            "scenarios/spike.yaml",
            "--duration",
            "7d",
            "--quiet",
            "--out",
        ])
        .arg(&dir)
        .current_dir(workspace())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the binary starts");
    // Bounded wait (at most 120 s) for the run to be mid-write; no timing is asserted.
    let mut polls = 0;
    while part_files(&dir).is_empty() {
        assert!(
            child.try_wait().expect("status").is_none(),
            "the run ended before writing"
        );
        polls += 1;
        assert!(polls < 1200, "no .part file appeared");
        sleep(Duration::from_millis(100));
    }
    let killed = Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let out = child.wait_with_output().expect("the run ends");
    assert_eq!(
        out.status.code(),
        Some(130),
        "stderr: {}",
        text(&out.stderr)
    );
    assert!(
        text(&out.stderr).contains("interrupted"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        part_files(&dir),
        Vec::<String>::new(),
        "no partial file is left"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn sigint_removes_part_files_and_exits_130() {
    interrupted_run_cleans_up("-INT");
}

#[test]
fn sigterm_removes_part_files_and_exits_130() {
    interrupted_run_cleans_up("-TERM");
}
