//! Issue 15 item 4: a real client nobody here wrote. The official `openai` Python SDK calls the
//! emulator with a tight profile: it must receive 429s with the emulated headers, and its
//! retries must honour `retry-after` (checked with the server's own timestamps: each retry
//! arrives no earlier than the refused call plus the wait its headers gave). Counts of calls
//! and retries are cross-checked between the SDK's account and the server's log, and printed
//! beside what the simulator's provider predicts for a client that follows the hints.
//!
//! Skips loudly without the package (`SKIPPED:` on the real stdout); fails instead when
//! `SPILLWAY_REQUIRE_OPENAI=1`.

use crate::fixtures::{spec, start};
use serde_json::Value;
use spillway_core::{Duration, Time};
use spillway_emulate::request::{Shape, parse};
use spillway_emulate::{Running, TimeScale};
use spillway_sim::provider::{CallRequest, EmulatedProvider, ProviderSpec};
use std::io::Write;
use std::process::Command;

const PLAIN: usize = 3;
const RETRYING: usize = 6;

/// A provider for the SDK to meet, and the hint header its SDK reads.
struct Case {
    name: &'static str,
    profile: &'static str,
    scale: &'static str,
    /// `retry-after` (OpenAI) or `retry-after-ms` (Azure; the SDK reads it first).
    hint_header: &'static str,
}

/// 2 requests a minute, refused calls free: at 30× a slot every second of real time.
const OPENAI: Case = Case {
    name: "sdk-openai",
    profile: "profiles:\n  - name: sdk-tight\n    kind: openai\n    rpm: 2\n    tpm: 1000000\n    retry_after_probability: 1.0\n    count_rejected: false\n    latency: { model: constant, mean: 300ms }\n",
    scale: "30",
    hint_header: "retry-after",
};

/// Azure: 2 requests per 10-s window (wall-clock aligned); at 10× a window a real second.
const AZURE: Case = Case {
    name: "sdk-azure",
    profile: "profiles:\n  - name: sdk-azure\n    kind: azure\n    rpm: 12\n    tpm: 1000000\n    sub_window: 10s\n    latency: { model: constant, mean: 300ms }\n",
    scale: "10",
    hint_header: "retry-after-ms",
};

/// Whether `import openai` works (the SDK tests skip loudly, or fail in CI, when not).
pub(crate) fn openai_installed() -> bool {
    Command::new("python3")
        .args(["-c", "import openai"])
        .output()
        .is_ok_and(|o| o.status.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_openai_sdk_honours_retry_after() {
    let Some((seen, server, provider)) = run_sdk(&OPENAI).await else {
        return;
    };
    let plain = list(&seen["plain"]);
    let statuses: Vec<u64> = plain.iter().filter_map(|c| c["status"].as_u64()).collect();
    assert_eq!(statuses, [200, 200, 429], "a bucket of 2, then a 429");
    assert_eq!(plain[2]["limit_requests"], "2");
    assert_eq!(plain[2]["code"], "rate_limit_exceeded");
    check_hints(&OPENAI, plain, &server);
    check_retries(&seen["retrying"], &server);
    report(&OPENAI, &seen, &server, provider);
    server.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_official_openai_sdk_honours_retry_after_ms() {
    let Some((seen, server, provider)) = run_sdk(&AZURE).await else {
        return;
    };
    check_hints(&AZURE, list(&seen["plain"]), &server);
    check_retries(&seen["retrying"], &server);
    report(&AZURE, &seen, &server, provider);
    server.stop().await.expect("stops");
}

/// Start a server for `case` and run the SDK script against it; `None` after a loud skip.
async fn run_sdk(case: &Case) -> Option<(Value, Running, ProviderSpec)> {
    if !openai_installed() {
        spillway_testkit::skip_or_fail(
            "SPILLWAY_REQUIRE_OPENAI",
            "openai python package not installed (pip install openai)",
        );
        return None;
    }
    let provider = spec(case.name, case.profile);
    let server = start(provider.clone(), case.scale).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/emulate/sdk_client.py");
    let base = format!("http://{}/v1", server.addr());
    let out = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args([script, &base, &PLAIN.to_string(), &RETRYING.to_string()])
            .output()
    })
    .await
    .expect("joined")
    .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let seen = serde_json::from_str(stdout.trim()).expect("the script prints JSON");
    Some((seen, server, provider))
}

/// Every 429 the SDK raised (no retries in this phase, so call `i` is server record `i`)
/// carried the server's hint header, character for character.
fn check_hints(case: &Case, plain: &[Value], server: &Running) {
    let log = server.calls();
    let key = case.hint_header.replace('-', "_");
    for (i, call) in plain.iter().enumerate().filter(|(_, c)| c["status"] == 429) {
        let prefix = format!("{}: ", case.hint_header);
        let sent = log[i]
            .header_text
            .lines()
            .find_map(|l| l.strip_prefix(prefix.as_str()));
        assert!(
            sent.is_some(),
            "{}: the server sent {}",
            case.name,
            case.hint_header
        );
        assert_eq!(
            call[key.as_str()].as_str(),
            sent,
            "{}: the SDK saw the server's header",
            case.name
        );
    }
}

/// Every call succeeds within the SDK's 2 retries, each retry no earlier than the hint, and
/// the SDK's count of retries is the server's.
fn check_retries(retrying: &Value, server: &Running) {
    let calls = list(retrying);
    assert!(calls.iter().all(|c| c["status"] == 200), "{retrying}");
    let sdk_retries: u64 = calls.iter().filter_map(|c| c["retries"].as_u64()).sum();
    let log = server.calls();
    let phase = &log[PLAIN..];
    let server_retries = phase
        .iter()
        .filter(|r| r.retry_count.is_some_and(|k| k > 0))
        .count();
    assert_eq!(
        sdk_retries, server_retries as u64,
        "SDK and server agree on retries"
    );
    assert_eq!(
        phase.len(),
        RETRYING + server_retries,
        "one call per attempt"
    );
    assert!(server_retries > 0, "the tight profile made the SDK retry");
    for pair in phase.windows(2) {
        let (before, retry) = (&pair[0], &pair[1]);
        if retry.retry_count.is_some_and(|k| k > 0) {
            assert_eq!(before.status, 429, "a retry follows a refusal");
            let hint = before.retry_after.expect("the refusal carried retry-after");
            let gap = retry.real.saturating_since(before.real);
            assert!(
                gap >= hint,
                "retried after {gap:?}, the header said {hint:?}"
            );
        }
    }
}

/// Print the SDK's counts beside the simulator's provider driven by a client that follows
/// every hint, back to back (the simulator's SDK preset is compared in `sdk_herd`).
fn report(case: &Case, seen: &Value, server: &Running, mut provider: ProviderSpec) {
    let log = server.calls();
    let sdk_retries = log
        .iter()
        .filter(|r| r.retry_count.is_some_and(|k| k > 0))
        .count();
    provider.wall_clock_start = server.wall_start();
    let (calls, retries) = predict(&provider, TimeScale::parse(case.scale).expect("scale"));
    let line = format!(
        "{}: openai-python {}: {} HTTP calls, {} retries for {} SDK calls; EmulatedProvider with a hint-following client: {} calls, {} retries\n",
        case.name,
        seen["version"].as_str().unwrap_or("?"),
        log.len(),
        sdk_retries,
        PLAIN + RETRYING,
        calls,
        retries,
    );
    let _ = std::io::stdout().write_all(line.as_bytes());
}

/// The same calls through a fresh provider, in emulated time: back to back (each after the
/// previous answer), a refused call retried after its `retry-after` (header precision), at
/// most 2 retries for the second phase, none for the first.
fn predict(spec: &ProviderSpec, scale: TimeScale) -> (usize, usize) {
    let body = br#"{"model":"gpt-test","messages":[{"role":"user","content":"hello there, emulator"}],"max_tokens":5}"#;
    let p = parse(Shape::Chat, body).expect("valid");
    let req = CallRequest {
        input_tokens: p.input_tokens,
        max_tokens: p.max_tokens,
        output_tokens: p.output_tokens,
    };
    let mut sim = EmulatedProvider::new(spec, 1);
    let (mut now, mut calls, mut retries) = (Time::ZERO, 0, 0);
    for i in 0..PLAIN + RETRYING {
        let max_retries = if i < PLAIN { 0 } else { 2 };
        for attempt in 0..=max_retries {
            calls += 1;
            retries += usize::from(attempt > 0);
            let answer = sim.call(now, &req);
            if let Some(done) = answer.done_at() {
                now = done;
                break;
            }
            if attempt == max_retries {
                break; // the SDK raises at once; the next call follows immediately
            }
            // The header's wait is real time; the provider runs `scale` times faster.
            let real = spillway_emulate::scale::to_real_time(&answer, scale, Default::default())
                .retry_after()
                .unwrap_or(Duration::ZERO);
            now = now.saturating_add(scale.to_emulated(real));
        }
    }
    (calls, retries)
}

fn list(v: &Value) -> &[Value] {
    v.as_array().map_or(&[], Vec::as_slice)
}
