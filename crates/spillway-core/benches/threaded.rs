//! Thread-safe limiters against governor, like for like: same quota, same hasher (FxHash),
//! same plain time source (`common::PlainClock`), same harness, 1 and 2 threads.
//!
//! Each thread performs `iters` acquires of cost 1, advancing its clock 4 ns per call; the
//! figure is wall time per call per thread (the slowest thread). The burst (2^30) is large
//! enough that clock skew between threads never causes denials, so the allowed path, the
//! common one, is measured on both sides.

mod common;

use common::{PlainClock, now, publish, scattered, sync, tick};
use criterion::{Criterion, criterion_group};
use governor::{Quota, RateLimiter};
use spillway_core::clock::{Clock, RealClock};
use spillway_core::limit::{AtomicGcra, Gcra, KeyedGcra, Limiter, ShardedKeyedGcra};
use spillway_core::{Duration, Time};
use std::hint::black_box;
use std::num::NonZeroU32;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

const KEYS: u64 = 1_000_000;
const BURST: u32 = 1 << 30;
const STEP: u64 = 4;

fn quota() -> Quota {
    Quota::per_second(NonZeroU32::new(1_000_000_000).expect("non-zero"))
        .allow_burst(NonZeroU32::new(BURST).expect("non-zero"))
}

/// Where the next sample's `i` starts: each sample continues the walk of the last instead of
/// replaying keys `0..iters`, so a sample never finds its keys cached by the previous one
/// (the keyed bench measures 1 M resident keys visited in a scattered order, as `limiters.rs`).
static NEXT_I: AtomicU64 = AtomicU64::new(0);

/// Run `op(thread, i)` for `iters` consecutive `i` on `threads` threads; the slowest thread's
/// time. The time is read through the crate's one sanctioned clock ([`RealClock`]), not
/// `Instant`.
fn on_threads<F: Fn(u64, u64) + Sync + ?Sized>(
    threads: u64,
    iters: u64,
    op: &F,
) -> std::time::Duration {
    let first = NEXT_I.fetch_add(iters, Ordering::Relaxed);
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                s.spawn(move || {
                    sync();
                    let clock = RealClock::new();
                    for i in first..first.wrapping_add(iters) {
                        tick(STEP);
                        op(t, i);
                    }
                    let elapsed = std::time::Duration::from_nanos(clock.now().as_nanos());
                    publish();
                    elapsed
                })
            })
            .collect();
        (handles.into_iter())
            .map(|h| h.join().expect("bench thread"))
            .max()
            .unwrap_or_default()
    })
}

fn direct(c: &mut Criterion) {
    let mut g = c.benchmark_group("threaded direct");
    sync();
    let ours =
        AtomicGcra::new(u64::from(BURST), 1_000_000_000, Duration::from_secs(1)).expect("valid");
    let locked = Mutex::new(
        Gcra::new(u64::from(BURST), 1_000_000_000, Duration::from_secs(1)).expect("valid"),
    );
    let governor = RateLimiter::direct_with_clock(quota(), PlainClock);
    for threads in [1u64, 2] {
        g.bench_function(
            format!("spillway AtomicGcra::acquire, {threads} thr"),
            |b| {
                b.iter_custom(|iters| {
                    on_threads(threads, iters, &|_, _| {
                        black_box(ours.acquire(Time::from_nanos(now()), 1).is_ok());
                    })
                })
            },
        );
        g.bench_function(format!("governor direct check, {threads} thr"), |b| {
            b.iter_custom(|iters| {
                on_threads(threads, iters, &|_, _| {
                    black_box(governor.check().is_ok());
                })
            })
        });
        g.bench_function(format!("Mutex<Gcra>::acquire, {threads} thr"), |b| {
            b.iter_custom(|iters| {
                on_threads(threads, iters, &|_, _| {
                    let mut bucket = locked.lock().expect("not poisoned");
                    black_box(bucket.acquire(Time::from_nanos(now()), 1).is_ok());
                })
            })
        });
    }
    g.finish();
}

fn keyed(c: &mut Criterion) {
    let mut g = c.benchmark_group("threaded keyed 1M keys");
    sync();
    let ours = ShardedKeyedGcra::new(u64::from(BURST), 1_000_000_000, Duration::from_secs(1))
        .expect("valid");
    let hashmap = common::fx_hashmap(quota());
    let dashmap = common::fx_dashmap(quota());
    for k in 0..KEYS {
        let _ = ours.acquire(Time::from_nanos(now()), &k, 1);
        let _ = hashmap.check_key(&k);
        let _ = dashmap.check_key(&k);
    }
    publish();
    for threads in [1u64, 2] {
        g.bench_function(
            format!("spillway ShardedKeyedGcra::acquire, {threads} thr"),
            |b| {
                b.iter_custom(|iters| {
                    on_threads(threads, iters, &|t, i| {
                        black_box(ours.acquire(Time::from_nanos(now()), &key(t, i), 1).is_ok());
                    })
                })
            },
        );
        g.bench_function(
            format!("governor hashmap FxHash check_key, {threads} thr"),
            |b| {
                b.iter_custom(|iters| {
                    on_threads(threads, iters, &|t, i| {
                        black_box(hashmap.check_key(&key(t, i)).is_ok());
                    })
                })
            },
        );
        g.bench_function(
            format!("governor dashmap FxHash check_key, {threads} thr"),
            |b| {
                b.iter_custom(|iters| {
                    on_threads(threads, iters, &|t, i| {
                        black_box(dashmap.check_key(&key(t, i)).is_ok());
                    })
                })
            },
        );
    }
    g.finish();
}

/// Thread `t`'s `i`-th key: a scattered walk over the 1 M keys, threads half the keys apart.
fn key(t: u64, i: u64) -> u64 {
    scattered(i.wrapping_add(t * KEYS / 2), KEYS)
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_secs(2))
        .sample_size(20)
}

/// Calls per contender (per thread) per round of [`interleaved`].
const BATCH: u64 = 200_000;

/// A contender of [`interleaved`]: `op(thread, i)` makes thread `thread`'s `i`-th call.
type Shared<'a> = (&'static str, &'a (dyn Fn(u64, u64) + Sync));

/// `SPILLWAY_INTERLEAVE=<rounds>`: before criterion, time the limiters in alternating
/// batches (order rotated each round) and print each one's median ns per call and its median
/// same-round ratio to the first. Why: on a shared machine criterion measures the contenders
/// seconds apart, under different load; a batch takes milliseconds, so a round's ratio
/// compares like with like even when the absolute times drift.
fn interleaved() {
    let Some(rounds) = std::env::var("SPILLWAY_INTERLEAVE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
    else {
        return;
    };
    // `SPILLWAY_INTERLEAVE_GROUP=direct` or `keyed` runs one group (the keyed setup alone
    // fills four 1 M-key tables).
    let group = std::env::var("SPILLWAY_INTERLEAVE_GROUP").unwrap_or_default();
    if group != "keyed" {
        interleaved_direct(rounds);
    }
    if group == "direct" {
        return;
    }
    let sharded = ShardedKeyedGcra::new(u64::from(BURST), 1_000_000_000, Duration::from_secs(1))
        .expect("valid");
    let mut plain =
        KeyedGcra::new(u64::from(BURST), 1_000_000_000, Duration::from_secs(1)).expect("valid");
    let hashmap = common::fx_hashmap(quota());
    let dashmap = common::fx_dashmap(quota());
    for k in 0..KEYS {
        let t = Time::from_nanos(now());
        let _ = (sharded.acquire(t, &k, 1), plain.acquire(t, &k, 1));
        let _ = (hashmap.check_key(&k), dashmap.check_key(&k));
    }
    publish();
    let at = || Time::from_nanos(now());
    let shared: [Shared<'_>; 3] = [
        ("ShardedKeyedGcra::acquire", &|t, i| {
            drop(black_box(sharded.acquire(at(), &key(t, i), 1)))
        }),
        ("governor hashmap FxHash", &|t, i| {
            drop(black_box(hashmap.check_key(&key(t, i))))
        }),
        ("governor dashmap FxHash", &|t, i| {
            drop(black_box(dashmap.check_key(&key(t, i))))
        }),
    ];
    let names = shared.map(|(name, _)| name);
    for threads in [1, 2] {
        report(&format!("1M keys, {threads} thr"), rounds, &names, |j| {
            on_threads(threads, BATCH, shared[j].1).as_nanos() as f64 / BATCH as f64
        });
    }
    sync();
    let (mut i, hashmap) = (0u64, &hashmap);
    report(
        "1M keys, 1 thr",
        rounds,
        &["KeyedGcra::acquire", names[1]],
        |j| {
            let clock = RealClock::new();
            for _ in 0..BATCH {
                i += 1;
                tick(STEP);
                if j == 0 {
                    drop(black_box(plain.acquire(at(), &key(0, i), 1)));
                } else {
                    drop(black_box(hashmap.check_key(&key(0, i))));
                }
            }
            clock.now().as_nanos() as f64 / BATCH as f64
        },
    );
}

/// The direct (one bucket) limiters of [`direct`], in alternating batches as [`interleaved`]:
/// with two threads on one atomic, criterion's medians move by half between runs (they depend
/// on how the two threads happen to be scheduled), so only a same-round ratio compares them.
fn interleaved_direct(rounds: usize) {
    let ours =
        AtomicGcra::new(u64::from(BURST), 1_000_000_000, Duration::from_secs(1)).expect("valid");
    let locked = Mutex::new(
        Gcra::new(u64::from(BURST), 1_000_000_000, Duration::from_secs(1)).expect("valid"),
    );
    let governor = RateLimiter::direct_with_clock(quota(), PlainClock);
    let at = || Time::from_nanos(now());
    let shared: [Shared<'_>; 3] = [
        ("AtomicGcra::acquire", &|_, _| {
            drop(black_box(ours.acquire(at(), 1)))
        }),
        ("governor direct", &|_, _| drop(black_box(governor.check()))),
        ("Mutex<Gcra>::acquire", &|_, _| {
            let mut bucket = locked.lock().expect("not poisoned");
            drop(black_box(bucket.acquire(at(), 1)));
        }),
    ];
    let names = shared.map(|(name, _)| name);
    for threads in [1, 2] {
        report(&format!("direct, {threads} thr"), rounds, &names, |j| {
            on_threads(threads, BATCH, shared[j].1).as_nanos() as f64 / BATCH as f64
        });
    }
}

/// `rounds` rounds of `run(j)` (one batch of contender `j`, ns per call) in rotated order;
/// prints the medians.
fn report(label: &str, rounds: usize, names: &[&str], mut run: impl FnMut(usize) -> f64) {
    let n = names.len();
    let (mut times, mut ratios) = (vec![Vec::new(); n], vec![Vec::new(); n]);
    for round in 0..rounds {
        let mut ns = vec![0.0; n];
        for j in (0..n).map(|j| (j + round) % n) {
            ns[j] = run(j);
        }
        for j in 0..n {
            times[j].push(ns[j]);
            ratios[j].push(ns[j] / ns[0]);
        }
    }
    for (j, name) in names.iter().enumerate() {
        let (t, r) = (median(&mut times[j]), median(&mut ratios[j]));
        println!("interleaved {label}, {rounds} rounds: {name} {t:.1} ns, {r:.2}x the first");
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

criterion_group! { name = benches; config = config(); targets = direct, keyed }

fn main() {
    interleaved();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
