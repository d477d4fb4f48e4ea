//! `spillway serve` from a standalone policy file (no traffic): the shipped example serves,
//! and a broken one is a located error, exit 2, as a broken scenario is.

use super::super::{spillway, temp_dir, text, workspace};
use super::fixtures::{Server, chat, metric, metrics_until, policy_file};

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
