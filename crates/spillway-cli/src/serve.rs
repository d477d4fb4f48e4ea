//! `spillway serve`: run a policy of a scenario or policy file as an OpenAI-compatible gateway.
//!
//! The file is a scenario (every `scenarios/*.yaml` loads unchanged) or a standalone policy
//! file (no traffic), both read by core's policy rules (`load`); `--name` picks the policy.
//! Its optional `serve:` block says where the upstream is and who the clients are;
//! `--upstream` overrides (or replaces) it. The limiter is the policy's layers in this process
//! or, under `--redis`, in Redis (`instances:` is a simulator setting); its `budget:` is core's
//! `SpendGate` on the wall clock (`budget`), its spend shared in Redis under `--redis`
//! (`shared_budget`).

mod budget;
mod build;
mod estimate;
mod identity;
mod key_refused;
mod load;
mod log_throttle;
mod proxy;
mod redis_failure;
mod relay;
mod settler;
mod shared_budget;
mod shutdown;
mod upstream_failure;
mod usage;

use crate::Failure;
use axum::Router;
use axum::routing::{get, post};
use budget::ServeGate;
use clap::Args;
use proxy::{Proxy, Upstream};
use spillway_core::keys::{checked_secret, process_lookup};
use spillway_core::policy::serve::ServeSpec;
use spillway_emulate::listener::Bounded;
use spillway_emulate::request::Shape;
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use upstream_failure::Timeouts;

/// The long `--help` text.
pub const LONG_ABOUT: &str = "Serve a policy you simulated: an OpenAI-compatible reverse proxy \
(POST /v1/chat/completions, /v1/completions, /v1/embeddings; GET /v1/models) running the \
policy's limiter layers, priority queue, retries, Retry-After gate, breaker and failover on \
real traffic, with the same engine the simulator runs.\n\n\
The policy file is a scenario file or a standalone policy file (layers, policies, classes, \
models, keys, serve; no traffic, see scenarios/policies/gateway.yaml); its optional `serve:` block names the upstream \
(`upstream: http://HOST:PORT`; a URL with credentials, user:password@, is refused), the `keys:` \
entry whose secret authenticates to it \
(`upstream_key:`), a `fallback:`, client `virtual_keys:` (secret from env or file, mapped to \
user / team / feature / class) and `trust_headers: true` (take x-spillway-user, \
x-spillway-team, x-spillway-feature, x-spillway-class from the request, unless it presents a \
known virtual key: the key's mapping wins). A `scope: team` layer \
limits every caller of a team together; `classes:` deadlines answer a request still queued \
past its class's deadline with 504. At most the queue's capacity plus max_in_flight requests \
are inside at once: at that bound an arrival takes the place of a less urgent queued request \
(which gets 503, as a request the queue sheds does), or gets 503 itself.\n\n\
A refused request gets 429 with retry-after (seconds) and a JSON error naming the blocking \
layers, or the budget cap (retry-after then counts to the cap's reset: budget periods are UTC \
hours, days and months); the budget's ladder rewrites the model sent upstream as caps fill, \
and the upstream's usage books the spend (a stream without stream_options.include_usage is \
counted one token per chunk, its role and finish chunks included: ~2 over per call). The \
file's key validity (`keys:` not_before/expires), `events:` and price changes count from when \
serve starts, so a restart starts them again; without --redis the budget's spend is kept in \
the process and a restart starts it from zero. The answers to a caller it identified (admitted, \
refused, failed upstream, or a bad body's 400) carry x-ratelimit-limit/remaining/reset-requests \
(and -tokens) for the caller's tightest layer of that unit. A 401, a 400 bad_header, a 404 or a \
405 carries none (no caller is known), nor do /healthz, /metrics and /v1/models. Bad requests (not JSON, no model, body over --max-body-bytes) get 400 \
and nothing is sent upstream; an upstream that cannot be connected to gives 502 (retried; \
the connect waits 10 s at most, or half the shorter upstream timeout), one that does not answer \
within --upstream-timeout (streaming: falls silent for --upstream-idle-timeout) 504, one \
whose connection breaks after the send 502, both not sent again and booked at their \
estimate (the provider may bill them); an upstream 401/403 refuses the gateway's own \
upstream key, not the client's: the client gets 502 `upstream_key_refused` (never the \
provider's body, which names that key), stderr a line for the operator (the first at once, \
then at most one per 10 s for each upstream key, saying how many refusals it stands for; \
refusals no later one told get a line when the 10 s lapse, or at shutdown); a \
stream cut mid-way aborts the client's connection (never a clean end). GET \
/healthz, GET /metrics (Prometheus text). Ctrl-C or SIGTERM stops accepting and finishes the \
requests in flight within --drain-timeout (a second signal stops at once).\n\n\
--redis URL shares the layers and the budget with every replica on that Redis (7.0 or \
later): a cap is spent once across the fleet (a queueing cap then answers 429 until its \
reset instead of holding the request; a Redis error answers 503: the budget fails closed, \
and so do the layers unless --redis-failure says open or local, a layer refusal for it is \
a 503 `store_unavailable` counted in spillway_rejected_total{layer=\"store_unavailable\"}), \
and the x-ratelimit-* headers count what every replica admitted (the admitting call returns \
the room, no extra round trip). The budget's `output_tokens:` sets where a fixed or learned \
output estimate starts (default 256). A chat request naming no max_tokens is reserved for \
its model's max_output_tokens (the file's `models:`), else 4096, or --default-max-tokens. \
https:// upstreams use TLS (rustls, the system's \
certificates). Not yet enforced: `instances:` (a simulator setting).";

/// Arguments of `serve`.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  spillway serve --policy scenarios/spike.yaml --name token-bucket --upstream http://127.0.0.1:9000\n  \
spillway serve --policy scenarios/policies/gateway.yaml --listen 0.0.0.0:8080"
)]
pub struct ServeArgs {
    /// The policy file (a scenario file, or a policy file without traffic).
    #[arg(long)]
    policy: PathBuf,
    /// Which policy of the file (default: the first).
    #[arg(long)]
    name: Option<String>,
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// The upstream base URL (overrides `serve.upstream`).
    #[arg(long)]
    upstream: Option<String>,
    /// Take identity and class from x-spillway-user/-team/-feature/-class (as `serve.trust_headers:
    /// true`; e.g. behind `spillway load`, which sends them).
    #[arg(long)]
    trust_headers: bool,
    /// Share the policy's limits and budget with every replica on this Redis
    /// (`redis://HOST:PORT`): replicas serving the same policy name admit the limit, and spend
    /// each cap, once between them. An unreachable Redis is retried for 5 s at start.
    #[arg(long)]
    redis: Option<String>,
    /// What the shared limits answer while --redis is unreachable (a refused connection, or no
    /// reply within 250 ms). Under open and local the limits start fresh in each replica at
    /// the outage, and Redis resumes its own count when it is back. A shared budget fails
    /// closed whatever this says (money spent blind cannot be taken back).
    #[arg(long, value_enum, default_value_t = redis_failure::RedisFailure::Closed, requires = "redis")]
    redis_failure: redis_failure::RedisFailure,
    /// How many replicas share the limits, for --redis-failure local (each then admits 1/N of
    /// every layer while Redis is unreachable).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=1_000_000), requires = "redis")]
    redis_replicas: u64,
    /// Largest request body in bytes (more: 400).
    #[arg(long, default_value_t = 1 << 20, value_parser = clap::value_parser!(u64).range(1..=(64 << 20)))]
    max_body_bytes: u64,
    /// Connections held open at once (more wait to be accepted). A connection that sends no
    /// request head for --client-timeout (30s by default), new or idle between requests, is
    /// closed, so idle clients give their slots back.
    #[arg(long, default_value_t = 4096, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// Longest a client may take to send a request head (on a new connection, or idle after an
    /// answer: the connection is then closed) and to send a request's body (past it: 400).
    #[arg(long, default_value = "30s", value_parser = crate::simulate::parse_duration_arg)]
    client_timeout: spillway_core::Duration,
    /// Longest non-streaming upstream call, from sending to the last byte of its answer (past
    /// it: 504 `upstream_timeout`, the in-flight slot is freed, and the call is not sent again
    /// but booked at its estimate, since the provider may bill it; the breaker counts it as a
    /// failure). 10m is what OpenAI's SDKs wait.
    #[arg(long, default_value = "10m", value_parser = crate::simulate::parse_duration_arg)]
    upstream_timeout: spillway_core::Duration,
    /// Longest silence of a streaming upstream call: until its answer starts, and between two
    /// chunks (past it: 504 before the answer started, a cut stream after). A stream may last
    /// longer than --upstream-timeout, as long as it keeps talking.
    #[arg(long, default_value = "5m", value_parser = crate::simulate::parse_duration_arg)]
    upstream_idle_timeout: spillway_core::Duration,
    /// Longest a streaming client may take no chunk of its answer (it stopped reading: a hung
    /// process whose kernel still acknowledges). Past it the call leaves as if the client had
    /// gone (billed, its slot and reservations freed), so a stalled client cannot hold a slot
    /// for ever; a client that reads slowly but steadily is never cut.
    #[arg(long, default_value = "5m", value_parser = crate::simulate::parse_duration_arg)]
    client_stall_timeout: spillway_core::Duration,
    /// At Ctrl-C/SIGTERM, how long the requests in flight may take to finish (then they are
    /// cut); a second signal stops at once. Queued Redis settlements and cancellations are then
    /// written (at most 5 s more).
    #[arg(long, default_value = "25s", value_parser = crate::simulate::parse_duration_arg)]
    drain_timeout: spillway_core::Duration,
    /// Output tokens reserved for a chat request that names no max_tokens (the usage settles
    /// it after). Default: the model's max_output_tokens from the file's `models:` catalogue,
    /// else 4096.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    default_max_tokens: Option<u64>,
}

/// A core duration as tokio's.
fn std_duration(d: spillway_core::Duration) -> std::time::Duration {
    std::time::Duration::from_nanos(d.as_nanos())
}

/// Load, build, serve until Ctrl-C.
pub fn run(args: &ServeArgs) -> Result<(), Failure> {
    args.redis_failure
        .check_replicas(args.redis_replicas)
        .map_err(Failure::BadInput)?;
    let file = load::load(&args.policy).map_err(|e| {
        let n = e.0.len();
        Failure::BadInput(format!(
            "{e}\n{n} error{} in --policy",
            if n == 1 { "" } else { "s" }
        ))
    })?;
    let policy = build::pick(&file, args.name.as_deref()).map_err(Failure::BadInput)?;
    let spec = file.serve.as_ref();
    let primary = upstream(args.upstream.as_deref(), spec, &args.policy)?;
    let fallback = spec
        .and_then(|s| {
            s.fallback
                .clone()
                .map(|base| (base, s.fallback_key.clone()))
        })
        .map(|(base, key)| load_key(key.as_ref()).map(|key| Upstream::new(base, key)))
        .transpose()?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(e.into()))?;
    runtime.block_on(serve(args, &file, policy, primary, fallback))
}

async fn serve(
    args: &ServeArgs,
    file: &load::Served,
    policy: &spillway_core::policy::PolicySpec,
    primary: Upstream,
    fallback: Option<Upstream>,
) -> Result<(), Failure> {
    let bad = |e: build::BuildError| Failure::BadInput(e.to_string());
    let failure = args.redis_failure.policy(args.redis_replicas);
    let redis = build::connect(policy, args.redis.as_deref(), failure)
        .await
        .map_err(bad)?;
    let (layers, shared) = build::layers(policy, redis.as_ref()).map_err(bad)?;
    // The file's key validity, events and price changes count from now (see `budget`).
    let started = spillway_core::clock::Clock::now(&spillway_core::clock::WallClock::new());
    let (engine, layer_names) =
        build::engine(file, policy, layers, started, redis.as_ref()).map_err(bad)?;
    let timeouts = Timeouts {
        total: std_duration(args.upstream_timeout),
        idle: std_duration(args.upstream_idle_timeout),
        client_stall: std_duration(args.client_stall_timeout),
    };
    let client = reqwest::Client::builder()
        .connect_timeout(timeouts.connect())
        .build()
        .map_err(|e| Failure::Runtime(e.into()))?;
    let upstream_base = spillway_core::policy::base_url::shown(&primary.base).into_owned();
    let gateway = spillway_gateway::Runtime::start(engine, layer_names.clone());
    let settles = gateway.with_engine(|e, _| e.spend().as_ref().and_then(ServeGate::closer));
    let shared_budget = settles.is_some();
    let closers: Vec<_> = settles
        .into_iter()
        .chain(gateway.with_engine(|e, _| e.limiter().closer()))
        .collect();
    let proxy = Arc::new(Proxy {
        runtime: gateway.clone(),
        shared,
        client,
        primary,
        fallback,
        identities: identity::Identities::new(file.serve.as_ref(), args.trust_headers),
        max_body: usize::try_from(args.max_body_bytes).unwrap_or(usize::MAX),
        client_timeout: std_duration(args.client_timeout),
        layer_names,
        // Only a shared budget has settlements to close.
        shared_budget,
        estimate: estimate::OutputEstimate::new(file.budget.as_ref(), args.default_max_tokens),
        timeouts,
    });
    let tcp = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| Failure::Runtime(anyhow::anyhow!("cannot listen on {}: {e}", args.listen)))?;
    let addr = tcp.local_addr().map_err(|e| Failure::Runtime(e.into()))?;
    let line = format!(
        "spillway serve: policy `{}` on http://{addr} → {upstream_base}; Ctrl-C stops\n",
        policy.name
    );
    let mut out = std::io::stdout();
    let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
    if let Some(note) = build::cache_note(policy) {
        say(&note);
    }
    let listener = Bounded::new(
        tcp,
        usize::try_from(args.max_connections).unwrap_or(usize::MAX),
    );
    let signals = shutdown::Signals::listen();
    let stop = signals.clone();
    let served = spillway_emulate::connections::serve(
        listener,
        router(Arc::clone(&proxy)),
        std_duration(args.client_timeout),
        async move { stop.first().await },
    );
    tokio::select! {
        () = served => {}
        () = signals.drain_over(std_duration(args.drain_timeout)) => {
            say("spillway serve: requests still in flight were cut (--drain-timeout passed, or a second signal)\n");
        }
    };
    // Requests still inside (cut at the drain deadline) leave the engine now, billed if they
    // were sent, so that their settlements are queued before the queues are flushed.
    gateway.close();
    // Key refusals counted since their last line would be lost with the process.
    for upstream in std::iter::once(&proxy.primary).chain(&proxy.fallback) {
        key_refused::tell_rest(upstream);
    }
    // Settlements still queued for Redis (the shared layers', the shared budget's) are applied
    // before the runtime (and their settle tasks) goes away; a second signal stops that too.
    // Then the cancellations of acquires whose reply was lost: their background task ends with
    // the runtime, and each left charged in Redis takes room from every other replica.
    let flushed = tokio::select! {
        flushed = flush(closers, redis.as_ref()) => flushed,
        () = signals.second() => Flushed { settles: false, cancels: false },
    };
    if !flushed.settles {
        say("spillway serve: settlements still queued for Redis were lost at shutdown\n");
    }
    if !flushed.cancels {
        say("spillway serve: cancellations still queued for Redis were lost at shutdown\n");
    }
    Ok(())
}

/// A line on stderr (nothing to do if stderr itself is gone).
fn say(line: &str) {
    let mut err = std::io::stderr();
    let _ = err.write_all(line.as_bytes());
}

/// Longest wait at shutdown for the queued Redis settlements (all queues together).
const SETTLE_AT_SHUTDOWN: std::time::Duration = std::time::Duration::from_secs(5);

/// What the shutdown flush delivered: `false` where some had to be left.
struct Flushed {
    settles: bool,
    cancels: bool,
}

/// Close every settle queue, then send the store's queued cancellations once, all within
/// [`SETTLE_AT_SHUTDOWN`].
async fn flush(
    closers: Vec<spillway_gateway::settler::Closer>,
    redis: Option<&spillway_redis::RedisStore>,
) -> Flushed {
    let deadline = tokio::time::Instant::now() + SETTLE_AT_SHUTDOWN;
    let mut settles = true;
    for closer in closers {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        settles &= closer.close(left).await;
    }
    let cancels = match redis {
        None => true,
        Some(store) => tokio::time::timeout_at(deadline, store.flush_cancellations())
            .await
            .is_ok_and(|left| left == 0),
    };
    Flushed { settles, cancels }
}

/// The shared layers' and the shared budget's give-ups in Prometheus text (nothing for what is
/// not shared).
fn settles_given_up(runtime: &proxy::Gateway) -> String {
    let (layers, budget) = runtime.with_state(|s, _| {
        let budget = s
            .engine
            .spend()
            .as_ref()
            .and_then(ServeGate::settles_given_up);
        (s.engine.limiter().settles_given_up(), budget)
    });
    let mut out = String::new();
    if let Some(n) = layers {
        spillway_gateway::family(
            &mut out,
            "spillway_layer_settles_given_up_total",
            "counter",
            "Shared-layer settlements given up: retried while Redis surely did not run them, \
or at once when their reply was lost (they may have run once; never twice). One not run \
leaves the call's estimate charged: a refund or an extra charge was lost.",
            vec![(String::new(), n)],
        );
    }
    if let Some(n) = budget {
        spillway_gateway::family(
            &mut out,
            "spillway_budget_settles_given_up_total",
            "counter",
            "Shared-budget settlements and releases given up after retrying \
(a settle booked nothing in Redis, a release left its estimate reserved until the lease lapses).",
            vec![(String::new(), n)],
        );
    }
    out
}

fn router(proxy: Arc<Proxy>) -> Router {
    let route = |shape: Shape| post(move |state, req| proxy::forward(state, shape, req));
    let metrics = |axum::extract::State(p): axum::extract::State<Arc<Proxy>>| async move {
        (
            [("content-type", "text/plain; version=0.0.4")],
            p.runtime.metrics_text() + &settles_given_up(&p.runtime),
        )
    };
    Router::new()
        .route("/v1/chat/completions", route(Shape::Chat))
        .route("/v1/completions", route(Shape::Completion))
        .route("/v1/embeddings", route(Shape::Embedding))
        .route("/v1/models", get(proxy::models))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .fallback(|| async {
            spillway_gateway::headers::error(
                axum::http::StatusCode::NOT_FOUND,
                "spillway serve serves POST /v1/chat/completions, /v1/completions, /v1/embeddings, GET /v1/models, /healthz and /metrics",
                "invalid_request_error",
                "unknown_url",
            )
        })
        .with_state(proxy)
}

/// The primary upstream: `--upstream`, else `serve.upstream`, with its key.
fn upstream(
    flag: Option<&str>,
    spec: Option<&ServeSpec>,
    file: &std::path::Path,
) -> Result<Upstream, Failure> {
    let key = load_key(spec.and_then(|s| s.upstream_key.as_ref()))?;
    let base = match (flag, spec) {
        (Some(url), _) => spillway_core::policy::base_url::check(url)
            .map_err(|m| Failure::BadInput(format!("--upstream: {m}")))?,
        (None, Some(s)) => s.upstream.clone(),
        (None, None) => {
            return Err(Failure::BadInput(format!(
                "{}: serve: the policy file has no `serve:` block and no --upstream was given; add `serve: {{ upstream: http://HOST:PORT }}` or pass --upstream URL",
                file.display()
            )));
        }
    };
    Ok(Upstream::new(base, key))
}

/// Read an upstream key from its source (env or file), refused as `Secret::new` refuses one
/// (empty, or a control character no header can carry); the message never shows the secret.
fn load_key(source: Option<&spillway_core::keys::SecretSource>) -> Result<Option<String>, Failure> {
    source
        .map(|s| {
            process_lookup(s)
                .and_then(|k| checked_secret(&k, s).map(str::to_string))
                .map_err(|e| Failure::BadInput(format!("serve: upstream key: {e}")))
        })
        .transpose()
}
