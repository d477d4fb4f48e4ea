//! The tower layer behind hyper on a real socket (`axum::serve`), where a response's length
//! decides how hyper ends its body: the call of a complete answer completes, whatever says
//! that it is complete (its end, its declared length, a HEAD).

use axum::Router;
use axum::http::StatusCode;
use axum::routing::get;
use spillway_core::engine::{NoSpend, UpstreamConfig};
use spillway_core::limit::{LayerSpec, Layered};
use spillway_core::upstream::BackoffConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

type Rt = super::layer_parts::Rt<Layered, NoSpend>;

fn runtime() -> Rt {
    let layers = Layered::new(Vec::<LayerSpec>::new()).unwrap();
    let reactive = UpstreamConfig::reactive(BackoffConfig::default());
    super::layer_parts::start(layers, NoSpend, reactive, &[])
}

/// `routes` behind the layer, served on a loopback port: its address.
async fn serve(rt: &Rt, routes: Router) -> std::net::SocketAddr {
    let app = super::layer_parts::as_one_user(rt, routes);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Send `method /` on a kept-alive connection and read the answer's head and its `body_len`
/// bytes; the connection stays open (returned), so only the response's own end can end the
/// call.
async fn ask(addr: std::net::SocketAddr, method: &str, body_len: usize) -> (String, TcpStream) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let request = format!("{method} / HTTP/1.1\r\nhost: x\r\n\r\n");
    s.write_all(request.as_bytes()).await.unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    let complete = |got: &[u8]| {
        let text = String::from_utf8_lossy(got);
        text.find("\r\n\r\n")
            .is_some_and(|head| got.len() >= head + 4 + body_len)
    };
    while !complete(&got) {
        let n = s.read(&mut buf).await.unwrap();
        assert!(
            n > 0,
            "the server closed: {}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    (String::from_utf8_lossy(&got).to_lowercase(), s)
}

/// The departure counts, once the request has left the engine.
async fn departures(rt: &Rt) -> String {
    for _ in 0..2000 {
        if rt.with_state(|s, _| s.engine.len()) == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(
        rt.with_state(|s, _| s.engine.len()),
        0,
        "the call never left"
    );
    rt.metrics_text()
        .lines()
        .filter(|l| l.starts_with("spillway_departed_total"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn completed_once(departed: &str) -> bool {
    departed.contains("how=\"completed\"} 1") && !departed.contains("how=\"abandoned\"} 1")
}

/// Before: hyper wrote the declared 5 bytes and dropped the body unpolled, and the call was
/// counted abandoned (billed, its breaker told the client left).
#[tokio::test]
async fn a_response_of_declared_length_completes_and_keeps_its_length() {
    let rt = runtime();
    let hello = || async { ([("content-length", "5")], "hello") };
    let addr = serve(&rt, Router::new().route("/", get(hello))).await;
    let (answer, _open) = ask(addr, "GET", 5).await;
    assert!(answer.contains("content-length: 5\r\n"), "{answer}");
    assert!(answer.ends_with("hello"), "{answer}");
    let departed = departures(&rt).await;
    assert!(completed_once(&departed), "{departed}");
}

/// Before: the layer hid the body's exact size, so every answer went out chunked.
#[tokio::test]
async fn a_response_of_known_size_is_not_turned_chunked() {
    let rt = runtime();
    let addr = serve(&rt, Router::new().route("/", get(|| async { "hello" }))).await;
    let (answer, _open) = ask(addr, "GET", 5).await;
    assert!(answer.contains("content-length: 5\r\n"), "{answer}");
    assert!(!answer.contains("transfer-encoding"), "{answer}");
    let departed = departures(&rt).await;
    assert!(completed_once(&departed), "{departed}");
}

/// Before: axum emptied the HEAD answer's body, dropping the layer's unpolled: abandoned.
#[tokio::test]
async fn the_answer_to_a_head_completes() {
    let rt = runtime();
    let addr = serve(&rt, Router::new().route("/", get(|| async { "hello" }))).await;
    let (answer, _open) = ask(addr, "HEAD", 0).await;
    assert!(answer.starts_with("http/1.1 200"), "{answer}");
    let departed = departures(&rt).await;
    assert!(completed_once(&departed), "{departed}");
}

#[tokio::test]
async fn a_no_content_answer_completes() {
    let rt = runtime();
    let empty = || async { StatusCode::NO_CONTENT };
    let addr = serve(&rt, Router::new().route("/", get(empty))).await;
    let (answer, _open) = ask(addr, "GET", 0).await;
    assert!(answer.starts_with("http/1.1 204"), "{answer}");
    let departed = departures(&rt).await;
    assert!(completed_once(&departed), "{departed}");
}
