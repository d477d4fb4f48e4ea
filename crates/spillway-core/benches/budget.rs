//! Budget speed: one request's full cycle (preflight with the ladder, reserve, settle with the
//! estimator learning) against global + per-user + per-key caps over 100 000 users, the bare
//! ledger reserve/settle, and key selection. Virtual time advances 1 µs per request.

use criterion::{Criterion, criterion_group, criterion_main};
use spillway_core::Time;
use spillway_core::budget::{
    Budget, CapSpec, CapTarget, DegradationLadder, Estimator, LadderStep, Ledger, ModelCatalogue,
    ModelId, ModelSpec, OnExhausted, OutputEstimate, Period, StepAction,
};
use spillway_core::keys::{KeyPolicy, KeyRing, KeyRole, KeySpec, SecretSource};
use spillway_core::limit::{Scope, Subject};
use std::hint::black_box;

const USERS: u64 = 100_000;

fn scattered(i: u64) -> u64 {
    i.wrapping_mul(2_654_435_761) % USERS
}

fn cap(name: &str, scope: Scope, target: CapTarget, limit: u64) -> CapSpec {
    CapSpec {
        name: name.into(),
        scope,
        target,
        period: Period::Day,
        limit_nano_usd: limit,
        on_exhausted: OnExhausted::Queue,
    }
}

fn ledger() -> Ledger {
    Ledger::new(
        vec![
            cap("global", Scope::Global, CapTarget::Each, u64::MAX / 2),
            cap("user", Scope::User, CapTarget::Each, 1_000_000_000_000),
            cap("key", Scope::ApiKey, CapTarget::Only(1), 20_000_000_000_000),
        ],
        0,
    )
    .expect("valid")
}

fn budget() -> Budget {
    let m = |name: &str, tier, input, output| ModelSpec {
        name: String::from(name),
        tier,
        input_nano_usd_per_mtok: input,
        output_nano_usd_per_mtok: output,
        max_output_tokens: 16_384,
    };
    let cat = ModelCatalogue::new(vec![
        m("gpt-4o", 3, 2_500_000_000, 10_000_000_000),
        m("gpt-4o-mini", 1, 150_000_000, 600_000_000),
    ])
    .expect("valid");
    let mini = cat.id("gpt-4o-mini").expect("listed");
    let steps = vec![
        LadderStep {
            at_per_mille: 800,
            action: StepAction::Use(mini),
        },
        LadderStep {
            at_per_mille: 1000,
            action: StepAction::Exhausted,
        },
    ];
    let ladder = DegradationLadder::new(steps, &cat).expect("valid");
    Budget::new(
        cat,
        Estimator::new(OutputEstimate::Learned { initial: 300 }, 3),
        ladder,
        ledger(),
    )
}

fn cycle(c: &mut Criterion) {
    let mut b = budget();
    let mut i = 0u64;
    c.bench_function("budget/admit+complete, 3 caps, 100k users", |bench| {
        bench.iter(|| {
            i += 1;
            let now = Time::from_nanos(i * 1_000);
            let who = Subject {
                team: 0,
                user: scattered(i),
                feature: i % 8,
                api_key: i % 2,
            };
            let a = b.admit(now, &who, ModelId(0), 800);
            if let Some(t) = a.ticket {
                black_box(b.complete(now, t, 800, 250 + i % 100));
            }
        });
    });
    let mut l = ledger();
    c.bench_function("ledger/reserve+settle, 3 caps, 100k users", |bench| {
        bench.iter(|| {
            i += 1;
            let now = Time::from_nanos(i * 1_000);
            let who = Subject {
                team: 0,
                user: scattered(i),
                feature: 0,
                api_key: i % 2,
            };
            if let Ok(r) = l.reserve(now, &who, black_box(10_000)) {
                l.settle(now, r, 9_000);
            }
        });
    });
}

fn select(c: &mut Criterion) {
    let lookup = |s: &SecretSource| Ok(format!("sk-bench-secret-{s}"));
    let specs = (0..10u64)
        .map(|k| KeySpec {
            name: format!("k{k}"),
            environment: "production".into(),
            service: format!("svc{}", k % 3),
            role: if k % 2 == 0 {
                KeyRole::Primary
            } else {
                KeyRole::Secondary
            },
            source: SecretSource::Env(format!("KEY_{k}")),
            not_before: Time::ZERO,
            expires_at: Time::from_secs(80 * 86_400),
            budget: None,
        })
        .collect();
    let ring = KeyRing::load(specs, KeyPolicy::default(), lookup).expect("valid");
    let mut i = 0u64;
    c.bench_function("keys/select among 10 keys", |bench| {
        bench.iter(|| {
            i += 1;
            black_box(ring.select(Time::from_secs(i % (90 * 86_400)), "production", "svc1"))
        });
    });
}

criterion_group!(benches, cycle, select);
criterion_main!(benches);
