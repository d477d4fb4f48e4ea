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
