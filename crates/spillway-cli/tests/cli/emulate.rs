//! `spillway emulate`: bad input exits 2 with located errors; a real run serves and stops
//! cleanly on Ctrl-C (SIGINT).

use super::{banner_addr, spillway, temp_dir, text, workspace};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};

#[test]
fn bad_profiles_and_scales_exit_2_with_located_errors() {
    let out = spillway(&["emulate", "--profile", "no-such-profile"]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("no profile `no-such-profile`") && err.contains("openai-tier1-gpt-4o"),
        "{err}"
    );

    let dir = temp_dir("emulate-bad");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("bad.yaml");
    let yaml = "profiles:\n  - name: x\n    kind: openai\n    rpm: -3\n    tpm: 10\n    latency: { model: constant, mean: 1s }\n";
    std::fs::write(&file, yaml).expect("write");
    let out = spillway(&["emulate", "--profile", file.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("bad.yaml:4:10: profiles[0].rpm"), "{err}");

    let out = spillway(&[
        "emulate",
        "--profile",
        "openai-tier1-gpt-4o",
        "--time-scale",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("not a time scale"));
}

#[test]
fn help_explains_the_time_scale() {
    let out = spillway(&["emulate", "--help"]);
    let help = text(&out.stdout);
    assert!(
        help.contains("--time-scale") && help.contains("shown in real time"),
        "{help}"
    );
}

#[test]
fn it_serves_until_ctrl_c() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_spillway"))
        .args([
            "emulate",
            "--profile",
            "openai-tier1-gpt-4o-mini",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--time-scale", "100"])
        .current_dir(workspace())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut banner = String::new();
    let stdout = child.stdout.take().expect("piped");
    BufReader::new(stdout)
        .read_line(&mut banner)
        .expect("a banner line");
    let addr = banner_addr(&banner);
    let body =
        r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}],"max_tokens":3}"#;
    let mut s = TcpStream::connect(&addr).expect("connects");
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    s.write_all(request.as_bytes()).expect("writes");
    let mut reply = String::new();
    s.read_to_string(&mut reply).expect("reads");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
    assert!(reply.contains("x-ratelimit-limit-requests: 500"), "{reply}");
    let pid = child.id().to_string();
    let sent = Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .expect("kill runs");
    assert!(sent.success());
    // Bounded wait for the exit (a hang fails the test rather than the CI job).
    for _ in 0..300 {
        if let Some(status) = child.try_wait().expect("waits") {
            assert!(status.success(), "{status}");
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let _ = child.kill();
    panic!("spillway emulate did not stop on SIGINT");
}
