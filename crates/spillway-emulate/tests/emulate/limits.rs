//! Limits, headers and failures: the server answers like the simulator's provider, because it
//! is the simulator's provider.

use crate::client::{Reply, post};
use crate::fixtures::{chat, spec, start, tight_openai};
use spillway_core::Duration;
use spillway_core::upstream::headers::{Dimension, Provider, parse_headers_strict};
use spillway_emulate::request::{Shape, parse};
use spillway_sim::provider::{CallRequest, EmulatedProvider};

const CHAT: &str = "/v1/chat/completions";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_carries_the_providers_headers_and_body() {
    let server = start(spec("headers", &tight_openai(3)), "1").await;
    let mut replies = Vec::new();
    for _ in 0..5 {
        replies.push(post(server.addr(), CHAT, &chat(5, false)).await);
    }
    let statuses: Vec<u16> = replies.iter().map(|r| r.status).collect();
    assert_eq!(statuses, [200, 200, 200, 429, 429]);
    let refused = &replies[3];
    let snap = parse_headers_strict(refused.headers.clone(), Provider::OpenAi, None)
        .unwrap_or_else(|e| panic!("the 429 headers parse: {e:?}"));
    let requests = snap.dim(&Dimension::Requests).expect("requests reported");
    assert_eq!(requests.limit, Some(3), "the profile's rpm");
    assert_eq!(requests.remaining, Some(0));
    // A bucket of 3 a minute, emptied (and the refused call counted): a slot in ≥ 20 s, and
    // full again within two minutes.
    let wait = snap
        .retry_after
        .expect("retry_after_probability: 1 sends retry-after");
    assert!(
        wait >= Duration::from_secs(20) && wait <= Duration::from_secs(40),
        "{wait:?}"
    );
    let reset = requests.reset_after.expect("reset sent");
    assert!(
        reset > Duration::ZERO && reset <= Duration::from_secs(120),
        "{reset:?}"
    );
    assert!(snap.date.is_some(), "a Date header");
    let logged = &server.calls()[3];
    assert_eq!((logged.status, logged.retry_after), (429, Some(wait)));
    let body = refused.json();
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert_eq!(body["error"]["type"], "requests");
    let message = body["error"]["message"].as_str().unwrap_or("");
    assert!(
        message.contains("gpt-test") && message.contains("Limit 3"),
        "{message}"
    );
    assert!(message.contains("Please try again in"), "{message}");
    // Successful answers carry the headers too.
    let ok = parse_headers_strict(replies[0].headers.clone(), Provider::OpenAi, None)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(
        ok.dim(&Dimension::Requests).and_then(|d| d.remaining),
        Some(2)
    );
    server.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rpm_limit_admits_exactly_the_limit_under_concurrency() {
    let server = start(spec("rpm", &tight_openai(7)), "1").await;
    let addr = server.addr();
    let calls =
        (0..12).map(|_| tokio::spawn(async move { post(addr, CHAT, &chat(3, false)).await }));
    let mut statuses = Vec::new();
    for c in calls {
        statuses.push(c.await.expect("joined").status);
    }
    assert_eq!(statuses.iter().filter(|&&s| s == 200).count(), 7);
    assert_eq!(statuses.iter().filter(|&&s| s == 429).count(), 5);
    server.stop().await.expect("stops");
}

/// The server's statuses are exactly what a fresh simulator provider answers to the same calls
/// at the same (emulated) instants: one implementation, two drivers. The shared-quota consumer
/// and latency jitter are on, at 60× speed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_server_is_the_simulators_provider_call_for_call() {
    let yaml = "profiles:\n  - name: shared\n    kind: openai\n    rpm: 60\n    tpm: 100000\n    latency: { base: 5ms, per_output_token: 1ms, jitter: 0.2 }\n    shared_quota:\n      - { start: 0s, duration: 1h, fraction: 0.5 }\n";
    let mut provider_spec = spec("shared", yaml);
    let server = start(provider_spec.clone(), "60").await;
    let body = chat(4, false);
    let mut replies: Vec<Reply> = Vec::new();
    for _ in 0..90 {
        replies.push(post(server.addr(), CHAT, &body).await);
    }
    let parsed = parse(Shape::Chat, &body).expect("valid");
    let call = CallRequest {
        input_tokens: parsed.input_tokens,
        max_tokens: parsed.max_tokens,
        output_tokens: parsed.output_tokens,
    };
    provider_spec.wall_clock_start = server.wall_start();
    let mut sim = EmulatedProvider::new(&provider_spec, 1);
    let log = server.calls();
    assert_eq!(log.len(), 90);
    for (i, (record, reply)) in log.iter().zip(&replies).enumerate() {
        let answer = sim.call(record.emulated, &call);
        assert_eq!(answer.status, record.status, "call {i}");
        assert_eq!(reply.status, record.status, "call {i}");
    }
    let admitted = replies.iter().filter(|r| r.status == 200).count();
    assert!((1..90).contains(&admitted), "{admitted}");
    server.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outage_fails_every_call_with_its_status_and_no_rate_headers() {
    let yaml = "profiles:\n  - name: down\n    kind: anthropic\n    rpm: 50\n    itpm: 30000\n    otpm: 8000\n    latency: { model: constant, mean: 10ms }\n    outages:\n      - { start: 0s, duration: 1h, status: 502 }\n";
    let server = start(spec("outage", yaml), "1").await;
    let body =
        br#"{"model":"claude-test","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}"#;
    for _ in 0..3 {
        let r = post(server.addr(), "/v1/messages", body).await;
        assert_eq!(r.status, 502);
        assert_eq!(r.json()["error"]["type"], "api_error");
        assert!(
            r.headers
                .iter()
                .all(|(n, _)| !n.starts_with("anthropic-ratelimit"))
        );
    }
    server.stop().await.expect("stops");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_reserved_and_a_call_larger_than_the_limit_never_fits() {
    // 100 tokens a minute; a call reserves its input (6) + max_tokens.
    let yaml = "profiles:\n  - name: tpm\n    kind: openai\n    rpm: 1000\n    tpm: 100\n    retry_after_probability: 1.0\n    latency: { model: constant, mean: 5ms }\n";
    let server = start(spec("tpm", yaml), "1").await;
    let first = post(server.addr(), CHAT, &chat(60, false)).await;
    let second = post(server.addr(), CHAT, &chat(60, false)).await;
    assert_eq!((first.status, second.status), (200, 429));
    assert_eq!(second.json()["error"]["type"], "tokens");
    let snap = parse_headers_strict(second.headers.clone(), Provider::OpenAi, None)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let tokens = snap.dim(&Dimension::Tokens).expect("tokens reported");
    assert_eq!(tokens.limit, Some(100));
    // 100 − 66 left after the first, plus whatever refilled, and not enough for 66 more.
    let left = tokens.remaining.expect("remaining sent");
    assert!((34..66).contains(&left), "{left}");
    let huge = post(server.addr(), CHAT, &chat(500, false)).await;
    assert_eq!(huge.status, 429);
    let message = huge.json()["error"]["message"]
        .as_str()
        .unwrap_or("")
        .to_string();
    assert!(message.starts_with("Request too large"), "{message}");
    assert_eq!(huge.header("retry-after"), None, "retrying never helps");
    server.stop().await.expect("stops");
}
