//! The HTTP server: routes, limits, and the one handler that drives the provider model.
//!
//! Each call: read the body (capped) → parse (400 on bad input) → take an in-flight slot →
//! read the clock once → `EmulatedProvider::call(now, …)` → headers and error body rendered by
//! the provider model, durations shown in real time ([`crate::scale`]) → for an admitted call,
//! wait the service time (divided by the scale) or stream it paced.

use crate::clock::{EmuClock, TimeScale};
use crate::connections::{self, DEFAULT_CLIENT_TIMEOUT};
use crate::listener::Bounded;
use crate::log::{CallLog, CallRecord};
use crate::reply::{self, CallId};
use crate::request::{self, Shape};
use crate::scale::to_real_time;
use crate::stream::{ChannelBody, Timed, events, first_token};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::Listener;
use serde_json::Value;
use spillway_sim::provider::{Answer, CallRequest, EmulatedProvider, ProviderSpec};
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};

/// Largest request body read (larger: 400).
pub const DEFAULT_MAX_BODY: usize = 1 << 20;
/// Connections held open at once.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Calls being answered at once (more: 503 `emulator_busy`).
pub const DEFAULT_MAX_IN_FLIGHT: usize = 4096;

/// How to run the emulator.
#[derive(Clone, Debug)]
pub struct Config {
    /// The provider to impersonate (its wall clock is replaced by the real start instant).
    pub spec: ProviderSpec,
    /// Where to listen.
    pub listen: SocketAddr,
    /// How much faster than real time the provider runs.
    pub scale: TimeScale,
    /// Seed of the provider's random streams (latency jitter, overload, retry hints).
    pub seed: u64,
    /// Connections held open at once.
    pub max_connections: usize,
    /// Calls answered at once.
    pub max_in_flight: usize,
    /// Largest request body, bytes.
    pub max_body: usize,
    /// How long a connection may wait to send a request head (new or idle between requests)
    /// and a request's body: see [`crate::connections`].
    pub client_timeout: std::time::Duration,
}

impl Config {
    /// Defaults for everything but the provider and the address.
    pub fn new(spec: ProviderSpec, listen: SocketAddr) -> Config {
        Config {
            spec,
            listen,
            scale: TimeScale::REAL,
            seed: 1,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_in_flight: DEFAULT_MAX_IN_FLIGHT,
            max_body: DEFAULT_MAX_BODY,
            client_timeout: DEFAULT_CLIENT_TIMEOUT,
        }
    }
}

struct Shared {
    provider: Mutex<EmulatedProvider>,
    clock: EmuClock,
    in_flight: Arc<Semaphore>,
    max_in_flight: usize,
    max_body: usize,
    client_timeout: std::time::Duration,
    seq: AtomicU64,
    log: CallLog,
}

/// A running server (in-process): its address, what it saw, and how to stop it.
pub struct Running {
    addr: SocketAddr,
    shared: Arc<Shared>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// The bound address (useful with port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The real Unix instant of the provider's `Time::ZERO` (to replay [`Self::calls`] through
    /// a fresh [`EmulatedProvider`]).
    pub fn wall_start(&self) -> spillway_core::upstream::headers::UnixNanos {
        self.shared.clock.wall_start()
    }

    /// Every call answered so far, in arrival order.
    pub fn calls(&self) -> Vec<CallRecord> {
        self.shared.log.snapshot()
    }

    /// Stop accepting, finish what is in flight, and return.
    pub async fn stop(self) -> std::io::Result<()> {
        let _ = self.stop.send(());
        self.task
            .await
            .unwrap_or_else(|e| Err(std::io::Error::other(e)))
    }
}

/// Bind and serve in the background.
pub async fn start(config: Config) -> std::io::Result<Running> {
    let (stop, stopped) = oneshot::channel::<()>();
    let (listener, shared) = bind(config).await?;
    let addr = listener.local_addr()?;
    let router = router(shared.clone());
    let client_timeout = shared.client_timeout;
    let task = tokio::spawn(async move {
        let stopped = async move {
            let _ = stopped.await;
        };
        connections::serve(listener, router, client_timeout, stopped).await;
        Ok(())
    });
    Ok(Running {
        addr,
        shared,
        stop,
        task,
    })
}

/// Bind and serve until `shutdown` completes (then finish what is in flight). `ready` is
/// called with the bound address before the first call is accepted.
pub async fn serve(
    config: Config,
    ready: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let (listener, shared) = bind(config).await?;
    ready(listener.local_addr()?);
    let client_timeout = shared.client_timeout;
    connections::serve(listener, router(shared), client_timeout, shutdown).await;
    Ok(())
}

async fn bind(config: Config) -> std::io::Result<(Bounded, Arc<Shared>)> {
    let tcp = TcpListener::bind(config.listen).await?;
    let clock = EmuClock::start(config.scale);
    let mut spec = config.spec;
    spec.wall_clock_start = clock.wall_start();
    let shared = Arc::new(Shared {
        provider: Mutex::new(EmulatedProvider::new(&spec, config.seed)),
        clock,
        in_flight: Arc::new(Semaphore::new(config.max_in_flight.max(1))),
        max_in_flight: config.max_in_flight.max(1),
        max_body: config.max_body,
        client_timeout: config.client_timeout,
        seq: AtomicU64::new(0),
        log: CallLog::default(),
    });
    Ok((Bounded::new(tcp, config.max_connections), shared))
}

fn router(shared: Arc<Shared>) -> Router {
    let route = |shape: Shape| {
        post(move |State(s): State<Arc<Shared>>, req: Request| handle(s, shape, req))
    };
    Router::new()
        .route("/v1/chat/completions", route(Shape::Chat))
        .route("/v1/completions", route(Shape::Completion))
        .route("/v1/embeddings", route(Shape::Embedding))
        .route("/v1/messages", route(Shape::Messages))
        .route("/v1/models", get(models))
        .fallback(not_found)
        .with_state(shared)
}

async fn models(State(s): State<Arc<Shared>>) -> Response {
    let spec_name = lock(&s.provider).spec().name.clone();
    json(
        StatusCode::OK,
        &reply::models(&spec_name, s.clock.wall_start().as_secs_floor()),
    )
}

async fn not_found() -> Response {
    let body = reply::emulator_error(
        "spillway emulate serves POST /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/messages and GET /v1/models",
        "invalid_request_error",
        "unknown_url",
    );
    json(StatusCode::NOT_FOUND, &body)
}

async fn handle(s: Arc<Shared>, shape: Shape, req: Request) -> Response {
    let (parsed, retry_count) = match read_request(&s, shape, req).await {
        Ok(read) => read,
        Err(refused) => return refused,
    };
    let Ok(slot) = s.in_flight.clone().try_acquire_owned() else {
        let message = format!(
            "spillway emulate: more than {} calls in flight",
            s.max_in_flight
        );
        let body = reply::emulator_error(&message, "server_error", "emulator_busy");
        return json(StatusCode::SERVICE_UNAVAILABLE, &body);
    };
    let now = s.clock.now();
    let (answer, latency) = {
        let mut provider = lock(&s.provider);
        let call = CallRequest {
            input_tokens: parsed.input_tokens,
            max_tokens: parsed.max_tokens,
            output_tokens: parsed.output_tokens,
        };
        (provider.call(now.emulated, &call), provider.spec().latency)
    };
    let scale = s.clock.scale();
    let shown = to_real_time(&answer, scale, now.wall);
    let headers = header_map(&shown);
    s.log.push(CallRecord::new(now, shape, retry_count, &shown));
    let Some(done_at) = answer.done_at() else {
        // A refusal takes the profile's error latency, as in the simulator (the slot is held
        // meanwhile, as the provider's connection would be).
        tokio::time::sleep(std_duration(scale.to_real(answer.answer_after))).await;
        drop(slot);
        let body = shown.error_body(&parsed.model).unwrap_or_default();
        return raw(
            status(answer.status),
            headers,
            "application/json",
            Body::from(body),
        );
    };
    let service = scale.to_real(done_at.saturating_since(now.emulated));
    let call = CallId {
        seq: s.seq.fetch_add(1, Ordering::Relaxed),
        created: now.wall.as_secs_floor(),
    };
    if parsed.stream {
        let ttft = first_token(&latency, parsed.output_tokens, service);
        let body = paced(events(&parsed, call, ttft, service), slot);
        return raw(StatusCode::OK, headers, "text/event-stream", body);
    }
    tokio::time::sleep(std_duration(service)).await;
    drop(slot);
    let mut resp = json(StatusCode::OK, &reply::complete(&parsed, call));
    resp.headers_mut().extend(headers);
    resp
}

/// The body (capped) and the SDK's retry count, or the 400 to answer.
async fn read_request(
    s: &Shared,
    shape: Shape,
    req: Request,
) -> Result<(request::Parsed, Option<u32>), Response> {
    let retry_count = req
        .headers()
        .get("x-stainless-retry-count")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let refuse =
        |e: &request::BadRequest| json(StatusCode::BAD_REQUEST, &reply::bad_request(shape, e));
    let bytes = connections::read_body(req.into_body(), s.max_body, s.client_timeout)
        .await
        .map_err(|message| {
            refuse(&request::BadRequest {
                message,
                param: None,
            })
        })?;
    let parsed = request::parse(shape, &bytes).map_err(|e| refuse(&e))?;
    Ok((parsed, retry_count))
}

/// A body that sends `timed` events at their times; `slot` (the in-flight permit) is held
/// until the last one is sent or the client goes away.
fn paced(timed: Vec<Timed>, slot: OwnedSemaphorePermit) -> Body {
    let (tx, rx) = mpsc::channel(4);
    tokio::spawn(async move {
        let _slot = slot;
        let mut at = spillway_core::Duration::ZERO;
        for e in timed {
            tokio::time::sleep(std_duration(e.at.saturating_sub(at))).await;
            at = e.at;
            if tx.send(Bytes::from(e.text)).await.is_err() {
                return;
            }
        }
    });
    Body::new(ChannelBody(rx))
}

/// The provider's headers as an HTTP header map (names lower-cased by HTTP/1 anyway).
fn header_map(answer: &Answer) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in answer.headers() {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            map.append(n, v);
        }
    }
    map
}

fn status(code: u16) -> StatusCode {
    StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
}

fn raw(code: StatusCode, headers: HeaderMap, content_type: &'static str, body: Body) -> Response {
    let mut resp = (code, body).into_response();
    resp.headers_mut().extend(headers);
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}

fn json(code: StatusCode, body: &Value) -> Response {
    raw(
        code,
        HeaderMap::new(),
        "application/json",
        Body::from(body.to_string()),
    )
}

fn std_duration(d: spillway_core::Duration) -> std::time::Duration {
    std::time::Duration::from_nanos(d.as_nanos())
}

/// The provider lock, recovered if a holder panicked (its state is still consistent: every
/// `call` leaves it so).
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
