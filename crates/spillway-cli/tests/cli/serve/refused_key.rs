//! An upstream that refuses the gateway's own key (401/403) without a fallback to fail over
//! to: the same key would be refused again, so the call is not retried, and the client gets
//! the gateway's 502 `upstream_key_refused`, never the provider's body (which names the
//! gateway's key). A 4xx about the client's own request is passed on as sent.

use super::fixtures::{
    PER_USER_100, Server, Stalled, metric, metrics_until, policy_file, post_chat,
};
use spillway_core::clock::{Clock, WallClock};

/// A provider's 401 for a revoked key, naming it as OpenAI does (the connection closed after
/// it, so none is reused).
const REFUSED: &[u8] = b"HTTP/1.1 401 Unauthorized\r\nconnection: close\r\n\
content-type: application/json\r\nwww-authenticate: Bearer realm=\"sk-gateway\"\r\n\
content-length: 92\r\n\r\n\
{\"error\":{\"message\":\"Incorrect API key provided: sk-gat*****abcd\",\"code\":\"invalid_api_key\"}}";

/// A provider's 422 about the request itself: the client's business, passed on.
const UNPROCESSABLE: &[u8] = b"HTTP/1.1 422 Unprocessable Entity\r\nconnection: close\r\n\
content-type: application/json\r\nx-should-retry: false\r\ncontent-length: 57\r\n\r\n\
{\"error\":{\"message\":\"bad tool schema\",\"code\":\"bad_tool\"}}";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_key_without_a_fallback_is_sent_once_and_answered_502_without_its_body() {
    let refusing = Stalled::start(REFUSED);
    let policy = policy_file(
        "refused-key",
        PER_USER_100,
        "    upstream: { retry: { max_attempts: 3 } }\n",
        "",
    );
    let serve = Server::serve(&policy, &refusing.url);
    let client = reqwest::Client::new();
    let resp = post_chat(&client, &serve.url, false).await;
    assert_eq!(resp.status(), 502);
    assert!(resp.headers().get("www-authenticate").is_none());
    // An SDK would retry a 502 twice, resending the refused key: the answer says not to.
    assert_eq!(resp.headers()["x-should-retry"], "false");
    let text = resp.text().await.expect("a body");
    assert!(!text.contains("sk-"), "the gateway's key leaked: {text}");
    let body: serde_json::Value = serde_json::from_str(&text).expect("json");
    assert_eq!(body["error"]["code"], "upstream_key_refused", "{text}");
    assert_eq!(body["error"]["type"], "server_error", "{text}");
    let m = metrics_until(&client, &serve.url, |m| {
        metric(m, "spillway_requests_inside") == Some(0)
    })
    .await;
    assert_eq!(
        metric(&m, "spillway_upstream_calls_total{target=\"primary\"}"),
        Some(1),
        "one send: {m}"
    );
}

/// A revoked key under load: 50 refusals in a burst give the operator one line at once, then
/// at most one per 10 s (the burst may be slow on a loaded machine), never one per refusal.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_refusals_gives_a_bounded_number_of_lines() {
    const BURST: usize = 50;
    let refusing = Stalled::start(REFUSED);
    let policy = policy_file("refused-key-burst", PER_USER_100, "", "");
    let serve = Server::serve_keeping_stderr(&policy, &refusing.url);
    // The server's own clock (a wall clock): the lines' times lie within this test's span.
    let clock = WallClock::new();
    let started = clock.now();
    all_answered_502(&serve.url, BURST).await;
    let stderr = serve.stop_for_stderr();
    // Measured after the stop: a lapse line may be written until then.
    let periods = clock.now().saturating_since(started).as_nanos() / 10_000_000_000;
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("refused the upstream key"))
        .collect();
    assert!(
        !lines.is_empty(),
        "the first refusal is told at once: {stderr}"
    );
    assert!(!lines[0].contains("more since"), "{}", lines[0]);
    let most = usize::try_from(periods).expect("small") + 1;
    assert!(
        lines.len() <= most,
        "{} lines, at most {most}: {stderr}",
        lines.len()
    );
    assert!(
        !stderr.contains("sk-"),
        "the gateway's key leaked: {stderr}"
    );
}

/// `calls` concurrent chat calls to `url`, each answered 502 (the refused key's answer).
async fn all_answered_502(url: &str, calls: usize) {
    let client = reqwest::Client::new();
    let calls: Vec<_> = (0..calls)
        .map(|_| {
            let (client, url) = (client.clone(), url.to_owned());
            tokio::spawn(async move { post_chat(&client, &url, false).await.status() })
        })
        .collect();
    for call in calls {
        assert_eq!(call.await.expect("a call"), 502);
    }
}

/// The refusals a line stands for: 1 for one told at once, `n` more for
/// "(n more since the last line)", `n` for a line standing only for those counted since
/// ("n more time(s) since the last line", at shutdown or when the period lapsed).
fn refusals_told(line: &str) -> u64 {
    let number_before = |marker: &str| {
        line.split_once(marker).map(|(head, _)| {
            let digits = head
                .rsplit(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap_or("");
            digits.parse::<u64>().expect("a count")
        })
    };
    match number_before(" more since the last line") {
        Some(n) => n + 1,
        None => number_before(" more time").unwrap_or(1),
    }
}

/// Refusals counted after the last line are told too: at shutdown (or when their period
/// lapsed), so the lines account for every refusal of the burst.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_refusal_of_a_burst_is_accounted_for_by_shutdown() {
    const BURST: u64 = 30;
    let refusing = Stalled::start(REFUSED);
    let policy = policy_file("refused-key-rest", PER_USER_100, "", "");
    let serve = Server::serve_keeping_stderr(&policy, &refusing.url);
    all_answered_502(&serve.url, BURST as usize).await;
    let stderr = serve.terminate_for_stderr();
    let told: u64 = stderr
        .lines()
        .filter(|l| l.contains("refused the upstream key"))
        .map(refusals_told)
        .sum();
    assert_eq!(told, BURST, "every refusal told once: {stderr}");
    assert!(
        !stderr.contains("sk-"),
        "the gateway's key leaked: {stderr}"
    );
}

#[test]
fn the_lines_counts_are_read_back() {
    let at_once = "spillway serve: the upstream http://x refused the upstream key with 401 (code a); clients get 502 upstream_key_refused\n";
    assert_eq!(refusals_told(at_once), 1);
    let more = "… refused the upstream key with 401 (code a); clients get 502 upstream_key_refused (12 more since the last line)";
    assert_eq!(refusals_told(more), 13);
    let rest = "… refused the upstream key 7 more times since the last line; clients got 502 upstream_key_refused (at shutdown)";
    assert_eq!(refusals_told(rest), 7);
}

/// The provider's advice to retry was the engine's to follow (it retried within the policy's
/// attempts): passed on, the client's SDK would repeat every one of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_providers_advice_to_retry_is_not_passed_on() {
    const RETRY_ME: &[u8] = b"HTTP/1.1 409 Conflict\r\nconnection: close\r\n\
content-type: application/json\r\nx-should-retry: true\r\ncontent-length: 2\r\n\r\n{}";
    let upstream = Stalled::start(RETRY_ME);
    let policy = policy_file("retry-advice", PER_USER_100, "", "");
    let serve = Server::serve(&policy, &upstream.url);
    let resp = post_chat(&reqwest::Client::new(), &serve.url, false).await;
    assert_eq!(resp.status(), 409);
    assert!(resp.headers().get("x-should-retry").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_4xx_about_the_request_is_passed_on_as_the_provider_sent_it() {
    let upstream = Stalled::start(UNPROCESSABLE);
    let policy = policy_file("unprocessable", PER_USER_100, "", "");
    let serve = Server::serve(&policy, &upstream.url);
    let resp = post_chat(&reqwest::Client::new(), &serve.url, false).await;
    assert_eq!(resp.status(), 422);
    // The provider's advice not to retry is passed on (an SDK would retry a 5xx without it).
    assert_eq!(resp.headers()["x-should-retry"], "false");
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], "bad_tool");
    assert_eq!(body["error"]["message"], "bad tool schema");
}

/// The README describes every line an operator can see for refusals: the throttled first
/// one, the count when the period lapses, and the last one at shutdown (its marker as printed).
#[test]
fn the_readme_documents_the_lapse_and_shutdown_lines() {
    let readme =
        std::fs::read_to_string(super::super::workspace().join("README.md")).expect("README.md");
    let about = readme
        .split("upstream_key_refused")
        .find(|part| part.contains("at most one per 10 s"))
        .expect("the README's key-refused log");
    for said in ["the 10 s lapse", "\"(at shutdown)\""] {
        assert!(about.contains(said), "README lacks {said}: {about}");
    }
}
