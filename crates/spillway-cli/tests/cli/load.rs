//! `spillway load`: bad input exits 2 with located errors; a target that refuses connections
//! gives failed requests, a summary with the reason and the usual files, and exit 0.

use super::{spillway, temp_dir, text};

#[test]
fn bad_scenarios_and_flags_exit_2_with_located_errors() {
    let dir = temp_dir("load-bad");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("bad.yaml");
    let yaml = std::fs::read_to_string(super::workspace().join("scenarios/sim-vs-real.yaml"))
        .expect("scenario")
        .replace("  rpm: 200", "  rpm: lots");
    std::fs::write(&file, yaml).expect("write");
    let path = file.to_str().expect("utf-8");
    let out = spillway(&["load", path, "--target", "http://127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("bad.yaml:") && err.contains("provider.rpm"),
        "{err}"
    );

    let good = "scenarios/sim-vs-real.yaml";
    for (flags, says) in [
        (
            &["--target", "https://api.example.com"][..],
            "https is not supported",
        ),
        (&["--target", "not a url"][..], "is not a URL"),
        (
            &["--target", "http://127.0.0.1:1", "--policy", "nope"][..],
            "no policy `nope`",
        ),
        (
            &["--target", "http://127.0.0.1:1", "--time-scale", "0"][..],
            "not a time scale",
        ),
    ] {
        let mut args = vec!["load", good];
        args.extend_from_slice(flags);
        let out = spillway(&args);
        assert_eq!(out.status.code(), Some(2), "{flags:?}");
        assert!(
            text(&out.stderr).contains(says),
            "{flags:?}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn a_refused_target_gives_failed_requests_and_a_clean_exit() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        l.local_addr().expect("addr").port()
    };
    let out_dir = temp_dir("load-refused");
    let target = format!("http://127.0.0.1:{port}");
    let out = spillway(&[
        "load",
        "scenarios/sim-vs-real.yaml",
        "--target",
        &target,
        "--time-scale",
        "100",
        "--duration",
        "20s",
        "--timeout",
        "2s",
        "--no-report",
        "--quiet",
        "--out",
        out_dir.to_str().expect("utf-8"),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("connection refused"), "{stdout}");
    let summary = std::fs::read_to_string(out_dir.join("summary.csv")).expect("summary.csv");
    let all = summary
        .lines()
        .find(|l| l.starts_with("provider-only,all,"))
        .unwrap_or_else(|| panic!("{summary}"));
    let cells: Vec<&str> = all.split(',').collect();
    let (offered, completed, failed) = (cells[2], cells[6], cells[7]);
    assert!(offered.parse::<u64>().expect("number") > 10, "{all}");
    assert_eq!((completed, failed), ("0", offered), "{all}");
    for file in ["timeseries.csv", "latency.csv", "users.csv", "run.csv"] {
        assert!(out_dir.join(file).is_file(), "{file}");
    }
}

#[test]
fn ctrl_c_writes_what_was_observed() {
    // A target that accepts and never answers: calls stay open until the interrupt.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
    let port = listener.local_addr().expect("addr").port();
    let (accepted, first) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
            let _ = accepted.send(());
        }
    });
    let out_dir = temp_dir("load-interrupted");
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_spillway"))
        .args([
            "load",
            "scenarios/sim-vs-real.yaml",
            "--quiet",
            "--no-report",
        ])
        .args(["--target", &format!("http://127.0.0.1:{port}")])
        .args(["--out", out_dir.to_str().expect("utf-8")])
        .current_dir(super::workspace())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    first.recv().expect("a call reaches the target");
    let sent = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    let out = child.wait_with_output().expect("exits");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("interrupted"),
        "{}",
        text(&out.stdout)
    );
    let summary = std::fs::read_to_string(out_dir.join("summary.csv")).expect("summary.csv");
    let all = summary
        .lines()
        .find(|l| l.starts_with("provider-only,all,"))
        .unwrap_or_else(|| panic!("{summary}"));
    let unfinished: u64 = all
        .split(',')
        .nth(18)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    assert!(unfinished >= 1, "{all}");
}
