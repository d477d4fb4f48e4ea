//! Reading a scenario as a textbook queue: which one, with which λ, c and service law.
//!
//! A validation case is an ordinary scenario restricted so that the gateway *is* the queue of
//! the textbook: one group of Poisson arrivals, provider `unlimited` (c FIFO servers, no rate
//! limits) with a constant, exponential or log-normal service time, and a policy whose
//! `max_in_flight` equals c. Then nothing waits inside the provider, and the gateway's `wait`
//! (admission → first upstream send) is exactly the queue wait Wq of the theory.

use super::FidelityError;
use super::theory::{Queue, ServiceDistribution, cobham_waits_s};
use crate::provider::{KindSpec, LatencySpec};
use crate::scenario::{self, ArrivalSpec, Class, Scenario};
use spillway_core::schedule::Discipline;
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
    /// Set when several classes share the server under strict priority (Cobham).
    pub priority: Option<PriorityRank>,
}

/// The place of a class among several sharing one server under non-preemptive strict priority.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PriorityRank {
    /// 1 = most urgent.
    pub rank: usize,
    /// How many classes share the server.
    pub classes: usize,
    /// λ_k of this class, requests per second (`queue.arrival_rate_per_s` is the total).
    pub class_rate_per_s: f64,
}

impl ValidationCase {
    /// The model for reports: Kendall notation, with the priority rank when there is one.
    pub fn model(&self) -> String {
        match self.priority {
            Some(p) => format!("{} priority {}/{}", self.queue.kendall(), p.rank, p.classes),
            None => self.queue.kendall(),
        }
    }

    /// The formula of [`ValidationCase::theory_wait_s`], for reports.
    pub fn formula(&self) -> &'static str {
        match self.priority {
            Some(_) => "Cobham: Wk = W0/((1−σk−1)(1−σk)), W0 = Σλi·E[S²]/2",
            None => self.queue.formula(),
        }
    }
}

/// Load `path` and recognise it as a single-class validation case.
pub fn load_case(path: &Path) -> Result<(Scenario, ValidationCase), FidelityError> {
    let scenario = scenario::load(path)?;
    let case = case_of(path, &scenario)?;
    Ok((scenario, case))
}

/// Load `path` and recognise it as validation cases: one, or one per priority class.
pub fn load_cases(path: &Path) -> Result<(Scenario, Vec<ValidationCase>), FidelityError> {
    let scenario = scenario::load(path)?;
    let cases = cases_of(path, &scenario)?;
    Ok((scenario, cases))
}

/// Recognise `scenario` (read from `file`) as a single-class textbook queue.
pub fn case_of(file: &Path, scenario: &Scenario) -> Result<ValidationCase, FidelityError> {
    let mut cases = cases_of(file, scenario)?;
    match (cases.pop(), cases.is_empty()) {
        (Some(case), true) => Ok(case),
        _ => Err(FidelityError::NotACase {
            file: file.to_path_buf(),
            reason: "several priority classes: read it with `cases_of`".to_string(),
        }),
    }
}

/// Recognise `scenario` (read from `file`) as a textbook queue: FIFO with one class, or
/// non-preemptive strict priority on one server with one case per class (most urgent first).
/// Every difference from one is reported at once; a stable queue is required (ρ < 1).
pub fn cases_of(file: &Path, scenario: &Scenario) -> Result<Vec<ValidationCase>, FidelityError> {
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
    let rates = class_rates(scenario);
    let arrival_rate_per_s = rates.iter().map(|(_, rate)| rate).sum();
    let (Some(_), Some(service), true) = (group, service, reasons.is_empty()) else {
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
    let case = |class: Class, theory_wait_s: f64, priority: Option<PriorityRank>| ValidationCase {
        file: file.to_path_buf(),
        name: match priority {
            Some(_) => format!("{} ({class})", scenario.name),
            None => scenario.name.clone(),
        },
        queue,
        class,
        theory_wait_s,
        priority,
    };
    if let [(class, _)] = rates.as_slice() {
        let Some(theory_wait_s) = queue.mean_wait_s() else {
            return Err(refusal(file, &queue));
        };
        return Ok(vec![case(*class, theory_wait_s, None)]);
    }
    let per_class: Vec<f64> = rates.iter().map(|(_, rate)| *rate).collect();
    let Some(waits) = cobham_waits_s(&per_class, service) else {
        return Err(refusal(file, &queue));
    };
    Ok(rates
        .iter()
        .zip(waits)
        .enumerate()
        .map(|(i, (&(class, rate), wait))| {
            let rank = PriorityRank {
                rank: i + 1,
                classes: rates.len(),
                class_rate_per_s: rate,
            };
            case(class, wait, Some(rank))
        })
        .collect())
}

/// λ of each class present, most urgent first (the order strict priority serves them in).
fn class_rates(scenario: &Scenario) -> Vec<(Class, f64)> {
    let mut rates: Vec<(Class, f64)> = Vec::new();
    for group in &scenario.groups {
        let ArrivalSpec::Poisson { rate_per_sec } = group.arrival else {
            continue;
        };
        let rate = rate_per_sec * group.users as f64;
        match rates.iter_mut().find(|(c, _)| *c == group.class) {
            Some((_, total)) => *total += rate,
            None => rates.push((group.class, rate)),
        }
    }
    rates.sort_by_key(|(class, _)| class.index());
    rates
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
    group_problems(s, &mut reasons);
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

/// Every group Poisson, no class deadline; several classes only under strict priority on one
/// server (the queue Cobham's formula describes).
fn group_problems(s: &Scenario, reasons: &mut Vec<String>) {
    if s.groups.is_empty() {
        reasons.push("no traffic group; a validation case needs Poisson arrivals".to_string());
    }
    for g in &s.groups {
        if !matches!(g.arrival, ArrivalSpec::Poisson { .. }) {
            reasons.push(format!("group `{}`: arrivals must be `poisson`", g.name));
        }
        if s.classes[g.class.index()].deadline.is_some() {
            reasons.push(format!(
                "class `{}` has a deadline: users who abandon leave the queue early",
                g.class
            ));
        }
    }
    let several = s.groups.iter().any(|g| g.class != s.groups[0].class);
    if several && s.provider.concurrency != 1 {
        reasons.push(
            "several classes need one server (`concurrency: 1`): Cobham's formula is M/G/1"
                .to_string(),
        );
    }
    let strict = s
        .policies
        .iter()
        .all(|p| matches!(p.scheduler.discipline, Discipline::Strict));
    if several && !strict {
        reasons.push(
            "several classes need `scheduler: { discipline: strict }` (non-preemptive priority)"
                .to_string(),
        );
    }
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
