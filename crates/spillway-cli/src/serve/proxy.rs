//! The OpenAI-compatible reverse proxy: each call is read and checked (400 before anything
//! goes upstream), identified, admitted by the engine (429 with the blocking layers), waits
//! its turn, and is sent — again on a retry — to the upstream the engine picks. A 2xx body is
//! relayed (SSE chunk by chunk); its usage settles the layers. A call that connected and then
//! got no answer (timed out: 504; the connection broke: 502) is not retried: the provider may
//! have it, so it is booked at its estimate. One that never connected is retried.
//! Every answer to an identified caller carries its `x-ratelimit-*` headers (a 401 or a 400
//! `bad_header` knows no caller: none).

use super::budget;
use super::budget::ServeGate;
use super::identity::{Identities, Unknown};
use super::log_throttle::LogThrottle;
use super::relay::{relay, whole, whole_error};
use super::shared_budget;
use super::upstream_failure::{Failed, Timeouts};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::Response;
use rand_chacha::ChaCha8Rng;
use spillway_core::engine::{Rejection, RequestMeta};
use spillway_core::limit::{Demand, Subject};
use spillway_core::upstream::Target;
use spillway_emulate::reply;
use spillway_emulate::request::{self, Parsed, Shape};
use spillway_gateway::{Call, Runtime, ServeLayers, SharedStore, Step, headers};
use std::sync::Arc;

/// The gateway as `serve` runs it: the policy's layers and budget.
pub type Gateway = Runtime<(), ServeLayers, Option<ServeGate>, ChaCha8Rng>;
pub(super) type GatewayCall = Call<(), ServeLayers, Option<ServeGate>, ChaCha8Rng>;

/// An upstream: its base URL and the key sent to it (never logged).
pub struct Upstream {
    /// Base URL without a trailing `/`.
    pub base: String,
    /// `Authorization: Bearer` value, if any.
    pub key: Option<String>,
    /// The operator's lines about this key's refusals (see [`super::key_refused`]): one per
    /// configured key, whatever the traffic.
    pub refusals: Arc<LogThrottle>,
}

impl Upstream {
    /// The upstream at `base`, sent `key`.
    pub fn new(base: String, key: Option<String>) -> Self {
        Upstream {
            base,
            key,
            refusals: Arc::default(),
        }
    }
}

/// Everything a handler needs.
pub struct Proxy {
    /// The engine's runtime.
    pub runtime: Gateway,
    /// The layers' Redis, when they are shared (`--redis`).
    pub shared: Option<SharedStore>,
    /// The HTTP client (connection pool).
    pub client: reqwest::Client,
    /// Where requests go.
    pub primary: Upstream,
    /// Where they fail over to.
    pub fallback: Option<Upstream>,
    /// Who is calling.
    pub identities: Identities,
    /// Largest client body.
    pub max_body: usize,
    /// Time a client has to send a request's body (and, on the connection, each head).
    pub client_timeout: std::time::Duration,
    /// Layer names, for 429 bodies.
    pub layer_names: Vec<String>,
    /// Whether the budget is shared in Redis (`--redis` and a `budget:`), known at build
    /// time: without one no request reserves.
    pub shared_budget: bool,
    /// Upstream timeouts.
    pub timeouts: Timeouts,
    /// Output tokens reserved for a request that names no `max_tokens`.
    pub estimate: super::estimate::OutputEstimate,
}

/// `POST /v1/...` of `shape`.
pub async fn forward(State(p): State<Arc<Proxy>>, shape: Shape, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let caller = match p.identities.caller(&parts.headers) {
        Ok(c) => c,
        Err(Unknown::Key) => {
            return headers::error(
                StatusCode::UNAUTHORIZED,
                "Unknown API key: present one of the gateway's virtual keys as `Authorization: Bearer …`",
                "invalid_request_error",
                "invalid_api_key",
            );
        }
        Err(Unknown::Header(m)) => {
            return headers::error(
                StatusCode::BAD_REQUEST,
                &m,
                "invalid_request_error",
                "bad_header",
            );
        }
    };
    // A body refused unread counts as a request of no tokens (for the key its headers name).
    let mut meta = RequestMeta {
        user: caller.user,
        team: caller.team,
        feature: caller.feature,
        class: caller.class,
        input_tokens: 0,
        output_estimate: 0,
        max_tokens: 0,
        payload: (),
    };
    // A bad body is answered before anything is admitted or sent upstream.
    let mut resp = match read(shape, body, (p.max_body, p.client_timeout)).await {
        Ok(parsed) => {
            // Reserve what the client allows the model to write (named, else the model's
            // maximum); the usage settles it.
            let output = p.estimate.output(&parsed.0);
            meta = RequestMeta {
                input_tokens: parsed.0.input_tokens,
                output_estimate: output,
                max_tokens: output,
                ..meta
            };
            p.run(shape, meta, parsed).await
        }
        Err(refused) => refused,
    };
    let subject = Subject {
        user: caller.user,
        team: caller.team,
        feature: caller.feature,
        api_key: p.api_key(&meta),
    };
    p.runtime.rate_limit_headers(&subject, resp.headers_mut());
    resp
}

/// The body (capped) parsed, or the 400 to answer.
async fn read(
    shape: Shape,
    body: Body,
    (max, limit): (usize, std::time::Duration),
) -> Result<(Parsed, Bytes), Response> {
    let refuse = |e: request::BadRequest| {
        let body = reply::bad_request(shape, &e);
        let mut resp = Response::new(Body::from(body.to_string()));
        *resp.status_mut() = StatusCode::BAD_REQUEST;
        resp.headers_mut().insert(
            header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        );
        resp
    };
    let bytes = spillway_emulate::connections::read_body(body, max, limit)
        .await
        .map_err(|message| {
            refuse(request::BadRequest {
                message,
                param: None,
            })
        })?;
    let parsed = request::parse(shape, &bytes).map_err(refuse)?;
    Ok((parsed, bytes))
}

impl Proxy {
    /// Admission, the wait, the sends, the answer.
    async fn run(
        self: &Arc<Self>,
        shape: Shape,
        meta: RequestMeta<()>,
        (parsed, bytes): (Parsed, Bytes),
    ) -> Response {
        let output_estimate = meta.output_estimate;
        let mut call = match self.admit_detached(meta).await {
            Ok(Ok(call)) => call,
            Ok(Err(refusal)) => return self.refused(&refusal),
            Err(failed) => return failed,
        };
        let mut last: Option<Response> = None;
        loop {
            let dispatch = match call.next().await {
                Step::Send(d) => d,
                Step::Left(how) => return last.unwrap_or_else(|| headers::departed(how)),
            };
            let upstream = match (dispatch.target, &self.fallback) {
                (Target::Fallback, Some(f)) => f,
                _ => &self.primary,
            };
            let body = match self
                .runtime
                .with_state(|s, _| budget::degraded_model(&s.engine, dispatch.id))
            {
                Some(model) => budget::with_model(&bytes, &model),
                None => bytes.clone(),
            };
            let sent = self.send(upstream, path(shape), body, parsed.stream).await;
            let resp = match sent {
                Ok(resp) => resp,
                // The call is on the wire, unanswered: it leaves billed at its estimate, not
                // sent again, and its provider's breaker counts a failure.
                Err(e) if e.maybe_sent() => {
                    call.timed_out();
                    return e.response(upstream);
                }
                Err(e) => {
                    let failed = e.response(upstream);
                    call.respond(&spillway_core::engine::Response {
                        accepted: false,
                        status: failed.status().as_u16(),
                        ..Default::default()
                    });
                    last = Some(failed);
                    continue;
                }
            };
            let status = resp.status().as_u16();
            let answer = headers::upstream_response(status, resp.headers());
            call.respond(&answer);
            if !answer.accepted {
                last = Some(whole_error(resp, upstream, self.timeouts.idle, &self.runtime).await);
                continue;
            }
            // From here the provider bills the call, however it ends (the engine knows).
            return if parsed.stream {
                relay(call, resp, parsed.input_tokens, self.timeouts)
            } else {
                let estimates = (parsed.input_tokens, output_estimate);
                whole(call, resp, estimates, self.timeouts.idle).await
            };
        }
    }

    /// The upstream API key the engine picks for `meta` now, as `api_key`-scoped layers see
    /// it (0 with no budget or no usable key, as in the engine).
    fn api_key(&self, meta: &RequestMeta<()>) -> u64 {
        self.runtime.with_state(|s, now| {
            s.engine
                .spend()
                .as_ref()
                .and_then(|g| g.select_key(now, meta))
                .unwrap_or(0)
        })
    }

    /// The 429 of a refusal; a budget refusal names the cap that refused (the engine's
    /// rejection carries it) and waits for its reset.
    fn refused(&self, refusal: &spillway_gateway::Refusal) -> Response {
        let cap = match refusal.why {
            Rejection::Budget(why) => self
                .runtime
                .with_state(|s, _| budget::refusing_cap(&s.engine, why)),
            _ => None,
        };
        headers::refused_naming(refusal, &self.layer_names, cap.as_ref())
    }

    /// [`Proxy::admit`] in a task of its own, so that a client leaving while Redis answers
    /// cannot cancel it between Redis' reservation and the engine's decision: the admission
    /// always completes, and the call of a handler that is gone is dropped, which cancels it
    /// in the engine (everything reserved goes back). `Err`: the 500 if that task failed.
    async fn admit_detached(
        self: &Arc<Self>,
        meta: RequestMeta<()>,
    ) -> Result<Result<GatewayCall, spillway_gateway::Refusal>, Response> {
        let proxy = self.clone();
        tokio::spawn(async move { proxy.admit(meta).await })
            .await
            .map_err(|_| {
                headers::error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "spillway serve: the admission of this request failed",
                    "server_error",
                    "internal",
                )
            })
    }

    /// Admission: shared layers decide, and a shared budget reserves, in Redis first
    /// (outside the engine's lock, both at once); the engine then decides with their answers.
    async fn admit(&self, meta: RequestMeta<()>) -> Result<GatewayCall, spillway_gateway::Refusal> {
        let (layers, budget) = tokio::join!(self.layers(&meta), self.reserve(&meta));
        let release = budget
            .as_ref()
            .filter(|p| p.holds)
            .map(|p| (p.tag, p.accounts.clone()));
        // The layers' reservation goes back to Redis if the engine refuses before taking it.
        let admitted = self.runtime.admit_prepaid(meta, layers, |engine| {
            if let Some(gate) = engine.spend_mut().as_mut() {
                gate.prepay(budget);
            }
        });
        // Refused before the budget decided (a layer, a full gateway): Redis' hold goes back.
        if let (Err(r), Some((tag, accounts))) = (&admitted, release)
            && !matches!(r.why, Rejection::Budget(_))
        {
            self.runtime.with_engine(|e, now| {
                if let Some(gate) = e.spend().as_ref() {
                    gate.release(now, tag, accounts);
                }
            });
        }
        admitted
    }

    /// The shared budget's hold for `meta` (`None` without one: then the engine is not even
    /// locked for it).
    async fn reserve(&self, meta: &RequestMeta<()>) -> Option<shared_budget::Prepaid> {
        if !self.shared_budget {
            return None;
        }
        shared_budget::reserve(&self.runtime, meta).await
    }

    /// The shared layers' verdict for `meta` (`None`: the layers are in this process).
    async fn layers(&self, meta: &RequestMeta<()>) -> Option<spillway_gateway::Prepaid> {
        let store = self.shared.as_ref()?;
        // The subject and estimate the engine itself would reserve.
        let subject = Subject {
            user: meta.user,
            team: meta.team,
            feature: meta.feature,
            api_key: self.api_key(meta),
        };
        let estimate = Demand {
            requests: 1,
            tokens: meta.input_tokens.saturating_add(meta.output_estimate),
        };
        Some(store.reserve(self.runtime.now(), &subject, estimate).await)
    }

    /// Send to `to`: a streaming call may wait [`Timeouts::idle`] for its answer to start,
    /// any other [`Timeouts::total`] for the whole answer (its body included).
    async fn send(
        &self,
        to: &Upstream,
        path: &str,
        body: Bytes,
        stream: bool,
    ) -> Result<reqwest::Response, Failed> {
        let mut req = self
            .client
            .post(format!("{}{path}", to.base))
            .header(header::CONTENT_TYPE, "application/json")
            .body(body);
        if let Some(key) = &to.key {
            req = req.bearer_auth(key);
        }
        if !stream {
            return Ok(req.timeout(self.timeouts.total).send().await?);
        }
        match tokio::time::timeout(self.timeouts.idle, req.send()).await {
            Ok(sent) => Ok(sent?),
            Err(_) => Err(Failed::TimedOut),
        }
    }
}

/// `GET /v1/models`: the primary's list, passed through.
pub async fn models(State(p): State<Arc<Proxy>>) -> Response {
    let mut req = p.client.get(format!("{}/v1/models", p.primary.base));
    if let Some(key) = &p.primary.key {
        req = req.bearer_auth(key);
    }
    match req.timeout(p.timeouts.total).send().await {
        Ok(resp) => whole_error(resp, &p.primary, p.timeouts.idle, &p.runtime).await,
        Err(e) => Failed::from(e).response(&p.primary),
    }
}

fn path(shape: Shape) -> &'static str {
    match shape {
        Shape::Chat => "/v1/chat/completions",
        Shape::Completion => "/v1/completions",
        Shape::Embedding => "/v1/embeddings",
        Shape::Messages => "/v1/messages",
    }
}
