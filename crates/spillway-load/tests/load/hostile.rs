//! Targets that refuse, stall or answer garbage: every request counts as failed with its
//! reason, and the run ends.

use crate::fixtures::{config, replay, scenario};
use spillway_core::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// A server answering every connection with `reply` (or holding it open when `None`).
async fn raw_server(reply: Option<&'static [u8]>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = vec![0u8; 64 * 1024];
                let _ = socket.read(&mut buf).await;
                match reply {
                    Some(bytes) => {
                        let _ = socket.write_all(bytes).await;
                    }
                    None => tokio::time::sleep(std::time::Duration::from_secs(60)).await,
                }
            });
        }
    });
    format!("http://{addr}/v1/chat/completions")
}

async fn all_failed_with(url: &str, timeout_ms: u64, reason: &str) {
    let s = scenario();
    let observed = replay(&s, Duration::from_secs(10), &config(url, "100", timeout_ms)).await;
    let total = observed.metrics.total();
    assert!(total.offered > 10, "{}", total.offered);
    assert_eq!(total.failed, total.offered);
    assert_eq!(total.completed, 0);
    assert_eq!(
        observed.reasons.get(reason).copied(),
        Some(total.offered),
        "{:?}",
        observed.reasons
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_is_a_failure_with_its_reason() {
    let addr = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("binds");
        l.local_addr().expect("addr")
    };
    let url = format!("http://{addr}/v1/chat/completions");
    all_failed_with(&url, 2_000, "connection refused").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_silence_are_failures_and_the_run_ends() {
    let garbage = raw_server(Some(
        b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nconnection: close\r\n\r\nhello",
    ))
    .await;
    all_failed_with(&garbage, 2_000, "HTTP 200 without a chat completion body").await;
    let not_http = raw_server(Some(b"SSH-2.0-OpenSSH_9.2\r\n")).await;
    all_failed_with(&not_http, 2_000, "no valid HTTP answer").await;
    let silent = raw_server(None).await;
    all_failed_with(&silent, 100, "timeout").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_the_cap_requests_are_not_sent_and_counted_failed() {
    let silent = raw_server(None).await;
    let s = scenario();
    // Every request is due within 0.1 s real; the two sent stay open for the 3 s timeout.
    let mut config = config(&silent, "100", 3_000);
    config.max_in_flight = 2;
    let observed = replay(&s, Duration::from_secs(10), &config).await;
    let total = observed.metrics.total();
    assert!(total.offered > 10, "{}", total.offered);
    assert_eq!(total.failed, total.offered);
    assert_eq!(total.admitted, 2, "only the two sent got past the client");
    assert_eq!(observed.reasons.get("timeout").copied(), Some(2));
    assert_eq!(
        observed
            .reasons
            .get(spillway_load::runner::CLIENT_CAP)
            .copied(),
        Some(total.offered - 2),
        "{:?}",
        observed.reasons
    );
}
