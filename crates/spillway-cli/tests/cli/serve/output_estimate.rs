//! A chat request that names no `max_tokens` is reserved for what the model may write (the
//! model's maximum, else `--default-max-tokens`, 4096 by default), not the emulator's 64.

use super::fixtures::{Server, Stalled, chat, metric, metrics_until, policy_file};

const TOKENS_70K: &str = "  - { name: tokens, scope: user, unit: tokens, algorithm: token-bucket, limit: 70000, per: 1h }\n";

const NO_MAX_TOKENS: &str =
    r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello there"}]}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_without_max_tokens_holds_the_default_maximum_while_in_flight() {
    let policy = policy_file("estimate", TOKENS_70K, "", "");
    let stalled = Stalled::start(b"");
    let serve = Server::serve(&policy, &stalled.url);
    let url = serve.url.clone();
    // A: no max_tokens, stuck upstream: its reservation stays held.
    tokio::spawn(async move {
        let _ = reqwest::Client::new()
            .post(format!("{url}/v1/chat/completions"))
            .body(NO_MAX_TOKENS)
            .send()
            .await;
    });
    let client = reqwest::Client::new();
    let m = metrics_until(&client, &serve.url, |m| {
        metric(m, "spillway_in_flight") == Some(1)
    })
    .await;
    assert_eq!(metric(&m, "spillway_in_flight"), Some(1), "{m}");
    // B fits beside A's 64-token estimate (the emulator's default), not beside its 4096.
    let b = client
        .post(format!("{}/v1/chat/completions", serve.url))
        .body(chat(66_000, false))
        // Admitted, B would wait on the stalled upstream: bounded here, a failure.
        .timeout(std::time::Duration::from_secs(30))
        .send()
        .await
        .expect("a refusal at once, not a call sent to the stalled upstream");
    assert_eq!(b.status(), 429, "A reserved less than 4096 output tokens");
    assert_eq!(b.headers()["x-spillway-rejected-by"], "tokens");
}

/// A whole (non-streaming) chat completion of a few thousand words that reports no `usage`.
fn long_answer_without_usage() -> &'static [u8] {
    let body = format!(
        r#"{{"id":"x","object":"chat.completion","model":"gpt-4o-mini","choices":[{{"index":0,"message":{{"role":"assistant","content":"{}"}},"finish_reason":"stop"}}]}}"#,
        "word ".repeat(5000)
    );
    let reply = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    Box::leak(reply.into_bytes().into_boxed_slice())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_answer_without_usage_is_booked_at_its_estimate_not_one_token() {
    let policy = policy_file("no-usage", TOKENS_70K, "", "");
    let upstream = Stalled::cut(long_answer_without_usage());
    let serve = Server::serve(&policy, &upstream.url);
    let client = reqwest::Client::new();
    let send = || {
        client
            .post(format!("{}/v1/chat/completions", serve.url))
            .body(chat(40_000, false))
            .timeout(std::time::Duration::from_secs(30))
            .send()
    };
    let a = send().await.expect("an answer");
    assert_eq!(a.status(), 200);
    let _ = a.bytes().await;
    // A reported no usage: it is booked at the 40000 output tokens it was reserved for (the
    // answer may be that long), so a second 40000 no longer fits in the 70000 of the hour.
    let b = send().await.expect("an answer");
    assert_eq!(
        b.status(),
        429,
        "A was booked at its chunk count, not its estimate"
    );
    assert_eq!(b.headers()["x-spillway-rejected-by"], "tokens");
}
