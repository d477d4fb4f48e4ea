//! An upstream that refuses the gateway's own key (401/403) without a fallback to fail over
//! to: the same key would be refused again, so the call is not retried and the client gets
//! the provider's answer.

use super::fixtures::{Server, Stalled, chat, metric, metrics_until, policy_file};

const PER_USER_100: &str =
    "  - { name: per-user, scope: user, algorithm: fixed-window, limit: 100, per: 1h }\n";

/// A provider's 401 for a revoked key (the connection closed after it, so none is reused).
const REFUSED: &[u8] = b"HTTP/1.1 401 Unauthorized\r\nconnection: close\r\n\
content-type: application/json\r\ncontent-length: 62\r\n\r\n\
{\"error\":{\"message\":\"Incorrect API key\",\"code\":\"invalid_key\"}}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_without_a_fallback_is_sent_once_and_its_401_passed_on() {
    let refusing = Stalled::start(REFUSED);
    let policy = policy_file(
        "refused-key",
        PER_USER_100,
        "    upstream: { retry: { max_attempts: 3 } }\n",
        "",
    );
    let serve = Server::serve(&policy, &refusing.url);
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{}/v1/chat/completions", serve.url))
        .body(chat(3, false))
        .send()
        .await
        .expect("an answer");
    assert_eq!(resp.status(), 401);
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], "invalid_key");
    let m = metrics_until(&client, &serve.url, |m| {
        metric(m, "spillway_requests_inside") == Some(0)
    })
    .await;
    assert_eq!(
        metric(&m, "spillway_upstream_calls_total{target=\"primary\"}"),
        Some(1),
        "one send: {m}"
    );
}
