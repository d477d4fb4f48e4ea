//! `spillway inspect-headers`: stdin header lines → one line of JSON; bad lines exit 2.

use super::text;
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

/// Runs `spillway inspect-headers <args>` with `input` on stdin.
fn inspect(args: &[&str], input: &[u8]) -> Output {
    run(args, input, true)
}

/// Runs `spillway inspect-headers <args>` with `input` on stdin; unless `read`, its output pipe
/// is closed before it writes.
fn run(args: &[&str], input: &[u8], read: bool) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_spillway"))
        .arg("inspect-headers")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary runs");
    if !read {
        drop(child.stdout.take());
    }
    // A child that exits early (bad flag) may close stdin first: that is not a test failure.
    let _ = child.stdin.take().expect("stdin").write_all(input);
    child.wait_with_output().expect("the binary finishes")
}

#[test]
fn openai_headers_become_exact_json() {
    let input = b"HTTP/2 200\r\n\
        x-ratelimit-limit-requests: 5000\r\n\
        x-ratelimit-remaining-requests: 4999\r\n\
        x-ratelimit-reset-requests: 12ms\r\n\
        x-ratelimit-reset-tokens: 6m0s   # time to full\r\n\
        content-type: application/json\r\n";
    let out = inspect(&["--provider", "openai"], input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        concat!(
            r#"{"provider":"openai","date":null,"retry_after_ns":null,"retry_at":null,"should_retry":null,"dims":{"#,
            r#""requests":{"limit":5000,"remaining":4999,"reset_after_ns":12000000,"reset_at":null,"#,
            r#""utilization_ppm":null},"tokens":{"limit":null,"remaining":null,"#,
            r#""reset_after_ns":360000000000,"reset_at":null,"utilization_ppm":null}},"#,
            r#""ignored":["content-type"],"errors":[]}"#,
            "\n"
        )
    );
}

#[test]
fn the_date_flag_measures_absolute_resets_when_no_date_header_is_sent() {
    let input = b"anthropic-ratelimit-requests-reset: 2025-08-21T12:41:30Z\nretry-after: 11\n";
    let out = inspect(&["--date", "Thu, 21 Aug 2025 12:41:00 GMT"], input);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json = text(&out.stdout);
    assert!(
        json.starts_with(
            r#"{"provider":"anthropic","date":"2025-08-21T12:41:00Z","retry_after_ns":11000000000,"#
        ),
        "{json}"
    );
    assert!(json.contains(r#""reset_after_ns":30000000000"#), "{json}");
    // Without the date the reset cannot be measured: a listed error, still exit 0.
    let out = inspect(&[], input);
    assert_eq!(out.status.code(), Some(0));
    assert!(text(&out.stdout).contains("no Date header and no fallback date"));
}

#[test]
fn bad_values_are_listed_and_strict_makes_them_fatal() {
    let input = b"retry-after: -10\nx-ratelimit-remaining-tokens: lots\n";
    let lenient = inspect(&[], input);
    assert_eq!(lenient.status.code(), Some(0));
    let json = text(&lenient.stdout);
    assert!(
        json.contains("negative retry hint") && json.contains("lots"),
        "{json}"
    );
    let strict = inspect(&["--strict"], input);
    assert_eq!(strict.status.code(), Some(2));
    assert_eq!(text(&strict.stdout), json, "strict still prints the JSON");
    assert!(text(&strict.stderr).contains("2 header values could not be read"));
}

#[test]
fn malformed_lines_exit_2_naming_the_line() {
    let cases: [(&[u8], &str); 4] = [
        (
            b"retry-after: 5\nno colon here\n",
            "line 2: expected `name: value`",
        ),
        (b": 5\n", "line 1: empty header name"),
        (b"a: 1\n  folded\n", "line 2: continuation lines"),
        (b"a: \xff\xfe\n", "not UTF-8"),
    ];
    for (input, expected) in cases {
        let out = inspect(&[], input);
        assert_eq!(out.status.code(), Some(2), "{}", text(input));
        let err = text(&out.stderr);
        assert!(err.contains(expected), "{}: {err}", text(input));
        assert!(!err.contains("panicked"), "{err}");
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn bad_flags_exit_2_listing_what_is_allowed() {
    let out = inspect(&["--provider", "bedrock"], b"");
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(err.contains("openai, anthropic, azure"), "{err}");
    let out = inspect(&["--date", "yesterday"], b"");
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("HTTP-date"));
}

#[test]
fn empty_input_is_an_empty_snapshot() {
    let out = inspect(&["--provider", "gemini"], b"");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        text(&out.stdout),
        "{\"provider\":\"gemini\",\"date\":null,\"retry_after_ns\":null,\"retry_at\":null,\"should_retry\":null,\"dims\":{},\"ignored\":[],\"errors\":[]}\n"
    );
}

#[test]
fn help_explains_input_output_and_exit_codes() {
    let out = Command::new(env!("CARGO_BIN_EXE_spillway"))
        .args(["inspect-headers", "--help"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let help = text(&out.stdout);
    for needle in [
        "stdin",
        "JSON",
        "exit 2",
        "--provider",
        "--date",
        "--strict",
    ] {
        assert!(help.contains(needle), "{needle}: {help}");
    }
}

#[test]
fn the_shared_corpus_never_crashes_the_command() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/provider-headers.txt");
    let Ok(corpus) = std::fs::read(&path) else {
        spillway_testkit::skip_or_fail(
            "SPILLWAY_REQUIRE_SHARED",
            &format!("{} not found (it lives beside the clone)", path.display()),
        );
        return;
    };
    let out = inspect(&["--date", "Fri, 29 Sep 2023 16:26:27 GMT"], &corpus);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let json = text(&out.stdout);
    // The corpus repeats names on purpose: the first value is kept, each repeat is a listed
    // error, not a fatal one.
    assert!(json.contains(r#""reset_after_ns":12000000"#), "{json}");
    assert!(
        json.contains(r#"duplicate value \"-10\" ignored"#),
        "{json}"
    );
    assert!(
        json.contains(r#""retry_after_ns":120000000000"#),
        "retry-after-ms wins: {json}"
    );
    assert_eq!(inspect(&["--strict"], &corpus).status.code(), Some(2));
}

/// A reader that has gone (`spillway … | head`) is not a crash: the output pipe is closed
/// before the command writes, so its write fails (before the fix it panicked with "failed
/// printing to stdout"), and the command still ends with its own status: success, or 2 when
/// `--strict` finds a bad value (a pipe into `grep -q` must not hide a failure).
#[test]
fn a_closed_output_pipe_is_not_a_crash_and_keeps_the_exit_status() {
    let good = run(&[], b"x-ratelimit-limit-requests: 5000\n", false);
    assert!(
        !text(&good.stderr).contains("panicked"),
        "{}",
        text(&good.stderr)
    );
    assert_eq!(good.status.code(), Some(0), "{}", text(&good.stderr));
    let bad = run(&["--strict"], b"x-ratelimit-limit-requests: lots\n", false);
    assert!(
        !text(&bad.stderr).contains("panicked"),
        "{}",
        text(&bad.stderr)
    );
    assert_eq!(bad.status.code(), Some(2), "{}", text(&bad.stderr));
}
