//! Limiter speed, with governor as the anchor, like for like.
//!
//! These limiters are single-threaded (`&mut self`, time passed in); governor's are
//! thread-safe and read a clock. Both sides read the same plain per-thread counter
//! (`common::PlainClock`: no atomic, no syscall) and governor's keyed map uses FxHash like
//! ours, so the comparison is the cost of the decision and the lookup. The thread-safe
//! limiters are compared in `threaded.rs`.
//!
//! Every iteration advances virtual time by 1 ns and asks for cost 1 at a rate high enough
//! that the allowed path is measured (the common case in production).

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
mod common;

use common::{PlainClock, now, scattered, tick};
use governor::{Quota, RateLimiter};
use spillway_core::limit::{
    Algorithm, AnyLimiter, Demand, FixedWindow, Gcra, Keyed, KeyedGcra, LayerSpec, Layered,
    LimitSpec, Limiter, Scope, SlidingWindowCounter, SlidingWindowLog, Subject, Unit,
};
use spillway_core::{Duration, Time};
use std::hint::black_box;
use std::num::NonZeroU32;

const KEYS: u64 = 1_000_000;

fn fast_quota() -> Quota {
    Quota::per_second(NonZeroU32::new(1_000_000_000).expect("non-zero"))
        .allow_burst(NonZeroU32::new(1_000).expect("non-zero"))
}

fn fast_bucket() -> Gcra {
    Gcra::new(1_000, 1_000_000_000, Duration::from_secs(1)).expect("valid")
}

fn direct(c: &mut Criterion) {
    let mut g = c.benchmark_group("direct");
    let mut bucket = fast_bucket();
    g.bench_function("spillway Gcra::acquire", |b| {
        b.iter(|| {
            tick(1);
            black_box(bucket.acquire(Time::from_nanos(common::now()), 1))
        })
    });
    let mut now = common::now();
    let limiter = RateLimiter::direct_with_clock(fast_quota(), PlainClock);
    g.bench_function("governor direct check (plain clock)", |b| {
        b.iter(|| {
            tick(1);
            black_box(limiter.check().is_ok())
        })
    });
    let mut any = AnyLimiter::TokenBucket(fast_bucket());
    g.bench_function("spillway AnyLimiter(Gcra)::acquire", |b| {
        b.iter(|| {
            now += 1;
            black_box(any.acquire(Time::from_nanos(now), 1))
        })
    });
    let mut log = SlidingWindowLog::new(10_000, Duration::from_micros(1)).expect("valid");
    g.bench_function("spillway SlidingWindowLog::acquire", |b| {
        b.iter(|| {
            now += 1;
            black_box(log.acquire(Time::from_nanos(now), 1))
        })
    });
    let mut counter = SlidingWindowCounter::new(10_000, Duration::from_micros(1)).expect("valid");
    g.bench_function("spillway SlidingWindowCounter::acquire", |b| {
        b.iter(|| {
            now += 1;
            black_box(counter.acquire(Time::from_nanos(now), 1))
        })
    });
    let mut fixed = FixedWindow::new(10_000, Duration::from_micros(1)).expect("valid");
    g.bench_function("spillway FixedWindow::acquire", |b| {
        b.iter(|| {
            now += 1;
            black_box(fixed.acquire(Time::from_nanos(now), 1))
        })
    });
    g.finish();
}

fn keyed(c: &mut Criterion) {
    let mut g = c.benchmark_group("keyed 1M keys");
    let mut compact = KeyedGcra::new(1_000, 1_000_000_000, Duration::from_secs(1)).expect("valid");
    let mut wide = Keyed::new(fast_bucket());
    let hashmap = common::fx_hashmap(fast_quota());
    for k in 0..KEYS {
        let _ = compact.acquire(Time::from_nanos(now()), &k, 1);
        let _ = wide.acquire(Time::from_nanos(now()), &k, 1);
        let _ = hashmap.check_key(&k);
    }
    let mut i = 0u64;
    // Same time source on both sides: tick, then read the plain per-thread clock.
    g.bench_function("spillway KeyedGcra<u64>::acquire", |b| {
        b.iter(|| {
            i += 1;
            tick(1);
            black_box(compact.acquire(Time::from_nanos(now()), &scattered(i, KEYS), 1))
        })
    });
    g.bench_function("governor hashmap FxHash check_key (plain clock)", |b| {
        b.iter(|| {
            i += 1;
            tick(1);
            black_box(hashmap.check_key(&scattered(i, KEYS)).is_ok())
        })
    });
    g.bench_function("spillway Keyed<u64, Gcra>::acquire (48-byte state)", |b| {
        b.iter(|| {
            i += 1;
            tick(1);
            black_box(wide.acquire(Time::from_nanos(now()), &scattered(i, KEYS), 1))
        })
    });
    g.finish();
}

/// Global sliding log → per-user token bucket → per-feature sliding window. The per-user
/// bucket is `user_limit` per `user_period` with `user_burst`; the windows last `window`.
fn three_layers(
    user_limit: u64,
    user_period: Duration,
    user_burst: u64,
    window: Duration,
) -> Layered {
    let layer = |name: &str, scope, algorithm, limit, window, burst| LayerSpec {
        name: name.into(),
        scope,
        unit: Unit::Requests,
        limit: LimitSpec {
            algorithm,
            limit,
            window,
            burst: Some(burst),
        },
    };
    Layered::new(vec![
        layer(
            "global",
            Scope::Global,
            Algorithm::SlidingLog,
            1_000_000,
            window,
            1,
        ),
        layer(
            "per-user",
            Scope::User,
            Algorithm::TokenBucket,
            user_limit,
            user_period,
            user_burst,
        ),
        layer(
            "per-feature",
            Scope::Feature,
            Algorithm::SlidingLog,
            1_000_000,
            window,
            1,
        ),
    ])
    .expect("valid layers")
}

fn layered(c: &mut Criterion) {
    let mut g = c.benchmark_group("layered");
    let (mut i, mut now) = (0u64, 0u64);
    let demand = Demand {
        requests: 1,
        tokens: 100,
    };
    let mut run = |g: &mut criterion::BenchmarkGroup<'_, _>, name: &str, mut layers: Layered| {
        g.bench_function(name, |b| {
            b.iter(|| {
                i += 1;
                now += 1;
                let who = Subject {
                    team: 0,
                    user: scattered(i, KEYS) % 10_000,
                    feature: i % 8,
                    api_key: 0,
                };
                black_box(layers.acquire(Time::from_nanos(now), &who, demand))
            })
        });
    };
    // Steady state, the common case: every key resident, every request admitted. A user comes
    // back every ~10 µs of virtual time; a bucket that refills 1 token/s with a huge burst is
    // never full again, so it is never swept.
    let steady = three_layers(
        1,
        Duration::from_secs(1),
        1 << 40,
        Duration::from_micros(10),
    );
    run(
        &mut g,
        "3 layers acquire, resident keys (10k users, 8 features)",
        steady,
    );
    // Churn: buckets refill within 1 µs, so each returning user has been swept (fresh) and is
    // inserted again; this measures the insert + amortised sweep path.
    let churn = three_layers(
        1_000,
        Duration::from_micros(1),
        1_000,
        Duration::from_micros(1),
    );
    run(&mut g, "3 layers acquire, keys swept between visits", churn);
    g.bench_function("3 layers reserve + settle (x64, fresh limiter)", |b| {
        b.iter_batched_ref(
            || {
                three_layers(
                    1,
                    Duration::from_secs(1),
                    1 << 40,
                    Duration::from_micros(10),
                )
            },
            |layers| {
                for n in 1..=64u64 {
                    let who = Subject {
                        team: 0,
                        user: n % 16,
                        feature: n % 4,
                        api_key: 0,
                    };
                    if let Ok(Ok(r)) = layers.reserve(Time::from_nanos(n), &who, demand) {
                        let actual = Demand {
                            requests: 1,
                            tokens: 80,
                        };
                        layers.settle(Time::from_nanos(n), r, actual);
                    }
                }
            },
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(std::time::Duration::from_secs(1))
        .measurement_time(std::time::Duration::from_millis(2_500))
        .sample_size(50)
}

criterion_group! { name = benches; config = config(); targets = direct, keyed, layered }
criterion_main!(benches);
