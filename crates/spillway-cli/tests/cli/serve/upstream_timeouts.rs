//! An upstream that accepts a call and then stalls: the call ends (504, or a cut stream) within
//! `--upstream-timeout` / `--upstream-idle-timeout`, and its in-flight slot is freed.

use super::fixtures::{Server, Stalled, chat, metric, metrics_until, policy_file};

const PER_USER_100: &str =
    "  - { name: per-user, scope: user, algorithm: fixed-window, limit: 100, per: 1h }\n";

/// `serve` of a one-slot policy (no retries) in front of `upstream`, with short timeouts.
fn serve_one_slot(name: &str, upstream: &str) -> Server {
    let policy = policy_file(
        name,
        PER_USER_100,
        "    max_in_flight: 1\n    upstream: { retry: { max_attempts: 1 } }\n",
        "",
    );
    Server::serve_with(
        &policy,
        upstream,
        &[
            "--upstream-timeout",
            "300ms",
            "--upstream-idle-timeout",
            "300ms",
        ],
    )
}

async fn post(client: &reqwest::Client, url: &str, stream: bool) -> reqwest::Response {
    client
        .post(format!("{url}/v1/chat/completions"))
        .body(chat(3, stream))
        .send()
        .await
        .expect("an answer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_upstream_is_answered_504_and_its_slot_freed() {
    let stalled = Stalled::start(b"");
    let serve = serve_one_slot("stalled", &stalled.url);
    let client = reqwest::Client::new();
    for stream in [false, true] {
        let resp = post(&client, &serve.url, stream).await;
        assert_eq!(resp.status(), 504, "stream: {stream}");
        let body: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(body["error"]["code"], "upstream_timeout");
    }
    let m = metrics_until(&client, &serve.url, |m| {
        metric(m, "spillway_requests_inside") == Some(0)
    })
    .await;
    assert_eq!(metric(&m, "spillway_in_flight"), Some(0), "{m}");
    assert_eq!(metric(&m, "spillway_requests_inside"), Some(0), "{m}");
    assert_eq!(
        metric(&m, "spillway_upstream_calls_total{target=\"primary\"}"),
        Some(2),
        "{m}"
    );
}
