//! `latency:` → [`LatencySpec`]: `model` selects which fields apply; a field of another model
//! is an error naming the model's fields.

use super::super::raw::S;
use super::super::units::DURATION_FORMS;
use super::RawLatency;
use super::parts::{at, duration, positive_duration, within};
use crate::provider::LatencySpec;
use spillway_core::Duration;
use spillway_core::policy::Reporter;

const LATENCY_MODELS: &str = "`empirical`, `constant`, `exponential`, `lognormal`";

/// The fields each latency model takes.
fn fields_of(model: &str) -> Option<&'static [&'static str]> {
    match model {
        "empirical" => Some(&["base", "per_output_token", "jitter"]),
        "constant" | "exponential" => Some(&["mean"]),
        "lognormal" => Some(&["median", "sigma"]),
        _ => None,
    }
}

/// Validate a `latency:` block; `section` is its field path for errors without a location.
pub(crate) fn latency(r: &mut Reporter<'_>, l: &RawLatency, section: &str) -> Option<LatencySpec> {
    let model = l.model.as_ref().map_or("empirical", |m| m.value.as_str());
    let Some(fields) = fields_of(model) else {
        if let Some(m) = &l.model {
            at(
                r,
                m,
                format!("unknown latency model `{model}`; expected {LATENCY_MODELS}"),
            );
        }
        return None;
    };
    let given: [(&str, Option<(usize, usize)>); 6] = [
        ("base", loc(&l.base)),
        ("per_output_token", loc(&l.per_output_token)),
        ("mean", loc(&l.mean)),
        ("median", loc(&l.median)),
        ("jitter", loc(&l.jitter)),
        ("sigma", loc(&l.sigma)),
    ];
    let mut ok = true;
    for (name, place) in given {
        if let (Some((line, column)), false) = (place, fields.contains(&name)) {
            let takes = fields.join(", ");
            r.at(
                line,
                column,
                format!("`{name}` does not apply to latency model `{model}`, which takes: {takes}"),
            );
            ok = false;
        }
    }
    let spec = build(r, l, model, section);
    spec.filter(|_| ok)
}

fn loc<T>(v: &Option<S<T>>) -> Option<(usize, usize)> {
    v.as_ref()
        .map(|s| (s.referenced.line() as usize, s.referenced.column() as usize))
}

fn build(r: &mut Reporter<'_>, l: &RawLatency, model: &str, section: &str) -> Option<LatencySpec> {
    let need =
        |r: &mut Reporter<'_>, value: Option<&S<String>>, name: &str, positive: bool| match value {
            Some(v) if positive => positive_duration(r, v, name),
            Some(v) => duration(r, v),
            None => {
                r.whole(
                    section,
                    format!("latency model `{model}` needs `{name}` ({DURATION_FORMS})"),
                );
                None
            }
        };
    Some(match model {
        "empirical" => {
            let base = need(r, l.base.as_ref(), "base", false);
            let per = match &l.per_output_token {
                Some(v) => duration(r, v),
                None => Some(Duration::ZERO),
            };
            let jitter = match &l.jitter {
                Some(j) => within(r, j, "jitter", 0.0..=0.99, "a fraction in [0, 0.99]"),
                None => Some(0.0),
            };
            LatencySpec::Empirical {
                base: base?,
                per_output_token: per?,
                jitter: jitter?,
            }
        }
        "constant" => LatencySpec::Constant {
            mean: need(r, l.mean.as_ref(), "mean", false)?,
        },
        "exponential" => LatencySpec::Exponential {
            mean: need(r, l.mean.as_ref(), "mean", true)?,
        },
        _ => {
            let median = need(r, l.median.as_ref(), "median", false);
            let sigma = match &l.sigma {
                Some(s) => within(r, s, "sigma", 0.0..=5.0, "between 0 and 5"),
                None => {
                    r.whole(
                        section,
                        "latency model `lognormal` needs `sigma` (between 0 and 5)",
                    );
                    None
                }
            };
            LatencySpec::LogNormal {
                median: median?,
                sigma: sigma?,
            }
        }
    })
}
