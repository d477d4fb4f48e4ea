//! Simulator throughput: simulated requests per second of wall time on scenarios/spike.yaml
//! (both policies, the full 15 minutes of traffic plus drain). Side by side, each policy runs on
//! its own thread (`run_policies`, as `spillway simulate`); one policy at a time is the
//! one-thread peer in the same run.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use spillway_sim::{RunOptions, run_policies, run_policy, scenario};
use std::hint::black_box;
use std::path::Path;

fn spike(c: &mut Criterion) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/spike.yaml");
    let scenario = scenario::load(&path).expect("spike.yaml is valid");
    let options = RunOptions {
        seed: scenario.seed,
        duration: scenario.duration,
    };
    // As `spillway simulate` runs them: side by side on one stream of arrivals, a thread each.
    let run_all = || {
        run_policies(&scenario, &scenario.policies, &options, &mut |_, row| {
            black_box(row);
        })
        .expect("runs")
        .iter()
        .map(|m| m.total().offered)
        .sum::<u64>()
    };
    let requests = run_all();
    let mut group = c.benchmark_group("simulate");
    group.throughput(Throughput::Elements(requests));
    group.sample_size(20);
    group.bench_function("spike.yaml (all policies)", |b| {
        b.iter(|| black_box(run_all()))
    });
    // The peer in the same run: each policy alone, generating the arrivals once per policy
    // (how `simulate` ran them before `run_policies`).
    let one_at_a_time = || {
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
    assert_eq!(one_at_a_time(), requests, "the same requests either way");
    group.bench_function("spike.yaml (one policy at a time)", |b| {
        b.iter(|| black_box(one_at_a_time()))
    });
    group.finish();
}

criterion_group!(benches, spike);
criterion_main!(benches);
