//! Simulator throughput: simulated requests per second of wall time on scenarios/spike.yaml
//! (both policies, the full 15 minutes of traffic plus drain), on one core.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spillway_sim::{RunOptions, run_policy, scenario};
use std::hint::black_box;
use std::path::Path;

fn spike(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/spike.yaml");
    let scenario = scenario::load(&path).expect("spike.yaml is valid");
    let options = RunOptions {
        seed: scenario.seed,
        duration: scenario.duration,
    };
    let run_all = || {
        scenario
            .policies
            .iter()
            .map(|p| {
                run_policy(&scenario, p, &options, &mut |row| {
                    black_box(row);
                })
                .expect("runs")
                .total()
                .offered
            })
            .sum::<u64>()
    };
    let requests = run_all();
    let mut group = c.benchmark_group("simulate");
    group.throughput(Throughput::Elements(requests));
    group.sample_size(20);
    group.bench_function("spike.yaml (all policies)", |b| {
        b.iter(|| black_box(run_all()))
    });
    group.finish();
}

criterion_group!(benches, spike);
criterion_main!(benches);
