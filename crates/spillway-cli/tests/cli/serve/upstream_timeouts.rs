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

/// The start of a streamed answer: headers and one server-sent event, then nothing.
const STREAM_START: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
transfer-encoding: chunked\r\n\r\n\
30\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_falls_silent_is_cut_on_the_client_not_ended_as_if_whole() {
    let stalled = Stalled::start(STREAM_START);
    let serve = serve_one_slot("silent-stream", &stalled.url);
    let client = reqwest::Client::new();
    let mut resp = post(&client, &serve.url, true).await;
    assert_eq!(resp.status(), 200);
    let mut relayed = Vec::new();
    let end = loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => relayed.extend_from_slice(&chunk),
            other => break other,
        }
    };
    assert!(
        String::from_utf8_lossy(&relayed).contains("\"hi\""),
        "the first event was relayed: {relayed:?}"
    );
    assert!(
        end.is_err(),
        "the cut stream ended cleanly, as if complete: {end:?}"
    );
    let m = metrics_until(&client, &serve.url, |m| {
        metric(m, "spillway_requests_inside") == Some(0)
    })
    .await;
    assert_eq!(metric(&m, "spillway_in_flight"), Some(0), "{m}");
    assert_eq!(
        metric(
            &m,
            "spillway_departed_total{class=\"standard\",how=\"failed\"}"
        ),
        Some(1),
        "{m}"
    );
}

/// The scenario catalogue, for a budget that shows what a call was billed.
fn models() -> String {
    let path = super::super::workspace().join("scenarios/models.yaml");
    format!("models: {}\n", path.display())
}

/// A timed-out call reached the provider, which may bill it: it is neither sent again (the
/// provider would have the prompt twice) nor released, but booked like a call the client left
/// on the wire, at its estimate. (Before: a retryable 504, sent again, the first one released.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_call_is_not_sent_again_and_is_billed() {
    let stalled = Stalled::start(b"");
    let policy = policy_file(
        "timeout-billed",
        PER_USER_100,
        "    upstream: { retry: { max_attempts: 2 } }\n    budget:\n      model: gpt-4o-mini\n      \
ladder: none\n      estimate: fixed\n      caps:\n        - { name: roomy, scope: global, \
period: day, limit_usd: 100 }\n",
        &models(),
    );
    let serve = Server::serve_with(
        &policy,
        &stalled.url,
        &[
            "--upstream-timeout",
            "300ms",
            "--upstream-idle-timeout",
            "300ms",
        ],
    );
    let client = reqwest::Client::new();
    for stream in [false, true] {
        let resp = post(&client, &serve.url, stream).await;
        assert_eq!(resp.status(), 504, "stream: {stream}");
    }
    let m = metrics_until(&client, &serve.url, |m| {
        metric(m, "spillway_requests_inside") == Some(0)
    })
    .await;
    assert_eq!(
        metric(&m, "spillway_upstream_calls_total{target=\"primary\"}"),
        Some(2),
        "one send per request: {m}"
    );
    // Two estimates of 256 output tokens of gpt-4o-mini at $0.60/M (the prompts add a little).
    let spent = metric(&m, "spillway_spend_nano_usd_total").unwrap_or(0);
    assert!((2 * 153_600..400_000).contains(&spent), "{m}");
}
