//! API shapes: bodies, streaming, bad requests.

use crate::client::{get, post};
use crate::fixtures::{chat, spec, start, tight_openai};
use spillway_emulate::{Config, TimeScale};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chat_completions_answer_with_usage() {
    let server = start(spec("chat", &tight_openai(100)), "1").await;
    let r = post(server.addr(), "/v1/chat/completions", &chat(5, false)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    assert_eq!(v["object"], "chat.completion");
    assert_eq!(v["model"], "gpt-test");
    // "hello there, emulator" is 21 characters: ⌈21 / 4⌉ = 6 tokens.
    assert_eq!(v["usage"]["prompt_tokens"], 6);
    assert_eq!(v["usage"]["completion_tokens"], 5);
    assert_eq!(v["choices"][0]["finish_reason"], "length");
    let others: [(&str, &[u8], &str, u64); 2] = [
        (
            "/v1/embeddings",
            br#"{"model":"e","input":"abcdefgh"}"#,
            "prompt_tokens",
            2,
        ),
        (
            "/v1/completions",
            br#"{"model":"c","prompt":"abcd"}"#,
            "completion_tokens",
            16,
        ),
    ];
    for (path, body, field, tokens) in others {
        let r = post(server.addr(), path, body).await;
        assert_eq!(r.json()["usage"][field], tokens, "{path}");
    }
    let models = get(server.addr(), "/v1/models").await;
    assert_eq!(models.json()["data"][0]["id"], "tight");
    assert_eq!(get(server.addr(), "/v2/nothing").await.status, 404);
    server.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn streaming_arrives_in_several_chunks_and_ends_with_done() {
    let server = start(spec("stream", &tight_openai(100)), "1").await;
    let r = post(server.addr(), "/v1/chat/completions", &chat(40, true)).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/event-stream"));
    assert!(r.chunks > 1, "{} chunks", r.chunks);
    let text = r.text();
    let events: Vec<&str> = text.split("\n\n").filter(|e| !e.is_empty()).collect();
    assert_eq!(events.last(), Some(&"data: [DONE]"));
    let usage: serde_json::Value =
        serde_json::from_str(events[events.len() - 2].trim_start_matches("data: ")).expect("json");
    assert_eq!(usage["usage"]["completion_tokens"], 40);
    assert!(r.header("x-ratelimit-limit-requests").is_some());
    server.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn anthropic_messages_stream_their_event_types() {
    let yaml = "profiles:\n  - name: claude\n    kind: anthropic\n    rpm: 50\n    itpm: 30000\n    otpm: 8000\n    latency: { model: constant, mean: 30ms }\n";
    let server = start(spec("messages", yaml), "1").await;
    let body = br#"{"model":"claude-test","max_tokens":12,"stream":true,"messages":[{"role":"user","content":"hi"}]}"#;
    let r = post(server.addr(), "/v1/messages", body).await;
    assert_eq!(r.status, 200);
    assert!(r.chunks > 1);
    let text = r.text();
    let names: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("event: "))
        .collect();
    assert_eq!(names.first(), Some(&"message_start"));
    assert_eq!(names.last(), Some(&"message_stop"));
    assert!(names.contains(&"content_block_delta") && names.contains(&"message_delta"));
    assert!(r.header("anthropic-ratelimit-requests-limit") == Some("50"));
    server.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_get_400_with_an_error_body() {
    let mut config = Config::new(
        spec("bad", &tight_openai(100)),
        "127.0.0.1:0".parse().expect("addr"),
    );
    config.max_body = 1024;
    config.scale = TimeScale::REAL;
    let server = spillway_emulate::start(config).await.expect("starts");
    let big = format!(
        r#"{{"model":"m","messages":[{{"content":"{}"}}]}}"#,
        "x".repeat(4096)
    );
    let cases: [(&str, &[u8], Option<&str>); 4] = [
        ("/v1/chat/completions", b"{not json", None),
        (
            "/v1/chat/completions",
            br#"{"messages":[{"content":"x"}]}"#,
            Some("model"),
        ),
        ("/v1/chat/completions", big.as_bytes(), None),
        ("/v1/embeddings", br#"{"model":"e"}"#, Some("input")),
    ];
    for (path, body, param) in cases {
        let r = post(server.addr(), path, body).await;
        assert_eq!(r.status, 400, "{}", r.text());
        let v = r.json();
        assert_eq!(v["error"]["type"], "invalid_request_error");
        assert_eq!(v["error"]["param"].as_str(), param);
    }
    let r = post(
        server.addr(),
        "/v1/messages",
        br#"{"model":"m","messages":[]}"#,
    )
    .await;
    assert_eq!((r.status, r.json()["type"].as_str()), (400, Some("error")));
    assert!(
        server.calls().is_empty(),
        "refused requests never reach the provider"
    );
    server.stop().await.expect("stops");
}
