//! `spillway serve` against a stub upstream on loopback: exact admission under concurrency,
//! streaming without buffering, a disconnect that frees what it held, bad input.

use super::super::{spillway, text};
use super::fixtures::{
    PER_USER_100, Redis, Server, chat, metric, metrics_until, policy_file, statuses,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn eight_clients_times_250_requests_admit_exactly_the_per_user_limit() {
    let policy = policy_file("exact", PER_USER_100, "    max_in_flight: 64\n", "");
    let stub = Server::stub(&policy);
    let serve = Server::serve(&policy, &stub.url);
    let all = hammer(std::slice::from_ref(&serve.url), 8, 250).await;
    let ok = all.iter().filter(|s| **s == 200).count();
    let limited = all.iter().filter(|s| **s == 429).count();
    assert_eq!(
        (ok, limited),
        (100, 1900),
        "other statuses: {:?}",
        all.iter()
            .filter(|s| !matches!(s, 200 | 429))
            .collect::<Vec<_>>()
    );
    let client = reqwest::Client::new();
    let m = metrics_until(&client, &serve.url, |_| true).await;
    assert_eq!(
        metric(&m, "spillway_admitted_total{class=\"standard\"}"),
        Some(100)
    );
    assert_eq!(
        metric(&m, "spillway_rejected_total{layer=\"per-user\"}"),
        Some(1900)
    );
    assert_eq!(
        metric(&m, "spillway_upstream_calls_total{target=\"primary\"}"),
        Some(100)
    );
}

/// `clients` concurrent clients, each sending `each` small chat requests to its server of
/// `urls` (round robin); every status seen.
async fn hammer(urls: &[String], clients: usize, each: usize) -> Vec<u16> {
    let client = reqwest::Client::new();
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let (client, url) = (client.clone(), urls[i % urls.len()].clone());
            tokio::spawn(async move { statuses(client, url, &[], each).await })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("client"));
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_one_redis_admit_exactly_the_limit_between_them() {
    let Some(redis) = Redis::start() else {
        return;
    };
    // Redis has no fixed window: the exact sliding log, same limit.
    let layers =
        "  - { name: per-user, scope: user, algorithm: sliding-window, limit: 100, per: 1h }\n";
    let policy = policy_file("redis", layers, "    max_in_flight: 64\n", "");
    let stub = Server::stub(&policy);
    let replicas = [
        Server::serve_with(&policy, &stub.url, &["--redis", &redis.url]),
        Server::serve_with(&policy, &stub.url, &["--redis", &redis.url]),
    ];
    let urls: Vec<String> = replicas.iter().map(|r| r.url.clone()).collect();
    let all = hammer(&urls, 8, 250).await;
    let ok = all.iter().filter(|s| **s == 200).count();
    let limited = all.iter().filter(|s| **s == 429).count();
    assert_eq!((ok, limited), (100, 1900));
    // Both replicas admitted some: the limit really was shared, not one replica's alone.
    let client = reqwest::Client::new();
    for url in &urls {
        let m = metrics_until(&client, url, |_| true).await;
        let admitted = metric(&m, "spillway_admitted_total{class=\"standard\"}").unwrap_or(0);
        assert!((1..100).contains(&admitted), "{url}: {admitted}");
    }
}

/// A gateway started before its Redis (compose, Kubernetes) waits for it instead of exiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_waits_at_start_for_a_redis_that_comes_up_late() {
    // Only to learn whether redis-server is here (skip or fail as the other Redis tests do).
    let Some(mut probe) = Redis::start() else {
        return;
    };
    probe.stop();
    let port = super::fixtures::free_port();
    let late = std::thread::spawn(move || {
        std::thread::sleep(std::time::Duration::from_millis(1500));
        Redis::start_on(port)
    });
    let layers =
        "  - { name: per-user, scope: user, algorithm: sliding-window, limit: 5, per: 1h }\n";
    let policy = policy_file("late-redis", layers, "", "");
    let stub = Server::stub(&policy);
    let url = format!("redis://127.0.0.1:{port}");
    // Blocks until serve prints its banner, i.e. until it reached the late Redis.
    let serve = Server::serve_with(&policy, &stub.url, &["--redis", &url]);
    let _redis = late.join().expect("redis started");
    let status = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", serve.url))
        .body(chat(3, false))
        .send()
        .await
        .expect("answer")
        .status();
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_a_429_naming_the_layer_with_retry_after_and_rate_limit_headers() {
    let layers =
        "  - { name: per-user, scope: user, algorithm: fixed-window, limit: 1, per: 1h }\n";
    let policy = policy_file("refusal", layers, "", "");
    let stub = Server::stub(&policy);
    let serve = Server::serve(&policy, &stub.url);
    let client = reqwest::Client::new();
    let send = || {
        client
            .post(format!("{}/v1/chat/completions", serve.url))
            .body(chat(3, false))
            .send()
    };
    let first = send().await.expect("first");
    assert_eq!(first.status(), 200);
    // Without trusted headers, a claimed identity is ignored: still the same (anonymous) user.
    let claimed = client
        .post(format!("{}/v1/chat/completions", serve.url))
        .header("x-spillway-user", "someone-else")
        .body(chat(3, false))
        .send()
        .await
        .expect("claimed");
    assert_eq!(claimed.status(), 429);
    assert_eq!(first.headers()["x-ratelimit-limit-requests"], "1");
    assert_eq!(first.headers()["x-ratelimit-remaining-requests"], "0");
    let second = send().await.expect("second");
    assert_eq!(second.status(), 429);
    let retry: u64 = second.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    assert!(second.headers().contains_key("x-ratelimit-reset-requests"));
    let body: serde_json::Value = second.json().await.expect("json");
    assert_eq!(body["error"]["code"], "rate_limit_exceeded");
    assert_eq!(body["error"]["blocking"][0], "per-user");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_arrives_in_several_chunks_before_the_upstream_finishes() {
    let policy = policy_file("stream", PER_USER_100, "", "");
    let stub = Server::stub(&policy);
    let serve = Server::serve(&policy, &stub.url);
    let client = reqwest::Client::new();
    let mut resp = client
        .post(format!("{}/v1/chat/completions", serve.url))
        .body(chat(40, true))
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut chunks = Vec::new();
    while let Some(chunk) = resp.chunk().await.expect("chunk") {
        chunks.push(String::from_utf8_lossy(&chunk).into_owned());
    }
    // The stub paces 40 tokens over ~45 ms; a buffering proxy would deliver one piece.
    assert!(chunks.len() > 1, "{} chunk(s)", chunks.len());
    assert!(
        !chunks[0].contains("[DONE]"),
        "the first chunk already ended the stream"
    );
    assert!(chunks.last().is_some_and(|c| c.contains("[DONE]")));
    // Usage from the final chunk settled the call.
    let m = metrics_until(&client, &serve.url, |m| {
        metric(
            m,
            "spillway_departed_total{class=\"standard\",how=\"completed\"}",
        ) == Some(1)
    })
    .await;
    assert_eq!(metric(&m, "spillway_requests_inside"), Some(0), "{m}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_disconnects_mid_stream_frees_its_reservation() {
    // One call in flight at most: the next request is served only if the first let go.
    let policy = policy_file("disconnect", PER_USER_100, "    max_in_flight: 1\n", "");
    let stub = Server::stub(&policy);
    let serve = Server::serve(&policy, &stub.url);
    let client = reqwest::Client::new();
    let url = format!("{}/v1/chat/completions", serve.url);
    // 5,000 tokens at 1 ms each: the stream would last ~5 s.
    let mut resp = client
        .post(&url)
        .body(chat(5000, true))
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), 200);
    assert!(resp.chunk().await.expect("chunk").is_some());
    drop(resp);
    let m = metrics_until(&client, &serve.url, |m| {
        metric(
            m,
            "spillway_departed_total{class=\"standard\",how=\"abandoned\"}",
        ) == Some(1)
    })
    .await;
    assert_eq!(metric(&m, "spillway_in_flight"), Some(0), "{m}");
    assert_eq!(metric(&m, "spillway_requests_inside"), Some(0), "{m}");
    let next = client
        .post(&url)
        .body(chat(3, false))
        .send()
        .await
        .expect("answer");
    assert_eq!(next.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_requests_are_400_and_nothing_goes_upstream() {
    let policy = policy_file("bad", PER_USER_100, "", "");
    let stub = Server::stub(&policy);
    // A small cap, so that the whole oversized body fits in the loopback socket buffers: the
    // client finishes writing before the 400 closes the connection.
    let serve = Server::serve_with(&policy, &stub.url, &["--max-body-bytes", "4096"]);
    let client = reqwest::Client::new();
    let url = format!("{}/v1/chat/completions", serve.url);
    let too_big = format!(
        r#"{{"model":"m","messages":[{{"role":"user","content":"{}"}}]}}"#,
        "x".repeat(8192)
    );
    for body in [
        "{not json",
        r#"{"messages":[{"role":"user","content":"hi"}]}"#,
        too_big.as_str(),
    ] {
        let resp = client
            .post(&url)
            .body(body.to_string())
            .send()
            .await
            .expect("answer");
        assert_eq!(resp.status(), 400);
        // The caller's room is reported on every answer, refusals of bad input included.
        assert_eq!(resp.headers()["x-ratelimit-remaining-requests"], "100");
        let json: serde_json::Value = resp.json().await.expect("json");
        assert!(json["error"]["message"].is_string(), "{json}");
    }
    let m = metrics_until(&client, &serve.url, |_| true).await;
    assert_eq!(
        metric(&m, "spillway_upstream_calls_total{target=\"primary\"}"),
        Some(0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_upstream_is_a_502_with_a_clear_body() {
    let policy = policy_file("unreachable", PER_USER_100, "    max_attempts: 1\n", "");
    // Port 9 (discard) on loopback: nothing listens there in a test environment.
    let mut serve = Server::serve(&policy, "http://127.0.0.1:9");
    let resp = reqwest::Client::new()
        .post(format!("{}/v1/chat/completions", serve.url))
        .body(chat(3, false))
        .send()
        .await
        .expect("answer");
    assert_eq!(resp.status(), 502);
    let body = resp.text().await.expect("text");
    assert!(
        body.contains("could not be reached") && body.contains("127.0.0.1:9"),
        "{body}"
    );
    assert!(serve.running());
}

#[test]
fn a_bad_serve_block_exits_2_with_a_located_error() {
    let policy = policy_file(
        "bad-block",
        PER_USER_100,
        "",
        "serve:\n  upstream: ftp://example\n",
    );
    let out = spillway(&["serve", "--policy", policy.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("policy.yaml:")
            && err.contains("serve.upstream")
            && err.contains("not a base URL"),
        "{err}"
    );
    let good = policy_file("bad-name", PER_USER_100, "", "");
    let out = spillway(&[
        "serve",
        "--policy",
        good.to_str().expect("utf-8"),
        "--name",
        "nope",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("`test`"));
}

/// Credentials in an upstream URL would be shown wherever the URL is (502 bodies, the start-up
/// line): they are refused, in the file and in `--upstream`, by a message that does not repeat
/// them.
#[test]
fn an_upstream_url_with_credentials_is_refused_without_showing_them() {
    let in_file = policy_file(
        "userinfo",
        PER_USER_100,
        "",
        "serve:\n  upstream: https://me:hunter2@example.com/\n",
    );
    let out = spillway(&["serve", "--policy", in_file.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("policy.yaml:")
            && err.contains("serve.upstream")
            && err.contains("https://***@example.com")
            && err.contains("upstream_key"),
        "{err}"
    );
    assert!(!err.contains("hunter2"), "{err}");
    let plain = policy_file("userinfo-flag", PER_USER_100, "", "");
    let out = spillway(&[
        "serve",
        "--policy",
        plain.to_str().expect("utf-8"),
        "--upstream",
        "http://me:hunter2@127.0.0.1:9",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = text(&out.stderr);
    assert!(
        err.contains("--upstream") && err.contains("credentials"),
        "{err}"
    );
    assert!(!err.contains("hunter2") && !err.contains("me:"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_the_stream_in_flight_then_exits_0() {
    let policy = policy_file("drain", PER_USER_100, "", "");
    let stub = Server::stub(&policy);
    let mut serve = Server::serve(&policy, &stub.url);
    let client = reqwest::Client::new();
    // ~300 tokens at 1 ms each: still streaming when the signal arrives.
    let mut resp = client
        .post(format!("{}/v1/chat/completions", serve.url))
        .body(chat(300, true))
        .send()
        .await
        .expect("answer");
    assert!(resp.chunk().await.expect("chunk").is_some());
    serve.signal("-TERM");
    let mut rest = String::new();
    while let Some(chunk) = resp.chunk().await.expect("the stream is not cut") {
        rest.push_str(&String::from_utf8_lossy(&chunk));
    }
    assert!(
        rest.contains("[DONE]"),
        "the stream in flight was not finished"
    );
    let status = tokio::task::spawn_blocking(move || serve.exit_status())
        .await
        .expect("joins");
    assert!(status.is_some_and(|s| s.success()), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trusted_headers_give_each_user_their_own_allowance() {
    let layers =
        "  - { name: per-user, scope: user, algorithm: fixed-window, limit: 1, per: 1h }\n";
    let policy = policy_file("trusted", layers, "", "");
    let stub = Server::stub(&policy);
    let serve = Server::serve_with(&policy, &stub.url, &["--trust-headers"]);
    let client = reqwest::Client::new();
    let mut statuses = Vec::new();
    for user in ["ann", "bob", "ann"] {
        let resp = client
            .post(format!("{}/v1/chat/completions", serve.url))
            .header("x-spillway-user", user)
            .header("x-spillway-class", "batch")
            .body(chat(3, false))
            .send()
            .await
            .expect("answer");
        statuses.push(resp.status().as_u16());
    }
    assert_eq!(statuses, [200, 200, 429]);
    let m = metrics_until(&client, &serve.url, |_| true).await;
    assert_eq!(
        metric(&m, "spillway_admitted_total{class=\"batch\"}"),
        Some(2),
        "{m}"
    );
}

/// Which answers carry `x-ratelimit-*`, as the README and `serve --help` say: those to a caller
/// the gateway identified (a bad body's 400 too), not a 400 `bad_header`, a 404 or a 405.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ratelimit_headers_are_on_the_answers_the_docs_name() {
    let policy = policy_file("headers-where", PER_USER_100, "", "");
    let serve = Server::serve_with(&policy, "http://127.0.0.1:1", &["--trust-headers"]);
    let client = reqwest::Client::new();
    let chat_url = format!("{}/v1/chat/completions", serve.url);
    let carries =
        |resp: &reqwest::Response| resp.headers().contains_key("x-ratelimit-limit-requests");
    let bad_body = client
        .post(&chat_url)
        .body("{not json")
        .send()
        .await
        .expect("answer");
    assert_eq!(bad_body.status(), 400);
    assert!(carries(&bad_body));
    let bad_class = client
        .post(&chat_url)
        .header("x-spillway-class", "urgent")
        .body(chat(3, false))
        .send()
        .await
        .expect("answer");
    assert_eq!(bad_class.status(), 400);
    let wrong_url = client
        .get(format!("{}/nope", serve.url))
        .send()
        .await
        .expect("answer");
    assert_eq!(wrong_url.status(), 404);
    let wrong_method = client.get(&chat_url).send().await.expect("answer");
    assert_eq!(wrong_method.status(), 405);
    for resp in [&bad_class, &wrong_url, &wrong_method] {
        assert!(!carries(resp), "{}", resp.status());
    }
    let help = text(&spillway(&["serve", "--help"]).stdout);
    let readme = std::fs::read_to_string(crate::workspace().join("README.md")).expect("README");
    for (doc, text) in [("serve --help", &help), ("README.md", &readme)] {
        let text = text.replace('`', "");
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(!flat.contains("Every answer carries"), "{doc}");
        assert!(
            flat.contains("A 401, a 400 bad_header, a 404 or a 405 carries none"),
            "{doc}"
        );
    }
}
