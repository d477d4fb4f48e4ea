//! `--upstream` and `serve.upstream` are checked by one rule: a value that is no usable base
//! URL (a space, a port over 65535) is bad input (exit 2), not a gateway answering 502.

use crate::{spillway, temp_dir, text, workspace};

/// `serve --policy scenarios/spike.yaml --upstream <upstream>` on a free port: its first
/// stdout line (the banner; empty if it refused to start), then killed; its exit status and
/// stderr. Killed after the banner, so a server that starts cannot hang the test.
fn serve_banner(upstream: &str) -> (String, std::process::ExitStatus, String) {
    use std::io::{BufRead, Read};
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_spillway"))
        .args([
            "serve",
            "--policy",
            "scenarios/spike.yaml",
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--upstream", upstream])
        .current_dir(workspace())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starts");
    let mut banner = String::new();
    let stdout = child.stdout.take().expect("piped");
    let read = std::io::BufReader::new(stdout).read_line(&mut banner);
    let _ = child.kill();
    let status = child.wait().expect("exits");
    read.expect("stdout readable (empty when it refused to start)");
    let mut err = String::new();
    let _ = child.stderr.take().expect("piped").read_to_string(&mut err);
    (banner, status, err)
}

/// spike.yaml with `serve.upstream: <upstream>`, in a fresh directory `name` next to the
/// libraries it names.
fn spike_serving(name: &str, upstream: &str) -> std::path::PathBuf {
    let dir = temp_dir(name);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let spike =
        std::fs::read_to_string(workspace().join("scenarios/spike.yaml")).expect("spike.yaml");
    let file = dir.join("spike.yaml");
    let yaml = format!("{spike}\nserve:\n  upstream: {upstream}\n");
    std::fs::write(&file, yaml).expect("write");
    for library in ["providers.yaml", "models.yaml"] {
        std::fs::copy(
            workspace().join("scenarios").join(library),
            dir.join(library),
        )
        .expect("copy library");
    }
    file
}

#[test]
fn a_bad_upstream_flag_or_field_exits_2() {
    for url in ["http://a b c", "http://127.0.0.1:99999", "http://"] {
        let out = spillway(&[
            "serve",
            "--policy",
            "scenarios/spike.yaml",
            "--upstream",
            url,
            "--listen",
            "127.0.0.1:0",
        ]);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{url}: {err}");
        assert!(
            err.contains("--upstream") && err.contains(url),
            "{url}: {err}"
        );
    }
    let file = spike_serving("upstream-field", "http://127.0.0.1:99999");
    let out = spillway(&["validate", file.to_str().expect("utf-8")]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("serve.upstream") && err.contains("99999"),
        "{err}"
    );
}

/// The startup line names the upstream without the credentials a URL may carry (review13 #1,
/// its startup-line part).
#[test]
fn the_banner_shows_the_upstream_without_its_password() {
    let (banner, _, _) = serve_banner("http://user:hunter2pass@127.0.0.1:1");
    assert!(!banner.contains("hunter2pass"), "{banner}");
    // (Refusing such a URL outright, with no banner, would keep the password too.)
    assert!(
        banner.is_empty() || banner.contains("→ http://127.0.0.1:1;"),
        "{banner}"
    );
}

/// A query or fragment in an upstream URL would land before the appended `/v1/...` path
/// (`/?key=K/v1/chat/completions`) and be shown on the startup line: refused, in the flag and
/// in the file, without showing it. (Read as the banner test does: a server that starts
/// prints its banner and is killed, so a regression fails instead of hanging.)
#[test]
fn an_upstream_url_with_a_query_or_fragment_is_refused_without_showing_it() {
    for url in [
        "http://127.0.0.1:1/?key=QKSECRET",
        "http://127.0.0.1:1/x#QKSECRET",
    ] {
        let (banner, status, err) = serve_banner(url);
        assert_eq!(banner, "", "{url}: served");
        assert_eq!(status.code(), Some(2), "{url}: {err}");
        assert!(
            err.contains("--upstream") && !err.contains("QKSECRET"),
            "{url}: {err}"
        );
    }
    let file = spike_serving("upstream-query", "http://127.0.0.1:9/?key=QKSECRET");
    let out = spillway(&["validate", file.to_str().expect("utf-8")]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("spike.yaml:") && err.contains("serve.upstream") && err.contains("query"),
        "{err}"
    );
    assert!(!err.contains("QKSECRET"), "{err}");
}
