//! The layer's resend, second review: a refusal held across the cache's readiness wait, a
//! send cut while its service was not ready, and what an error from the inner call means.

use super::layer_parts::Rt;
use axum::body::{Body, Bytes};
use axum::http::{Request, Response, StatusCode};
use http_body::Frame;
use spillway_core::Duration;
use spillway_core::engine::{NoSpend, RequestMeta, UpstreamConfig};
use spillway_core::limit::{LayerSpec, Layered};
use spillway_core::upstream::{BackoffConfig, BackoffStrategy, BreakerConfig, Target};
use spillway_gateway::{Dispatched, Upstream};
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use tower::ServiceExt;

/// A fallback, breakers opened by one failure (for an hour), two attempts 1 ms apart, and
/// `cache_hit_permille` of answers in the cache.
fn upstream(cache_hit_permille: u64) -> UpstreamConfig {
    let backoff = BackoffConfig::new(
        BackoffStrategy::Constant,
        Duration::from_millis(1),
        Duration::from_millis(1),
        2,
    );
    let mut upstream = UpstreamConfig::reactive(backoff.unwrap());
    upstream.breaker = Some(BreakerConfig::new(1, Duration::from_secs(3600), 1).unwrap());
    upstream.fallback = true;
    upstream.cache_hit_permille = cache_hit_permille;
    upstream
}

/// Every request user 1's, class 0.
type Classify =
    dyn Fn(&Request<Body>) -> Result<RequestMeta<()>, Box<Response<Body>>> + Send + Sync;

fn classify() -> Arc<Classify> {
    Arc::new(|_: &Request<Body>| {
        Ok(RequestMeta {
            user: 1,
            team: 0,
            feature: 0,
            class: 0,
            input_tokens: 10,
            output_estimate: 10,
            max_tokens: 10,
            payload: (),
        })
    })
}

/// A response body that counts itself live until dropped.
struct Live {
    body: Body,
    live: Arc<AtomicUsize>,
}

impl Drop for Live {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
    }
}

impl http_body::Body for Live {
    type Data = Bytes;
    type Error = axum::Error;
    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }
}

/// One upstream connection, as hyper's HTTP/1 `SendRequest` is: it can take the next request
/// only once the last response's body is gone (its `poll_ready` would stay Pending; this one
/// answers Ready and notes it was asked while busy). The primary's first call waits for
/// `release`, then both primary calls answer 401 (the key refused); the fallback answers 500;
/// the cache's call 200.
#[derive(Clone, Default)]
struct OneConnection {
    live: Arc<AtomicUsize>,
    asked_while_busy: Arc<AtomicBool>,
    primary_calls: Arc<AtomicUsize>,
    release: Arc<tokio::sync::Notify>,
}

impl OneConnection {
    fn answer(&self, status: StatusCode, text: &'static str) -> Response<Body> {
        self.live.fetch_add(1, Ordering::SeqCst);
        let body = Body::new(Live {
            body: Body::from(text),
            live: self.live.clone(),
        });
        Response::builder().status(status).body(body).unwrap()
    }
}

impl tower::Service<Request<Body>> for OneConnection {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        if self.live.load(Ordering::SeqCst) > 0 {
            self.asked_while_busy.store(true, Ordering::SeqCst);
        }
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<Body>) -> Self::Future {
        let this = self.clone();
        Box::pin(async move {
            let sent = *req.extensions().get::<Dispatched>().expect("dispatched");
            let _ = axum::body::to_bytes(req.into_body(), 1 << 16).await;
            Ok(match sent.upstream {
                Upstream::Provider(Target::Primary) => {
                    if this.primary_calls.fetch_add(1, Ordering::SeqCst) == 0 {
                        this.release.notified().await;
                    }
                    this.answer(StatusCode::UNAUTHORIZED, "invalid api key")
                }
                Upstream::Provider(Target::Fallback) => {
                    this.answer(StatusCode::INTERNAL_SERVER_ERROR, "down")
                }
                Upstream::Cache => this.answer(StatusCode::OK, "from the cache"),
            })
        })
    }
}

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
        upstream(1000),
        &[],
    );
    let service = OneConnection::default();
    let layer = spillway_gateway::GatewayLayer::new(rt.clone(), classify());
    let app = tower::Layer::layer(&layer, service.clone());
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
    service.release.notify_one();
    let b = b.await.expect("joined").unwrap();
    assert_eq!(b.status(), StatusCode::OK, "B: from the cache");
    assert!(
        !service.asked_while_busy.load(Ordering::SeqCst),
        "poll_ready for the cache's call was asked while the primary's 401 body was still held"
    );
}

/// One upstream connection whose primary answers 401 and that then stays busy (the refused
/// call's connection still draining, or a pool at its limit): `poll_ready` for the fallback's
/// send is Pending for as long as the test lasts.
#[derive(Clone, Default)]
struct BusyAfterOne {
    calls: Arc<AtomicUsize>,
    asked_again: Arc<AtomicBool>,
}

impl tower::Service<Request<Body>> for BusyAfterOne {
    type Response = Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        if self.calls.load(Ordering::SeqCst) == 0 {
            return Poll::Ready(Ok(()));
        }
        self.asked_again.store(true, Ordering::SeqCst);
        Poll::Pending
    }

    fn call(&mut self, _: Request<Body>) -> Self::Future {
        self.calls.fetch_add(1, Ordering::SeqCst);
        Box::pin(async {
            let resp = Response::builder().status(StatusCode::UNAUTHORIZED);
            Ok(resp.body(Body::from("invalid api key")).unwrap())
        })
    }
}

/// The fix bills no send the service never got ready for when `poll_ready` fails, but a send
/// cut while `poll_ready` is still Pending (the client gives up, or a timeout layer above
/// drops the future) is billed at its estimate and counted abandoned: `Call::next` marked it
/// on the wire at `Step::Send`, before the service could take it. Only the primary saw the
/// request, and refused it (a 401 is not billed).
#[tokio::test]
async fn a_send_cut_while_the_service_is_not_ready_is_not_billed() {
    let layers = Layered::new(Vec::<LayerSpec>::new()).unwrap();
    let rt = super::layer_parts::start(layers, super::budget_gate::gate(false), upstream(0), &[]);
    let service = BusyAfterOne::default();
    let app = tower::Layer::layer(
        &spillway_gateway::GatewayLayer::new(rt.clone(), classify()),
        service.clone(),
    );
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
    let layers = Layered::new(Vec::<LayerSpec>::new()).unwrap();
    let rt = super::layer_parts::start(layers, super::budget_gate::gate(false), upstream(0), &[]);
    let service = PrimaryUnreachable::default();
    let app = tower::Layer::layer(
        &spillway_gateway::GatewayLayer::new(rt.clone(), classify()),
        service.clone(),
    );
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
