//! Limiter layers: `layers:` validated into core [`LayerSpec`]s.

use super::{Reporter, S};
use crate::limit::{Algorithm, LayerSpec, LimitSpec, Scope, Unit};
use serde::Deserialize;
use std::collections::BTreeMap;

const ALGORITHMS: &str =
    "`token-bucket`, `sliding-window`, `sliding-window-counter`, `fixed-window`";

/// The reserved labels ([`crate::limit::refusal_labels`], those refusals that are no layer's
/// are counted under), quoted, when `name` is one of them: layers and budget caps are both
/// named where refusals are (`x-spillway-rejected-by`, `spillway_rejected_total{layer=…}`,
/// rejections.csv), so neither may take a label that means something else there.
pub(crate) fn reserved_label(name: &str) -> Option<String> {
    use crate::limit::refusal_labels::ALL;
    ALL.contains(&name)
        .then(|| ALL.map(|n| format!("`{n}`")).join(", "))
}

/// Every scope's name, quoted, from [`Scope::ALL`] so that a new scope is offered at once.
fn scope_names() -> String {
    let names: Vec<String> = Scope::ALL
        .iter()
        .map(|s| format!("`{}`", s.name()))
        .collect();
    names.join(", ")
}

/// A named limiter layer.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLayer {
    /// Name, shown as the blocking layer.
    pub name: S<String>,
    /// `global`, `user`, `team`, `feature` or `api_key`.
    pub scope: S<String>,
    /// `requests` (default) or `tokens`.
    pub unit: Option<S<String>>,
    /// `token-bucket`, `sliding-window`, `sliding-window-counter` or `fixed-window`.
    pub algorithm: S<String>,
    /// Units per `per`.
    pub limit: S<u64>,
    /// The window or refill period, e.g. `1m`.
    pub per: S<String>,
    /// Token bucket capacity (default: `limit`).
    pub burst: Option<S<u64>>,
}

/// A subject scope (`global`, `user`, `team`, `feature`, `api_key`), or an error at `value`.
pub(crate) fn scope(value: &S<String>, r: &mut Reporter<'_>) -> Option<Scope> {
    let parsed = Scope::parse(&value.value);
    if parsed.is_none() {
        r.bad(
            value,
            format!(
                "unknown scope `{}`; expected {}",
                value.value,
                scope_names()
            ),
        );
    }
    parsed
}

/// Every layer by name; `None` for a layer whose errors were reported.
pub fn layers(raw: &[RawLayer], r: &mut Reporter<'_>) -> BTreeMap<String, Option<LayerSpec>> {
    let mut out = BTreeMap::new();
    for l in raw {
        let scope = scope(&l.scope, r);
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
        if let Some(reserved) = reserved_label(&l.name.value) {
            r.bad(
                &l.name,
                format!(
                    "layer name `{}` is reserved: refusals that are no layer's are counted under \
                     it (`spillway_rejected_total{{layer=…}}`, rejections.csv), so the two would \
                     be one series; reserved: {reserved}",
                    l.name.value
                ),
            );
        }
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
