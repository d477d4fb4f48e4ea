//! Idle clients give their `--max-connections` slots back: a connection that sends no request
//! head within `--client-timeout` (new, or idle after an answer) is closed by the gateway.

use super::fixtures::{PER_USER_100, Server, policy_file};
use std::io::Read;
use std::net::TcpStream;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_silent_sockets_no_longer_block_a_third_client() {
    let policy = policy_file("idle-clients", PER_USER_100, "", "");
    let serve = Server::serve_with(
        &policy,
        "http://127.0.0.1:1",
        &["--max-connections", "2", "--client-timeout", "1s"],
    );
    let addr = serve.url.trim_start_matches("http://").to_string();
    let mut silent: Vec<TcpStream> = (0..2)
        .map(|_| TcpStream::connect(&addr).expect("connect"))
        .collect();
    // Both slots are taken; the third is served once the gateway closes the silent ones
    // (bounded: 30 s is a failure, not the expected timing).
    let health = reqwest::Client::new()
        .get(format!("{}/healthz", serve.url))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("a third client is served: the silent connections were closed");
    assert_eq!(health.status(), 200);
    for conn in &mut silent {
        conn.set_read_timeout(Some(Duration::from_secs(30)))
            .expect("timeout");
        let mut seen = Vec::new();
        conn.read_to_end(&mut seen).expect("closed by the gateway");
        assert!(seen.is_empty(), "{}", String::from_utf8_lossy(&seen));
    }
}
