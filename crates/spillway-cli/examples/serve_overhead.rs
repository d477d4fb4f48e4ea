//! What `spillway serve` adds: latency p50/p99 at a fixed rate against calling the stub
//! directly, and requests per CPU-second of the serve process at saturation.
//!
//! Run by hand (release binaries; the machine should be otherwise quiet):
//! ```text
//! cargo build --release -p spillway-cli
//! cargo run --release -p spillway-cli --example serve_overhead [-- RATE SECONDS ROUNDS]
//! ```
//! It starts `spillway emulate` (a stub with 1 ms service time) and `spillway serve` in front
//! of it (one per-user layer far from its limit, so every request is admitted and dispatched
//! at once), then alternates open-loop phases — direct, through serve, ROUNDS times (default 2)
//! — at RATE requests/s (default 1000) for SECONDS each (default 10): more, shorter rounds
//! spread the machine's drift over both paths alike. Finally a closed
//! loop of 64 clients through serve for SECONDS, reading the serve process's CPU time from
//! `/proc` (Linux). Latency is measured with the sanctioned `RealClock`.

use hdrhistogram::Histogram;
use spillway_core::clock::{Clock, RealClock};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

const BODY: &str =
    r#"{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hello"}],"max_tokens":1}"#;

struct Proc(Child, String);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(bin: &str, args: &[&str]) -> Proc {
    let mut child = Command::new(bin)
        .args(args)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the spillway binary (cargo build --release -p spillway-cli first)");
    let mut reader = BufReader::new(child.stdout.take().expect("piped"));
    let mut banner = String::new();
    reader.read_line(&mut banner).expect("banner");
    std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
    let addr = banner
        .split("http://")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .expect("address in banner")
        .to_string();
    Proc(child, format!("http://{addr}"))
}

fn policy_file() -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!(
        "spillway-serve-overhead-{}.yaml",
        std::process::id()
    ));
    let yaml = "duration: 1m\n\
provider:\n  name: stub\n  rpm: 100000000\n  tpm: 100000000000\n  concurrency: 100000\n  \
latency: { base: 1ms, per_output_token: 0ms }\n\
traffic:\n  groups:\n    - { name: g, users: 1, class: interactive, arrival: { poisson: { rate: 1/min } }, \
input_tokens: { median: 10, sigma: 0 }, output_tokens: { median: 1, sigma: 0 } }\n\
layers:\n  - { name: per-user, scope: user, algorithm: token-bucket, limit: 1000000000, per: 1s }\n\
policies:\n  - name: bench\n    layers: [per-user]\n    max_in_flight: 100000\n    queue_capacity: 100000\n";
    std::fs::write(&path, yaml).expect("write policy");
    path
}

/// Open loop: one request every 1/rate s for `secs`; latency of each (µs).
async fn open_loop(client: &reqwest::Client, url: &str, rate: u64, secs: u64) -> Histogram<u64> {
    let clock = RealClock::new();
    let hist = Arc::new(Mutex::new(Histogram::<u64>::new(3).expect("histogram")));
    let mut tick = tokio::time::interval(std::time::Duration::from_nanos(1_000_000_000 / rate));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut tasks = Vec::new();
    for _ in 0..rate * secs {
        tick.tick().await;
        let (client, url, hist) = (
            client.clone(),
            format!("{url}/v1/chat/completions"),
            hist.clone(),
        );
        let sent = clock.now();
        tasks.push(tokio::spawn(async move {
            let resp = client.post(url).body(BODY).send().await.expect("answer");
            assert!(resp.status().is_success(), "{}", resp.status());
            let _ = resp.bytes().await;
            let us = clock.now().saturating_since(sent).as_nanos() / 1000;
            hist.lock()
                .expect("lock")
                .record(us.max(1))
                .expect("record");
        }));
    }
    for t in tasks {
        t.await.expect("request");
    }
    Arc::try_unwrap(hist)
        .expect("alone")
        .into_inner()
        .expect("lock")
}

/// CPU seconds (user + system) of process `pid` so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let fields: Vec<&str> = stat
        .rsplit(')')
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Fields 14 and 15 of stat (utime, stime), counted after the `)`; 100 ticks/s on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

/// Closed loop: `clients` clients for `secs`; requests completed.
async fn closed_loop(client: &reqwest::Client, url: &str, clients: usize, secs: u64) -> u64 {
    let clock = RealClock::new();
    let end = clock
        .now()
        .saturating_add(spillway_core::Duration::from_secs(secs));
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let (client, url) = (client.clone(), format!("{url}/v1/chat/completions"));
            tokio::spawn(async move {
                let mut done = 0u64;
                while clock.now() < end {
                    let resp = client.post(&url).body(BODY).send().await.expect("answer");
                    let _ = resp.bytes().await;
                    done += 1;
                }
                done
            })
        })
        .collect();
    let mut total = 0;
    for t in tasks {
        total += t.await.expect("client");
    }
    total
}

fn show(label: &str, h: &Histogram<u64>) {
    let ms = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{label:<16} n={:>6}  p50 {:>7.3} ms  p99 {:>7.3} ms  max {:>7.3} ms",
        h.len(),
        ms(0.5),
        ms(0.99),
        h.max() as f64 / 1000.0
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let (rate, secs, rounds) = (
        args.first().copied().unwrap_or(1000),
        args.get(1).copied().unwrap_or(10),
        args.get(2).copied().unwrap_or(2),
    );
    let bin = std::env::var("SPILLWAY_BIN").unwrap_or_else(|_| "target/release/spillway".into());
    let policy = policy_file();
    let file = policy.to_str().expect("utf-8");
    let stub = start(
        &bin,
        &["emulate", "--profile", file, "--listen", "127.0.0.1:0"],
    );
    let serve = start(
        &bin,
        &[
            "serve",
            "--policy",
            file,
            "--upstream",
            &stub.1,
            "--listen",
            "127.0.0.1:0",
        ],
    );
    let client = reqwest::Client::new();
    // Warm both paths (connections, allocator).
    open_loop(&client, &stub.1, rate, 1).await;
    open_loop(&client, &serve.1, rate, 1).await;
    let (mut direct, mut proxied) = (
        Histogram::<u64>::new(3).expect("h"),
        Histogram::<u64>::new(3).expect("h"),
    );
    for _ in 0..rounds {
        direct
            .add(open_loop(&client, &stub.1, rate, secs).await)
            .expect("add");
        proxied
            .add(open_loop(&client, &serve.1, rate, secs).await)
            .expect("add");
    }
    println!("open loop at {rate} req/s, {rounds} x {secs} s each, interleaved:");
    show("direct to stub", &direct);
    show("through serve", &proxied);
    let added = |q: f64| {
        (proxied.value_at_quantile(q) as f64 - direct.value_at_quantile(q) as f64) / 1000.0
    };
    println!(
        "added by serve:  p50 {:.3} ms  p99 {:.3} ms",
        added(0.5),
        added(0.99)
    );
    let pid = serve.0.id();
    let before = cpu_seconds(pid);
    let done = closed_loop(&client, &serve.1, 64, secs).await;
    let cpu = cpu_seconds(pid) - before;
    println!(
        "closed loop, 64 clients, {secs} s through serve: {done} requests = {:.0} req/s; serve used {cpu:.2} CPU-s = {:.0} req per CPU-second",
        done as f64 / secs as f64,
        done as f64 / cpu.max(0.01)
    );
    let _ = std::fs::remove_file(&policy);
}
