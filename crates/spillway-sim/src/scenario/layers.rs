//! The check that no group can send a request larger than a token layer can ever hold (the
//! layers themselves are [`spillway_core::policy`]'s).

use super::model::*;
use super::raw::*;
use spillway_core::limit::Unit;
use spillway_core::policy::Reporter;

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
