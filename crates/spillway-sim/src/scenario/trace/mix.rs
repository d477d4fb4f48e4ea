//! The class/feature mix of a trace: entries, and the scenario group each one becomes.

use super::super::model::{ArrivalSpec, Class, GroupSpec, SizeSpec};
use super::positive_f64;
use super::raw::RawMixEntry;
use crate::traffic::trace::MixEntry;
use spillway_core::policy::Reporter;

const DEFAULT_OUTPUT_ESTIMATE: u64 = 256;

/// Validated entries and their groups; the default is one `standard` entry, feature `trace`.
pub(super) fn mix(
    raw: Option<&[RawMixEntry]>,
    r: &mut Reporter<'_>,
) -> Option<(Vec<MixEntry>, Vec<GroupSpec>)> {
    let Some(raw) = raw.filter(|m| !m.is_empty()) else {
        let entry = MixEntry {
            class: Class::Standard,
            feature: "trace".into(),
            model: None,
            weight: 1.0,
        };
        return Some((
            vec![entry],
            vec![group(
                Class::Standard,
                "trace",
                None,
                DEFAULT_OUTPUT_ESTIMATE,
            )],
        ));
    };
    let mut entries = Vec::new();
    let mut groups = Vec::new();
    let mut ok = true;
    for e in raw {
        let class = Class::parse(&e.class.value);
        if class.is_none() {
            r.bad(&e.class, format!("unknown class `{}`; expected `interactive`, `standard`, `batch` or `background`", e.class.value));
        }
        let weight = positive_f64(e.weight.as_ref(), 1.0, "weight", r);
        let estimate = e
            .output_estimate
            .as_ref()
            .map_or(Some(DEFAULT_OUTPUT_ESTIMATE), |v| {
                r.positive(v, "output_estimate")
            });
        let feature = e.feature.clone().unwrap_or_else(|| "trace".to_string());
        match (class, weight, estimate) {
            (Some(class), Some(weight), Some(estimate)) => {
                groups.push(group(class, &feature, e.model.as_deref(), estimate));
                entries.push(MixEntry {
                    class,
                    feature,
                    model: e.model.clone(),
                    weight,
                });
            }
            _ => ok = false,
        }
    }
    ok.then_some((entries, groups))
}

/// The scenario group of one mix entry: no users of its own (trace users are numbered after
/// every group's), sizes that only carry the output estimate the gateway reserves.
fn group(class: Class, feature: &str, model: Option<&str>, output_estimate: u64) -> GroupSpec {
    let name = match model {
        Some(m) => format!("trace:{class}:{feature}:{m}"),
        None => format!("trace:{class}:{feature}"),
    };
    let fixed = |n: u64| SizeSpec {
        median: n as f64,
        sigma: 0.0,
        max: n,
    };
    GroupSpec {
        name,
        users: 0,
        class,
        feature: feature.to_string(),
        team: None,
        arrival: ArrivalSpec::Trace,
        input_tokens: fixed(1),
        output_tokens: fixed(output_estimate),
    }
}
