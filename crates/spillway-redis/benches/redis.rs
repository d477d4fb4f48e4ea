//! Checks per second against a private redis-server: one connection sequentially, pipelined
//! batches, and many calls in flight, next to a plain `INCR` round trip measured the same way
//! (the floor). Then p50/p99 latency per check from an hdrhistogram loop.
//!
//! `SPILLWAY_BENCH_CPU=1` runs instead the interleaved same-run comparisons of
//! `support/cpu.rs` (server CPU per call against peer scripts, sequential calls per second
//! against `INCR`) and `support/in_flight.rs` (64 pipelined or concurrent calls).
//!
//! Skips (prints a notice, exits 0) when `redis-server` is not installed.

use criterion::{BenchmarkId, Criterion, Throughput};
use spillway_core::limit::{Algorithm, Demand, LayerSpec, LimitSpec, Scope, Subject, Unit};
use spillway_core::{Duration, Time};
use spillway_redis::{RedisLayered, RedisLimiter, RedisStore, Request};
use std::cell::Cell;
use tokio::runtime::Runtime;

#[allow(dead_code)]
#[path = "../tests/redis/server.rs"]
mod server;

#[path = "support/cpu.rs"]
mod cpu;
#[path = "support/in_flight.rs"]
mod in_flight;

const BATCH: usize = 64;
const KEYS: u64 = 1_000;

fn spec(algorithm: Algorithm) -> LimitSpec {
    // Large enough that most checks admit, as in steady traffic; the script work is the same.
    LimitSpec {
        algorithm,
        limit: 1_000_000,
        window: Duration::from_secs(1),
        burst: None,
    }
}

/// Caller's time advancing 1 µs per call, keys rotating over `KEYS`.
struct Traffic {
    n: Cell<u64>,
    keys: Vec<String>,
}

impl Traffic {
    fn new() -> Self {
        Traffic {
            n: Cell::new(0),
            keys: (0..KEYS).map(|k| format!("user{k}")).collect(),
        }
    }
    fn next(&self) -> (&str, Time) {
        let n = self.n.get() + 1;
        self.n.set(n);
        (
            &self.keys[(n % KEYS) as usize],
            Time::from_nanos(1_700_000_000_000_000_000 + n * 1_000),
        )
    }
}

fn sequential(
    c: &mut Criterion,
    rt: &Runtime,
    store: &RedisStore,
    incr: &redis::aio::ConnectionManager,
) {
    let mut g = c.benchmark_group("sequential");
    g.throughput(Throughput::Elements(1));
    g.bench_function("INCR (floor)", |b| {
        let mut conn = incr.clone();
        b.iter(|| {
            rt.block_on(async {
                redis::cmd("INCR")
                    .arg("bench:counter")
                    .query_async::<i64>(&mut conn)
                    .await
                    .unwrap()
            })
        })
    });
    // The cost of scripting itself: EVALSHA of a script that does nothing, same connection.
    let noop = redis::Script::new("return 1");
    g.bench_function("EVALSHA return 1", |b| {
        let mut conn = incr.clone();
        b.iter(|| {
            rt.block_on(noop.prepare_invoke().invoke_async::<i64>(&mut conn))
                .unwrap()
        })
    });
    for algorithm in [
        Algorithm::TokenBucket,
        Algorithm::SlidingLog,
        Algorithm::SlidingCounter,
    ] {
        let limiter =
            RedisLimiter::new(store, &format!("seq{algorithm:?}"), spec(algorithm)).unwrap();
        let traffic = Traffic::new();
        g.bench_function(BenchmarkId::new("acquire", format!("{algorithm:?}")), |b| {
            b.iter(|| {
                let (key, now) = traffic.next();
                rt.block_on(limiter.acquire(key, now, 1)).unwrap()
            })
        });
    }
    let layers = vec![
        LayerSpec {
            name: "global".into(),
            scope: Scope::Global,
            unit: Unit::Requests,
            limit: spec(Algorithm::SlidingCounter),
        },
        LayerSpec {
            name: "per-user".into(),
            scope: Scope::User,
            unit: Unit::Tokens,
            limit: spec(Algorithm::TokenBucket),
        },
        LayerSpec {
            name: "per-feature".into(),
            scope: Scope::Feature,
            unit: Unit::Requests,
            limit: spec(Algorithm::SlidingLog),
        },
    ];
    let layered = RedisLayered::new(store, "bench", layers).unwrap();
    let traffic = Traffic::new();
    g.bench_function("acquire/Layered3", |b| {
        b.iter(|| {
            let (_, now) = traffic.next();
            let n = traffic.n.get();
            let subject = Subject {
                team: 0,
                user: n % KEYS,
                feature: n % 7,
                api_key: 0,
            };
            rt.block_on(layered.acquire(
                now,
                &subject,
                Demand {
                    requests: 1,
                    tokens: 100,
                },
            ))
            .unwrap()
        })
    });
    g.finish();
}

fn batched(
    c: &mut Criterion,
    rt: &Runtime,
    store: &RedisStore,
    incr: &redis::aio::ConnectionManager,
) {
    let mut g = c.benchmark_group("in-flight-64");
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function("INCR pipeline (floor)", |b| {
        let mut conn = incr.clone();
        b.iter(|| {
            let mut pipe = redis::pipe();
            for _ in 0..BATCH {
                pipe.cmd("INCR").arg("bench:counter");
            }
            rt.block_on(pipe.query_async::<Vec<i64>>(&mut conn))
                .unwrap()
        })
    });
    let limiter = RedisLimiter::new(store, "batch", spec(Algorithm::TokenBucket)).unwrap();
    let traffic = Traffic::new();
    g.bench_function("acquire_many/TokenBucket", |b| {
        b.iter(|| {
            let requests: Vec<Request<'_>> = (0..BATCH)
                .map(|_| {
                    let (key, now) = traffic.next();
                    Request { key, now, cost: 1 }
                })
                .collect();
            rt.block_on(limiter.acquire_many(&requests)).unwrap()
        })
    });
    g.bench_function("INCR concurrent tasks (floor)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut set = tokio::task::JoinSet::new();
                for _ in 0..BATCH {
                    let mut conn = incr.clone();
                    set.spawn(async move {
                        redis::cmd("INCR")
                            .arg("bench:counter")
                            .query_async::<i64>(&mut conn)
                            .await
                            .unwrap()
                    });
                }
                set.join_all().await
            })
        })
    });
    let shared = std::sync::Arc::new(
        RedisLimiter::new(store, "tasks", spec(Algorithm::TokenBucket)).unwrap(),
    );
    g.bench_function("acquire concurrent tasks/TokenBucket", |b| {
        b.iter(|| {
            let base = traffic.n.get();
            traffic.n.set(base + BATCH as u64);
            rt.block_on(async {
                let mut set = tokio::task::JoinSet::new();
                for i in 0..BATCH as u64 {
                    let limiter = shared.clone();
                    set.spawn(async move {
                        let n = base + i;
                        let key = format!("user{}", n % KEYS);
                        limiter
                            .acquire(
                                &key,
                                Time::from_nanos(1_700_000_000_000_000_000 + n * 1_000),
                                1,
                            )
                            .await
                            .unwrap()
                    });
                }
                set.join_all().await
            })
        })
    });
    g.finish();
}

/// p50/p99 of one sequential check, from `n` timed calls.
#[allow(clippy::disallowed_methods)] // a benchmark measures wall time
fn latency(rt: &Runtime, store: &RedisStore, incr: &redis::aio::ConnectionManager, n: u64) {
    let limiter = RedisLimiter::new(store, "latency", spec(Algorithm::TokenBucket)).unwrap();
    let traffic = Traffic::new();
    let mut conn = incr.clone();
    let mut check = hdrhistogram::Histogram::<u64>::new(3).unwrap();
    let mut floor = hdrhistogram::Histogram::<u64>::new(3).unwrap();
    rt.block_on(async {
        for _ in 0..n {
            let (key, now) = traffic.next();
            let t = std::time::Instant::now();
            limiter.acquire(key, now, 1).await.unwrap();
            check.record(t.elapsed().as_nanos() as u64).unwrap();
            let t = std::time::Instant::now();
            redis::cmd("INCR")
                .arg("bench:counter")
                .query_async::<i64>(&mut conn)
                .await
                .unwrap();
            floor.record(t.elapsed().as_nanos() as u64).unwrap();
        }
    });
    for (name, h) in [("acquire/TokenBucket", &check), ("INCR (floor)", &floor)] {
        println!(
            "latency {name}: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs ({n} calls)",
            h.value_at_quantile(0.5) as f64 / 1e3,
            h.value_at_quantile(0.99) as f64 / 1e3,
            h.max() as f64 / 1e3
        );
    }
}

/// p99.9 of a check's latency inside bursts of `width` concurrent checks (`rounds` bursts):
/// what the response timeout must exceed for a healthy Redis under a burst never to be taken
/// for an outage (the old 50 ms default fired at 2,000 concurrent checks).
#[allow(clippy::disallowed_methods)] // a benchmark measures wall time
fn burst_latency(rt: &Runtime, store: &RedisStore, width: usize, rounds: usize) {
    let limiter = std::sync::Arc::new(
        RedisLimiter::new(store, "burst", spec(Algorithm::TokenBucket)).unwrap(),
    );
    let mut h = hdrhistogram::Histogram::<u64>::new(3).unwrap();
    rt.block_on(async {
        for round in 0..rounds {
            let mut set = tokio::task::JoinSet::new();
            for i in 0..width {
                let limiter = limiter.clone();
                set.spawn(async move {
                    let key = format!("k{}", i % 500);
                    let now = spillway_core::Time::from_secs(1_000 + round as u64);
                    let t = std::time::Instant::now();
                    let v = limiter.check(&key, now, 1).await.unwrap();
                    assert_eq!(v.served_by, spillway_redis::ServedBy::Redis);
                    t.elapsed().as_nanos() as u64
                });
            }
            while let Some(ns) = set.join_next().await {
                h.record(ns.unwrap()).unwrap();
            }
        }
    });
    println!(
        "burst of {width} concurrent checks x {rounds}: p50 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        h.value_at_quantile(0.5) as f64 / 1e6,
        h.value_at_quantile(0.99) as f64 / 1e6,
        h.value_at_quantile(0.999) as f64 / 1e6,
        h.max() as f64 / 1e6
    );
}

fn main() {
    // Skips loudly (or fails under SPILLWAY_REQUIRE_REDIS) without redis-server.
    let Some(server) = server::Server::start(&[]) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(server::connect(server.config()));
    let incr = rt.block_on(async {
        redis::Client::open(server.url())
            .unwrap()
            .get_connection_manager()
            .await
            .unwrap()
    });
    if std::env::var("SPILLWAY_BENCH_CPU").is_ok() {
        // More rounds (SPILLWAY_BENCH_ROUNDS) tighten the medians on a noisy machine.
        let rounds = std::env::var("SPILLWAY_BENCH_ROUNDS")
            .ok()
            .and_then(|r| r.parse().ok())
            .unwrap_or(7);
        let mut loose = server.config();
        loose.exact_accounting = false;
        let loose = rt.block_on(server::connect(loose));
        cpu::server_cpu(&rt, (&store, &loose), &incr, rounds, 4_000);
        in_flight::in_flight(&rt, &store, &incr, rounds, 60);
        return;
    }
    if std::env::var("SPILLWAY_BENCH_BURST").is_ok() {
        burst_latency(&rt, &store, 2_000, 20);
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    sequential(&mut c, &rt, &store, &incr);
    batched(&mut c, &rt, &store, &incr);
    c.final_summary();
    latency(&rt, &store, &incr, 20_000);
    // Server-side CPU per command (excludes network and client): the script's own cost.
    let mut conn = incr.clone();
    let stats: String = rt
        .block_on(
            redis::cmd("INFO")
                .arg("commandstats")
                .query_async(&mut conn),
        )
        .unwrap();
    for line in stats.lines().filter(|l| {
        [
            "cmdstat_evalsha:",
            "cmdstat_fcall:",
            "cmdstat_incr:",
            "cmdstat_function",
        ]
        .iter()
        .any(|p| l.starts_with(p))
    }) {
        println!("server {line}");
    }
}
