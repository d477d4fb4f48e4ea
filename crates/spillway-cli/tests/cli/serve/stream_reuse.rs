//! After a stream's `[DONE]` the gateway reads what the upstream still sends (the chunked
//! body's last chunk, written on its own after `[DONE]` as servers that flush each event do)
//! so that the connection goes back to the pool: the next call reuses it (no new TCP and TLS
//! handshakes). Bounded: an upstream that stays silent after `[DONE]`, or floods, loses its
//! connection, and the client's answer is whole either way.

use super::fixtures::{PER_USER_100, STREAM_WHOLE, Server, policy_file, post_chat, read_request};
use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

/// The chunked body's end.
const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// What the upstream does after writing [`STREAM_WHOLE`].
#[derive(Clone, Copy)]
enum After {
    /// Ends the body in a write of its own a moment later, and serves the next request on the
    /// same connection.
    End,
    /// Sends nothing more and never closes.
    Silent,
    /// Sends bytes without end.
    Flood,
}

/// A stub upstream that counts its connections and the calls each carried; `events` gets a
/// message when an answer's body ended (`End`) or when the gateway let go of a connection
/// (`Silent`, `Flood`).
struct Upstream {
    url: String,
    connections: Arc<AtomicUsize>,
    /// The most calls one connection carried.
    most_calls: Arc<AtomicUsize>,
    events: mpsc::Receiver<()>,
}

impl Upstream {
    fn start(after: After) -> Upstream {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let connections = Arc::new(AtomicUsize::new(0));
        let most_calls = Arc::new(AtomicUsize::new(0));
        let (tx, events) = mpsc::channel();
        let (counted, most) = (Arc::clone(&connections), Arc::clone(&most_calls));
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                counted.fetch_add(1, Ordering::SeqCst);
                let (tx, most) = (tx.clone(), Arc::clone(&most));
                std::thread::spawn(move || serve_connection(conn, after, &tx, &most));
            }
        });
        Upstream {
            url,
            connections,
            most_calls,
            events,
        }
    }

    /// The next event, waiting at most a generous bound.
    fn event(&self, what: &str) {
        let bound = std::time::Duration::from_secs(30);
        if self.events.recv_timeout(bound).is_err() {
            panic!("{what} did not happen");
        }
    }
}

fn serve_connection(mut conn: TcpStream, after: After, tx: &mpsc::Sender<()>, most: &AtomicUsize) {
    let mut calls = 0;
    while read_request(&mut conn) {
        calls += 1;
        most.fetch_max(calls, Ordering::SeqCst);
        if conn.write_all(STREAM_WHOLE).is_err() {
            return;
        }
        match after {
            After::End => {
                // As a server that flushes each event and ends the body when its handler
                // returns: the last chunk comes in a segment of its own.
                std::thread::sleep(std::time::Duration::from_millis(50));
                if conn.write_all(LAST_CHUNK).is_err() {
                    return;
                }
                let _ = tx.send(());
            }
            After::Silent => {
                // Blocks until the gateway closes the connection.
                let _ = std::io::Read::read(&mut conn, &mut [0u8; 64]);
                let _ = tx.send(());
                return;
            }
            After::Flood => {
                let chunk = format!("2000\r\n{}\r\n", "x".repeat(0x2000));
                while conn.write_all(chunk.as_bytes()).is_ok() {}
                let _ = tx.send(());
                return;
            }
        }
    }
}

/// A streamed chat through the gateway, read whole: its text (it must end cleanly).
async fn streamed(client: &reqwest::Client, serve: &Server) -> String {
    let resp = post_chat(client, &serve.url, true).await;
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.expect("the whole answer, ended cleanly");
    assert!(text.contains("[DONE]"), "{text}");
    text
}

/// Most sequential calls [`sequential_streams_reuse_the_upstream_connection`] makes for one
/// connection to carry two.
const CALLS: usize = 12;

/// The pause before call `i` (0-based): none before the first, then 25 ms doubling to 1 s.
/// Not asserted: it gives the gateway room to read the body's end and pool the connection
/// (which the stub cannot see), more each time, however loaded the machine.
fn settle(i: usize) -> std::time::Duration {
    match i {
        0 => std::time::Duration::ZERO,
        i => std::time::Duration::from_millis((25u64 << (i - 1).min(6)).min(1_000)),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_streams_reuse_the_upstream_connection() {
    let upstream = Upstream::start(After::End);
    let policy = policy_file("stream-reuse", PER_USER_100, "", "");
    let serve = Server::serve(&policy, &upstream.url);
    let client = reqwest::Client::new();
    // The next call goes once the upstream has ended the previous body; the gateway may not
    // have read that end yet (then the call takes a new connection, and a later one finds one
    // in the pool): calls are repeated, each after a longer pause, until a connection carries
    // two. Before the fix none ever did (every connection was dropped at `[DONE]`), however
    // long the pauses.
    for i in 0..CALLS {
        tokio::time::sleep(settle(i)).await;
        streamed(&client, &serve).await;
        upstream.event("the body's end");
        if upstream.most_calls.load(Ordering::SeqCst) >= 2 {
            return;
        }
    }
    panic!(
        "{CALLS} streams took {} connections, none carried two calls",
        upstream.connections.load(Ordering::SeqCst)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upstream_silent_or_flooding_after_done_loses_its_connection_and_the_answer_is_whole() {
    for (name, after) in [("silent", After::Silent), ("flood", After::Flood)] {
        let upstream = Upstream::start(after);
        let policy = policy_file(&format!("after-done-{name}"), PER_USER_100, "", "");
        let serve = Server::serve(&policy, &upstream.url);
        let client = reqwest::Client::new();
        let text = streamed(&client, &serve).await;
        assert!(text.contains("\"hi\""), "{name}: {text}");
        upstream.event(&format!("{name}: the gateway letting go of the connection"));
    }
}
