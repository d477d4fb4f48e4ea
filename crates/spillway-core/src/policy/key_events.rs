//! `keys:` and `events:` of a scenario: upstream API keys loaded into a [`KeyRing`], and what
//! happens to them (rotation, revocation, a leak) or to prices during the run.
//!
//! Key events are applied to the ring at load: its answers are pure functions of `now`, so a
//! rotation "at 20m" is simply a rotation stamped 20m. Price changes and leaks need the run's
//! clock and are kept as lists in [`BudgetSetup`].

use super::Reporter;
use super::S;
use super::budget::{BudgetSetup, model_id, period, usd_limit, usd_price};
use crate::Time;
use crate::keys::{
    KeyBudget, KeyId, KeyPolicy, KeyRing, KeyRole, KeySpec, SecretError, SecretSource, Severity,
    process_lookup,
};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;

/// One `keys:` entry.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKey {
    /// Unique within (environment, service).
    pub name: S<String>,
    /// e.g. `production`.
    pub environment: S<String>,
    /// The service using it.
    pub service: S<String>,
    /// `primary` or `secondary`.
    pub role: S<String>,
    /// Where the secret is read from (absent: a synthetic placeholder).
    pub secret: Option<RawSecret>,
    /// Valid from this long after the start (default 0).
    pub not_before: Option<S<String>>,
    /// Invalid from this long after the start.
    pub expires: S<String>,
    /// A spending cap on this key.
    pub budget: Option<RawKeyBudget>,
}

/// `secret:` — exactly one of `env` / `file`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSecret {
    /// Environment variable name.
    pub env: Option<S<String>>,
    /// File path (relative to the scenario).
    pub file: Option<S<String>>,
}

/// A key's spending cap.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawKeyBudget {
    /// `hour`, `day` or `month`.
    pub period: S<String>,
    /// USD per period (> 0).
    pub limit_usd: S<f64>,
}

/// One `events:` entry: `at` and exactly one action.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEvent {
    /// When, from the start.
    pub at: S<String>,
    /// Start rotating this key out (by name).
    pub rotate: Option<S<String>>,
    /// Revoke this key.
    pub revoke: Option<S<String>>,
    /// A leaked key is abused until detected (then revoked).
    pub leak: Option<RawLeak>,
    /// A model's price changes.
    pub price: Option<RawPriceChange>,
}

/// `leak:` — an attacker sends requests with `key` at `rate` for `detected_after`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLeak {
    /// The leaked key's name.
    pub key: S<String>,
    /// e.g. `5/s`.
    pub rate: S<String>,
    /// The key is revoked this long after `at`.
    pub detected_after: S<String>,
    /// Prompt tokens per attacker request (default 2000).
    pub input_tokens: Option<S<u64>>,
    /// Completion tokens per attacker request (default 1000).
    pub output_tokens: Option<S<u64>>,
}

/// `price:` — new list prices of a catalogue model.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPriceChange {
    /// Catalogue model name.
    pub model: S<String>,
    /// USD per million input tokens.
    pub input_usd_per_mtok: S<f64>,
    /// USD per million output tokens.
    pub output_usd_per_mtok: S<f64>,
}

pub use crate::budget::PriceChange;

/// An attacker using a leaked key over `[from, until)`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LeakSpec {
    /// The leaked key.
    pub key: KeyId,
    /// First attack.
    pub from: Time,
    /// Detection: the key is revoked then and the attack stops.
    pub until: Time,
    /// Attacker requests per second.
    pub rate_per_sec: f64,
    /// Prompt tokens per request.
    pub input_tokens: u64,
    /// Completion tokens per request.
    pub output_tokens: u64,
}

/// Default attacker request size: a long prompt and answer, the expensive kind of abuse.
const LEAK_INPUT_TOKENS: u64 = 2_000;

const LEAK_OUTPUT_TOKENS: u64 = 1_000;

pub(crate) fn key_ring(
    keys: &[RawKey],
    dir: &Path,
    r: &mut Reporter<'_>,
) -> Option<(KeyRing, BTreeSet<KeyId>)> {
    let mut ring = KeyRing::new(KeyPolicy::default());
    let mut synthetic = BTreeSet::new();
    let mut ok = true;
    for k in keys {
        let Some(spec) = key_spec(k, dir, r) else {
            ok = false;
            continue;
        };
        let is_synthetic = k.secret.is_none();
        let id = KeyId::derive(&spec.environment, &spec.service, &spec.name);
        // A synthetic secret: unique per key (the ring refuses equal secrets), never shown.
        let placeholder = format!("spillway-sim-synthetic-{:016x}", id.0);
        let lookup = |source: &SecretSource| -> Result<String, SecretError> {
            if is_synthetic {
                Ok(placeholder.clone())
            } else {
                process_lookup(source)
            }
        };
        match ring.add(spec, lookup) {
            Ok(id) if is_synthetic => {
                synthetic.insert(id);
            }
            Ok(_) => {}
            Err(e) => {
                r.bad(&k.name, e.to_string());
                ok = false;
            }
        }
    }
    for finding in ring.validate(Time::ZERO) {
        if finding.severity == Severity::Error
            && let Some(k) = keys.first()
        {
            r.bad(&k.name, format!("keys: {}", finding.problem));
            ok = false;
        }
    }
    ok.then_some((ring, synthetic))
}

fn key_spec(k: &RawKey, dir: &Path, r: &mut Reporter<'_>) -> Option<KeySpec> {
    let role = match k.role.value.as_str() {
        "primary" => Some(KeyRole::Primary),
        "secondary" => Some(KeyRole::Secondary),
        other => {
            r.bad(
                &k.role,
                format!("unknown role `{other}`; expected `primary` or `secondary`"),
            );
            None
        }
    };
    let source = match &k.secret {
        None => Some(SecretSource::Env(format!("(synthetic {})", k.name.value))),
        Some(secret) => secret_source(secret, dir, &k.name, r),
    };
    let not_before = match &k.not_before {
        Some(d) => r.duration(d).map(|d| Time::ZERO.saturating_add(d)),
        None => Some(Time::ZERO),
    };
    let expires = r
        .positive_duration(&k.expires)
        .map(|d| Time::ZERO.saturating_add(d));
    let budget = match &k.budget {
        None => Some(None),
        Some(b) => match (period(&b.period, r), usd_limit(&b.limit_usd, r)) {
            (Some(period), Some(limit_nano_usd)) => Some(Some(KeyBudget {
                period,
                limit_nano_usd,
            })),
            _ => None,
        },
    };
    Some(KeySpec {
        name: k.name.value.clone(),
        environment: k.environment.value.clone(),
        service: k.service.value.clone(),
        role: role?,
        source: source?,
        not_before: not_before?,
        expires_at: expires?,
        budget: budget?,
    })
}

/// Apply or record one event; `false` if it was reported as invalid.
pub(crate) fn event(
    e: &RawEvent,
    keys: &[RawKey],
    setup: &mut BudgetSetup,
    r: &mut Reporter<'_>,
) -> bool {
    let Some(at) = r.duration(&e.at).map(|d| Time::ZERO.saturating_add(d)) else {
        return false;
    };
    let actions = [
        e.rotate.is_some(),
        e.revoke.is_some(),
        e.leak.is_some(),
        e.price.is_some(),
    ];
    if actions.iter().filter(|a| **a).count() != 1 {
        r.bad(
            &e.at,
            "an event takes exactly one of `rotate: KEY`, `revoke: KEY`, `leak: {...}`, `price: {...}`",
        );
        return false;
    }
    if let Some(name) = &e.rotate {
        let Some(id) = key_id(name, keys, r) else {
            return false;
        };
        return setup.keys.begin_rotation(at, id).is_ok();
    }
    if let Some(name) = &e.revoke {
        let Some(id) = key_id(name, keys, r) else {
            return false;
        };
        return setup.keys.revoke(at, id).is_ok();
    }
    if let Some(leak) = &e.leak {
        return self::leak(at, leak, keys, setup, r);
    }
    match &e.price {
        Some(p) => price(at, p, setup, r),
        None => false,
    }
}

fn leak(
    at: Time,
    l: &RawLeak,
    keys: &[RawKey],
    setup: &mut BudgetSetup,
    r: &mut Reporter<'_>,
) -> bool {
    let id = key_id(&l.key, keys, r);
    let rate = r.rate(&l.rate);
    let detected = r.positive_duration(&l.detected_after);
    let input = l
        .input_tokens
        .as_ref()
        .map_or(Some(LEAK_INPUT_TOKENS), |v| r.positive(v, "input_tokens"));
    let output = l
        .output_tokens
        .as_ref()
        .map_or(Some(LEAK_OUTPUT_TOKENS), |v| r.positive(v, "output_tokens"));
    let (Some(id), Some(rate), Some(detected), Some(input), Some(output)) =
        (id, rate, detected, input, output)
    else {
        return false;
    };
    let until = at.saturating_add(detected);
    setup.leaks.push(LeakSpec {
        key: id,
        from: at,
        until,
        rate_per_sec: rate,
        input_tokens: input,
        output_tokens: output,
    });
    setup.keys.revoke(until, id).is_ok()
}

fn price(at: Time, p: &RawPriceChange, setup: &mut BudgetSetup, r: &mut Reporter<'_>) -> bool {
    let model = model_id(&p.model, &setup.models, r);
    let input = usd_price(&p.input_usd_per_mtok, r);
    let output = usd_price(&p.output_usd_per_mtok, r);
    let (Some(model), Some(input), Some(output)) = (model, input, output) else {
        return false;
    };
    setup.prices.push(PriceChange {
        at,
        model,
        input_nano_usd_per_mtok: input,
        output_nano_usd_per_mtok: output,
    });
    true
}

fn key_id(name: &S<String>, keys: &[RawKey], r: &mut Reporter<'_>) -> Option<KeyId> {
    let found = keys.iter().find(|k| k.name.value == name.value);
    match found {
        Some(k) => Some(KeyId::derive(
            &k.environment.value,
            &k.service.value,
            &k.name.value,
        )),
        None => {
            let known: Vec<&str> = keys.iter().map(|k| k.name.value.as_str()).collect();
            r.unknown_name(name, "key", "keys", &known);
            None
        }
    }
}

/// Where a `secret:` is read from: exactly one of `env` / `file` (relative to `dir`); a problem
/// is reported at `at`.
pub fn secret_source<T>(
    secret: &RawSecret,
    dir: &Path,
    at: &S<T>,
    r: &mut Reporter<'_>,
) -> Option<SecretSource> {
    match secret {
        RawSecret {
            env: Some(name),
            file: None,
        } => Some(SecretSource::Env(name.value.clone())),
        RawSecret {
            env: None,
            file: Some(path),
        } => Some(SecretSource::File(dir.join(&path.value))),
        _ => {
            r.bad(
                at,
                "`secret:` takes exactly one of `env: NAME` or `file: PATH` (never the secret itself)",
            );
            None
        }
    }
}
