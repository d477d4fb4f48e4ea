//! `spillway serve` enforces the policy's `budget:`: a spent cap refuses by name until its
//! reset, and a degrade ladder rewrites the model sent upstream.

use super::super::{spillway, text, workspace};
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_budget_block_sets_where_the_output_estimate_starts() {
    // 100,000 output tokens (capped at the model's maximum) never fit the $0.0002 cap that the
    // default 256 fits (above): the first request is refused, naming the cap.
    let block = format!(
        "{}      output_tokens: 100000\n",
        budget("gpt-4o-mini", "none", "0.0002")
    );
    let policy = policy_file("budget-estimate", ROOMY, &block, &models());
    let stub = Server::stub(&policy);
    let serve = Server::serve(&policy, &stub.url);
    let resp = post(&reqwest::Client::new(), &serve.url, chat(3, false)).await;
    assert_eq!(resp.status(), 429);
    let body = resp.text().await.expect("body");
    assert!(body.contains("Budget cap `tiny` reached"), "{body}");

    let zero = block.replace("output_tokens: 100000", "output_tokens: 0");
    let bad = policy_file("budget-estimate-zero", ROOMY, &zero, &models());
    let out = spillway(&["serve", "--policy", bad.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("policy.yaml:") && err.contains(": policies[0].budget.output_tokens: "),
        "{err}"
    );
    assert!(err.contains("must be 1 to 1000000, got 0"), "{err}");
}

/// Send to `url` until the budget refuses twice in a row across a pause (so that every
/// settlement queued for Redis has landed): the 429's body, or `None` if it never did.
async fn spend_until_refused(client: &reqwest::Client, url: &str) -> Option<String> {
    let mut refused_before = false;
    for _ in 0..60 {
        let resp = post(client, url, chat(3, false)).await;
        if resp.status() != 429 {
            assert_eq!(resp.status(), 200);
            let _ = resp.bytes().await;
            refused_before = false;
            continue;
        }
        let body = resp.text().await.expect("body");
        if refused_before {
            return Some(body);
        }
        refused_before = true;
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_one_redis_share_the_budget_and_name_the_cap_the_other_spent() {
    let Some(redis) = super::fixtures::Redis::start() else {
        return;
    };
    // As above: a $0.0002 daily cap, ~$0.00016 estimates, a few thousand nano-USD per answer.
    // Redis has no fixed window: a roomy sliding one.
    let roomy = ROOMY.replace("fixed-window", "sliding-window");
    let policy = policy_file(
        "budget-redis",
        &roomy,
        &budget("gpt-4o-mini", "none", "0.0002"),
        &models(),
    );
    let stub = Server::stub(&policy);
    let args = ["--redis", redis.url.as_str()];
    let (a, b) = (
        Server::serve_with(&policy, &stub.url, &args),
        Server::serve_with(&policy, &stub.url, &args),
    );
    let client = reqwest::Client::new();
    // Concurrent clients spread over both replicas: one estimate fits the cap at a time,
    // across the fleet.
    let mut tasks = Vec::new();
    for c in 0..4 {
        let (client, urls) = (client.clone(), [a.url.clone(), b.url.clone()]);
        tasks.push(tokio::spawn(async move {
            let mut ok = 0u64;
            for i in 0..10 {
                let resp = post(&client, &urls[(c + i) % 2], chat(3, false)).await;
                ok += u64::from(resp.status() == 200);
                let _ = resp.bytes().await;
            }
            ok
        }));
    }
    let mut admitted = 0;
    for t in tasks {
        admitted += t.await.expect("client");
    }
    assert!(admitted > 0, "the cap admits a few");
    // Replica A spends what is left; then B, which only ever saw its own requests, refuses
    // naming the cap: it counted what A spent.
    let body = spend_until_refused(&client, &a.url)
        .await
        .expect("A refuses");
    assert!(body.contains("Budget cap `tiny` reached"), "{body}");
    let resp = post(&client, &b.url, chat(3, false)).await;
    assert_eq!(resp.status(), 429);
    let retry_after: u64 = resp.headers()["retry-after"]
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=86_400).contains(&retry_after), "{retry_after}");
    let body = resp.text().await.expect("body");
    assert!(body.contains("Budget cap `tiny` reached"), "{body}");
    assert!(body.contains(r#""blocking":["tiny"]"#), "{body}");
    // An admission needs `spent + reserved + estimate ≤ cap` across the fleet, and every
    // estimate is at least 256 × 600 = 153,600 nano-USD: a request is admitted only while the
    // fleet has spent at most 46,400, and one answer (~3,300) may land on top. Each replica
    // counting alone would have let both reach that.
    let mut total = 0;
    for url in [&a.url, &b.url] {
        let m = metrics_until(&client, url, |_| true).await;
        total += metric(&m, "spillway_spend_nano_usd_total").unwrap_or(0);
    }
    assert!(
        (40_000..=46_400 + 10_000).contains(&total),
        "booked {total} nano-USD"
    );
}

/// A policy `name` with no layers and a roomy $1 budget: under `--redis` the budget is the
/// only thing in Redis.
fn budget_only(name: &str) -> std::path::PathBuf {
    let policy = policy_file(name, "", &budget("gpt-4o-mini", "none", "1"), &models());
    let yaml = std::fs::read_to_string(&policy).expect("read");
    std::fs::write(&policy, yaml.replacen("layers:\npolicies:", "policies:", 1)).expect("write");
    policy
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_budget_whose_redis_is_gone_refuses_with_503() {
    let Some(mut redis) = super::fixtures::Redis::start() else {
        return;
    };
    // No layers: the budget is the only thing in Redis, so its failure is what answers.
    let policy = budget_only("budget-redis-down");
    let stub = Server::stub(&policy);
    let serve = Server::serve_with(&policy, &stub.url, &["--redis", &redis.url]);
    let client = reqwest::Client::new();
    let up = post(&client, &serve.url, chat(3, false)).await;
    assert_eq!(up.status(), 200);
    redis.stop();
    let down = post(&client, &serve.url, chat(3, false)).await;
    assert_eq!(down.status(), 503);
    let body = down.text().await.expect("body");
    assert!(
        body.contains("store of the shared budget did not answer"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_the_client_leaves_midway_is_booked_at_its_estimate() {
    leave_midway("budget-leave", ROOMY, &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_the_client_leaves_midway_is_booked_in_the_shared_budget() {
    let Some(redis) = super::fixtures::Redis::start() else {
        return;
    };
    let roomy = ROOMY.replace("fixed-window", "sliding-window");
    leave_midway("budget-leave-redis", &roomy, &["--redis", &redis.url]).await;
}

/// As above: one ~$0.00016 estimate fits the $0.0002 cap. A 3,000-token stream takes the
/// stub ~3 s; the client reads its first chunk and goes away. The provider bills that call,
/// so the gateway books at least its estimate: the next request no longer fits. (Released
/// instead, a few small answers would all be admitted.)
async fn leave_midway(name: &str, layers: &str, args: &[&str]) {
    let policy = policy_file(
        name,
        layers,
        &budget("gpt-4o-mini", "none", "0.0002"),
        &models(),
    );
    let stub = Server::stub(&policy);
    let serve = Server::serve_with(&policy, &stub.url, args);
    let client = reqwest::Client::new();
    let mut stream = post(&client, &serve.url, chat(3000, true)).await;
    assert_eq!(stream.status(), 200);
    let first = stream.chunk().await.expect("a chunk");
    assert!(first.is_some_and(|c| !c.is_empty()));
    drop(stream);
    // The spend counter sees the booking, not only the cap: 256 estimated output tokens of
    // gpt-4o-mini at $0.60/M are 153,600 nano-USD (the prompt adds a little).
    let m = metrics_until(&client, &serve.url, |m| {
        metric(
            m,
            "spillway_departed_total{class=\"standard\",how=\"abandoned\"}",
        ) == Some(1)
    })
    .await;
    let spent = metric(&m, "spillway_spend_nano_usd_total").unwrap_or(0);
    assert!((153_600..200_000).contains(&spent), "{m}");
    let mut statuses = Vec::new();
    for _ in 0..5 {
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let resp = post(&client, &serve.url, chat(3, false)).await;
        statuses.push(resp.status().as_u16());
        if resp.status() == 429 {
            let body = resp.text().await.expect("body");
            assert!(body.contains("Budget cap `tiny` reached"), "{body}");
            return;
        }
        let _ = resp.bytes().await;
    }
    panic!("the abandoned stream booked nothing: {statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_settle_redis_never_takes_is_retried_then_counted_as_given_up() {
    let Some(mut redis) = super::fixtures::Redis::start() else {
        return;
    };
    let policy = budget_only("budget-give-up");
    let stub = Server::stub(&policy);
    let serve = Server::serve_with(&policy, &stub.url, &["--redis", &redis.url]);
    let client = reqwest::Client::new();
    let gave_up = |t: &str| metric(t, "spillway_budget_settles_given_up_total");
    let m = metrics_until(&client, &serve.url, |_| true).await;
    assert_eq!(gave_up(&m), Some(0), "{m}");
    // Admitted while Redis is up; Redis goes away before the stream ends, so its settle
    // fails, is retried for as long as Redis would remember it, then given up and counted.
    let stream = post(&client, &serve.url, chat(1000, true)).await;
    assert_eq!(stream.status(), 200);
    redis.stop();
    let body = stream.text().await.expect("the whole stream");
    assert!(body.contains("[DONE]"), "{body}");
    let mut m = String::new();
    for _ in 0..6 {
        m = metrics_until(&client, &serve.url, |t| gave_up(t) >= Some(1)).await;
        if gave_up(&m) >= Some(1) {
            break;
        }
    }
    assert_eq!(gave_up(&m), Some(1), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_budget_without_a_usable_key_says_so_not_that_redis_is_down() {
    let Some(redis) = super::fixtures::Redis::start() else {
        return;
    };
    // Both keys expire within 2 ms of `serve` starting: every request finds no usable key.
    let key = "keys:\n  - { name: k, environment: production, service: gateway, role: primary, expires: 1ms }\n  \
- { name: k2, environment: production, service: gateway, role: secondary, expires: 2ms }\n";
    let policy = policy_file(
        "budget-no-key",
        &ROOMY.replace("fixed-window", "sliding-window"),
        &budget("gpt-4o-mini", "none", "1"),
        &format!("{}{key}", models()),
    );
    let stub = Server::stub(&policy);
    let serve = Server::serve_with(&policy, &stub.url, &["--redis", &redis.url]);
    let resp = post(&reqwest::Client::new(), &serve.url, chat(3, false)).await;
    assert_eq!(resp.status(), 429);
    let body = resp.text().await.expect("body");
    assert!(body.contains("no usable upstream key"), "{body}");
}
