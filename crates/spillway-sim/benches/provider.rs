//! Emulated provider cost per call: admission (allowed and refused) per kind, and rendering
//! the response headers to text (only done when a client asks for them).

use criterion::{Criterion, criterion_group, criterion_main};
use spillway_core::Time;
use spillway_sim::provider::{CallRequest, EmulatedProvider, ProviderSpec};
use spillway_sim::scenario::provider::load_library;
use std::hint::black_box;
use std::path::Path;

const REQ: CallRequest = CallRequest {
    input_tokens: 800,
    max_tokens: 300,
    output_tokens: 250,
};

fn profiles() -> Vec<(String, ProviderSpec)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scenarios/providers.yaml");
    let lib = load_library(&path).expect("providers.yaml is valid");
    [
        "openai-tier1-gpt-4o-mini",
        "anthropic-tier1-claude-sonnet-4",
        "azure-gpt-4o-mini-20k-tpm",
        "gemini-free-2.0-flash",
    ]
    .into_iter()
    .map(|name| (name.to_string(), lib[name].clone()))
    .collect()
}

fn calls(c: &mut Criterion) {
    let mut group = c.benchmark_group("provider call");
    for (name, spec) in profiles() {
        // Calls 1 ms apart: a saturating client, so most answers after the first burst are
        // 429s with their headers' numbers computed (not rendered).
        let mut p = EmulatedProvider::new(&spec, 1);
        let mut now = 0u64;
        group.bench_function(name.as_str(), |b| {
            b.iter(|| {
                now += 1_000_000;
                black_box(p.call(Time::from_nanos(now), black_box(&REQ)).status)
            })
        });
    }
    group.finish();
}

fn headers(c: &mut Criterion) {
    let mut group = c.benchmark_group("provider headers");
    for (name, spec) in profiles() {
        let mut p = EmulatedProvider::new(&spec, 1);
        let answer = p.call(Time::from_nanos(1), &REQ);
        group.bench_function(name.as_str(), |b| b.iter(|| black_box(answer.headers())));
    }
    group.finish();
}

criterion_group!(benches, calls, headers);
criterion_main!(benches);
