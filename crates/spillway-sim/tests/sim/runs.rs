//! Whole runs: determinism and request conservation.

use crate::workspace;
use spillway_core::Duration;
use spillway_sim::metrics::{PolicyMetrics, TimeseriesRow};
use spillway_sim::{RunOptions, run_policy, scenario};

fn run_spike(seed: u64, duration_s: u64) -> (Vec<PolicyMetrics>, Vec<(usize, TimeseriesRow)>) {
    let scenario =
        scenario::load(&workspace().join("scenarios/spike.yaml")).expect("spike.yaml is valid");
    let options = RunOptions {
        seed,
        duration: Duration::from_secs(duration_s),
    };
    let mut rows = Vec::new();
    let runs = scenario
        .policies
        .iter()
        .enumerate()
        .map(|(i, p)| {
            run_policy(&scenario, p, &options, &mut |r| rows.push((i, *r))).expect("runs")
        })
        .collect();
    (runs, rows)
}

#[test]
fn every_offered_request_is_accounted_for_exactly_once() {
    let (runs, _) = run_spike(7, 420);
    for run in &runs {
        for c in &run.classes {
            assert_eq!(c.offered, c.admitted + c.rejected, "{}", run.policy);
            assert_eq!(
                c.admitted,
                c.shed + c.abandoned + c.completed + c.failed + c.unfinished,
                "{}",
                run.policy
            );
            assert_eq!(c.latency.count(), c.completed);
        }
        let rejected: u64 = run.total().rejected;
        let by_layer: u64 = run.rejections_by_layer.iter().map(|(_, n)| n).sum();
        assert!(
            by_layer >= rejected,
            "every rejection names at least one layer"
        );
    }
}

#[test]
fn policies_see_the_same_arrivals() {
    let (runs, _) = run_spike(11, 420);
    let offered: Vec<[u64; 4]> = runs
        .iter()
        .map(|r| r.classes.each_ref().map(|c| c.offered))
        .collect();
    assert!(offered.windows(2).all(|w| w[0] == w[1]), "{offered:?}");
    assert!(
        offered[0].iter().all(|&n| n > 0),
        "every class has traffic: {offered:?}"
    );
}

#[test]
fn the_same_seed_gives_the_same_results_and_another_seed_does_not() {
    let summary = |runs: &[PolicyMetrics]| -> Vec<(u64, u64, u64, Duration)> {
        runs.iter()
            .map(|r| {
                let t = r.total();
                (t.offered, t.completed, t.upstream_429, t.latency.max())
            })
            .collect()
    };
    let (a, rows_a) = run_spike(3, 300);
    let (b, rows_b) = run_spike(3, 300);
    let (c, _) = run_spike(4, 300);
    assert_eq!(summary(&a), summary(&b));
    assert_eq!(rows_a, rows_b);
    assert_ne!(summary(&a), summary(&c));
}

#[test]
fn the_spike_overloads_the_provider_and_the_limits_bite() {
    let (runs, rows) = run_spike(42, 480);
    for run in &runs {
        let t = run.total();
        assert!(
            t.rejected > 0,
            "{}: per-user limits reject during the spike",
            run.policy
        );
        assert!(
            t.upstream_429 > 0,
            "{}: the spike exceeds the provider's RPM",
            run.policy
        );
    }
    // The spike (minutes 5–7) offers far more than the baseline minute before it.
    let offered_in = |from: u64, to: u64| -> u64 {
        rows.iter()
            .filter(|(i, r)| *i == 0 && (from..to).contains(&r.t_s))
            .map(|(_, r)| r.offered)
            .sum()
    };
    assert!(offered_in(300, 360) > 5 * offered_in(180, 240));
}
