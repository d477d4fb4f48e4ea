//! `spillway serve` enforces the policy's `budget:`: a spent cap refuses by name until its
//! reset, and a degrade ladder rewrites the model sent upstream.

use super::super::workspace;
use super::fixtures::{Server, chat, metric, metrics_until, policy_file};

const ROOMY: &str =
    "  - { name: roomy, scope: user, algorithm: fixed-window, limit: 100000, per: 1h }\n";

/// The scenario catalogue (`gpt-4o` → `gpt-4o-mini` at 80 % on the `openai` ladder).
fn models() -> String {
    let path = workspace().join("scenarios/models.yaml");
    format!("models: {}\n", path.display())
}

/// A budget for `model` on `ladder` with one global daily cap of `usd`, named `tiny`.
fn budget(model: &str, ladder: &str, usd: &str) -> String {
    format!(
        "    budget:\n      model: {model}\n      ladder: {ladder}\n      estimate: fixed\n      \
caps:\n        - {{ name: tiny, scope: global, period: day, limit_usd: {usd} }}\n"
    )
}

async fn post(client: &reqwest::Client, url: &str, body: String) -> reqwest::Response {
    client
        .post(format!("{url}/v1/chat/completions"))
        .body(body)
        .send()
        .await
        .expect("answer")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_spent_cap_refuses_the_next_request_by_name_until_its_reset() {
    // A fixed estimate of 256 output tokens of gpt-4o-mini (~$0.00016) fits the $0.0002 cap
    // once; each answer books a few thousand nano-USD, so the cap is spent within 20 calls.
    let policy = policy_file(
        "budget-cap",
        ROOMY,
        &budget("gpt-4o-mini", "none", "0.0002"),
        &models(),
    );
    let stub = Server::stub(&policy);
    let serve = Server::serve(&policy, &stub.url);
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    let mut refusal = None;
    for _ in 0..40 {
        let resp = post(&client, &serve.url, chat(3, false)).await;
        statuses.push(resp.status().as_u16());
        if resp.status() == 429 {
            let retry_after: u64 = resp.headers()["retry-after"]
                .to_str()
                .expect("ascii")
                .parse()
                .expect("seconds");
            refusal = Some((retry_after, resp.text().await.expect("body")));
            break;
        }
        let _ = resp.bytes().await;
    }
    let (retry_after, body) = refusal.unwrap_or_else(|| panic!("never refused: {statuses:?}"));
    assert!(statuses.len() > 1 && statuses[..statuses.len() - 1].iter().all(|s| *s == 200));
    assert!(body.contains("Budget cap `tiny` reached"), "{body}");
    assert!(body.contains(r#""blocking":["tiny"]"#), "{body}");
    // A daily cap resets at the next UTC midnight: within a day, not in one second.
    assert!((1..=86_400).contains(&retry_after), "{retry_after}");
    let next = post(&client, &serve.url, chat(3, false)).await;
    assert_eq!(next.status(), 429);
    let m = metrics_until(&client, &serve.url, |t| {
        metric(t, "spillway_budget_refused_total") >= Some(2)
    })
    .await;
    assert_eq!(metric(&m, "spillway_budget_refused_total"), Some(2));
    assert!(metric(&m, "spillway_spend_nano_usd_total") > Some(0), "{m}");
    assert_eq!(metric(&m, "spillway_degraded_total"), Some(0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_degrade_ladder_rewrites_the_model_sent_upstream() {
    // gpt-4o's estimate (~$0.0026) never fits the $0.002 cap; gpt-4o-mini's does. The key's
    // validity counts from when `serve` starts (read from 1970, it expired long ago and
    // every request would be refused for want of a key).
    let key = "keys:\n  - { name: k, environment: production, service: gateway, role: primary, expires: 30d }\n  \
- { name: k2, environment: production, service: gateway, role: secondary, expires: 40d }\n";
    let policy = policy_file(
        "budget-degrade",
        ROOMY,
        &budget("gpt-4o", "openai", "0.002"),
        &format!("{}{key}", models()),
    );
    let stub = Server::stub(&policy);
    let serve = Server::serve(&policy, &stub.url);
    let client = reqwest::Client::new();
    let body = chat(3, false).replace("gpt-4o-mini", "gpt-4o");
    let resp = post(&client, &serve.url, body).await;
    assert_eq!(resp.status(), 200);
    let answer: serde_json::Value = resp.json().await.expect("json");
    // The stub answers with the model it was asked for.
    assert_eq!(answer["model"], "gpt-4o-mini", "{answer}");
    let m = metrics_until(&client, &serve.url, |t| {
        metric(t, "spillway_degraded_total") >= Some(1)
    })
    .await;
    assert_eq!(metric(&m, "spillway_degraded_total"), Some(1));
}
