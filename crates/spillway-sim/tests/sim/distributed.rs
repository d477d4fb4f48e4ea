//! Several gateway instances: local-split never over-admits, async-sync over-admits within its
//! derived bound, central decides exactly like one gateway, and bad `instances:` blocks give
//! located errors.

use crate::{BASE, workspace};
use spillway_core::Duration;
use spillway_sim::metrics::{PolicyMetrics, TimeseriesRow};
use spillway_sim::scenario::{self, Scenario, ScenarioError, parse};
use spillway_sim::{RunOptions, run_policy};
use std::path::Path;

/// Run every policy of `scenario` with `seed`, keeping each policy's per-second rows.
fn run_all(scenario: &Scenario, seed: u64) -> Vec<(PolicyMetrics, Vec<TimeseriesRow>)> {
    let options = RunOptions {
        seed,
        duration: scenario.duration,
    };
    scenario
        .policies
        .iter()
        .map(|p| {
            let mut rows = Vec::new();
            let run = run_policy(scenario, p, &options, &mut |r| rows.push(*r)).expect("runs");
            (run, rows)
        })
        .collect()
}

fn load(text: &str) -> Scenario {
    parse(Path::new("distributed.yaml"), text).unwrap_or_else(|e| panic!("{e}\n{text}"))
}

fn over(run: &PolicyMetrics) -> u64 {
    run.distributed.over_admitted.iter().sum()
}

/// A scenario whose policies are `(name, layers, instances line or "")`.
fn scenario_with(layers: &str, traffic: &str, policies: &[(&str, &str, &str)]) -> String {
    let mut text = format!(
        "seed: 3\nduration: 2m\ndrain: 1m\nprovider:\n  name: roomy\n  rpm: 100000\n  tpm: 1000000000\n  concurrency: 1000\n  latency: {{ base: 200ms, per_output_token: 1ms }}\n  price: {{ input_usd_per_mtok: 0.15, output_usd_per_mtok: 0.6 }}\ntraffic:\n  groups:\n{traffic}layers:\n{layers}policies:\n"
    );
    for (name, policy_layers, instances) in policies {
        text.push_str(&format!(
            "  - name: {name}\n    layers: [{policy_layers}]\n"
        ));
        if !instances.is_empty() {
            text.push_str(&format!("    instances: {instances}\n"));
        }
    }
    text
}

/// Uneven traffic: three heavy users well above any per-user limit, many light ones.
const UNEVEN: &str = "    - name: heavy
      users: 3
      class: standard
      arrival:
        poisson: { rate: 90/min }
      input_tokens: { median: 500, sigma: 0.5, max: 4000 }
      output_tokens: { median: 100, sigma: 0.5, max: 1000 }
    - name: light
      users: 60
      class: interactive
      arrival:
        poisson: { rate: 3/min }
      input_tokens: { median: 300, sigma: 0.5, max: 4000 }
      output_tokens: { median: 100, sigma: 0.5, max: 1000 }
";

const LAYERS: &str = "  - name: user-bucket
    scope: user
    algorithm: token-bucket
    limit: 24
    per: 1m
  - name: user-window
    scope: user
    algorithm: sliding-window
    limit: 24
    per: 1m
  - name: user-fixed
    scope: user
    algorithm: fixed-window
    limit: 24
    per: 1m
  - name: user-tokens
    scope: user
    unit: tokens
    algorithm: sliding-window
    limit: 40000
    per: 1m
  - name: global
    scope: global
    algorithm: sliding-window
    limit: 120
    per: 1m
";

#[test]
fn local_split_never_over_admits_a_per_key_limit_behind_sticky_balancing() {
    let mut policies = Vec::new();
    for layer in ["user-bucket", "user-window", "user-fixed", "user-tokens"] {
        for n in [2, 3, 4] {
            policies.push((
                format!("{layer}-{n}"),
                layer,
                format!("{{ count: {n}, balancer: sticky, mode: local-split }}"),
            ));
        }
    }
    let borrowed: Vec<(&str, &str, &str)> = policies
        .iter()
        .map(|(a, b, c)| (a.as_str(), *b, c.as_str()))
        .collect();
    let s = load(&scenario_with(LAYERS, UNEVEN, &borrowed));
    for seed in [1, 2] {
        for (run, _) in run_all(&s, seed) {
            let admitted = run.total().admitted;
            assert!(admitted > 0, "{}", run.policy);
            assert!(run.total().rejected > 0, "{}: the limit binds", run.policy);
            assert_eq!(over(&run), 0, "{} seed {seed}", run.policy);
            assert_eq!(run.distributed.exact_admitted.iter().sum::<u64>(), admitted);
            assert_eq!(
                run.distributed.over_admission_pct(None),
                Some(0.0),
                "{}",
                run.policy
            );
        }
    }
}

#[test]
fn local_split_under_admits_when_sticky_sends_a_user_to_one_instance() {
    // Each heavy user reaches one instance, which grants them 24 / 4 = 6 per minute instead of
    // 24; round robin spreads them over all four quarters, which add up to the full limit.
    let s = load(&scenario_with(
        LAYERS,
        UNEVEN,
        &[
            ("single", "user-window", ""),
            (
                "sticky",
                "user-window",
                "{ count: 4, balancer: sticky, mode: local-split }",
            ),
            (
                "round-robin",
                "user-window",
                "{ count: 4, balancer: round-robin, mode: local-split }",
            ),
        ],
    ));
    let runs = run_all(&s, 5);
    let heavy = |i: usize| runs[i].0.classes[1].admitted;
    // 3 heavy users × (2 min + the window's first minute) at most; a quarter of it sticky.
    assert!(heavy(1) * 3 < heavy(0), "{} vs {}", heavy(1), heavy(0));
    assert!(heavy(2) <= heavy(0), "{} vs {}", heavy(2), heavy(0));
    assert!(
        heavy(2) * 10 >= heavy(0) * 9,
        "{} vs {}",
        heavy(2),
        heavy(0)
    );
    assert!(runs.iter().all(|(r, _)| over(r) == 0));
}

#[test]
fn local_split_of_a_global_limit_never_over_admits_whatever_the_balancer() {
    let policies: Vec<(String, String)> = ["round-robin", "random", "sticky"]
        .iter()
        .map(|b| {
            (
                format!("global-{b}"),
                format!("{{ count: 4, balancer: {b}, mode: local-split }}"),
            )
        })
        .collect();
    let borrowed: Vec<(&str, &str, &str)> = policies
        .iter()
        .map(|(n, i)| (n.as_str(), "global", i.as_str()))
        .collect();
    let s = load(&scenario_with(LAYERS, UNEVEN, &borrowed));
    for (run, _) in run_all(&s, 9) {
        assert!(run.total().rejected > 0, "{}: the limit binds", run.policy);
        assert_eq!(over(&run), 0, "{}", run.policy);
    }
}

/// A global budget that never refills during the run (a 1 h window, 2 min of traffic).
const BUDGET: &str = "  - name: global-budget
    scope: global
    algorithm: sliding-window
    limit: 150
    per: 1h
";

#[test]
fn async_sync_over_admits_at_most_n_minus_one_times_one_instance_per_interval() {
    // Derivation (distributed/async_sync.rs): at a sync every instance learns the total U;
    // until the next, instance i admits a_i while U + a_i < L. The exact limit stops at
    // L ≥ U + max a_i, so the excess is ≤ Σ a_i − max a_i ≤ (N − 1) × A, A = the most one
    // instance admits between two syncs; after that sync every view is full. The shadow
    // admits exactly the first L, so over-admitted = admitted − L.
    let mut policies = Vec::new();
    for n in [2, 3, 4, 8] {
        for balancer in ["round-robin", "random", "sticky"] {
            for interval in ["500ms", "2s", "10s"] {
                policies.push((
                    format!("n{n}-{balancer}-{interval}"),
                    format!("{{ count: {n}, balancer: {balancer}, mode: async-sync, sync_interval: {interval} }}"),
                    n,
                ));
            }
        }
    }
    let borrowed: Vec<(&str, &str, &str)> = policies
        .iter()
        .map(|(name, i, _)| (name.as_str(), "global-budget", i.as_str()))
        .collect();
    let s = load(&scenario_with(BUDGET, UNEVEN, &borrowed));
    let mut largest_excess = 0;
    for seed in [1, 2, 3] {
        for ((run, _), (_, _, n)) in run_all(&s, seed).iter().zip(&policies) {
            let admitted = run.total().admitted;
            let per_interval = run.distributed.max_admitted_between_syncs;
            let excess = admitted.saturating_sub(150);
            assert_eq!(over(run), excess, "{} seed {seed}", run.policy);
            assert!(
                excess <= (n - 1) * per_interval,
                "{} seed {seed}: {excess} over, bound ({n} − 1) × {per_interval}",
                run.policy
            );
            assert!(excess <= (n - 1) * 150, "{}", run.policy);
            assert!(admitted >= 150, "{}: never under the budget", run.policy);
            largest_excess = largest_excess.max(excess);
        }
    }
    assert!(largest_excess > 0, "the bound is exercised, not vacuous");
}

#[test]
fn replicas_that_never_sync_multiply_the_limit() {
    let s = load(&scenario_with(
        BUDGET,
        UNEVEN,
        &[(
            "replicas",
            "global-budget",
            "{ count: 4, balancer: round-robin, mode: async-sync, sync_interval: 1d }",
        )],
    ));
    let (run, _) = &run_all(&s, 4)[0];
    // Each of the four admits its own 150 of the ~780 offered.
    assert_eq!(run.total().admitted, 4 * 150);
    assert_eq!(over(run), 3 * 150);
    assert_eq!(run.distributed.over_admission_pct(None), Some(300.0));
    assert_eq!(run.distributed.syncs, 0);
}

/// Per-second admitted/rejected counts (the decision sequence, second by second).
fn decisions(rows: &[TimeseriesRow]) -> Vec<(u64, u64, u64)> {
    rows.iter()
        .map(|r| (r.t_s, r.admitted, r.rejected))
        .collect()
}

#[test]
fn central_decides_exactly_like_one_gateway_and_adds_its_round_trip() {
    let layers = "user-bucket, user-window, global";
    let s = load(&scenario_with(
        LAYERS,
        UNEVEN,
        &[
            ("single", layers, ""),
            (
                "central",
                layers,
                "{ count: 4, balancer: random, mode: central, rtt: 5ms, jitter: 2ms }",
            ),
        ],
    ));
    let runs = run_all(&s, 8);
    let ((single, single_rows), (central, central_rows)) = (&runs[0], &runs[1]);
    assert_eq!(decisions(single_rows), decisions(central_rows));
    assert_eq!(single.rejections_by_layer, central.rejections_by_layer);
    for (a, b) in single.classes.iter().zip(&central.classes) {
        assert_eq!((a.admitted, a.rejected), (b.admitted, b.rejected));
        assert_eq!(a.completed, b.completed);
    }
    assert!(single.total().rejected > 0, "the limits bind");
    assert_eq!(over(central), 0);
    let d = &central.distributed;
    let offered = central.total().offered;
    assert_eq!(d.store_round_trips, offered);
    assert!(d.added_latency_ns >= offered * 5_000_000);
    assert!(d.added_latency_ns <= offered * 7_000_000);
    let (p50_single, p50_central) = (
        single.total().latency.quantile(0.5),
        central.total().latency.quantile(0.5),
    );
    assert!(
        p50_central > p50_single,
        "{p50_central:?} vs {p50_single:?}"
    );
    assert_eq!(single.distributed.store_round_trips, 0);
}

#[test]
fn a_zero_round_trip_store_and_a_single_split_are_the_single_gateway_bit_for_bit() {
    let layers = "user-bucket, user-tokens, global";
    let s = load(&scenario_with(
        LAYERS,
        UNEVEN,
        &[
            ("single", layers, ""),
            (
                "central",
                layers,
                "{ count: 3, balancer: random, mode: central, rtt: 0ms }",
            ),
            ("one", layers, "{ count: 1, mode: local-split }"),
        ],
    ));
    let runs = run_all(&s, 6);
    let digest = |(run, rows): &(PolicyMetrics, Vec<TimeseriesRow>)| {
        let classes: Vec<_> = run
            .classes
            .iter()
            .map(|c| {
                (
                    c.admitted,
                    c.rejected,
                    c.completed,
                    c.latency.max(),
                    c.latency.quantile(0.99),
                    c.wait.max(),
                    c.cost_nano_usd,
                )
            })
            .collect();
        (classes, run.rejections_by_layer.clone(), rows.clone())
    };
    assert_eq!(digest(&runs[0]), digest(&runs[1]));
    assert_eq!(digest(&runs[0]), digest(&runs[2]));
}

#[test]
fn the_shipped_scenario_orders_the_modes_as_its_comments_say() {
    let s = scenario::load(&workspace().join("scenarios/distributed.yaml")).expect("valid");
    let runs = run_all(&s, s.seed);
    let get = |name: &str| {
        &runs
            .iter()
            .find(|(r, _)| r.policy == name)
            .expect("policy")
            .0
    };
    let pct = |name: &str| {
        get(name)
            .distributed
            .over_admission_pct(None)
            .unwrap_or(0.0)
    };
    assert_eq!(pct("single"), 0.0);
    assert_eq!(pct("local-split"), 0.0);
    assert_eq!(pct("central"), 0.0);
    assert!(pct("async-sync-1s") > 0.0);
    assert!(pct("async-sync-10s") > pct("async-sync-1s"));
    assert!(pct("replicas") > pct("async-sync-10s"));
    assert!(get("local-split").total().admitted < get("single").total().admitted);
    assert_eq!(
        get("central").total().admitted,
        get("single").total().admitted
    );
}

// ---------------------------------------------------------------------------------------------
// Bad input

fn errors_of(text: &str) -> Vec<ScenarioError> {
    match parse(Path::new("bad.yaml"), text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.0,
    }
}

fn with_instances(block: &str) -> String {
    format!("{BASE}    instances: {block}\n")
}

fn one_error(block: &str, field: &str, hint: &str) {
    let text = with_instances(block);
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    let shown = e.to_string();
    let line = text.lines().count();
    assert_eq!(e.line, line, "{shown}");
    assert_eq!(e.field, field, "{shown}");
    assert!(shown.starts_with(&format!("bad.yaml:{line}:")), "{shown}");
    assert!(shown.contains(hint), "`{shown}` should mention `{hint}`");
}

#[test]
fn a_count_of_zero_is_located() {
    one_error(
        "{ count: 0, mode: local-split }",
        "policies[0].instances.count",
        "at least 1",
    );
    one_error(
        "{ count: 5000, mode: central, rtt: 1ms }",
        "policies[0].instances.count",
        "at most 1024",
    );
}

#[test]
fn unknown_balancers_and_modes_list_the_choices() {
    one_error(
        "{ count: 2, balancer: least-conn, mode: local-split }",
        "policies[0].instances.balancer",
        "`round-robin`, `random` or `sticky`",
    );
    one_error(
        "{ count: 2, mode: gossip }",
        "policies[0].instances.mode",
        "`local-split`, `central` or `async-sync`",
    );
}

#[test]
fn each_mode_asks_for_its_own_settings_and_refuses_the_others() {
    one_error(
        "{ count: 2, mode: async-sync }",
        "policies[0].instances.mode",
        "needs `sync_interval`",
    );
    one_error(
        "{ count: 2, mode: central }",
        "policies[0].instances.mode",
        "needs `rtt`",
    );
    one_error(
        "{ count: 2, mode: local-split, rtt: 1ms }",
        "policies[0].instances.rtt",
        "only to `mode: central`",
    );
    one_error(
        "{ count: 2, mode: async-sync, sync_interval: 0s }",
        "policies[0].instances.sync_interval",
        "longer than 0",
    );
    one_error(
        "{ count: 2, mode: central, rtt: soon }",
        "policies[0].instances.rtt",
        "ms",
    );
}

#[test]
fn a_split_that_leaves_a_layer_nothing_is_located_at_the_count() {
    // BASE's per-user layer allows 3 per minute: four instances would get 0 each.
    one_error(
        "{ count: 4, mode: local-split }",
        "policies[0].instances.count",
        "layer `per-user` (limit 3) would get 0",
    );
}

#[test]
fn a_split_token_layer_too_small_for_a_request_is_located_at_the_policy_layer() {
    // A 4000-token layer fits BASE's largest request (1500), a quarter of it does not.
    let text = BASE.replace(
        "layers:\n  - name: per-user\n",
        "layers:\n  - name: tokens\n    scope: user\n    unit: tokens\n    algorithm: sliding-window\n    limit: 4000\n    per: 1m\n  - name: per-user\n",
    )
    .replace("layers: [per-user]", "layers: [tokens]");
    assert!(parse(Path::new("ok.yaml"), &text).is_ok());
    let text = format!("{text}    instances: {{ count: 4, mode: local-split }}\n");
    let errors = errors_of(&text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert_eq!(errors[0].field, "policies[0].layers[0]", "{}", errors[0]);
    assert!(
        errors[0].message.contains("at most 1000 tokens"),
        "{}",
        errors[0]
    );
}

#[test]
fn unknown_instance_fields_are_errors() {
    let errors = errors_of(&with_instances(
        "{ count: 2, mode: local-split, replicas: 3 }",
    ));
    assert_eq!(errors.len(), 1, "{errors:#?}");
    assert!(errors[0].to_string().contains("replicas"), "{}", errors[0]);
}

#[test]
fn valid_blocks_load_with_their_defaults() {
    let s = load(&with_instances(
        "{ count: 2, mode: async-sync, sync_interval: 1.5s }",
    ));
    let spec = s.policies[0].instances.expect("declared");
    assert_eq!(spec.count, 2);
    assert_eq!(spec.balancer, scenario::Balancer::RoundRobin);
    assert_eq!(
        spec.mode,
        scenario::SyncMode::AsyncSync {
            sync_interval: Duration::from_millis(1500)
        }
    );
    assert!(load(BASE).policies[0].instances.is_none());
}

// ---------------------------------------------------------------------------------------------
// The same invariants on the instances alone, over arbitrary arrival sequences

mod invariants {
    use proptest::prelude::*;
    use spillway_core::engine::Limiter as _;
    use spillway_core::limit::{Algorithm, Demand, LayerSpec, LimitSpec, Scope, Subject, Unit};
    use spillway_core::{Duration, Time};
    use spillway_sim::distributed::Instances;
    use spillway_sim::scenario::{Balancer, InstancesSpec, SyncMode};

    fn layer(scope: Scope, algorithm: Algorithm, limit: u64, window_s: u64) -> LayerSpec {
        LayerSpec {
            name: format!("{scope:?}"),
            scope,
            unit: Unit::Requests,
            limit: LimitSpec {
                algorithm,
                limit,
                window: Duration::from_secs(window_s),
                burst: None,
            },
        }
    }

    fn balancer(i: u8) -> Balancer {
        [Balancer::RoundRobin, Balancer::Random, Balancer::Sticky][usize::from(i % 3)]
    }

    const ONE: Demand = Demand {
        requests: 1,
        tokens: 0,
    };

    /// (gap in ms since the previous arrival, user)
    fn arrivals() -> impl Strategy<Value = Vec<(u64, u64)>> {
        prop::collection::vec((0u64..400, 0u64..12), 1..400)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn async_sync_excess_is_within_n_minus_one_per_interval_admissions(
            n in 1u32..9, b in 0u8..3, interval_ms in 1u64..5000, limit in 1u64..60,
            seed in 0u64..1000, arrivals in arrivals(),
        ) {
            let budget = layer(Scope::Global, Algorithm::SlidingLog, limit, 86_400);
            let spec = InstancesSpec {
                count: n,
                balancer: balancer(b),
                mode: SyncMode::AsyncSync { sync_interval: Duration::from_millis(interval_ms) },
            };
            let mut inst = Instances::new(&[budget], Some(&spec), seed).expect("valid");
            let (mut now, mut admitted) = (Time::ZERO, 0u64);
            for (gap, user) in arrivals {
                now = now.saturating_add(Duration::from_millis(gap));
                let who = Subject { user, ..Subject::default() };
                if let Ok(Ok(_)) = inst.admit(now, &who, ONE, 0) {
                    admitted += 1;
                }
            }
            let stats = inst.stats();
            let over = stats.over_admitted[0];
            prop_assert_eq!(over, admitted.saturating_sub(limit));
            prop_assert!(over <= u64::from(n - 1) * stats.max_admitted_between_syncs);
        }

        #[test]
        fn local_split_never_over_admits(
            n in 1u32..9, b in 0u8..3, limit in 9u64..40, algorithm in 0u8..4,
            global in any::<bool>(), seed in 0u64..1000, arrivals in arrivals(),
        ) {
            let algorithm = [
                Algorithm::TokenBucket,
                Algorithm::SlidingLog,
                Algorithm::FixedWindow,
                Algorithm::SlidingCounter,
            ][usize::from(algorithm)];
            // The counter estimates a sliding window with per-instance rounding, so the quarters'
            // estimates need not add up to the whole's: only the exact algorithms are held to
            // zero. (3000 cases with the counter also found none, but that is not a proof.)
            prop_assume!(algorithm != Algorithm::SlidingCounter);
            let scope = if global { Scope::Global } else { Scope::User };
            let spec = InstancesSpec { count: n, balancer: balancer(b), mode: SyncMode::LocalSplit };
            let mut inst = Instances::new(&[layer(scope, algorithm, limit, 10)], Some(&spec), seed)
                .expect("valid");
            let mut now = Time::ZERO;
            for (gap, user) in arrivals {
                now = now.saturating_add(Duration::from_millis(gap));
                let who = Subject { user, ..Subject::default() };
                let _ = inst.admit(now, &who, ONE, 0);
            }
            prop_assert_eq!(inst.stats().over_admitted, [0; 4]);
        }
    }
}
