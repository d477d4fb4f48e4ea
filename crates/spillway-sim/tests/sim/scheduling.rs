//! The priority scheduler inside whole runs: starvation, aging, shedding, abandonment, and
//! the built-in self-checks (Little's law, fairness) on the shipped scenarios.

use crate::workspace;
use spillway_core::Duration;
use spillway_sim::metrics::PolicyMetrics;
use spillway_sim::scenario::{self, Class, Scenario};
use spillway_sim::{RunOptions, run_policy};

fn run_all(file: &str) -> (Scenario, Vec<PolicyMetrics>) {
    let scenario = scenario::load(&workspace().join("scenarios").join(file)).expect("valid");
    let options = RunOptions {
        seed: scenario.seed,
        duration: scenario.duration,
    };
    let runs = scenario
        .policies
        .iter()
        .map(|p| run_policy(&scenario, p, &options, &mut |_| {}).expect("runs"))
        .collect();
    (scenario, runs)
}

fn by_name<'a>(runs: &'a [PolicyMetrics], name: &str) -> &'a PolicyMetrics {
    runs.iter()
        .find(|r| r.policy == name)
        .expect("policy exists")
}

fn assert_conserved(run: &PolicyMetrics) {
    for c in &run.classes {
        assert_eq!(c.offered, c.admitted + c.rejected, "{}", run.policy);
        assert_eq!(
            c.admitted,
            c.shed + c.abandoned + c.completed + c.failed + c.unfinished,
            "{}: every admitted request leaves exactly one way",
            run.policy
        );
        assert!(c.never_served <= c.shed + c.abandoned + c.unfinished);
        assert_eq!(
            c.wait.count(),
            c.admitted,
            "{}: one queue wait per admitted request",
            run.policy
        );
        if let Some(mean) = c.mean_wait_ms() {
            let max_ms = c.wait.max().as_nanos() as f64 / 1e6;
            assert!(
                mean <= max_ms,
                "{}: mean wait {mean} > max {max_ms}",
                run.policy
            );
        }
        if let Some(service) = c.mean_service_ms() {
            assert!(service > 0.0, "{}: accepted calls take time", run.policy);
        }
    }
}

#[test]
fn strict_priority_starves_batch_and_aging_bounds_its_wait_at_interactives_expense() {
    let (_, runs) = run_all("starvation.yaml");
    runs.iter().for_each(assert_conserved);
    let strict = by_name(&runs, "strict");
    let aging = by_name(&runs, "aging-60s");
    let batch = |r: &PolicyMetrics| r.class(Class::Batch).wait.max();
    // Strict: batch waits out its 15-minute patience; some give up.
    assert!(strict.class(Class::Batch).abandoned > 0);
    assert!(batch(strict).as_nanos() >= 900 * 1_000_000_000);
    // Aging one class per 60 s: a batch request (class 2) reaches the top within 2 minutes,
    // then waits at most for the top-level requests that arrived before it.
    assert_eq!(aging.class(Class::Batch).abandoned, 0);
    assert!(
        batch(aging).as_nanos() < 180 * 1_000_000_000,
        "{:?}",
        batch(aging)
    );
    // The price: interactive latency rises under aging.
    let p99 = |r: &PolicyMetrics| r.class(Class::Interactive).latency.quantile(0.99);
    assert!(p99(aging) > p99(strict));
}

#[test]
fn shedding_drops_the_lowest_classes_first_and_saves_interactive_users() {
    let (_, runs) = run_all("overload.yaml");
    runs.iter().for_each(assert_conserved);
    let shed = by_name(&runs, "shed-lowest-first");
    let none = by_name(&runs, "no-shedding");
    assert_eq!(none.total().shed, 0);
    let (bg, batch) = (
        shed.class(Class::Background).shed,
        shed.class(Class::Batch).shed,
    );
    assert!(bg > 0 && batch > 0, "background {bg}, batch {batch}");
    let abandoned = |r: &PolicyMetrics| r.class(Class::Interactive).abandoned;
    assert!(
        abandoned(shed) < abandoned(none),
        "fewer people give up when low classes are shed: {} vs {}",
        abandoned(shed),
        abandoned(none)
    );
    // Strict priority with the same shedding order keeps interactive near its 2 s SLO (the
    // aging policies let the promoted backlog push it to the 60 s deadline) at no goodput cost.
    let strict = by_name(&runs, "strict-priority");
    let chat = strict.class(Class::Interactive);
    assert_eq!(chat.abandoned, 0);
    let p99_wait = chat.wait.quantile(0.99);
    assert!(p99_wait < Duration::from_secs(5), "{p99_wait:?}");
    assert!(shed.class(Class::Interactive).wait.quantile(0.99) > Duration::from_secs(30));
    let goodput = |r: &PolicyMetrics| r.total().completed;
    assert!(
        goodput(strict) * 100 >= goodput(shed) * 97,
        "goodput {} vs {}",
        goodput(strict),
        goodput(shed)
    );
}

#[test]
fn littles_law_holds_exactly_on_drained_runs() {
    for file in ["starvation.yaml", "spike.yaml"] {
        let (_, runs) = run_all(file);
        for run in &runs {
            let total = run.total();
            assert_eq!(
                total.unfinished, 0,
                "{file}: the drain period empties the system"
            );
            for c in run.classes.iter().chain([&total]) {
                if let Some(e) = run.littles_law_error_pct(c) {
                    assert!(e < 1e-6, "{file} {}: L vs λW differ by {e} %", run.policy);
                }
            }
        }
    }
}

#[test]
fn jain_index_is_between_one_over_n_and_one() {
    let (_, runs) = run_all("overload.yaml");
    for run in &runs {
        let users = run.users.sorted();
        for class in Class::ALL {
            let n = users
                .iter()
                .filter(|(_, s)| usize::from(s.class) == class.index() && s.offered > 0)
                .count();
            match run.fairness_jain(Some(class)) {
                Some(j) => {
                    let floor = 1.0 / n as f64;
                    assert!(
                        j >= floor - 1e-12 && j <= 1.0 + 1e-12,
                        "{j} outside [1/{n}, 1]"
                    );
                }
                None => assert_eq!(n, 0, "an index exists whenever a user offered"),
            }
        }
        // Someone was served less than asked in the overload, so no class is perfectly fair.
        let all = run.fairness_jain(None).expect("users offered");
        assert!(all < 1.0, "{}: {all}", run.policy);
    }
}
