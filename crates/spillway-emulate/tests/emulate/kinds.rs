//! Every provider kind refuses in its own words: the 429 body is JSON of the provider's
//! shape, and the time scale shows waits in real time.

use crate::client::post;
use crate::fixtures::{chat, spec, start, tight_openai};

/// (profile body, the status once over the limit, a JSON pointer that must be present).
const KINDS: [(&str, &str, &str); 5] = [
    (
        "kind: anthropic\n    rpm: 1\n    itpm: 30000\n    otpm: 8000",
        "anthropic",
        "/error/type",
    ),
    (
        "kind: azure\n    rpm: 60\n    tpm: 100000\n    sub_window: 1s",
        "azure",
        "/error/message",
    ),
    (
        "kind: gemini\n    rpm: 1\n    tpm: 100000",
        "gemini",
        "/error/details/1/retryDelay",
    ),
    (
        "kind: generic\n    limit: 1\n    window: 1m",
        "generic",
        "/error/code",
    ),
    ("rpm: 1\n    tpm: 100000", "basic", "/error/code"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_kind_answers_429_with_a_json_body_of_its_shape() {
    for (fields, name, pointer) in KINDS {
        let yaml = format!(
            "profiles:\n  - name: {name}\n    {fields}\n    latency: {{ model: constant, mean: 5ms }}\n"
        );
        let server = start(spec(&format!("kind-{name}"), &yaml), "1").await;
        // Back-to-back calls until the first refusal: a fixed window (azure's 1 s sub-window)
        // may reset between two of them, so "the third is refused" would depend on the clock.
        // Six calls cannot all straddle a boundary, so a provider that never refuses fails.
        let mut statuses = Vec::new();
        let mut refused = None;
        for _ in 0..6 {
            let r = post(server.addr(), "/v1/chat/completions", &chat(5, false)).await;
            statuses.push(r.status);
            if r.status == 429 {
                refused = Some(r);
                break;
            }
        }
        let r = refused.unwrap_or_else(|| panic!("{name}: never refused: {statuses:?}"));
        assert!(statuses[0] == 200, "{name}: {statuses:?}");
        let body: serde_json::Value = serde_json::from_slice(&r.body)
            .unwrap_or_else(|e| panic!("{name}: not JSON ({e}): {}", r.text()));
        assert!(body.pointer(pointer).is_some(), "{name}: {body}");
        server.stop().await.expect("stops");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_ten_times_speed_the_wait_is_shown_in_real_time() {
    // 3 a minute, the refused call counted: the next slot is ≥ 20 s away on the provider's
    // clock, so ≥ 2 s of real time at 10×, and the hint says so.
    let server = start(spec("scaled", &tight_openai(3)), "10").await;
    let mut hint = None;
    for _ in 0..4 {
        let r = post(server.addr(), "/v1/chat/completions", &chat(5, false)).await;
        hint = r.header("retry-after").map(str::to_string);
    }
    let secs: u64 = hint
        .expect("a 429 with retry-after")
        .parse()
        .expect("whole seconds");
    assert!((2..=4).contains(&secs), "{secs}");
    server.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_overload_answers_529_overloaded_error() {
    // Failure probability = calls in flight / concurrency: 20 overlapping calls on 20 slots
    // cannot all pass (the seeded draws make it the same every run).
    let yaml = "profiles:\n  - name: busy\n    kind: anthropic\n    rpm: 1000\n    itpm: 1000000\n    otpm: 1000000\n    concurrency: 20\n    overload: { from: 0.0, max_probability: 1.0 }\n    latency: { model: constant, mean: 100s }\n";
    let server = start(spec("overload", yaml), "100").await;
    let addr = server.addr();
    let body =
        br#"{"model":"claude-test","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"#;
    let calls: Vec<_> = (0..20)
        .map(|_| tokio::spawn(async move { post(addr, "/v1/messages", body).await }))
        .collect();
    let mut overloaded = 0;
    for c in calls {
        let r = c.await.expect("joined");
        if r.status == 529 {
            overloaded += 1;
            assert_eq!(r.json()["error"]["type"], "overloaded_error");
            assert!(
                r.headers
                    .iter()
                    .all(|(n, _)| !n.starts_with("anthropic-ratelimit"))
            );
        } else {
            assert_eq!(r.status, 200, "{}", r.text());
        }
    }
    assert!(overloaded > 0);
    server.stop().await.expect("stops");
}
