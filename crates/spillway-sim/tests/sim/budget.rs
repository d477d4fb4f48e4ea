//! Budgets, degradation and API keys in the simulator: conservation, caps hold (within the
//! overshoot bound), degradation serves more for the same money, a leak is capped by its key's
//! budget, keys are shown redacted, and bad input is located.

use crate::{BASE, workspace};
use spillway_core::Duration;
use spillway_core::keys::KeyId;
use spillway_sim::metrics::{BudgetMetrics, PolicyMetrics};
use spillway_sim::scenario::{Scenario, ScenarioError, parse};
use spillway_sim::{RunOptions, run_policy};

const NANO: u64 = 1_000_000_000;

fn budget_yaml() -> String {
    std::fs::read_to_string(workspace().join("scenarios/budget.yaml")).expect("budget.yaml")
}

/// Parse `text` as if it lived in `scenarios/` (so `models: models.yaml` resolves).
fn load(text: &str) -> Scenario {
    parse(&workspace().join("scenarios/test-budget.yaml"), text).expect("valid scenario")
}

fn run_all(scenario: &Scenario) -> Vec<PolicyMetrics> {
    let options = RunOptions {
        seed: scenario.seed,
        duration: scenario.duration,
    };
    scenario
        .policies
        .iter()
        .map(|p| run_policy(scenario, p, &options, &mut |_| {}).expect("runs"))
        .collect()
}

fn by_name<'a>(runs: &'a [PolicyMetrics], name: &str) -> &'a PolicyMetrics {
    runs.iter().find(|r| r.policy == name).expect("policy")
}

fn budget(run: &PolicyMetrics) -> &BudgetMetrics {
    run.budget.as_ref().expect("policy has a budget")
}

/// The ledger's overshoot bound: each request in flight may exceed its estimate by at most
/// the largest under-estimate seen.
fn overshoot_bound(run: &PolicyMetrics, in_flight: u64) -> u64 {
    budget(run)
        .max_under_estimate_nano_usd
        .saturating_mul(in_flight)
}

/// budget.yaml with no midnight inside the run: one budget day throughout.
fn one_day() -> Scenario {
    load(&budget_yaml().replace("starts_at_utc: \"23:35\"", "starts_at_utc: \"00:00\""))
}

fn secondary() -> u64 {
    KeyId::derive("production", "gateway", "secondary").0
}

#[test]
fn every_request_is_accounted_for_with_budget_refusals() {
    let scenario = load(&budget_yaml());
    for run in run_all(&scenario) {
        let b = budget(&run);
        let refused = BudgetMetrics::count(&b.budget_rejected, None);
        assert!(refused > 0, "{}: the cap binds", run.policy);
        let total = run.total();
        assert!(refused <= total.rejected + total.shed, "{}", run.policy);
        for c in &run.classes {
            assert_eq!(c.offered, c.admitted + c.rejected, "{}", run.policy);
            assert_eq!(
                c.admitted,
                c.shed + c.abandoned + c.completed + c.failed + c.unfinished,
                "{}",
                run.policy
            );
        }
        assert_eq!(
            BudgetMetrics::count(&b.completed, None),
            total.completed - total.upstream.cache_served,
            "{}: every provider completion is billed",
            run.policy
        );
    }
}

#[test]
fn spend_stays_within_the_cap_plus_the_overshoot_bound() {
    let scenario = one_day();
    let runs = run_all(&scenario);
    for name in ["hard-cap", "degrade"] {
        let run = by_name(&runs, name);
        let spent = budget(run).total_nano_usd();
        let cap = 50 * NANO;
        let bound = overshoot_bound(run, 200);
        assert!(
            spent <= cap + bound,
            "{name}: spent {spent} > {cap} + {bound}"
        );
        assert!(
            spent > cap * 9 / 10,
            "{name}: the cap is nearly used: {spent}"
        );
    }
}

#[test]
fn degrading_serves_more_requests_than_a_hard_cap_for_the_same_money() {
    let runs = run_all(&one_day());
    let (hard, degrade) = (by_name(&runs, "hard-cap"), by_name(&runs, "degrade"));
    assert!(
        degrade.total().completed > hard.total().completed * 3 / 2,
        "degrade {} vs hard-cap {}",
        degrade.total().completed,
        hard.total().completed
    );
    let (b_hard, b_degrade) = (budget(hard), budget(degrade));
    assert_eq!(b_hard.best_model_share(None), Some(1.0));
    assert!(b_degrade.best_model_share(None).is_some_and(|s| s < 1.0));
    assert!(BudgetMetrics::count(&b_degrade.degraded, None) > 0);
    assert!(BudgetMetrics::count(&b_hard.degraded, None) == 0);
}

#[test]
fn a_leaked_key_spends_no_more_than_its_budget() {
    let runs = run_all(&load(&budget_yaml()));
    for run in &runs {
        let leaked = budget(run).key_spend_nano_usd(secondary());
        let bound = overshoot_bound(run, 200);
        assert!(leaked <= 20 * NANO + bound, "{}: {leaked}", run.policy);
        assert!(
            leaked > 19 * NANO,
            "{}: the leak reaches its cap",
            run.policy
        );
    }
    // Without the key's budget (and with room in the global cap) the same leak costs far more.
    let uncapped = budget_yaml()
        .replace("    budget: { period: day, limit_usd: 20 }", "")
        .replace("limit_usd: 50,", "limit_usd: 5000,");
    let runs = run_all(&load(&uncapped));
    let leaked = budget(by_name(&runs, "hard-cap")).key_spend_nano_usd(secondary());
    assert!(leaked > 60 * NANO, "uncapped leak: {leaked}");
}

#[test]
fn keys_are_shown_with_at_most_four_secret_characters() {
    let secret = "sk-test-0123456789abcdefWXYZ";
    let dir = std::env::temp_dir().join(format!("spillway-budget-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("secret.txt");
    std::fs::write(&file, format!("{secret}\n")).expect("write secret");
    let text = budget_yaml().replacen(
        "    role: primary\n    expires: 60d",
        &format!(
            "    role: primary\n    secret: {{ file: {} }}\n    expires: 60d",
            file.display()
        ),
        1,
    );
    let scenario = load(&text);
    assert!(!format!("{scenario:?}").contains(&secret[..5]));
    let runs = run_all(&scenario);
    let labels = &budget(&runs[0]).key_labels;
    let primary = KeyId::derive("production", "gateway", "primary").0;
    assert_eq!(labels[&primary], "primary…WXYZ");
    assert_eq!(
        labels[&secondary()],
        "secondary",
        "synthetic keys: name only"
    );
    for label in labels.values() {
        for window in secret.as_bytes().windows(5) {
            let shown = std::str::from_utf8(window).expect("ascii");
            assert!(!label.contains(shown), "{label} shows `{shown}`");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Bad input

fn errors_of(text: &str) -> Vec<ScenarioError> {
    match parse(&workspace().join("scenarios/bad.yaml"), text) {
        Ok(_) => panic!("expected an error for:\n{text}"),
        Err(e) => e.0,
    }
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle present")
        + 1
}

/// BASE with a catalogue, staging keys, `events` and a budget block on its policy.
fn with_budget(budget: &str, events: &str) -> String {
    format!(
        "{BASE}    budget:\n{budget}models: models.yaml\nkeys:\n  - name: a\n    environment: staging\n    service: s\n    role: primary\n    expires: 30d\n{events}"
    )
}

fn one_error(text: &str, needle: &str, field: &str, hint: &str) {
    let errors = errors_of(text);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    let e = &errors[0];
    let shown = e.to_string();
    assert_eq!(e.line, line_of(text, needle), "{shown}");
    assert_eq!(e.field, field, "{shown}");
    assert!(shown.contains(hint), "`{shown}` should mention `{hint}`");
}

const CAP: &str = "        - { name: d, scope: global, period: day, limit_usd: 5 }\n";

#[test]
fn a_valid_budget_block_loads() {
    let text = with_budget(
        &format!("      model: gpt-4o\n      ladder: openai\n      caps:\n{CAP}"),
        "events:\n  - at: 10s\n    price: { model: gpt-4o, input_usd_per_mtok: 2, output_usd_per_mtok: 8 }\n",
    );
    let s = parse(&workspace().join("scenarios/ok.yaml"), &text).expect("valid");
    let b = s.policies[0].budget.as_ref().expect("budget");
    assert_eq!(b.caps[0].limit_nano_usd, 5 * NANO);
    assert_eq!(s.budget.expect("setup").prices.len(), 1);
}

#[test]
fn unknown_models_ladders_and_keys_are_located() {
    let caps = format!("      caps:\n{CAP}");
    let text = with_budget(&format!("      model: gpt-5\n{caps}"), "");
    one_error(
        &text,
        "model: gpt-5",
        "policies[0].budget.model",
        "gpt-4o-mini",
    );
    let text = with_budget(
        &format!("      model: gpt-4o\n      ladder: cheap\n{caps}"),
        "",
    );
    one_error(
        &text,
        "ladder: cheap",
        "policies[0].budget.ladder",
        "openai",
    );
    let text = with_budget(
        &format!("      model: gpt-4o\n{caps}"),
        "events:\n  - at: 1m\n    revoke: nope\n",
    );
    one_error(&text, "revoke: nope", "events[0].revoke", "keys are: a");
}

#[test]
fn zero_limits_and_bad_periods_are_located() {
    // Block style: the field path of a flow map inside a list item names only its first key.
    let cap = |period: &str, limit: &str| {
        format!(
            "      model: gpt-4o\n      caps:\n        - name: d\n          scope: global\n          period: {period}\n          limit_usd: {limit}\n"
        )
    };
    let zero = &cap("day", "0");
    let text = with_budget(zero, "");
    one_error(
        &text,
        "limit_usd: 0",
        "policies[0].budget.caps[0].limit_usd",
        "greater than 0",
    );
    let text = with_budget(&cap("week", "1"), "");
    one_error(
        &text,
        "period: week",
        "policies[0].budget.caps[0].period",
        "`day`",
    );
}

#[test]
fn a_budget_without_a_catalogue_is_an_error() {
    let text = format!("{BASE}    budget:\n      model: gpt-4o\n");
    one_error(
        &text,
        "model: gpt-4o",
        "policies[0].budget.model",
        "models:",
    );
}

#[test]
fn a_runs_duration_override_keeps_budgets_working() {
    let scenario = load(&budget_yaml());
    let options = RunOptions {
        seed: 3,
        duration: Duration::from_secs(120),
    };
    let run = run_policy(&scenario, &scenario.policies[1], &options, &mut |_| {}).expect("run");
    assert!(budget(&run).total_nano_usd() > 0);
}

/// One standard-class group against a slow single-slot provider: the queue fills, so the
/// scheduler pops with `downgrade` (the default shed order ends with `downgrade-standard`).
const CROWDED: &str = "\
seed: 1
duration: 60s
models: models.yaml
provider:
  name: p
  rpm: 6000
  tpm: 10000000
  concurrency: 1
  latency: { base: 1s, per_output_token: 1ms }
  price: { input_usd_per_mtok: 2.5, output_usd_per_mtok: 10 }
traffic:
  groups:
    - name: tools
      users: 50
      class: standard
      arrival:
        poisson: { rate: 6/min }
      input_tokens: { median: 500, sigma: 0.3, max: 2000 }
      output_tokens: { median: 100, sigma: 0.3, max: 500 }
policies:
  - name: crowded
    max_in_flight: 1
    queue_capacity: 10
    budget:
      model: gpt-4o
      ladder: openai
      caps:
        - name: plenty
          scope: global
          period: day
          limit_usd: 1000
";

#[test]
fn shedding_downgrades_switch_to_the_ladders_cheaper_model() {
    let runs = run_all(&load(CROWDED));
    let b = budget(&runs[0]);
    assert!(BudgetMetrics::count(&b.degraded, None) > 0, "{b:?}");
    let share = b.best_model_share(None).expect("completions");
    assert!(share < 1.0 && share > 0.0, "{share}");
    // Far from the cap: every degradation came from the queue, none from the ladder's budget
    // thresholds, and nothing was refused.
    assert_eq!(BudgetMetrics::count(&b.budget_rejected, None), 0);
}

#[test]
fn price_events_change_what_completions_cost() {
    let base = run_all(&load(CROWDED));
    let free = format!(
        "{CROWDED}events:\n  - at: 0s\n    price: {{ model: gpt-4o, input_usd_per_mtok: 0, output_usd_per_mtok: 0 }}\n  - at: 0s\n    price: {{ model: gpt-4o-mini, input_usd_per_mtok: 0, output_usd_per_mtok: 0 }}\n"
    );
    let runs = run_all(&load(&free));
    assert!(budget(&base[0]).total_nano_usd() > 0);
    assert_eq!(budget(&runs[0]).total_nano_usd(), 0);
    assert_eq!(
        runs[0].total().cost_nano_usd,
        0,
        "cost_usd uses the catalogue"
    );
    assert!(runs[0].total().completed > 0);
}

#[test]
fn budget_runs_are_deterministic() {
    let scenario = load(&budget_yaml());
    let (a, b) = (run_all(&scenario), run_all(&scenario));
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(budget(x).spend, budget(y).spend, "{}", x.policy);
        assert_eq!(budget(x).degraded, budget(y).degraded, "{}", x.policy);
        assert_eq!(x.total().cost_nano_usd, y.total().cost_nano_usd);
    }
}

/// The provider bills a call it accepted however it ends: with no drain the run stops with
/// calls on the wire, and the budget books them (at no less than their estimate) besides the
/// completions; `cost_usd` counts the same money.
#[test]
fn calls_still_on_the_wire_at_the_end_are_billed() {
    let scenario = load(&budget_yaml().replace("drain: 10m", "drain: 0s"));
    let mut beyond_completions = 0;
    for run in run_all(&scenario) {
        let b = budget(&run);
        let billed: u64 = b.spend.values().map(|s| s.requests).sum();
        let completed = BudgetMetrics::count(&b.completed, None);
        assert!(billed >= completed, "{}", run.policy);
        beyond_completions += billed - completed;
        assert_eq!(
            run.total().cost_nano_usd,
            b.total_nano_usd(),
            "{}",
            run.policy
        );
    }
    // Some policies end with calls on the wire (`queue` ends holding every request instead).
    assert!(beyond_completions > 0);
}

/// Regression (issue 16): a huge hour overflowed `(h * 60 + m)` in a debug build.
#[test]
fn a_huge_start_time_of_day_is_an_error_not_an_overflow() {
    let text = format!(
        "{}starts_at_utc: \"1000000000000000000:00\"\n",
        with_budget(&format!("      model: gpt-4o\n      caps:\n{CAP}"), "")
    );
    one_error(&text, "starts_at_utc", "starts_at_utc", "HH:MM");
}

/// The `queue` policy holds requests at the cap until midnight: they are waiting in the
/// gateway, so the queue-depth series counts them from the moment the cap binds (not 0 until
/// midnight and then a spike), and the depth only grows while the budget is spent.
#[test]
fn requests_held_at_the_cap_count_in_the_queue_depth() {
    let scenario = load(&budget_yaml());
    let policy = scenario
        .policies
        .iter()
        .find(|p| p.name == "queue")
        .expect("queue policy");
    let options = RunOptions {
        seed: scenario.seed,
        duration: scenario.duration,
    };
    let mut rows = Vec::new();
    run_policy(&scenario, policy, &options, &mut |r| rows.push(*r)).expect("runs");
    // Midnight is 25 minutes in; the cap binds well before (budget-refused arrivals show it).
    let before_midnight: Vec<_> = rows.iter().filter(|r| r.t_s < 25 * 60).collect();
    let deepest = before_midnight.iter().map(|r| r.queued).max().unwrap_or(0);
    let last = before_midnight.last().map_or(0, |r| r.queued);
    assert!(
        deepest > 100,
        "held requests counted before midnight: {deepest}"
    );
    assert_eq!(last, deepest, "nothing is served while held");
    for r in &rows {
        assert_eq!(
            r.queued,
            r.queued_by_class.iter().sum::<u64>(),
            "t {}",
            r.t_s
        );
    }
}
