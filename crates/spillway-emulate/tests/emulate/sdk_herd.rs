//! Issue 15 item 4, the count: N independent official `openai` SDK clients (python threads,
//! each its own `OpenAI()` with the default retries, one call each, all at once) against
//! `spillway emulate`, and the same N clients in the simulator as `client: openai-python`
//! (`coordinated: false`): total HTTP calls and retries agree within 5 %.
//!
//! Why the comparison is robust (and holds no timed assertion: it compares counts): each case
//! is built so that only the protocol decides the counts, never wall-clock jitter.
//! - `windows`: Azure's fixed 10-s sub-window admits K calls; every refusal carries
//!   `retry-after-ms` = the time to the window's end, which the SDK obeys exactly (under its
//!   120 s cap), so every refused client retries just after the boundary, K of them get in,
//!   and after the SDK's 3 attempts the rest fail. Calls = N + (N−K) + (N−2K), whatever the
//!   order, as long as each round lands inside one window: the clients, once all built, start
//!   a tenth of a window after a boundary (a window is 2 s of real time at 5×; a round
//!   spreads over milliseconds, and each retry waits exactly its hint: to the next boundary).
//!   The backoff and its jitter never run (there is always a hint).
//! - `long-hint`: a daily quota of K; a refusal's `retry-after` is hours away, beyond the
//!   SDK's `MAX_RETRY_AFTER_DELAY` (120 s), so the SDK raises at once: N calls, no retry.
//!   The preset used to back off instead (hints over 60 s "ignored"): it predicted
//!   N + 2(N−K) calls. Reading openai 3.60's `_base_client.py` showed the SDK right.
//! - `down`: an outage (503, no hint) longer than any backoff: every attempt fails whenever
//!   it lands, so only the SDK's attempt count matters: 3N calls, 2N retries, N failures.
//!
//! Skips loudly without the package; fails instead when `SPILLWAY_REQUIRE_OPENAI=1`.

use crate::fixtures::{library, start};
use serde_json::Value;
use spillway_core::{Duration, Time};
use spillway_emulate::{Running, TimeScale, profile};
use spillway_sim::provider::{OutageSpec, ProviderSpec};
use spillway_sim::{RunOptions, run_policy};
use std::io::Write;
use std::path::Path;
use std::process::Command;

/// What a run came to: HTTP calls, retries among them, clients served and failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Counts {
    calls: u64,
    retries: u64,
    completed: u64,
    failed: u64,
}

/// A provider, a crowd of SDK clients, and what the protocol makes of them.
struct Herd {
    name: &'static str,
    profile: &'static str,
    scale: &'static str,
    clients: usize,
    /// Start the clients just after a boundary of this emulated window (fixed windows).
    align: Option<Duration>,
    /// Down (503, no hint) for the whole run.
    down: bool,
    /// The counts the protocol implies (see the module docs).
    expected: Counts,
}

/// 24 RPM as 4 calls per 10-s window; 20 clients: 20 + 16 + 12 calls, 8 give up.
const WINDOWS: Herd = Herd {
    name: "sdk-herd-windows",
    profile: "profiles:\n  - name: sdk-herd-windows\n    kind: azure\n    rpm: 24\n    tpm: 10000000\n    sub_window: 10s\n    concurrency: 100\n    latency: { model: constant, mean: 300ms }\n",
    scale: "5",
    clients: 20,
    align: Some(Duration::from_secs(10)),
    down: false,
    expected: Counts {
        calls: 48,
        retries: 28,
        completed: 12,
        failed: 8,
    },
};

/// 4 requests a day; 12 clients: 4 served, 8 told to wait 6 h, which the SDK refuses to do.
const LONG_HINT: Herd = Herd {
    name: "sdk-herd-long-hint",
    profile: "profiles:\n  - name: sdk-herd-long-hint\n    kind: openai\n    rpm: 6000\n    tpm: 10000000\n    rpd: 4\n    retry_after_probability: 1.0\n    concurrency: 100\n    latency: { model: constant, mean: 300ms }\n",
    scale: "10",
    clients: 12,
    align: None,
    down: false,
    expected: Counts {
        calls: 12,
        retries: 0,
        completed: 4,
        failed: 8,
    },
};

/// Down for an hour, 503 without a hint; 10 clients: each tries 3 times on its backoff.
const DOWN: Herd = Herd {
    name: "sdk-herd-down",
    profile: "profiles:\n  - name: sdk-herd-down\n    kind: openai\n    rpm: 6000\n    tpm: 10000000\n    concurrency: 100\n    latency: { model: constant, mean: 300ms }\n",
    scale: "10",
    clients: 10,
    align: None,
    down: true,
    expected: Counts {
        calls: 30,
        retries: 20,
        completed: 0,
        failed: 10,
    },
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_sdk_clients_back_off_from_an_outage_as_the_simulator_predicts() {
    compare(&DOWN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_sdk_clients_meet_fixed_windows_as_the_simulator_predicts() {
    compare(&WINDOWS).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn independent_sdk_clients_refuse_a_long_hint_as_the_simulator_predicts() {
    compare(&LONG_HINT).await;
}

/// Run `herd` for real and in the simulator; the simulator must give the protocol's counts
/// and the real SDK the simulator's, within 5 %.
async fn compare(herd: &Herd) {
    // The simulator's half needs no python: it always runs.
    let sim = simulate(herd);
    assert_eq!(sim, herd.expected, "{}: the simulator", herd.name);
    if !crate::openai_sdk::openai_installed() {
        spillway_testkit::skip_or_fail(
            "SPILLWAY_REQUIRE_OPENAI",
            "openai python package not installed (pip install openai)",
        );
        return;
    }
    let (real, version) = run_real(herd).await;
    let line = format!(
        "{}: openai-python {version}, {} clients: real {real:?}; simulated {sim:?}\n",
        herd.name, herd.clients
    );
    let _ = std::io::stdout().write_all(line.as_bytes());
    let close = |a: u64, b: u64| a.abs_diff(b) * 100 <= b * 5;
    assert!(close(real.calls, sim.calls), "{}: calls {line}", herd.name);
    assert!(close(real.retries, sim.retries), "{}: {line}", herd.name);
    assert_eq!(
        (real.completed, real.failed),
        (sim.completed, sim.failed),
        "{}: {line}",
        herd.name
    );
}

/// The provider both runs meet: the profile, down from the start for an hour if `down`.
fn provider(herd: &Herd) -> ProviderSpec {
    let path = library(herd.name, herd.profile);
    let mut spec = profile::resolve(path.to_str().expect("utf-8"), Path::new("unused"))
        .unwrap_or_else(|e| panic!("{e}"));
    if herd.down {
        spec.outages.push(OutageSpec {
            start: Time::ZERO,
            end: Time::ZERO.saturating_add(Duration::from_secs(3_600)),
            status: 503,
        });
    }
    spec
}

/// The herd in the simulator: one trace row per client at t = 0, `client: openai-python`,
/// and the emulator's own provider spec.
fn simulate(herd: &Herd) -> Counts {
    let providers = library(herd.name, herd.profile);
    let dir = providers.parent().expect("temp dir");
    let mut csv = String::from("ts_ms,user,class,feature,prompt_tokens,completion_tokens\n");
    for i in 0..herd.clients {
        csv.push_str(&format!("0,client-{i},standard,chat,20,5\n"));
    }
    std::fs::write(dir.join("herd.csv"), csv).expect("write trace");
    let yaml = "name: sdk-herd\nseed: 1\nduration: 1s\ndrain: 30m\nprovider: { name: p, kind: unlimited, concurrency: 1, latency: { base: 1ms } }\ntraffic:\n  trace:\n    path: herd.csv\n    format: csv\n    columns: { time: ts_ms, input_tokens: prompt_tokens, output_tokens: completion_tokens, user: user, class: class, feature: feature }\n    time_unit: ms\n    on_error: stop\n    mix:\n      - { class: standard, feature: chat, output_estimate: 5 }\npolicies:\n  - name: openai-python\n    max_in_flight: 1000\n    upstream: { client: openai-python }\n";
    let path = dir.join("herd.yaml");
    std::fs::write(&path, yaml).expect("write scenario");
    let mut s = spillway_sim::scenario::load(&path).unwrap_or_else(|e| panic!("{e}"));
    s.provider = provider(herd);
    let options = RunOptions {
        seed: s.seed,
        duration: s.duration,
    };
    let m = run_policy(&s, &s.policies[0], &options, &mut |_| {}).expect("runs");
    let t = m.total();
    Counts {
        calls: t.upstream_calls,
        retries: t.retries,
        completed: t.completed,
        failed: t.failed,
    }
}

/// The herd for real: the server's log counts calls and retries (`x-stainless-retry-count`),
/// the SDK's answers count the served and the failed. Returns the counts and the SDK version.
async fn run_real(herd: &Herd) -> (Counts, String) {
    let server = start(provider(herd), herd.scale).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/emulate/sdk_herd.py");
    let [boundary, period, offset] = start_args(&server, herd);
    let args = [
        script.to_string(),
        format!("http://{}/v1", server.addr()),
        herd.clients.to_string(),
        boundary,
        period,
        offset,
    ];
    let out = tokio::task::spawn_blocking(move || Command::new("python3").args(args).output())
        .await
        .expect("joined")
        .expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.trim()).expect("the script prints JSON");
    let log = server.calls();
    server.stop().await.expect("stops");
    let clients = seen["clients"].as_array().expect("clients");
    let served = clients.iter().filter(|c| c["status"] == 200).count() as u64;
    let counts = Counts {
        calls: log.len() as u64,
        retries: log
            .iter()
            .filter(|r| r.retry_count.is_some_and(|k| k > 0))
            .count() as u64,
        completed: served,
        failed: clients.len() as u64 - served,
    };
    let version = seen["version"].as_str().unwrap_or("?").to_string();
    (counts, version)
}

/// When the clients fire, as the script's `BOUNDARY PERIOD OFFSET` (Unix seconds): the first
/// emulated window boundary after the start and the window, both in real time, and a tenth of
/// a window past the boundary (so the first round lands inside one window); `0 0 0`: at once.
fn start_args(server: &Running, herd: &Herd) -> [String; 3] {
    let Some(window) = herd.align else {
        return ["0".into(), "0".into(), "0".into()];
    };
    let scale = TimeScale::parse(herd.scale).expect("scale");
    let wall = u64::try_from(server.wall_start().as_nanos()).expect("after 1970");
    let w = window.as_nanos();
    // The provider's wall clock is the start plus the emulated time: back by the scale.
    let to_boundary = scale.to_real(Duration::from_nanos(wall.div_ceil(w) * w - wall));
    let secs = |d: Duration| format!("{:.6}", d.as_secs_f64());
    let boundary = (wall + to_boundary.as_nanos()) as f64 / 1e9;
    let period = scale.to_real(window);
    [
        format!("{boundary:.6}"),
        secs(period),
        secs(Duration::from_nanos(period.as_nanos() / 10)),
    ]
}
