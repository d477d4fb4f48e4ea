//! Reading a scenario as a textbook queue: which one, with which λ, c and service law.
//!
//! A validation case is an ordinary scenario restricted so that the gateway *is* the queue of
//! the textbook: one group of Poisson arrivals, provider `unlimited` (c FIFO servers, no rate
//! limits) with a constant, exponential or log-normal service time, and a policy whose
//! `max_in_flight` equals c. Then nothing waits inside the provider, and the gateway's `wait`
//! (admission → first upstream send) is exactly the queue wait Wq of the theory.

use super::FidelityError;
use super::theory::{Queue, ServiceDistribution};
use crate::provider::{KindSpec, LatencySpec};
use crate::scenario::{self, ArrivalSpec, Class, Scenario};
use std::path::{Path, PathBuf};

/// A scenario recognised as a textbook queue, with its theoretical wait.
#[derive(Debug, Clone)]
pub struct ValidationCase {
    /// The scenario file.
    pub file: PathBuf,
    /// The scenario's name.
    pub name: String,
    /// λ, c and the service law.
    pub queue: Queue,
    /// The class whose `wait` is measured (the only group's).
    pub class: Class,
    /// Wq from the closed form, in seconds.
    pub theory_wait_s: f64,
}

/// Load `path` and recognise it as a validation case.
pub fn load_case(path: &Path) -> Result<(Scenario, ValidationCase), FidelityError> {
    let scenario = scenario::load(path)?;
    let case = case_of(path, &scenario)?;
    Ok((scenario, case))
}

/// Recognise `scenario` (read from `file`) as a textbook queue. Every difference from one is
/// reported at once; a stable queue is required (ρ < 1).
pub fn case_of(file: &Path, scenario: &Scenario) -> Result<ValidationCase, FidelityError> {
    let mut reasons = structure_problems(scenario);
    let service = service_law(scenario, &mut reasons);
    let (group, policy) = (scenario.groups.first(), scenario.policies.first());
    let servers = scenario.provider.concurrency;
    if let Some(policy) = policy {
        if policy.max_in_flight != servers {
            reasons.push(format!(
                "policy `{}` has max_in_flight {} but the provider has {servers} servers: they \
                 must be equal, so that the queue forms in the gateway where `wait` is measured",
                policy.name, policy.max_in_flight
            ));
        }
        if policy.scheduler.tenant_fair_share && group.is_some_and(|g| g.users > 1) {
            reasons.push(
                "the scheduler serves users by fair share: set `scheduler: { fair_share: false }` \
                 (or `users: 1`) so that the queue is FIFO"
                    .to_string(),
            );
        }
    }
    let arrival_rate_per_s = match group.map(|g| (&g.arrival, g.users)) {
        Some((ArrivalSpec::Poisson { rate_per_sec }, users)) => rate_per_sec * users as f64,
        _ => 0.0,
    };
    let (Some(group), Some(service), true) = (group, service, reasons.is_empty()) else {
        return Err(FidelityError::NotACase {
            file: file.to_path_buf(),
            reason: reasons.join("; "),
        });
    };
    let queue = Queue {
        arrival_rate_per_s,
        servers,
        service,
    };
    let Some(theory_wait_s) = queue.mean_wait_s() else {
        return Err(refusal(file, &queue));
    };
    Ok(ValidationCase {
        file: file.to_path_buf(),
        name: scenario.name.clone(),
        queue,
        class: group.class,
        theory_wait_s,
    })
}

/// Why a queue has no theoretical wait: unstable, or no closed form.
fn refusal(file: &Path, queue: &Queue) -> FidelityError {
    if queue.utilisation() >= 1.0 {
        return FidelityError::Unstable {
            file: file.to_path_buf(),
            arrival_rate_per_s: queue.arrival_rate_per_s,
            mean_service_ms: queue.service.mean_s() * 1e3,
            servers: queue.servers,
            utilisation: queue.utilisation(),
        };
    }
    FidelityError::NotACase {
        file: file.to_path_buf(),
        reason: format!(
            "{} has no closed form for the mean wait: with more than one server the service \
             must be exponential (M/M/c); constant and log-normal service need one server",
            queue.kendall()
        ),
    }
}

/// Everything but the service law that must match the textbook queue.
fn structure_problems(s: &Scenario) -> Vec<String> {
    let mut reasons = Vec::new();
    let p = &s.provider;
    if !matches!(p.kind, KindSpec::Unlimited) {
        reasons.push(format!(
            "the provider is of kind `{}`; a validation case needs `kind: unlimited` (c FIFO \
             servers, no rate limits)",
            p.kind.name()
        ));
    }
    if p.overload.is_some() || !p.outages.is_empty() || !p.shared_quota.is_empty() {
        reasons.push("the provider may not have overload, outages or a shared quota".to_string());
    }
    match s.groups.as_slice() {
        [g] if matches!(g.arrival, ArrivalSpec::Poisson { .. }) => {
            if s.classes[g.class.index()].deadline.is_some() {
                reasons.push(format!(
                    "class `{}` has a deadline: users who abandon leave the queue early",
                    g.class
                ));
            }
        }
        [_] => reasons.push("the group's arrivals must be `poisson`".to_string()),
        groups => reasons.push(format!(
            "{} traffic groups; a validation case has exactly one (Poisson) group",
            groups.len()
        )),
    }
    if !s.spikes.is_empty() || s.trace.is_some() {
        reasons.push("spikes and traces make the arrival rate vary: remove them".to_string());
    }
    match s.policies.as_slice() {
        [policy] if !policy.layers.is_empty() => reasons.push(format!(
            "policy `{}` has limiter layers; rejections would thin the arrivals",
            policy.name
        )),
        [_] => {}
        policies => reasons.push(format!(
            "{} policies; a validation case has exactly one",
            policies.len()
        )),
    }
    reasons
}

/// The provider's latency model as a textbook distribution.
fn service_law(s: &Scenario, reasons: &mut Vec<String>) -> Option<ServiceDistribution> {
    match s.provider.latency {
        LatencySpec::Constant { mean } => Some(ServiceDistribution::Deterministic {
            mean_s: mean.as_secs_f64(),
        }),
        LatencySpec::Exponential { mean } => Some(ServiceDistribution::Exponential {
            mean_s: mean.as_secs_f64(),
        }),
        LatencySpec::LogNormal { median, sigma } => Some(ServiceDistribution::LogNormal {
            median_s: median.as_secs_f64(),
            sigma,
        }),
        LatencySpec::Empirical { .. } => {
            reasons.push(
                "the latency model is `empirical`; use `model: constant`, `exponential` or \
                 `lognormal`"
                    .to_string(),
            );
            None
        }
    }
}
