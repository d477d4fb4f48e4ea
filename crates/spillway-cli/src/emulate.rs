//! `spillway emulate`: serve a provider of the provider library over HTTP (see
//! `spillway_emulate`), until Ctrl-C.

use crate::Failure;
use clap::Args;
use spillway_emulate::profile::{DEFAULT_LIBRARY, resolve};
use spillway_emulate::server::{DEFAULT_MAX_BODY, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_IN_FLIGHT};
use spillway_emulate::{Config, TimeScale};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

/// The long `--help` text.
pub const LONG_ABOUT: &str = "Serve HTTP as if you were an LLM provider of the provider library: \
the simulator's own emulated provider answers every call (RPM/TPM/concurrency limits, header \
formats, 429/503/529 bodies, latency model, outages, shared quota), driven by the real clock.\n\n\
Endpoints: OpenAI POST /v1/chat/completions, /v1/completions, /v1/embeddings; Anthropic POST \
/v1/messages; GET /v1/models. Point an SDK at it: base_url http://ADDR/v1 (OpenAI) or \
http://ADDR (Anthropic). `stream: true` answers with server-sent events paced by the latency \
model (OpenAI chunks ending `data: [DONE]`, a usage chunk with stream_options.include_usage; \
Anthropic event types).\n\n\
Tokens: input = ceil(prompt characters / 4), at least 1; output = max_completion_tokens / \
max_tokens if given, else 64 (chat) or 16 (completions); usage reports both.\n\n\
Time scale: with --time-scale X the provider's clock runs X times faster than real time (10 = \
a minute's window passes in 6 s): limits refill, windows roll and latencies pass X times \
faster, and every duration sent to the client (retry-after, retry-after-ms, reset headers, \
\"try again in\" in bodies) is shown in real time (divided by X), so a client that waits what it \
is told waits the scaled time. Date and absolute resets are real wall-clock instants; outages \
and shared-quota windows count from the server's start on the provider's (scaled) clock.\n\n\
Bad requests (not JSON, no model, body over --max-body-bytes) get 400 with an OpenAI-style \
error body (Anthropic-style on /v1/messages). Over --max-in-flight calls: 503 with code \
`emulator_busy`. Ctrl-C stops accepting and finishes the calls in flight.";

/// Arguments of `emulate`.
#[derive(Args)]
#[command(
    after_help = "Examples:\n  spillway emulate --profile openai-tier1-gpt-4o-mini\n  \
spillway emulate --profile my-provider.yaml --listen 127.0.0.1:9000 --time-scale 10"
)]
pub struct EmulateArgs {
    /// A profile name of the library, or a YAML file: a library with one profile, or a
    /// scenario (its `provider:` block, outages and shared quota included).
    #[arg(long)]
    profile: String,
    /// The library `--profile NAME` is looked up in.
    #[arg(long, default_value = DEFAULT_LIBRARY)]
    library: PathBuf,
    /// Address to listen on (port 0 picks a free port; the address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// How many times faster than real time the provider runs (0.001 to 10000).
    #[arg(long, default_value = "1", value_parser = TimeScale::parse)]
    time_scale: TimeScale,
    /// Seed of the provider's random draws (latency jitter, overload, retry-after hints).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Connections held open at once (more wait to be accepted). A connection that sends no
    /// request head for --client-timeout (30s by default), new or idle between requests, is
    /// closed, so idle clients give their slots back.
    #[arg(long, default_value_t = DEFAULT_MAX_CONNECTIONS as u64, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_connections: u64,
    /// Longest a client may take to send a request head (on a new connection, or idle after an
    /// answer: the connection is then closed) and to send a request's body (past it: 400).
    #[arg(long, default_value = "30s", value_parser = crate::simulate::parse_duration_arg)]
    client_timeout: spillway_core::Duration,
    /// Calls answered at once (more get 503 `emulator_busy`).
    #[arg(long, default_value_t = DEFAULT_MAX_IN_FLIGHT as u64, value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    max_in_flight: u64,
    /// Largest request body in bytes (more: 400).
    #[arg(long, default_value_t = DEFAULT_MAX_BODY as u64, value_parser = clap::value_parser!(u64).range(1..=(64 << 20)))]
    max_body_bytes: u64,
}

/// Run the server until Ctrl-C.
pub fn run(args: &EmulateArgs) -> Result<(), Failure> {
    let spec = resolve(&args.profile, &args.library).map_err(|e| {
        let n = e.0.len();
        Failure::BadInput(format!(
            "{e}\n{n} error{} in --profile",
            if n == 1 { "" } else { "s" }
        ))
    })?;
    let (name, kind) = (spec.name.clone(), spec.kind.name());
    let mut config = Config::new(spec, args.listen);
    config.scale = args.time_scale;
    config.seed = args.seed;
    let size = |n: u64| usize::try_from(n).unwrap_or(usize::MAX);
    config.max_connections = size(args.max_connections);
    config.max_in_flight = size(args.max_in_flight);
    config.max_body = size(args.max_body_bytes);
    config.client_timeout = std::time::Duration::from_nanos(args.client_timeout.as_nanos());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Runtime(e.into()))?;
    let scale = args.time_scale;
    let ready = move |addr: SocketAddr| {
        let line = format!(
            "spillway emulate: {name} ({kind}) on http://{addr} at time scale {scale}; Ctrl-C stops\n"
        );
        let mut out = std::io::stdout();
        let _ = out.write_all(line.as_bytes()).and_then(|()| out.flush());
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    runtime
        .block_on(spillway_emulate::serve(config, ready, shutdown))
        .map_err(|e| Failure::Runtime(anyhow::anyhow!("cannot serve on {}: {e}", args.listen)))
}
