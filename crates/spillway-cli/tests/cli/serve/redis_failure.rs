//! `--redis-failure`: what the shared layers answer while their Redis is gone. `closed` (the
//! default) refuses with 503 `store_unavailable`; `open` admits without the shared limit, each
//! replica limiting alone at the whole limit; `local` limits each replica alone at its share
//! (`--redis-replicas N`: 1/N of each layer).

use super::fixtures::{Redis, Server, policy_file, post_chat};

/// 4 requests an hour per user, in Redis (no fixed windows there).
const PER_USER_4: &str =
    "  - { name: per-user, scope: user, algorithm: sliding-window, limit: 4, per: 1h }\n";

/// Start Redis and a serve on it with `extra`, admit one request while Redis is up, stop Redis,
/// and return the statuses and bodies of 5 more requests (`None`: redis-server is missing).
async fn after_redis_goes(name: &str, extra: &[&str]) -> Option<Vec<(u16, String)>> {
    let mut redis = Redis::start()?;
    let policy = policy_file(name, PER_USER_4, "", "");
    let stub = Server::stub(&policy);
    let mut args = vec!["--redis", redis.url.as_str()];
    args.extend_from_slice(extra);
    let serve = Server::serve_with(&policy, &stub.url, &args);
    let client = reqwest::Client::new();
    let send = || async {
        let resp = post_chat(&client, &serve.url, false).await;
        let status = resp.status().as_u16();
        (status, resp.text().await.expect("a body"))
    };
    assert_eq!(send().await.0, 200, "while Redis is up");
    redis.stop();
    let mut out = Vec::new();
    for _ in 0..5 {
        out.push(send().await);
    }
    Some(out)
}

fn statuses(answers: &[(u16, String)]) -> Vec<u16> {
    answers.iter().map(|(s, _)| *s).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn by_default_a_gone_redis_refuses_with_503_store_unavailable() {
    let Some(answers) = after_redis_goes("redis-fail-closed", &[]).await else {
        return;
    };
    assert_eq!(statuses(&answers), [503; 5], "{answers:?}");
    assert!(answers[0].1.contains("store_unavailable"), "{answers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_admits_the_whole_limit_in_each_replica_while_redis_is_gone() {
    let Some(answers) = after_redis_goes("redis-fail-open", &["--redis-failure", "open"]).await
    else {
        return;
    };
    // The local limit starts fresh at the outage: 4 more, then the layer refuses (a 429 naming
    // it, not an outage).
    assert_eq!(statuses(&answers), [200, 200, 200, 200, 429], "{answers:?}");
    assert!(answers[4].1.contains("per-user"), "{answers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_admits_each_replicas_share_while_redis_is_gone() {
    let extra = ["--redis-failure", "local", "--redis-replicas", "2"];
    let Some(answers) = after_redis_goes("redis-fail-local", &extra).await else {
        return;
    };
    assert_eq!(statuses(&answers), [200, 200, 429, 429, 429], "{answers:?}");
}
