//! The layer sending a refused key's request again: regressions a review found (a held
//! answer blocking the next send, the fallback told to call with the refused key, a superseded
//! copy's reader left waiting). Sends the service could not take: `layer_resend_unready`.

use super::layer_parts::{Rt, failing_over, layered};
use super::one_connection::OneConnection;
use axum::body::{Body, Bytes};
use axum::http::{Request, Response, StatusCode};
use spillway_core::engine::NoSpend;
use spillway_core::limit::{LayerSpec, Layered};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use tower::ServiceExt;

fn runtime() -> Rt<Layered, NoSpend> {
    let layers = Layered::new(Vec::<LayerSpec>::new()).unwrap();
    super::layer_parts::start(layers, NoSpend, failing_over(0), &[])
}

/// The layer keeps the primary's 401 (body unread) while it waits out the backoff and asks
/// its service to be ready for the fallback's send: a service that is one HTTP/1 connection
/// is then never ready (its last response is not done), and the request hangs, the
/// upstream connection held. The 401 is only needed if the engine gives up; once it sends
/// again, the refused answer can go before the service is asked.
#[tokio::test]
async fn the_refused_answer_is_let_go_before_the_fallback_send_asks_for_readiness() {
    let rt = runtime();
    let service = OneConnection::new(StatusCode::OK);
    let app = layered(&rt, service.clone());
    let prompt = Request::post("/").body(Body::from("the prompt")).unwrap();
    let resp = app.oneshot(prompt).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(service.calls.load(Ordering::SeqCst), 2);
    assert!(
        !service.asked_while_busy.load(Ordering::SeqCst),
        "poll_ready for the fallback's send was asked while the primary's 401 body was still held"
    );
}

/// Each send the service got: where, and with which upstream key it was told to call.
type Sends = Arc<std::sync::Mutex<Vec<(spillway_gateway::Upstream, Option<u64>)>>>;

/// The primary's key refused (401), the fallback answers: with a budget and its one ring key.
fn refusing_the_primary(sends: Sends) -> axum::Router {
    use spillway_core::upstream::Target;
    use spillway_gateway::{Dispatched, Upstream};
    let handler = move |req: Request<Body>| {
        let sends = sends.clone();
        async move {
            let d = *req.extensions().get::<Dispatched>().expect("dispatched");
            sends.lock().unwrap().push((d.upstream, d.api_key));
            match d.upstream {
                Upstream::Provider(Target::Fallback) => (StatusCode::OK, "answered"),
                _ => (StatusCode::UNAUTHORIZED, "invalid api key"),
            }
        }
    };
    axum::Router::new().route("/", axum::routing::post(handler))
}

/// `Dispatched::api_key` is the key to call with, and the service must call with it; the
/// engine sends a refused key's request to the fallback because the fallback's key is its
/// own. The fallback's send named the ring key the primary had just refused: a service doing
/// as told called the fallback with that key, and the retry meant to get around the refusal
/// was refused too. The fallback's send names no key.
#[tokio::test]
async fn the_fallbacks_send_is_not_told_to_call_with_the_key_the_primary_refused() {
    use spillway_core::upstream::Target;
    use spillway_gateway::Upstream;
    let layers = Layered::new(Vec::<LayerSpec>::new()).unwrap();
    let rt = super::layer_parts::start(
        layers,
        super::budget_gate::gate(false),
        failing_over(0),
        &[],
    );
    let sends = Sends::default();
    let app = super::layer_parts::as_one_user(&rt, refusing_the_primary(sends.clone()));
    let prompt = Request::post("/").body(Body::from("the prompt")).unwrap();
    let resp = app.oneshot(prompt).await.unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let refused = super::budget_gate::key_id();
    let sends = sends.lock().unwrap().clone();
    assert_eq!(
        sends[0],
        (Upstream::Provider(Target::Primary), Some(refused))
    );
    assert_eq!(sends.len(), 2, "{sends:?}");
    assert_ne!(
        sends[1],
        (Upstream::Provider(Target::Fallback), Some(refused)),
        "the fallback is told to call with the primary's refused ring key"
    );
}

/// A primary that answers 401 at once while its connection task goes on sending the request
/// body (a client streaming a request body does so: the answer can come before the body is
/// all sent), and a fallback that reads the body and answers 200.
#[derive(Clone, Default)]
struct EarlyRefusal {
    calls: Arc<AtomicUsize>,
    /// The primary's connection task is done with its copy's body (whole or cut off).
    primary_done: Arc<AtomicBool>,
    /// The fallback's send began reading its copy.
    fallback_reading: Arc<AtomicBool>,
}

impl tower::Service<Request<Body>> for EarlyRefusal {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let first = self.calls.fetch_add(1, Ordering::SeqCst) == 0;
        let (done, reading) = (self.primary_done.clone(), self.fallback_reading.clone());
        Box::pin(async move {
            if first {
                tokio::spawn(async move {
                    // Superseded by the fallback's copy, it is cut off rather than read on.
                    let sent = axum::body::to_bytes(req.into_body(), 1 << 16).await;
                    done.store(sent.is_err(), Ordering::SeqCst);
                });
                let resp = Response::builder().status(StatusCode::UNAUTHORIZED);
                return Ok(resp.body(Body::from("invalid api key")).unwrap());
            }
            reading.store(true, Ordering::SeqCst);
            let body = axum::body::to_bytes(req.into_body(), 1 << 16).await;
            assert_eq!(body.expect("whole"), "the prompt");
            Ok(Response::new(Body::from("answered")))
        })
    }
}

/// The end to end of `resend::regressions::a_superseded_copy_is_woken_and_ends_and_the_newest_reads_on`:
/// the client streams its body; the primary's task waits on it when the fallback's send
/// starts. The client's body keeps one waker, so with both waiting the primary's task was
/// never polled again: it hung for good, with its upstream connection and the tape. Now the
/// primary's copy, superseded, is woken and cut off, and the fallback's reads the whole body.
/// Single-threaded runtime: every woken task runs in the yields below.
#[tokio::test]
async fn the_first_copys_reader_is_not_left_waiting_forever() {
    let rt = runtime();
    let service = EarlyRefusal::default();
    let app = layered(&rt, service.clone());
    let (tx, body) = spillway_gateway::relay_body(4);
    tx.send(Bytes::from("the ")).await.expect("room");
    let prompt = Request::post("/").body(Body::new(body)).unwrap();
    let answer = tokio::spawn(app.oneshot(prompt));
    while !service.fallback_reading.load(Ordering::SeqCst) {
        tokio::task::yield_now().await;
    }
    tx.send(Bytes::from("prompt")).await.expect("room");
    tx.finish().await;
    let resp = answer.await.expect("joined").unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    for _ in 0..1_000 {
        tokio::task::yield_now().await;
    }
    assert!(
        service.primary_done.load(Ordering::SeqCst),
        "the primary's connection task still waits on the client's body"
    );
}
