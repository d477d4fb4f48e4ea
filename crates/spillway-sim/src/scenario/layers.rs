//! Limiter layers: `layers:` validated into core `LayerSpec`s, and the check that no group can
//! send a request larger than a token layer can ever hold.

use super::model::*;
use super::raw::*;
use spillway_core::limit::{Algorithm, LayerSpec, LimitSpec, Scope, Unit};
use spillway_core::policy::Reporter;
use std::collections::BTreeMap;

const ALGORITHMS: &str =
    "`token-bucket`, `sliding-window`, `sliding-window-counter`, `fixed-window`";
const SCOPES: &str = "`global`, `user`, `feature`, `api_key`";

/// Every layer by name; `None` for a layer whose errors were reported.
pub(super) fn layers(
    raw: &[RawLayer],
    r: &mut Reporter<'_>,
) -> BTreeMap<String, Option<LayerSpec>> {
    let mut out = BTreeMap::new();
    for l in raw {
        let scope = match l.scope.value.as_str() {
            "global" => Some(Scope::Global),
            "user" => Some(Scope::User),
            "feature" => Some(Scope::Feature),
            "api_key" => Some(Scope::ApiKey),
            other => {
                r.bad(
                    &l.scope,
                    format!("unknown scope `{other}`; expected {SCOPES}"),
                );
                None
            }
        };
        let unit = match l.unit.as_ref().map(|u| (u, u.value.as_str())) {
            None | Some((_, "requests")) => Some(Unit::Requests),
            Some((_, "tokens")) => Some(Unit::Tokens),
            Some((u, other)) => {
                r.bad(
                    u,
                    format!("unknown unit `{other}`; expected `requests` or `tokens`"),
                );
                None
            }
        };
        let algorithm = match l.algorithm.value.as_str() {
            "token-bucket" => Some(Algorithm::TokenBucket),
            "sliding-window" => Some(Algorithm::SlidingLog),
            "sliding-window-counter" => Some(Algorithm::SlidingCounter),
            "fixed-window" => Some(Algorithm::FixedWindow),
            other => {
                r.bad(
                    &l.algorithm,
                    format!("unknown algorithm `{other}`; expected {ALGORITHMS}"),
                );
                None
            }
        };
        let limit = r.positive(&l.limit, "limit");
        let per = r.positive_duration(&l.per);
        let burst = match &l.burst {
            Some(b) if algorithm != Some(Algorithm::TokenBucket) => {
                r.bad(b, "burst applies only to `token-bucket` layers");
                None
            }
            Some(b) => r.positive(b, "burst").map(Some),
            None => Some(None),
        };
        let spec = match (scope, unit, algorithm, limit, per, burst) {
            (Some(scope), Some(unit), Some(algorithm), Some(limit), Some(window), Some(burst)) => {
                Some(LayerSpec {
                    name: l.name.value.clone(),
                    scope,
                    unit,
                    limit: LimitSpec {
                        algorithm,
                        limit,
                        window,
                        burst,
                    },
                })
            }
            _ => None,
        };
        if out.insert(l.name.value.clone(), spec).is_some() {
            r.bad(
                &l.name,
                format!(
                    "layer name `{}` is used twice; names must be unique",
                    l.name.value
                ),
            );
        }
    }
    out
}

/// A token-unit layer whose capacity is below the largest request some group can send would
/// deny those requests forever: that is a configuration error, found here rather than at run
/// time.
pub(super) fn check_costs_fit(
    groups: &[GroupSpec],
    policies: &[PolicySpec],
    raw: &RawScenario,
    r: &mut Reporter<'_>,
) {
    let Some((group, largest)) = groups
        .iter()
        .map(|g| (g, g.input_tokens.max.saturating_add(g.output_tokens.max)))
        .max_by_key(|&(_, tokens)| tokens)
    else {
        return;
    };
    for (policy, raw_policy) in policies.iter().zip(&raw.policies) {
        for (layer, name) in policy.layers.iter().zip(&raw_policy.layers) {
            // Under `local-split` each instance holds only its share.
            let capacity = match &policy.instances {
                Some(instances) => instances.per_instance(&layer.limit).capacity(),
                None => layer.limit.capacity(),
            };
            if layer.unit == Unit::Tokens && largest > capacity {
                r.bad(name, format!(
                    "layer `{}` holds at most {capacity} tokens, but group `{}` can send a request of {largest} tokens (input max + output max): such a request could never be admitted; raise the layer's limit/burst or lower the group's `max`",
                    layer.name, group.name
                ));
            }
        }
    }
}
