//! `load` and `simulate` offer the same traffic, and `load` and `emulate` agree on its size.

use crate::fixtures::{config, replay, scenario};
use spillway_core::Duration;
use spillway_emulate::Config;
use spillway_emulate::request::{Shape, parse};
use spillway_load::Plan;
use spillway_load::body::chat_body;
use spillway_sim::scenario::Class;
use spillway_sim::{RunOptions, run_policy};

#[test]
fn the_emulator_counts_exactly_the_planned_tokens() {
    let s = scenario();
    let mut checked = 0;
    for p in Plan::new(&s, 7, Duration::from_secs(60)) {
        let body = chat_body(&p, "m");
        let parsed = parse(Shape::Chat, body.as_bytes()).expect("the emulator accepts it");
        assert_eq!(parsed.input_tokens, p.arrival.input_tokens, "{p:?}");
        assert_eq!(parsed.max_tokens, p.arrival.output_tokens, "{p:?}");
        assert_eq!(parsed.output_tokens, p.arrival.output_tokens, "{p:?}");
        checked += 1;
    }
    assert!(checked > 100, "only {checked} requests planned");
}

#[test]
fn the_plan_is_the_simulators_traffic() {
    let s = scenario();
    let duration = Duration::from_secs(90);
    let options = RunOptions { seed: 7, duration };
    let sim = run_policy(&s, &s.policies[0], &options, &mut |_| {}).expect("runs");
    let mut by_class = [0u64; 4];
    let mut users = std::collections::BTreeSet::new();
    for p in Plan::new(&s, 7, duration) {
        by_class[p.class.index()] += 1;
        users.insert(p.arrival.user);
    }
    for class in Class::ALL {
        assert_eq!(by_class[class.index()], sim.class(class).offered, "{class}");
    }
    assert_eq!(users.len(), sim.users.sorted().len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_the_emulator_offered_equals_the_simulators_and_every_call_is_answered() {
    let s = scenario();
    let duration = Duration::from_secs(30);
    let mut emu = Config::new(s.provider.clone(), "127.0.0.1:0".parse().expect("addr"));
    emu.scale = spillway_emulate::TimeScale::parse("50").expect("scale");
    let server = spillway_emulate::start(emu).await.expect("emulator starts");
    let url = format!("http://{}/v1/chat/completions", server.addr());
    let observed = replay(&s, duration, &config(&url, "50", 10_000)).await;
    let calls = server.calls();
    server.stop().await.expect("stops");

    let options = RunOptions { seed: 7, duration };
    let sim = run_policy(&s, &s.policies[0], &options, &mut |_| {}).expect("runs");
    let real = &observed.metrics;
    for class in Class::ALL {
        assert_eq!(
            real.class(class).offered,
            sim.class(class).offered,
            "{class}"
        );
    }
    let total = real.total();
    assert!(total.offered > 50, "{}", total.offered);
    assert_eq!(
        calls.len() as u64,
        total.offered,
        "the emulator saw each once"
    );
    assert_eq!(
        total.admitted, total.offered,
        "no gateway: nothing rejected"
    );
    assert_eq!(total.completed + total.upstream_429, total.offered);
    assert_eq!(total.unfinished, 0);
    assert!(observed.reasons.is_empty(), "{:?}", observed.reasons);
    let ok = calls.iter().filter(|c| c.status == 200).count() as u64;
    assert_eq!(ok, total.completed, "completions are the emulator's 200s");
    let rows: u64 = observed.rows.iter().map(|r| r.offered).sum();
    assert_eq!(rows, total.offered, "the time series adds up");
}
