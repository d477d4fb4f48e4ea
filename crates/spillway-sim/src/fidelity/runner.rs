//! Simulating a validation case: independent replications through the real event loop
//! ([`run_policy`]), each measured from the gateway's own metrics.

use super::interval::Estimate;
use super::{FidelityError, ValidationCase};
use crate::metrics::PolicyMetrics;
use crate::scenario::{Class, Scenario};
use crate::traffic::secs_to_nanos;
use crate::{RunOptions, run_policy};
use spillway_core::Duration;

/// Replications per case unless told otherwise: 19 degrees of freedom put the t quantile within
/// 11 % of the normal one, while each replication stays long enough (≥ 5,000 requests in the
/// debug tests) for the empty-start transient to be small (see [`RunPlan`]).
pub const DEFAULT_REPLICATIONS: u32 = 20;

/// How much to simulate per case.
///
/// Each replication starts empty, so its mean wait is slightly below the steady state: the
/// deficit is of the order of the queue's relaxation time (tens of services at ρ ≤ 0.8) over
/// the replication's length, well under the interval's width at the sizes used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunPlan {
    /// Expected arrivals per case, over all replications.
    pub requests: u64,
    /// Independent replications (at least 2, for an interval).
    pub replications: u32,
}

/// What one case measured, beside what theory says.
#[derive(Debug, Clone)]
pub struct CaseResult {
    /// The case.
    pub case: ValidationCase,
    /// How it was simulated.
    pub plan: RunPlan,
    /// Mean queue wait (admission → first upstream send), seconds, with its 99 % interval.
    pub wait_s: Estimate,
    /// Server utilisation: busy time / (c · arrival window).
    pub utilisation: Estimate,
    /// Mean upstream service time (send → completion of the accepted call), seconds.
    pub mean_service_s: Estimate,
    /// Requests measured, over all replications.
    pub samples: u64,
    /// The worst Little's-law error (`littles_law_error_pct` of summary.csv) of any replication.
    pub littles_law_max_error_pct: f64,
}

impl CaseResult {
    /// (measured − theory) / theory of the mean wait, in percent.
    pub fn wait_error_pct(&self) -> f64 {
        self.wait_s.error_pct_of(self.case.theory_wait_s)
    }

    /// Whether the theoretical wait and utilisation both lie in their measured intervals.
    pub fn agrees(&self) -> bool {
        self.wait_s.contains(self.case.theory_wait_s)
            && self.utilisation.contains(self.case.queue.utilisation())
    }
}

/// One replication's measurements.
struct Replication {
    wait_s: f64,
    utilisation: f64,
    mean_service_s: f64,
    samples: u64,
    littles_law_error_pct: f64,
}

/// Simulate `case` (`scenario` as loaded) `plan.replications` times on seeds `seed`,
/// `seed + 1`, …, each over `plan.requests / plan.replications` expected arrivals.
pub fn run_case(
    scenario: &Scenario,
    case: &ValidationCase,
    plan: &RunPlan,
) -> Result<CaseResult, FidelityError> {
    let fail = |reason: String| FidelityError::Run {
        file: case.file.clone(),
        reason,
    };
    if plan.replications < 2 || plan.requests < u64::from(plan.replications) {
        return Err(fail(format!(
            "{} requests in {} replications: an interval needs at least 2 replications of at \
             least 1 request",
            plan.requests, plan.replications
        )));
    }
    let per_replication = plan.requests as f64 / f64::from(plan.replications);
    let duration = Duration::from_nanos(secs_to_nanos(
        per_replication / case.queue.arrival_rate_per_s,
    ));
    let mut runs = Vec::with_capacity(plan.replications as usize);
    for r in 0..plan.replications {
        let options = RunOptions {
            seed: scenario.seed.wrapping_add(u64::from(r)),
            duration,
        };
        runs.push(replicate(scenario, case, &options).map_err(&fail)?);
    }
    let column = |f: fn(&Replication) -> f64| -> Vec<f64> { runs.iter().map(f).collect() };
    Ok(CaseResult {
        case: case.clone(),
        plan: *plan,
        wait_s: Estimate::from_replications(&column(|r| r.wait_s)),
        utilisation: Estimate::from_replications(&column(|r| r.utilisation)),
        mean_service_s: Estimate::from_replications(&column(|r| r.mean_service_s)),
        samples: runs.iter().map(|r| r.samples).sum(),
        littles_law_max_error_pct: column(|r| r.littles_law_error_pct)
            .into_iter()
            .fold(0.0, f64::max),
    })
}

/// One run of the real event loop, and its sample; refused unless every arrival was served
/// (a shed, failed or unfinished request would bias the mean wait).
fn replicate(
    scenario: &Scenario,
    case: &ValidationCase,
    options: &RunOptions,
) -> Result<Replication, String> {
    let Some(policy) = scenario.policies.first() else {
        return Err("the scenario has no policy".to_string());
    };
    let metrics: PolicyMetrics =
        run_policy(scenario, policy, options, &mut |_| {}).map_err(|e| e.to_string())?;
    let stats = metrics.class(case.class);
    let samples = stats.wait.count();
    if samples == 0 || stats.completed != stats.admitted || stats.offered != stats.admitted {
        return Err(format!(
            "seed {}: {} offered, {} admitted, {} completed ({} shed, {} failed, {} unfinished): \
             every request must be served; raise `queue_capacity` or `drain`",
            options.seed,
            stats.offered,
            stats.admitted,
            stats.completed,
            stats.shed,
            stats.failed,
            stats.unfinished
        ));
    }
    // The exact sums, not the histograms' means: those are bucketed (a small bias that the
    // intervals, at a million requests, are narrow enough to show).
    let wait_s = stats.mean_wait_ms().unwrap_or(0.0) / 1e3;
    let mean_service_s = stats.mean_service_ms().unwrap_or(0.0) / 1e3;
    // The server is busy for every class sharing it, not only the one measured.
    let busy_s: f64 = scenario_classes(scenario)
        .map(|class| metrics.class(class).service_ns_sum as f64 / 1e9)
        .sum();
    let window_s = options.duration.as_secs_f64() * case.queue.servers as f64;
    Ok(Replication {
        wait_s,
        utilisation: busy_s / window_s,
        mean_service_s,
        samples,
        littles_law_error_pct: metrics
            .littles_law_error_pct(stats)
            .unwrap_or(f64::INFINITY),
    })
}

/// The classes the scenario's groups send, each once.
fn scenario_classes(scenario: &Scenario) -> impl Iterator<Item = Class> + '_ {
    let mut seen = [false; 4];
    scenario.groups.iter().filter_map(move |g| {
        let first = !seen[g.class.index()];
        seen[g.class.index()] = true;
        first.then_some(g.class)
    })
}
