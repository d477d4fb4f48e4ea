//! Gateway policies (`policies:`): each names its limiter layers and configures its queue,
//! its client side towards the providers, its instances and its budget. [`validate`] checks
//! a file's policy blocks (the same for a policy file and a scenario) with every error located.

use super::budget::{BudgetSetup, RawEvent, RawKey};
use super::layers::{RawLayer, layers};
use super::{Reporter, S};
use crate::limit::{LayerSet, LayerSpec, LayeredError};
use serde::Deserialize;
use std::collections::BTreeMap;

const DEFAULT_QUEUE_CAPACITY: u64 = 10_000;
const DEFAULT_MAX_ATTEMPTS: u32 = 3;

/// A gateway policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicy {
    /// Name (unique), shown in every output.
    pub name: S<String>,
    /// Layers by name, checked in this order.
    #[serde(default)]
    pub layers: Vec<S<String>>,
    /// Requests the gateway keeps in flight upstream (default: the provider's concurrency).
    pub max_in_flight: Option<S<u64>>,
    /// Admitted requests waiting for upstream room; beyond it new ones are shed (default 10000).
    pub queue_capacity: Option<S<u64>>,
    /// Upstream attempts per request including the first (default 3); 429s are retried after
    /// their Retry-After.
    pub max_attempts: Option<S<u32>>,
    /// The queue discipline (default: strict priority, per-user fair share, the seed's
    /// shedding order).
    pub scheduler: Option<super::schedule::RawScheduler>,
    /// The client side: backoff, retry budget, proactive throttling, escalation, breaker,
    /// fallback (default: retry after exactly the Retry-After, up to `max_attempts`).
    pub upstream: Option<super::upstream::RawUpstream>,
    /// Several gateway instances behind a load balancer (default: one, exact limits).
    pub instances: Option<super::distributed::RawInstances>,
    /// Spending caps, the requested model and its degradation ladder.
    pub budget: Option<super::budget::RawPolicyBudget>,
}

/// A gateway policy.
#[derive(Debug, Clone)]
pub struct PolicySpec {
    /// Name.
    pub name: String,
    /// Limiter layers in check order.
    pub layers: Vec<LayerSpec>,
    /// Upstream concurrency the gateway allows itself.
    pub max_in_flight: u64,
    /// Queue bound.
    pub queue_capacity: usize,
    /// Upstream attempts per request.
    pub max_attempts: u32,
    /// The queue discipline.
    pub scheduler: super::schedule::SchedulerSpec,
    /// The client side towards the provider.
    pub upstream: super::upstream::UpstreamSpec,
    /// Gateway instances and how they share the layers; `None`: one instance, exact limits.
    pub instances: Option<super::distributed::InstancesSpec>,
    /// Spending caps and degradation (`budget:`), if any.
    pub budget: Option<super::budget::PolicyBudget>,
}

impl PolicySpec {
    /// The engine's configuration for this policy: at most `max_requests` inside, clients of
    /// class `c` patient for `deadlines[c]` (`None`: forever).
    pub fn engine_config(
        &self,
        max_requests: usize,
        deadlines: Vec<Option<crate::Duration>>,
    ) -> crate::engine::EngineConfig {
        crate::engine::EngineConfig {
            max_in_flight: self.max_in_flight,
            max_requests,
            deadlines,
            scheduler: self.scheduler.clone(),
            upstream: self.upstream.clone(),
        }
    }
}

/// The top-level blocks of a file that policies are built from: a policy file has only these;
/// a scenario has them beside its traffic and provider.
#[derive(Debug, Clone, Copy)]
pub struct PolicyBlocks<'a> {
    /// `layers:`.
    pub layers: &'a [RawLayer],
    /// `policies:`.
    pub policies: &'a [RawPolicy],
    /// `models:` (the catalogue file, relative to this one).
    pub models: Option<&'a S<String>>,
    /// `starts_at_utc:`.
    pub starts_at_utc: Option<&'a S<String>>,
    /// `keys:`.
    pub keys: &'a [RawKey],
    /// `events:`.
    pub events: &'a [RawEvent],
}

/// What policies take from their surroundings when they do not say.
#[derive(Debug, Clone, Copy)]
pub struct PolicyDefaults {
    /// `max_in_flight` of a policy that gives none (a scenario: its provider's concurrency;
    /// `None` when there is no valid default, and then the missing value has been reported).
    pub max_in_flight: Option<u64>,
    /// Whether a fallback provider exists for `upstream: { fallback: true }`.
    pub has_fallback_provider: bool,
}

/// Validate the policy blocks: the layers, each policy, and the budget setup with each policy's
/// `budget:` attached. `None` parts had errors, all reported to `r`.
pub fn validate(
    blocks: &PolicyBlocks<'_>,
    defaults: &PolicyDefaults,
    r: &mut Reporter<'_>,
) -> (Option<Vec<PolicySpec>>, Option<Option<BudgetSetup>>) {
    let layers = layers(blocks.layers, r);
    let mut policies = policies(blocks.policies, &layers, defaults, r);
    let budget = super::budget::attach(blocks, policies.as_mut(), r);
    (policies, budget)
}

/// Where and how to say that a policy's `layers:` cannot be stacked (`e`, the limiter's
/// refusal): at the repeated or the first excess entry, in the file's words.
fn layers_error<'a>(
    listed: &'a [S<String>],
    policy_name: &'a S<String>,
    e: &LayeredError,
) -> (&'a S<String>, String) {
    match e {
        LayeredError::DuplicateName(layer) => {
            if let Some(again) = listed.iter().filter(|l| l.value == *layer).nth(1) {
                let message =
                    format!("layer `{layer}` is listed twice in this policy; list it once");
                return (again, message);
            }
        }
        LayeredError::TooManyLayers(n) => {
            if let Some(first_over) = listed.get(LayerSet::CAPACITY) {
                let max = LayerSet::CAPACITY;
                return (
                    first_over,
                    format!("{n} layers, more than the {max} a policy may stack"),
                );
            }
        }
        _ => {}
    }
    let at = listed.last().unwrap_or(policy_name);
    (at, format!("these layers cannot be combined: {e}"))
}

/// `queue_capacity`: at least 1 and at most what one queue addresses, checked here so the
/// error names the field (the scheduler would refuse it later as an anonymous "capacity").
fn queue_capacity(v: &S<u64>, r: &mut Reporter<'_>) -> Option<u64> {
    let max = crate::schedule::MAX_CAPACITY as u64;
    match r.positive(v, "queue_capacity")? {
        q if q <= max => Some(q),
        q => {
            r.bad(
                v,
                format!(
                    "queue_capacity must be at most {max} (requests one queue can hold), got {q}"
                ),
            );
            None
        }
    }
}

/// Validate `policies:` against the named `layers`.
fn policies(
    raw: &[RawPolicy],
    layers: &BTreeMap<String, Option<LayerSpec>>,
    defaults: &PolicyDefaults,
    r: &mut Reporter<'_>,
) -> Option<Vec<PolicySpec>> {
    if raw.is_empty() {
        r.whole("policies", "at least one policy is required");
        return None;
    }
    let mut names = BTreeMap::new();
    let mut out = Vec::new();
    let mut ok = true;
    for p in raw {
        if names.insert(p.name.value.clone(), ()).is_some() {
            r.bad(
                &p.name,
                format!(
                    "policy name `{}` is used twice; names must be unique",
                    p.name.value
                ),
            );
            ok = false;
        }
        let mut specs = Vec::new();
        for name in &p.layers {
            match layers.get(&name.value) {
                Some(Some(spec)) => specs.push(spec.clone()),
                Some(None) => ok = false, // already reported where the layer is defined
                None => {
                    let known: Vec<&str> = layers.keys().map(String::as_str).collect();
                    r.unknown_name(name, "layer", "layers", &known);
                    ok = false;
                }
            }
        }
        if ok && let Err(e) = crate::limit::Layered::new(specs.clone()) {
            // A repeated or excess layer: what the engine would refuse at start, said here.
            let (at, message) = layers_error(&p.layers, &p.name, &e);
            r.bad(at, message);
            ok = false;
        }
        let in_flight = match &p.max_in_flight {
            Some(v) => r.positive(v, "max_in_flight"),
            None => defaults.max_in_flight,
        };
        let queue = match &p.queue_capacity {
            Some(v) => queue_capacity(v, r),
            None => Some(DEFAULT_QUEUE_CAPACITY),
        };
        let attempts = match &p.max_attempts {
            Some(v) => r.positive(v, "max_attempts"),
            None => Some(DEFAULT_MAX_ATTEMPTS),
        };
        let scheduler =
            queue.and_then(|q| super::schedule::scheduler(p.scheduler.as_ref(), q, &p.name, r));
        let retry_attempts = p
            .upstream
            .as_ref()
            .and_then(|u| u.retry.as_ref()?.max_attempts.as_ref());
        if let (Some(plain), Some(_)) = (&p.max_attempts, retry_attempts) {
            r.bad(
                plain,
                "give `max_attempts` once: here or in `upstream.retry`, not both",
            );
            ok = false;
        }
        let upstream = attempts.and_then(|a| {
            super::upstream::upstream(p.upstream.as_ref(), a, defaults.has_fallback_provider, r)
        });
        let instances = super::distributed::instances(p.instances.as_ref(), &specs, r);
        match (in_flight, queue, upstream, scheduler, instances) {
            (
                Some(max_in_flight),
                Some(queue),
                Some(upstream),
                Some(scheduler),
                Some(instances),
            ) => {
                let max_attempts = upstream.backoff.max_attempts();
                out.push(PolicySpec {
                    name: p.name.value.clone(),
                    layers: specs,
                    max_in_flight,
                    queue_capacity: usize::try_from(queue).unwrap_or(usize::MAX),
                    max_attempts,
                    scheduler,
                    upstream,
                    instances,
                    budget: None,
                })
            }
            _ => ok = false,
        }
    }
    ok.then_some(out)
}
