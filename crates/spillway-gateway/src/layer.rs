//! The gateway as tower middleware: any axum/hyper service behind the engine's door and
//! queue.
//!
//! The service is called when the engine dispatches the request; its status and headers feed
//! the engine; a 2xx body is wrapped so that its end settles the layers (with the estimate:
//! middleware does not read bodies) and its early drop cancels (`settling.rs` says when a body
//! has ended); a 2xx without content (the answer to a HEAD, a 204, a 304) completes with its
//! head. A refused answer is passed back as is and the request leaves Failed: the engine is told
//! not to retry it, so that the caller's own client, which sees the answer, decides. The one
//! exception is the engine's: a refused key (401/403) with a fallback, whose key is its own, is
//! sent again there whatever the answer says, as `spillway serve` does; the layer then hands
//! its service the request once more ([`Resend`]), and the request is one request, completed
//! (or failed) on the fallback.
//!
//! A request the engine answers from the cache (every breaker open, `cache_hit_pct` set) is
//! counted completed, so the layer does not answer it with an error of its own: the inner
//! service is called with [`Dispatched`] saying [`Upstream::Cache`], and answers from its cache
//! without a provider (or, having none, with its own 503).
//!
//! [`Upstream::Cache`]: crate::Upstream::Cache

use crate::resend::Resend;
use crate::runtime::Runtime;
use crate::settling::Settling;
use crate::{Call, Dispatched, Step, headers};
use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, StatusCode};
use axum::response::Response;
use rand_core::Rng;
use spillway_core::engine::{Completion, Departure, Limiter, RequestMeta, Spend};
use spillway_core::limit::Subject;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// How a request is described to the engine; `Err` is answered as is (e.g. a 401).
pub type Classify<M> = dyn Fn(&Request) -> Result<RequestMeta<M>, Box<Response>> + Send + Sync;

/// A tower `Layer` putting a [`Runtime`] in front of a service.
///
/// The service behind it must honour the [`Dispatched`] in each request's extensions: call the
/// provider it names with the model it names (a degraded request's cheaper one) and the
/// upstream key it names (the budget's pick at that send), or no provider for
/// [`Upstream::Cache`](crate::Upstream::Cache). The engine books, paces and judges each call
/// by that decision.
///
/// What the inner service's failures mean: a failed `poll_ready` is a send that never went
/// out (nothing billed; the engine may send it again, to the fallback); an `Err` from `call` is
/// one that may have reached the provider (billed at its estimate, not sent again), since the
/// layer cannot tell a refused connect from a call broken on the wire. A service that knows
/// nothing went out should say so from `poll_ready`.
pub struct GatewayLayer<M, L: Limiter, S, R> {
    runtime: Runtime<M, L, S, R>,
    classify: Arc<Classify<M>>,
}

impl<M, L: Limiter, S, R> Clone for GatewayLayer<M, L, S, R> {
    fn clone(&self) -> Self {
        GatewayLayer {
            runtime: self.runtime.clone(),
            classify: self.classify.clone(),
        }
    }
}

impl<M, L: Limiter, S, R> GatewayLayer<M, L, S, R> {
    /// Gate services with `runtime`, describing requests with `classify`.
    pub fn new(runtime: Runtime<M, L, S, R>, classify: Arc<Classify<M>>) -> Self {
        GatewayLayer { runtime, classify }
    }
}

impl<Inner, M, L: Limiter, S, R> tower::Layer<Inner> for GatewayLayer<M, L, S, R> {
    type Service = GatewayService<Inner, M, L, S, R>;
    fn layer(&self, inner: Inner) -> Self::Service {
        GatewayService {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service made by [`GatewayLayer`].
pub struct GatewayService<Inner, M, L: Limiter, S, R> {
    inner: Inner,
    layer: GatewayLayer<M, L, S, R>,
}

impl<Inner: Clone, M, L: Limiter, S, R> Clone for GatewayService<Inner, M, L, S, R> {
    fn clone(&self) -> Self {
        GatewayService {
            inner: self.inner.clone(),
            layer: self.layer.clone(),
        }
    }
}

impl<Inner, M, L, S, R> tower::Service<Request> for GatewayService<Inner, M, L, S, R>
where
    Inner: tower::Service<Request, Response = Response> + Clone + Send + 'static,
    Inner::Future: Send,
    // Held while the engine decides whether to send again after a failed `poll_ready`.
    Inner::Error: Send,
    M: Copy + Send + 'static,
    L: Limiter<Placement: Send> + crate::headers::Rooms + Send + 'static,
    S: Spend<M> + Send + 'static,
    R: Rng + Send + 'static,
{
    type Response = Response;
    type Error = Inner::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Inner::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        // The clone that was polled ready serves this call (tower's usual swap).
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let meta = match (self.layer.classify)(&req) {
            Ok(meta) => meta,
            Err(answer) => return Box::pin(async move { Ok(*answer) }),
        };
        let runtime = self.layer.runtime.clone();
        Box::pin(async move {
            // The headers show the bucket of the engine's key, not key 0: the one it admitted
            // with, or the one it last sent with if it picked another at the send.
            let (mut api_key, admitted) = runtime.admit_keyed(meta);
            let mut resp = match admitted {
                Ok(call) => serve(&runtime, call, &mut api_key, meta, inner, req).await?,
                Err(refusal) => {
                    let names = runtime.with_state(|s, _| s.metrics.layer_names().to_vec());
                    headers::refused(&refusal, &names)
                }
            };
            let subject = Subject {
                user: meta.user,
                team: meta.team,
                feature: meta.feature,
                api_key,
            };
            runtime.rate_limit_headers(&subject, resp.headers_mut());
            Ok(resp)
        })
    }
}

/// An admitted request: the wait, the inner call where the engine routed it (told in the
/// request's [`Dispatched`]), again if the engine sends it again, and its settlement;
/// `api_key` becomes the key of each send.
async fn serve<Inner, M, L, S, R>(
    runtime: &Runtime<M, L, S, R>,
    mut call: Call<M, L, S, R>,
    api_key: &mut u64,
    meta: RequestMeta<M>,
    mut inner: Inner,
    req: Request,
) -> Result<Response, Inner::Error>
where
    Inner: tower::Service<Request, Response = Response>,
    M: Copy + Send + 'static,
    L: Limiter<Placement: Send> + Send + 'static,
    S: Spend<M> + Send + 'static,
    R: Rng + Send + 'static,
{
    let head = req.method() == Method::HEAD;
    let resend = Resend::new(req, runtime.with_state(|s, _| s.engine.has_fallback()));
    // The service given to `serve` was polled ready for its first call; a later one waits.
    let mut ready = true;
    // The last refused answer: the client's if the engine gives up after it.
    let mut refused = None;
    // The service's error when it could not take the last send: the client's if the engine
    // gives up after it.
    let mut unready = None;
    let resp = loop {
        let (dispatched, billed) = match call.next().await {
            Step::Send(dispatch) => Dispatched::sent(runtime, &dispatch),
            // Only the cache completes a request before its send (the engine counted it
            // served, with no usage): the inner service gives that answer, told so, without a
            // provider.
            Step::Left(Departure::Completed) => {
                // Let a refusal go before asking for readiness (see below).
                drop(refused);
                ready_once(&mut inner, &mut ready).await?;
                return inner.call(resend.copy(Dispatched::CACHE)).await;
            }
            Step::Left(how) => {
                return match (refused, unready) {
                    (Some(resp), _) => Ok(resp),
                    (None, Some(error)) => Err(error),
                    (None, None) => Ok(headers::departed(how)),
                };
            }
        };
        // Let the last refusal go before asking for readiness: a service may not take another
        // call while an answer of its own is alive (hyper's HTTP/1 sender, a permit held as
        // long as the body).
        refused = None;
        *api_key = billed.unwrap_or(*api_key);
        // Not on the wire until the service takes it: cut while waiting, it is not billed.
        call.on_the_wire(false);
        if let Err(error) = ready_once(&mut inner, &mut ready).await {
            // Never sent: a refusal by the upstream's side (a failure for its breaker), which
            // the engine may send again, as `spillway serve` treats a send that never reached
            // the wire; nothing is billed.
            call.respond(&not_sent());
            unready = Some(error);
            continue;
        }
        unready = None;
        call.on_the_wire(true);
        let resp = match inner.call(resend.copy(dispatched)).await {
            Ok(resp) => resp,
            // Maybe sent, broken before an answer: billed at its estimate, not sent again.
            // The layer cannot tell a refused connect from a call broken on the wire (a
            // service that knows nothing went out says so from `poll_ready`, above).
            Err(error) => {
                call.timed_out();
                return Err(error);
            }
        };
        let answer = told_not_to_retry(&resp);
        call.respond(&answer);
        if answer.accepted {
            break resp;
        }
        // The engine failed it (the next step says so), or sends it again.
        refused = Some(resp);
    };
    let usage = Completion {
        input_tokens: meta.input_tokens,
        output_tokens: meta.output_estimate,
        failed: false,
    };
    if head || bodiless(resp.status()) {
        call.complete(usage);
        return Ok(resp);
    }
    Ok(resp.map(|body| Body::new(Settling::new(body, call, usage))))
}

/// Wait for `inner` to be ready unless it already is (`ready`: polled ready and not called
/// since), as tower asks before every call.
async fn ready_once<Inner: tower::Service<Request>>(
    inner: &mut Inner,
    ready: &mut bool,
) -> Result<(), Inner::Error> {
    if std::mem::take(ready) {
        return Ok(());
    }
    poll_fn(|cx| inner.poll_ready(cx)).await
}

/// The engine's view of a send the inner service could not take (`poll_ready` failed): refused
/// before the wire, as a bad gateway.
fn not_sent() -> spillway_core::engine::Response {
    spillway_core::engine::Response {
        accepted: false,
        status: 502,
        ..Default::default()
    }
}

/// The inner service's answer as the engine reads it. A refusal says so as `x-should-retry:
/// false` would: the engine gives the request up at once, Failed (its breaker, Retry-After and
/// escalation still count the answer), as `spillway serve` does when it stops retrying, and the
/// caller gets the answer and its own client decides (the layer retrying too would multiply
/// the attempts). The engine overrides it for a refused key with a fallback: that request is
/// sent again on the fallback, and the layer sends it ([`serve`]).
fn told_not_to_retry(resp: &Response) -> spillway_core::engine::Response {
    let mut answer = headers::upstream_response(resp.status().as_u16(), resp.headers());
    if let Some(snapshot) = answer.snapshot.as_mut() {
        snapshot.should_retry = Some(false);
    }
    answer
}

/// A status whose response has no content whatever its body holds (RFC 9110): hyper drops
/// such a body unpolled, so the call completes with its head.
fn bodiless(status: StatusCode) -> bool {
    status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED
}
