//! `spillway serve` from a standalone policy file (no traffic): the shipped example serves,
//! its `classes:` deadlines answer requests that queue too long, and a broken one is a located
//! error, exit 2, as a broken scenario is.

use super::super::{spillway, temp_dir, text, workspace};
use super::fixtures::{PER_USER_100, Server, Stalled, chat, metric, metrics_until, policy_file};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_example_policy_file_serves_with_its_budget() {
    let example = workspace().join("scenarios/policies/gateway.yaml");
    // The stub's provider comes from a scenario; the gateway's policy from the example.
    let layer = "  - { name: any, scope: user, algorithm: fixed-window, limit: 10, per: 1h }\n";
    let stub = Server::stub(&policy_file("example", layer, "", ""));
    let serve = Server::serve(&example, &stub.url);
    let client = reqwest::Client::new();
    let resp = client
        .post(format!("{}/v1/chat/completions", serve.url))
        .header("x-spillway-user", "alice")
        .body(chat(3, false).replace("gpt-4o-mini", "gpt-4o"))
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()
            .contains_key("x-ratelimit-remaining-requests")
    );
    let m = metrics_until(&client, &serve.url, |t| {
        metric(t, "spillway_spend_nano_usd_total") > Some(0)
    })
    .await;
    assert!(metric(&m, "spillway_spend_nano_usd_total") > Some(0), "{m}");
}

/// A policy file whose one call at a time is held for seconds by a slow stub, so the next
/// request queues; batch requests may wait 300 ms.
const ONE_AT_A_TIME: &str = "\
layers:
  - { name: any, scope: user, algorithm: fixed-window, limit: 100, per: 1h }
classes:
  batch: { deadline: 300ms }
policies:
  - { name: p, layers: [any], max_in_flight: 1 }
serve:
  upstream: http://127.0.0.1:1
  trust_headers: true
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queued_batch_request_is_answered_at_its_class_deadline() {
    let layer = "  - { name: any, scope: user, algorithm: fixed-window, limit: 10, per: 1h }\n";
    let slow = policy_file("deadline", layer, "", "");
    let stub_text = std::fs::read_to_string(&slow).expect("read");
    std::fs::write(&slow, stub_text.replace("base: 5ms", "base: 3s")).expect("write");
    let file = slow.with_file_name("gateway.yaml");
    std::fs::write(&file, ONE_AT_A_TIME).expect("write");
    let stub = Server::stub(&slow);
    let serve = Server::serve(&file, &stub.url);
    let client = reqwest::Client::new();
    let post = |class: &'static str| {
        client
            .post(format!("{}/v1/chat/completions", serve.url))
            .header("x-spillway-user", class)
            .header("x-spillway-class", class)
            .body(chat(3, false))
            .send()
    };
    let first = tokio::spawn(post("standard"));
    // The standard request holds the only call slot: the batch one has to queue.
    let m = metrics_until(&client, &serve.url, |t| {
        metric(t, "spillway_in_flight") == Some(1)
    })
    .await;
    assert_eq!(metric(&m, "spillway_in_flight"), Some(1), "{m}");
    let batch = post("batch").await.expect("answer");
    assert_eq!(batch.status(), 504);
    let body = batch.text().await.expect("body");
    assert!(body.contains("queue_deadline"), "{body}");
    let m = metrics_until(&client, &serve.url, |_| true).await;
    assert_eq!(
        metric(
            &m,
            "spillway_departed_total{class=\"batch\",how=\"abandoned\"}"
        ),
        Some(1),
        "{m}"
    );
    // The call in flight was not disturbed.
    assert_eq!(first.await.expect("task").expect("answer").status(), 200);
}

#[test]
fn a_broken_policy_file_is_a_located_error() {
    let dir = temp_dir("serve-broken-policy");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("policy.yaml");
    std::fs::write(&file, "policies:\n  - name: p\n    max_in_flight: 0x\n").expect("write");
    let out = spillway(&["serve", "--policy", file.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("policy.yaml:3:20: policies[0].max_in_flight"),
        "{err}"
    );
}

#[test]
fn validate_checks_a_policy_file_with_the_same_located_errors() {
    let good = spillway(&["validate", "scenarios/policies/gateway.yaml"]);
    assert!(good.status.success(), "{}", text(&good.stderr));
    assert!(text(&good.stdout).contains("(policy file, 1 policy: gateway)"));

    let dir = temp_dir("validate-broken-policy");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("policy.yaml");
    std::fs::write(&file, "policies:\n  - name: p\n    max_in_flight: 0x\n").expect("write");
    let out = spillway(&["validate", file.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("policy.yaml:3:20: policies[0].max_in_flight"),
        "{err}"
    );
}

/// A policy that models a response cache (`cache_hit_pct`, a simulation knob) is served without
/// it, and serve says so at start: answered from no cache, those requests fail here, and the
/// counts must not call them served from one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modelled_cache_is_set_aside_and_said_at_start() {
    let upstream = Stalled::start(b"");
    let cached = policy_file(
        "modelled-cache",
        PER_USER_100,
        "    upstream: { cache_hit_pct: 30 }\n",
        "",
    );
    let stderr = Server::serve_keeping_stderr(&cached, &upstream.url).terminate_for_stderr();
    assert!(
        stderr.contains("policy `test`: upstream.cache_hit_pct 30 is set aside"),
        "{stderr}"
    );
    let plain = policy_file("no-cache", PER_USER_100, "", "");
    let stderr = Server::serve_keeping_stderr(&plain, &upstream.url).terminate_for_stderr();
    assert!(!stderr.contains("cache_hit_pct"), "{stderr}");
}
