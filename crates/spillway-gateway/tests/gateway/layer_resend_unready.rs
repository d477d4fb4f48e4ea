//! The layer's sends its inner service could not take, or failed: a refusal held across the
//! cache's readiness wait, a send whose `poll_ready` failed or was cut while Pending (neither
//! billed), and what an error from the inner call means (maybe sent: billed).

use super::layer_parts::{Rt, failing_over, layered};
use super::one_connection::OneConnection;
use axum::body::Body;
use axum::http::{Request, Response, StatusCode};
use spillway_core::engine::NoSpend;
use spillway_core::engine::SpendGate;
use spillway_core::limit::{LayerSpec, Layered};
use spillway_core::upstream::Target;
use spillway_gateway::{Dispatched, Upstream};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use tower::ServiceExt;

/// The fix let the held refusal go before the next send's `poll_ready`, but not before the
/// cache's: a request whose key the primary refused (401) and whose retry finds both
/// breakers open is answered from the cache, and the layer asks its service to be ready for
/// that call while still holding the 401 (body unread). A service that is one HTTP/1
/// connection is then never ready: the request hangs, its connection held.
///
/// How: B waits on the primary; A's 401 opens the primary's breaker, A's fallback send (500)
/// the fallback's; then B's 401 comes, and B's retry goes to the cache.
#[tokio::test]
async fn the_refused_answer_is_let_go_before_the_cache_call_asks_for_readiness() {
    let rt: Rt<Layered, NoSpend> = super::layer_parts::start(
        Layered::new(Vec::<LayerSpec>::new()).unwrap(),
        NoSpend,
        failing_over(1000),
        &[],
    );
    let mut service = OneConnection::new(StatusCode::INTERNAL_SERVER_ERROR);
    let release = Arc::new(tokio::sync::Notify::new());
    service.release = Some(release.clone());
    let app = layered(&rt, service.clone());
    let prompt = || Request::post("/").body(Body::from("the prompt")).unwrap();
    let b = tokio::spawn(app.clone().oneshot(prompt()));
    while service.primary_calls.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    let a = app.oneshot(prompt()).await.unwrap();
    assert_eq!(
        a.status(),
        StatusCode::INTERNAL_SERVER_ERROR,
        "A: the fallback's"
    );
    drop(a);
    assert!(!service.asked_while_busy.load(Ordering::SeqCst));
    release.notify_one();
    let b = b.await.expect("joined").unwrap();
    assert_eq!(b.status(), StatusCode::OK, "B: from the cache");
    assert!(
        !service.asked_while_busy.load(Ordering::SeqCst),
        "poll_ready for the cache's call was asked while the primary's 401 body was still held"
    );
}

/// One upstream connection whose primary answers 401 and that then cannot take another
/// request: its `poll_ready` fails (`closes`: the server closed the connection, as after
/// `Connection: close`; hyper's `SendRequest` says so) or stays Pending (the refused call's
/// connection still draining, or a pool at its limit).
#[derive(Clone, Default)]
struct RefusedThenUnready {
    closes: bool,
    calls: Arc<AtomicUsize>,
    asked_again: Arc<AtomicBool>,
}

impl tower::Service<Request<Body>> for RefusedThenUnready {
    type Response = Response<Body>;
    type Error = &'static str;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, &'static str>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), &'static str>> {
        if self.calls.load(Ordering::SeqCst) == 0 {
            return Poll::Ready(Ok(()));
        }
        self.asked_again.store(true, Ordering::SeqCst);
        if self.closes {
            Poll::Ready(Err("connection closed"))
        } else {
            Poll::Pending
        }
    }

    fn call(&mut self, _: Request<Body>) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async {
            let resp = Response::builder().status(StatusCode::UNAUTHORIZED);
            Ok(resp.body(Body::from("invalid api key")).unwrap())
        })
    }
}

/// A runtime with a budget (so that what is billed shows) failing over.
fn budgeted() -> Rt<Layered, SpendGate> {
    let layers = Layered::new(Vec::<LayerSpec>::new()).unwrap();
    let gate = super::budget_gate::gate(false);
    super::layer_parts::start(layers, gate, failing_over(0), &[])
}

/// The fix bills no send the service never got ready for when `poll_ready` fails, but a send
/// cut while `poll_ready` is still Pending (the client gives up, or a timeout layer above
/// drops the future) is billed at its estimate and counted abandoned: `Call::next` marked it
/// on the wire at `Step::Send`, before the service could take it. Only the primary saw the
/// request, and refused it (a 401 is not billed).
#[tokio::test]
async fn a_send_cut_while_the_service_is_not_ready_is_not_billed() {
    let rt = budgeted();
    let service = RefusedThenUnready::default();
    let app = layered(&rt, service.clone());
    let prompt = Request::post("/").body(Body::from("the prompt")).unwrap();
    let answer = tokio::spawn(app.oneshot(prompt));
    while !service.asked_again.load(Ordering::SeqCst) {
        tokio::task::yield_now().await;
    }
    answer.abort();
    assert!(answer.await.is_err_and(|e| e.is_cancelled()));
    assert_eq!(service.calls.load(Ordering::SeqCst), 1, "only the primary");
    let metrics = rt.metrics_text();
    assert!(
        metrics.contains("spillway_spend_nano_usd_total 0\n"),
        "a send the service never took is billed: {metrics}"
    );
}

/// The fallback's send never happens (its service failed to get ready, so it never got the
/// request): the request must not leave as one on the wire (it was billed at its estimate, as
/// if the fallback had accepted it, when only the primary saw it, and refused it).
#[tokio::test]
async fn a_send_the_service_never_got_ready_for_is_not_billed() {
    let rt = budgeted();
    let service = RefusedThenUnready {
        closes: true,
        ..RefusedThenUnready::default()
    };
    let app = layered(&rt, service.clone());
    let prompt = Request::post("/").body(Body::from("the prompt")).unwrap();
    let answer = app.oneshot(prompt).await;
    assert!(answer.is_err(), "the service's error is the caller's");
    assert_eq!(
        service.calls.load(Ordering::SeqCst),
        1,
        "only the primary got it"
    );
    let metrics = rt.metrics_text();
    for line in [
        "spillway_spend_nano_usd_total 0\n",
        "spillway_departed_total{class=\"interactive\",how=\"abandoned\"} 0\n",
        "spillway_departed_total{class=\"interactive\",how=\"failed\"} 1\n",
    ] {
        assert!(metrics.contains(line), "{line}: {metrics}");
    }
}

/// A primary that cannot be reached (hyper-util's client fails `call`, not `poll_ready`, when
/// the connect is refused: its `poll_ready` is always Ready) and a fallback that answers.
#[derive(Clone, Default)]
struct PrimaryUnreachable {
    fallback_calls: Arc<AtomicUsize>,
}

impl tower::Service<Request<Body>> for PrimaryUnreachable {
    type Response = Response<Body>;
    type Error = &'static str;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, &'static str>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), &'static str>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let calls = self.fallback_calls.clone();
        Box::pin(async move {
            let sent = *req.extensions().get::<Dispatched>().expect("dispatched");
            if sent.upstream != Upstream::Provider(Target::Fallback) {
                // Nothing read, nothing written: the connect was refused.
                return Err("client error (Connect): connection refused");
            }
            calls.fetch_add(1, Ordering::SeqCst);
            let _ = axum::body::to_bytes(req.into_body(), 1 << 16).await;
            Ok(Response::new(Body::from("answered")))
        })
    }
}

/// An `Err` from the inner call is taken as a send that may have reached the upstream (the
/// layer cannot tell a refused connect from a call broken after it went out): billed at its
/// estimate, not sent again, the caller gets the error. This is the documented contract (a
/// service that knows nothing went out fails in `poll_ready`, a refusal the engine may send
/// again); `spillway serve`, which owns its client, tells the two apart.
#[tokio::test]
async fn an_error_from_the_call_is_taken_as_sent() {
    let rt = budgeted();
    let service = PrimaryUnreachable::default();
    let app = layered(&rt, service.clone());
    let prompt = Request::post("/").body(Body::from("the prompt")).unwrap();
    let answer = app.oneshot(prompt).await;
    assert!(answer.is_err(), "the service's error is the caller's");
    assert_eq!(
        service.fallback_calls.load(Ordering::SeqCst),
        0,
        "not sent again"
    );
    let metrics = rt.metrics_text();
    assert!(
        metrics.contains("spillway_spend_nano_usd_total 20\n"),
        "billed at its estimate: {metrics}"
    );
}
