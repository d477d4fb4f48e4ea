//! `spillway serve --redis`: the `x-ratelimit-*` headers of the shared layers, read by the same
//! Redis call that admits (issue 14).

use super::fixtures::{Redis, Server, chat, policy_file};

/// `x-ratelimit-<what>-requests` of `resp` as a string (the test fails if absent).
fn header(resp: &reqwest::Response, what: &str) -> String {
    let name = format!("x-ratelimit-{what}-requests");
    resp.headers()
        .get(&name)
        .unwrap_or_else(|| panic!("no {name} in {:?}", resp.headers()))
        .to_str()
        .expect("ascii")
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_on_one_redis_report_the_shared_room_in_their_headers() {
    let Some(redis) = Redis::start() else {
        return;
    };
    let layers =
        "  - { name: per-user, scope: user, algorithm: sliding-window, limit: 10, per: 1h }\n";
    let policy = policy_file("redis-headers", layers, "", "");
    let stub = Server::stub(&policy);
    let replicas = [
        Server::serve_with(&policy, &stub.url, &["--redis", &redis.url]),
        Server::serve_with(&policy, &stub.url, &["--redis", &redis.url]),
    ];
    let client = reqwest::Client::new();
    let mut remaining = Vec::new();
    // Alternate replicas: each answer counts what the other admitted too.
    for (i, replica) in replicas.iter().cycle().take(4).enumerate() {
        let resp = client
            .post(format!("{}/v1/chat/completions", replica.url))
            .body(chat(3, false))
            .send()
            .await
            .expect("answer");
        assert_eq!(resp.status(), 200, "request {i}");
        assert_eq!(header(&resp, "limit"), "10", "request {i}");
        let reset = header(&resp, "reset");
        // One request in the window: full again when it leaves the 1 h window.
        assert!(reset.ends_with('s') && reset.contains('m'), "reset {reset}");
        remaining.push(header(&resp, "remaining"));
    }
    assert_eq!(remaining, ["9", "8", "7", "6"]);
}
