//! An upstream that accepts a call and then stalls: the call ends (504, or a cut stream) within
//! `--upstream-timeout` / `--upstream-idle-timeout`, and its in-flight slot is freed. What
//! decides whether a failed call is sent again is whether it connected: one that never did is
//! unreachable (retried, not billed), one that did may be with the provider (booked, not resent).

use super::fixtures::{
    PER_USER_100, STREAM_WHOLE, Server, Stalled, Unanswered, chat, metric, metrics_until,
    policy_file, post_chat, read_request,
};

/// `serve` of a one-slot policy (no retries) in front of `upstream`, with short timeouts.
fn serve_one_slot(name: &str, upstream: &str) -> Server {
    let policy = policy_file(
        name,
        PER_USER_100,
        "    max_in_flight: 1\n    upstream: { retry: { max_attempts: 1 } }\n",
        "",
    );
    Server::serve_with(
        &policy,
        upstream,
        &[
            "--upstream-timeout",
            "300ms",
            "--upstream-idle-timeout",
            "300ms",
            "--client-stall-timeout",
            "300ms",
        ],
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_upstream_is_answered_504_and_its_slot_freed() {
    let stalled = Stalled::start(b"");
    let serve = serve_one_slot("stalled", &stalled.url);
    let client = reqwest::Client::new();
    for stream in [false, true] {
        let resp = post_chat(&client, &serve.url, stream).await;
        assert_eq!(resp.status(), 504, "stream: {stream}");
        let body: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(body["error"]["code"], "upstream_timeout");
    }
    let m = metrics_until(&client, &serve.url, |m| {
        metric(m, "spillway_requests_inside") == Some(0)
    })
    .await;
    assert_eq!(metric(&m, "spillway_in_flight"), Some(0), "{m}");
    assert_eq!(metric(&m, "spillway_requests_inside"), Some(0), "{m}");
    assert_eq!(
        metric(&m, "spillway_upstream_calls_total{target=\"primary\"}"),
        Some(2),
        "{m}"
    );
}

/// The body's bytes as the client got them, and how it ended: `Ok` whole, `Err` cut.
async fn read_to_end(resp: &mut reqwest::Response) -> (Vec<u8>, Result<(), String>) {
    let mut relayed = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => relayed.extend_from_slice(&chunk),
            Ok(None) => return (relayed, Ok(())),
            Err(e) => return (relayed, Err(e.to_string())),
        }
    }
}

/// The start of a streamed answer: headers and one server-sent event, then nothing.
const STREAM_START: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
transfer-encoding: chunked\r\n\r\n\
30\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_that_falls_silent_is_cut_on_the_client_not_ended_as_if_whole() {
    let stalled = Stalled::start(STREAM_START);
    let serve = serve_one_slot("silent-stream", &stalled.url);
    let client = reqwest::Client::new();
    let mut resp = post_chat(&client, &serve.url, true).await;
    assert_eq!(resp.status(), 200);
    let (relayed, end) = read_to_end(&mut resp).await;
    assert!(
        String::from_utf8_lossy(&relayed).contains("\"hi\""),
        "the first event was relayed: {relayed:?}"
    );
    assert!(
        end.is_err(),
        "the cut stream ended cleanly, as if complete: {end:?}"
    );
    let m = metrics_until(&client, &serve.url, |m| {
        metric(m, "spillway_requests_inside") == Some(0)
    })
    .await;
    assert_eq!(metric(&m, "spillway_in_flight"), Some(0), "{m}");
    assert_eq!(
        metric(
            &m,
            "spillway_departed_total{class=\"standard\",how=\"failed\"}"
        ),
        Some(1),
        "{m}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_whose_done_went_by_completes_whatever_follows() {
    let stalled = Stalled::start(STREAM_WHOLE);
    let serve = serve_one_slot("done-then-silent", &stalled.url);
    let client = reqwest::Client::new();
    let mut resp = post_chat(&client, &serve.url, true).await;
    assert_eq!(resp.status(), 200);
    let (relayed, end) = read_to_end(&mut resp).await;
    assert!(String::from_utf8_lossy(&relayed).contains("[DONE]"));
    // Before: the upstream's silence after `[DONE]` failed the call and cut the client's body.
    assert!(end.is_ok(), "the whole answer was cut: {end:?}");
    let m = metrics_until(&client, &serve.url, |m| {
        metric(m, "spillway_requests_inside") == Some(0)
    })
    .await;
    assert_eq!(
        metric(
            &m,
            "spillway_departed_total{class=\"standard\",how=\"completed\"}"
        ),
        Some(1),
        "{m}"
    );
}

/// An upstream that answers every request with a stream that never ends, as fast as the
/// gateway takes it (until the gateway closes the connection).
fn flooding_upstream() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for mut conn in listener.incoming().flatten() {
            std::thread::spawn(move || {
                read_request(&mut conn);
                let event = "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n";
                let chunk = format!("{:x}\r\n{}\r\n", event.len() * 64, event.repeat(64));
                let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
                            transfer-encoding: chunked\r\n\r\n";
                let mut out = std::io::Write::write_all(&mut conn, head.as_bytes());
                while out.is_ok() {
                    out = std::io::Write::write_all(&mut conn, chunk.as_bytes());
                }
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_streaming_client_that_stops_reading_does_not_hold_its_slot_for_ever() {
    let upstream = flooding_upstream();
    let serve = serve_one_slot("stalled-client", &upstream);
    // A client that sends its request and never reads a byte of the answer (its kernel still
    // acknowledges until its buffers fill): held open for the whole test.
    let addr = serve.url.trim_start_matches("http://").to_owned();
    let body = chat(16, true);
    let mut stalled = std::net::TcpStream::connect(&addr).expect("connect");
    let request = format!(
        "POST /v1/chat/completions HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\n\
         authorization: Bearer test\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    std::io::Write::write_all(&mut stalled, request.as_bytes()).expect("send");
    let client = reqwest::Client::new();
    let m = metrics_until(&client, &serve.url, |m| {
        metric(m, "spillway_upstream_calls_total{target=\"primary\"}") == Some(1)
            && metric(m, "spillway_requests_inside") == Some(0)
    })
    .await;
    // Before: the relay waited on the stalled client for ever, holding the one slot (and the
    // call's reservations).
    assert_eq!(metric(&m, "spillway_requests_inside"), Some(0), "{m}");
    assert_eq!(metric(&m, "spillway_in_flight"), Some(0), "{m}");
    drop(stalled);
}

/// The scenario catalogue, for a budget that shows what a call was billed.
fn models() -> String {
    let path = super::super::workspace().join("scenarios/models.yaml");
    format!("models: {}\n", path.display())
}

/// `serve` in front of `upstream`, at most `attempts` sends per request, 300 ms timeouts, and a
/// budget that shows what the calls were billed (gpt-4o-mini, the fixed estimate).
fn serve_billed(name: &str, upstream: &str, attempts: u32) -> Server {
    let policy = policy_file(
        name,
        PER_USER_100,
        &format!(
            "    upstream: {{ retry: {{ max_attempts: {attempts} }} }}\n    budget:\n      \
model: gpt-4o-mini\n      ladder: none\n      estimate: fixed\n      caps:\n        - {{ name: \
roomy, scope: global, period: day, limit_usd: 100 }}\n"
        ),
        &models(),
    );
    Server::serve_with(
        &policy,
        upstream,
        &[
            "--upstream-timeout",
            "300ms",
            "--upstream-idle-timeout",
            "300ms",
            "--client-stall-timeout",
            "300ms",
        ],
    )
}

/// One request and one stream to `serve`, each answered `status` with the error `code`; then,
/// once both have left, the sends made and the spend booked (nano-USD).
async fn two_failed_calls(serve: &Server, status: u16, code: &str) -> (Option<u64>, u64) {
    let client = reqwest::Client::new();
    for stream in [false, true] {
        let resp = post_chat(&client, &serve.url, stream).await;
        assert_eq!(resp.status(), status, "stream: {stream}");
        // A call the provider may bill tells the SDKs not to send it again; one that reached
        // nothing leaves them their usual retry.
        let retry = resp.headers().get("x-should-retry").map(|v| v.as_bytes());
        let may_bill = code != "upstream_unreachable";
        assert_eq!(retry, may_bill.then_some(&b"false"[..]), "{code}");
        let body: serde_json::Value = resp.json().await.expect("json");
        assert_eq!(body["error"]["code"], code, "stream: {stream}");
    }
    let m = metrics_until(&client, &serve.url, |m| {
        metric(m, "spillway_requests_inside") == Some(0)
    })
    .await;
    let calls = metric(&m, "spillway_upstream_calls_total{target=\"primary\"}");
    (
        calls,
        metric(&m, "spillway_spend_nano_usd_total").unwrap_or(0),
    )
}

/// Two estimates of 256 output tokens of gpt-4o-mini at $0.60/M (the prompts add a little).
const TWO_ESTIMATES: std::ops::Range<u64> = 2 * 153_600..400_000;

/// A timed-out call reached the provider, which may bill it: it is neither sent again (the
/// provider would have the prompt twice) nor released, but booked like a call the client left
/// on the wire, at its estimate. (Before: a retryable 504, sent again, the first one released.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timed_out_call_is_not_sent_again_and_is_billed() {
    let stalled = Stalled::start(b"");
    let serve = serve_billed("timeout-billed", &stalled.url, 2);
    let (calls, spent) = two_failed_calls(&serve, 504, "upstream_timeout").await;
    assert_eq!(calls, Some(2), "one send per request");
    assert!(TWO_ESTIMATES.contains(&spent), "spent {spent}");
}

/// A connection that breaks after the request went out (the provider read it, then closed):
/// the provider may have the call, and bill it, so as after a timeout it is neither sent again
/// nor released but booked at its estimate; the client gets a 502. (Before: a broken
/// connection counted as unreachable, so the call was sent again and the first one released.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_broken_after_the_send_is_billed_not_sent_again() {
    let dropping = Stalled::dropping();
    let serve = serve_billed("broken-billed", &dropping.url, 2);
    let (calls, spent) = two_failed_calls(&serve, 502, "upstream_connection_lost").await;
    assert_eq!(calls, Some(2), "one send per request");
    assert!(TWO_ESTIMATES.contains(&spent), "spent {spent}");
}

/// A connect that hangs past `--upstream-timeout` (300 ms, below the 10 s connect timeout)
/// reached nothing: the call is unreachable, sent again within its attempts, and not billed.
/// (Before: the call's own timeout fired first, so it was booked as sent, with a 504.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connect_that_hangs_is_unreachable_retried_and_not_billed() {
    let unanswered = Unanswered::start();
    let serve = serve_billed("hung-connect", &unanswered.url, 2);
    let (calls, spent) = two_failed_calls(&serve, 502, "upstream_unreachable").await;
    assert_eq!(calls, Some(4), "two sends per request");
    assert_eq!(spent, 0, "nothing reached the provider");
}

/// A 200 whose body breaks off: the provider accepted, and bills, the call, so its 502
/// `upstream_body` is final (`x-should-retry: false`), as a lost connection's is; otherwise the
/// SDKs would send it, and pay for it, twice more. It is sent once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_success_cut_short_is_answered_final() {
    let cut = Stalled::cut(
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"id\"",
    );
    let serve = serve_billed("cut-body", &cut.url, 2);
    let client = reqwest::Client::new();
    let resp = post_chat(&client, &serve.url, false).await;
    assert_eq!(resp.status(), 502);
    assert_eq!(resp.headers()["x-should-retry"], "false");
    let body: serde_json::Value = resp.json().await.expect("json");
    assert_eq!(body["error"]["code"], "upstream_body");
    let m = metrics_until(&client, &serve.url, |m| {
        metric(m, "spillway_requests_inside") == Some(0)
    })
    .await;
    let calls = metric(&m, "spillway_upstream_calls_total{target=\"primary\"}");
    assert_eq!(calls, Some(1), "sent once");
}
