//! Whole runs: determinism and request conservation.

use crate::workspace;
use spillway_core::Duration;
use spillway_sim::metrics::{PolicyMetrics, TimeseriesRow};
use spillway_sim::{RunOptions, run_policies, run_policy, scenario};

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

/// What a run measured, in a comparable form (hash-map contents sorted).
fn fingerprint(m: &PolicyMetrics) -> String {
    format!(
        "{} {:?} {:?} {} {} {:?} {:?} {:?} {:?} {:?}",
        m.policy,
        m.classes,
        m.rejections_by_layer,
        m.never_fits,
        m.events,
        m.users.sorted(),
        m.end,
        m.distributed,
        m.budget,
        m.key_downtime
    )
}

/// `simulate` runs every policy side by side on one arrival stream; each policy's metrics and
/// rows are exactly those of running it alone (retries, budgets with leaked keys, a central
/// store's round trips, a trace, and the spike).
#[test]
fn side_by_side_runs_equal_one_policy_at_a_time() {
    for name in [
        "spike",
        "429-storm",
        "budget",
        "distributed",
        "starvation",
        "trace-sample",
    ] {
        let path = workspace().join(format!("scenarios/{name}.yaml"));
        let scenario = scenario::load(&path).expect("shipped scenarios are valid");
        let options = RunOptions {
            seed: scenario.seed,
            duration: scenario.duration,
        };
        let mut together_rows = vec![Vec::new(); scenario.policies.len()];
        let together = run_policies(&scenario, &scenario.policies, &options, &mut |i, r| {
            together_rows[i].push(*r);
        })
        .expect("runs");
        assert_eq!(together.len(), scenario.policies.len(), "{name}");
        for (i, policy) in scenario.policies.iter().enumerate() {
            let mut rows = Vec::new();
            let alone =
                run_policy(&scenario, policy, &options, &mut |r| rows.push(*r)).expect("runs");
            assert!(alone.total().offered > 0, "{name}: traffic");
            assert_eq!(fingerprint(&together[i]), fingerprint(&alone), "{name} {i}");
            assert_eq!(together_rows[i], rows, "{name} {i}: rows");
        }
    }
}
