//! Admission cost of gateway instances: one `admit` (route, ask the instance or the store,
//! offer the admitted request to the shadow exact limiter) per mode, 4 instances, a per-user
//! token bucket and a global sliding window, 10 000 users, 10 ms between arrivals. The shadow
//! doubles the limiter work of `local-split` and `async-sync`; `async-sync` also replays the
//! other instances' usage at every sync (1 s here, ~100 admissions per sync).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spillway_core::engine::Limiter as _;
use spillway_core::limit::{Algorithm, Demand, LayerSpec, LimitSpec, Scope, Subject, Unit};
use spillway_core::{Duration, Time};
use spillway_sim::distributed::Instances;
use spillway_sim::scenario::{Balancer, InstancesSpec, SyncMode};
use std::hint::black_box;

const ARRIVALS: u64 = 20_000;

fn layers() -> Vec<LayerSpec> {
    let layer = |name: &str, scope, algorithm, limit| LayerSpec {
        name: name.into(),
        scope,
        unit: Unit::Requests,
        limit: LimitSpec {
            algorithm,
            limit,
            window: Duration::from_secs(60),
            burst: None,
        },
    };
    vec![
        layer("per-user", Scope::User, Algorithm::TokenBucket, 20),
        layer("global", Scope::Global, Algorithm::SlidingLog, 4_000),
    ]
}

fn run(spec: Option<&InstancesSpec>) -> u64 {
    let mut instances = Instances::new(&layers(), spec, 1).expect("valid");
    let mut admitted = 0;
    for i in 0..ARRIVALS {
        let now = Time::from_nanos(i * 10_000_000);
        let who = Subject {
            user: i.wrapping_mul(7919) % 10_000,
            ..Subject::default()
        };
        let one = Demand {
            requests: 1,
            tokens: 0,
        };
        if let Ok(Ok(_)) = instances.admit(now, &who, one, 0) {
            admitted += 1;
        }
    }
    admitted
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("instances_admit");
    group.throughput(Throughput::Elements(ARRIVALS));
    let four = |mode| InstancesSpec {
        count: 4,
        balancer: Balancer::Sticky,
        mode,
    };
    let modes = [
        ("single", None),
        ("local-split", Some(four(SyncMode::LocalSplit))),
        (
            "central",
            Some(four(SyncMode::Central {
                rtt: Duration::from_millis(1),
                jitter: Duration::from_micros(500),
            })),
        ),
        (
            "async-sync",
            Some(four(SyncMode::AsyncSync {
                sync_interval: Duration::from_secs(1),
            })),
        ),
    ];
    for (name, spec) in modes {
        group.bench_function(name, |b| b.iter(|| black_box(run(spec.as_ref()))));
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
