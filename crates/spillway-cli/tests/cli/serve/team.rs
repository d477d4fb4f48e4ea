//! A `scope: team` layer in `spillway serve`: virtual keys of one team share its limit, another
//! team has its own.

use super::fixtures::{Server, policy_file, statuses};

const PER_TEAM_5: &str =
    "  - { name: per-team, scope: team, algorithm: fixed-window, limit: 5, per: 1h }\n";

/// `serve:` with three virtual keys: ann and bob of team `search`, cara of team `ads`.
const KEYS: &str = "\
serve:
  upstream: http://127.0.0.1:1
  virtual_keys:
    - { name: ann, secret: { file: ann.key }, team: search }
    - { name: bob, secret: { file: bob.key }, team: search }
    - { name: cara, secret: { file: cara.key }, team: ads }
";

/// Statuses of `each` requests sent with `key` by one client.
async fn send(url: String, key: &'static str, each: usize) -> Vec<u16> {
    let bearer = format!("Bearer {key}");
    let headers = [("authorization", bearer.as_str())];
    statuses(reqwest::Client::new(), url, &headers, each).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_keys_of_one_team_share_its_limit_and_another_team_has_its_own() {
    let policy = policy_file("team", PER_TEAM_5, "    max_in_flight: 8\n", KEYS);
    let dir = policy.parent().expect("a directory");
    for (file, secret) in [
        ("ann.key", "sk-ann-0001"),
        ("bob.key", "sk-bob-0002"),
        ("cara.key", "sk-cara-0003"),
    ] {
        std::fs::write(dir.join(file), secret).expect("write key");
    }
    let stub = Server::stub(&policy);
    let serve = Server::serve(&policy, &stub.url);
    let ann = tokio::spawn(send(serve.url.clone(), "sk-ann-0001", 10));
    let bob = tokio::spawn(send(serve.url.clone(), "sk-bob-0002", 10));
    let mut search = ann.await.expect("ann");
    search.extend(bob.await.expect("bob"));
    let ok = search.iter().filter(|s| **s == 200).count();
    let limited = search.iter().filter(|s| **s == 429).count();
    assert_eq!((ok, limited), (5, 15), "{search:?}");
    // Team `ads` is not charged for `search`'s requests.
    assert_eq!(
        send(serve.url.clone(), "sk-cara-0003", 6).await,
        [200, 200, 200, 200, 200, 429]
    );
}
