//! Idle or slow clients cannot hold the `max_connections` slots for ever: a connection that
//! sends no request head within `client_timeout` (new, or idle after an answer) is closed, and
//! a body that does not arrive within it is answered 400.

use crate::client::post;
use crate::fixtures::{chat, spec, tight_openai};
use spillway_emulate::Config;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Bound of every wait here: a failure, never the expected timing.
const BOUND: Duration = Duration::from_secs(30);

async fn two_slot_server(test: &str) -> spillway_emulate::Running {
    let mut config = Config::new(
        spec(test, &tight_openai(1000)),
        "127.0.0.1:0".parse().expect("addr"),
    );
    config.max_connections = 2;
    config.client_timeout = Duration::from_millis(300);
    spillway_emulate::start(config)
        .await
        .expect("server starts")
}

/// Everything the server sends until it closes the connection.
async fn until_closed(conn: &mut TcpStream) -> Vec<u8> {
    let mut seen = Vec::new();
    tokio::time::timeout(BOUND, conn.read_to_end(&mut seen))
        .await
        .expect("the server closed the connection")
        .expect("read");
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_and_an_idle_keep_alive_connection_give_their_slots_back() {
    let server = two_slot_server("idle").await;
    let addr = server.addr();
    let mut silent = TcpStream::connect(addr).await.expect("connect");
    let mut idle = TcpStream::connect(addr).await.expect("connect");
    let get = format!("GET /v1/models HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    idle.write_all(get.as_bytes()).await.expect("write");
    // Both slots are taken; a third client is served once the server closes them.
    let third = tokio::time::timeout(BOUND, post(addr, "/v1/chat/completions", &chat(5, false)))
        .await
        .expect("a third client is served: the idle connections were closed");
    assert_eq!(third.status, 200);
    assert!(until_closed(&mut silent).await.is_empty());
    let answered = String::from_utf8_lossy(&until_closed(&mut idle).await).into_owned();
    assert!(answered.starts_with("HTTP/1.1 200"), "{answered}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_that_does_not_arrive_in_time_is_refused() {
    let server = two_slot_server("slow-body").await;
    let mut conn = TcpStream::connect(server.addr()).await.expect("connect");
    let head = "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\nconnection: close\r\n\r\n{\"model\":";
    conn.write_all(head.as_bytes()).await.expect("write");
    let answer = String::from_utf8_lossy(&until_closed(&mut conn).await).into_owned();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("did not arrive within"), "{answer}");
}
