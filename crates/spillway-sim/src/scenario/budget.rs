//! The money part of a scenario: the model catalogue (`models:`), upstream API keys (`keys:`),
//! things that happen to them (`events:`) and each policy's `budget:` block, validated into
//! [`spillway_core::budget`] and [`spillway_core::keys`] types with every error located.
//!
//! Key events (rotation, revocation, a leak's detection) are applied to the [`KeyRing`] here,
//! at load: the ring's answers are pure functions of `now`, so a rotation "at 20m" is simply a
//! rotation stamped 20m. Price changes and leaks need the run's clock and are kept as lists.
//!
//! Secrets never appear in scenario text: `secret: { env: NAME }` or `{ file: PATH }` names where
//! one is read (at load; an unreadable one is an error); without `secret:` the key gets a
//! synthetic placeholder that is never shown (reports name such keys by name only).

use super::error::Reporter;
use super::models::{ModelsFile, load_models};
use super::raw::S;
use super::units::usd_to_nano_usd;
use serde::Deserialize;
use spillway_core::Time;
use spillway_core::budget::{
    CapSpec, CapTarget, DegradationLadder, ModelId, OnExhausted, OutputEstimate, Period,
};
use spillway_core::keys::{
    KeyBudget, KeyId, KeyPolicy, KeyRing, KeyRole, KeySpec, SecretError, SecretSource, Severity,
    process_lookup,
};
use spillway_core::limit::Scope;
use std::collections::BTreeSet;
use std::path::Path;

// ---------------------------------------------------------------------------------------------
// Raw (mirrors the YAML)

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

/// `policies[].budget:`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPolicyBudget {
    /// The model requests ask for.
    pub model: S<String>,
    /// A ladder of the catalogue, or `none` (default).
    pub ladder: Option<S<String>>,
    /// `learned` (default), `max_tokens` or `fixed` (the feature's median output).
    pub estimate: Option<S<String>>,
    /// Spending caps.
    #[serde(default)]
    pub caps: Vec<RawCap>,
    /// Environment whose keys carry the traffic (default: the first key's).
    pub environment: Option<S<String>>,
    /// Service whose keys carry the traffic (default: the first key's).
    pub service: Option<S<String>>,
}

/// One cap of a policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCap {
    /// Unique within the policy; names the deciding cap.
    pub name: S<String>,
    /// `global`, `user`, `feature` or `api_key`.
    pub scope: S<String>,
    /// `hour`, `day` or `month`.
    pub period: S<String>,
    /// USD per period (> 0).
    pub limit_usd: S<f64>,
    /// `reject` (default) or `queue` (until the period resets).
    pub on_exhausted: Option<S<String>>,
}

// ---------------------------------------------------------------------------------------------
// Validated

/// The scenario-wide money setup (present when the scenario names a `models:` file).
#[derive(Debug, Clone)]
pub struct BudgetSetup {
    /// Models, prices and ladders.
    pub models: ModelsFile,
    /// Keys with every rotation and revocation of `events:` applied.
    pub keys: KeyRing,
    /// Keys with a synthetic placeholder secret (shown by name only).
    pub synthetic_keys: BTreeSet<KeyId>,
    /// Price changes, by time.
    pub prices: Vec<PriceChange>,
    /// Leaks, in file order.
    pub leaks: Vec<LeakSpec>,
    /// The run's start, ns since the Unix epoch (a time of day on 1970-01-01): where budget
    /// periods reset.
    pub origin_unix_ns: u64,
}

/// A model's new prices from `at` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceChange {
    /// When.
    pub at: Time,
    /// Which model.
    pub model: ModelId,
    /// Nano-USD per million input tokens.
    pub input_nano_usd_per_mtok: u64,
    /// Nano-USD per million output tokens.
    pub output_nano_usd_per_mtok: u64,
}

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

/// How a policy guesses output tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EstimateKind {
    /// EWMA of actual outputs per feature, starting at the feature's median.
    Learned,
    /// The model's `max_output_tokens` (an upper bound: caps are never exceeded).
    MaxTokens,
    /// The feature's median output, always.
    Fixed,
}

impl EstimateKind {
    /// The core estimate for a feature whose median output is `median`.
    pub fn for_feature(self, median: u64) -> OutputEstimate {
        match self {
            EstimateKind::Learned => OutputEstimate::Learned { initial: median },
            EstimateKind::MaxTokens => OutputEstimate::MaxTokens,
            EstimateKind::Fixed => OutputEstimate::Fixed(median),
        }
    }
}

/// A policy's `budget:` block.
#[derive(Debug, Clone)]
pub struct PolicyBudget {
    /// The model asked for.
    pub requested: ModelId,
    /// Where to go as caps fill (empty: none).
    pub ladder: DegradationLadder,
    /// Output estimate kind.
    pub estimate: EstimateKind,
    /// The policy's caps (key caps are added from the ring at run time).
    pub caps: Vec<CapSpec>,
    /// Environment of the keys carrying normal traffic.
    pub environment: String,
    /// Service of the keys carrying normal traffic.
    pub service: String,
}

/// Default attacker request size: a long prompt and answer, the expensive kind of abuse.
const LEAK_INPUT_TOKENS: u64 = 2_000;
const LEAK_OUTPUT_TOKENS: u64 = 1_000;
const PERIODS: &str = "`hour`, `day` or `month`";

// ---------------------------------------------------------------------------------------------
// Validation

/// The scenario-level blocks: `None` when there is no `models:` (then `keys:`, `events:` and
/// policy `budget:` blocks are errors, reported by [`policy_budget`] and here).
fn setup(raw: &super::raw::RawScenario, r: &mut Reporter<'_>) -> Option<Option<BudgetSetup>> {
    let (keys, events) = (&raw.keys[..], &raw.events[..]);
    let origin = raw
        .starts_at_utc
        .as_ref()
        .map_or(Some(0), |t| time_of_day(t, r));
    let Some(models_path) = &raw.models else {
        if let Some(k) = keys.first() {
            r.bad(&k.name, "`keys:` needs a top-level `models:` catalogue");
        }
        if let Some(e) = events.first() {
            r.bad(&e.at, "`events:` needs a top-level `models:` catalogue");
        }
        if let Some(t) = &raw.starts_at_utc {
            r.bad(t, "`starts_at_utc` needs a top-level `models:` catalogue");
        }
        let nothing = keys.is_empty() && events.is_empty() && raw.starts_at_utc.is_none();
        return nothing.then_some(None);
    };
    let dir = r.file().parent().map(Path::to_path_buf).unwrap_or_default();
    let models = match load_models(&dir.join(&models_path.value)) {
        Ok(m) => Some(m),
        Err(errors) => {
            r.bad(
                models_path,
                format!("the model catalogue `{}` is invalid", models_path.value),
            );
            r.extend(errors);
            None
        }
    };
    let (ring, synthetic) = key_ring(keys, &dir, r)?;
    let mut setup = BudgetSetup {
        models: models?,
        keys: ring,
        synthetic_keys: synthetic,
        prices: Vec::new(),
        leaks: Vec::new(),
        origin_unix_ns: origin?,
    };
    let ok = events
        .iter()
        .map(|e| event(e, keys, &mut setup, r))
        .fold(true, |a, b| a & b);
    setup.prices.sort_by_key(|p| p.at);
    ok.then_some(Some(setup))
}

fn key_ring(
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
        Some(RawSecret {
            env: Some(name),
            file: None,
        }) => Some(SecretSource::Env(name.value.clone())),
        Some(RawSecret {
            env: None,
            file: Some(path),
        }) => Some(SecretSource::File(dir.join(&path.value))),
        Some(_) => {
            r.bad(
                &k.name,
                "`secret:` takes exactly one of `env: NAME` or `file: PATH` (never the secret itself)",
            );
            None
        }
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
fn event(e: &RawEvent, keys: &[RawKey], setup: &mut BudgetSetup, r: &mut Reporter<'_>) -> bool {
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

/// Validate one policy's `budget:` block against the scenario's setup.
pub(crate) fn policy_budget(
    raw: &RawPolicyBudget,
    setup: Option<&BudgetSetup>,
    keys: &[RawKey],
    r: &mut Reporter<'_>,
) -> Option<PolicyBudget> {
    let Some(setup) = setup else {
        r.bad(
            &raw.model,
            "a policy `budget:` needs a top-level `models: <catalogue file>`",
        );
        return None;
    };
    let requested = model_id(&raw.model, &setup.models, r);
    let ladder = match &raw.ladder {
        None => Some(DegradationLadder::none()),
        Some(l) if l.value == "none" => Some(DegradationLadder::none()),
        Some(l) => match setup.models.ladders.get(&l.value) {
            Some(ladder) => Some(ladder.clone()),
            None => {
                let known: Vec<&str> = setup.models.ladders.keys().map(String::as_str).collect();
                r.bad(
                    l,
                    format!(
                        "no ladder is named `{}`; ladders are: {}, or `none`",
                        l.value,
                        known.join(", ")
                    ),
                );
                None
            }
        },
    };
    let estimate = match raw.estimate.as_ref().map(|e| (e, e.value.as_str())) {
        None | Some((_, "learned")) => Some(EstimateKind::Learned),
        Some((_, "max_tokens")) => Some(EstimateKind::MaxTokens),
        Some((_, "fixed")) => Some(EstimateKind::Fixed),
        Some((e, other)) => {
            r.bad(
                e,
                format!("unknown estimate `{other}`; expected `learned`, `max_tokens` or `fixed`"),
            );
            None
        }
    };
    let caps: Vec<Option<CapSpec>> = raw.caps.iter().map(|c| cap(c, r)).collect();
    let mut names = BTreeSet::new();
    for c in &raw.caps {
        if !names.insert(c.name.value.as_str()) {
            r.bad(
                &c.name,
                format!("cap name `{}` is used twice", c.name.value),
            );
            return None;
        }
    }
    let first = keys.first();
    let environment = text_or(raw.environment.as_ref(), first.map(|k| &k.environment));
    let service = text_or(raw.service.as_ref(), first.map(|k| &k.service));
    Some(PolicyBudget {
        requested: requested?,
        ladder: ladder?,
        estimate: estimate?,
        caps: caps.into_iter().collect::<Option<Vec<_>>>()?,
        environment,
        service,
    })
}

fn text_or(given: Option<&S<String>>, fallback: Option<&S<String>>) -> String {
    given
        .or(fallback)
        .map(|s| s.value.clone())
        .unwrap_or_default()
}

fn cap(c: &RawCap, r: &mut Reporter<'_>) -> Option<CapSpec> {
    let scope = match c.scope.value.as_str() {
        "global" => Some(Scope::Global),
        "user" => Some(Scope::User),
        "feature" => Some(Scope::Feature),
        "api_key" => Some(Scope::ApiKey),
        other => {
            r.bad(
                &c.scope,
                format!("unknown scope `{other}`; expected `global`, `user`, `feature`, `api_key`"),
            );
            None
        }
    };
    let on_exhausted = match c.on_exhausted.as_ref().map(|o| (o, o.value.as_str())) {
        None | Some((_, "reject")) => Some(OnExhausted::Reject),
        Some((_, "queue")) => Some(OnExhausted::Queue),
        Some((o, other)) => {
            r.bad(
                o,
                format!("unknown `{other}`; expected `reject` or `queue`"),
            );
            None
        }
    };
    let period = period(&c.period, r);
    let limit = usd_limit(&c.limit_usd, r);
    Some(CapSpec {
        name: c.name.value.clone(),
        scope: scope?,
        target: CapTarget::Each,
        period: period?,
        limit_nano_usd: limit?,
        on_exhausted: on_exhausted?,
    })
}

fn period(p: &S<String>, r: &mut Reporter<'_>) -> Option<Period> {
    match p.value.as_str() {
        "hour" => Some(Period::Hour),
        "day" => Some(Period::Day),
        "month" => Some(Period::Month),
        other => {
            r.bad(p, format!("unknown period `{other}`; expected {PERIODS}"));
            None
        }
    }
}

/// A USD amount as exact nano-USD, `None` (reported) unless finite and ≥ 0.
fn usd_price(v: &S<f64>, r: &mut Reporter<'_>) -> Option<u64> {
    let nano = (v.value.is_finite() && v.value >= 0.0)
        .then(|| usd_to_nano_usd(&format!("{}", v.value)))
        .flatten();
    if nano.is_none() {
        r.bad(v, format!("must be a USD amount ≥ 0, got {}", v.value));
    }
    nano
}

/// A spending limit: a USD amount greater than 0.
fn usd_limit(v: &S<f64>, r: &mut Reporter<'_>) -> Option<u64> {
    match usd_price(v, r)? {
        0 => {
            r.bad(
                v,
                "limit_usd must be greater than 0 (a zero budget admits nothing)",
            );
            None
        }
        nano => Some(nano),
    }
}

fn model_id(name: &S<String>, models: &ModelsFile, r: &mut Reporter<'_>) -> Option<ModelId> {
    let id = models.catalogue.id(&name.value);
    if id.is_none() {
        let known: Vec<&str> = models
            .catalogue
            .iter()
            .map(|(_, m)| m.name.as_str())
            .collect();
        r.bad(
            name,
            format!(
                "unknown model `{}`; the catalogue has: {}",
                name.value,
                known.join(", ")
            ),
        );
    }
    id
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
            let list = if known.is_empty() {
                "none are defined (add a top-level `keys:` list)".to_string()
            } else {
                known.join(", ")
            };
            r.bad(
                name,
                format!("no key is named `{}`; keys are: {list}", name.value),
            );
            None
        }
    }
}

/// Validate the money blocks of `raw` and attach each policy's `budget:` to `policies` (in file
/// order; `None` when the policies themselves were invalid). Returns the scenario-wide setup.
pub(crate) fn attach(
    raw: &super::raw::RawScenario,
    policies: Option<&mut Vec<super::model::PolicySpec>>,
    r: &mut Reporter<'_>,
) -> Option<Option<BudgetSetup>> {
    let setup = setup(raw, r);
    // With an invalid catalogue, policy blocks cannot be checked against it: already reported.
    let usable = match &setup {
        Some(s) => s.as_ref(),
        None if raw.models.is_some() => return None,
        None => None,
    };
    let mut ok = true;
    let budgets: Vec<Option<PolicyBudget>> = raw
        .policies
        .iter()
        .map(|p| {
            let b = p.budget.as_ref()?;
            let validated = policy_budget(b, usable, &raw.keys, r);
            ok &= validated.is_some();
            validated
        })
        .collect();
    if let Some(policies) = policies {
        for (policy, budget) in policies.iter_mut().zip(budgets) {
            policy.budget = budget;
        }
    }
    if ok { setup } else { None }
}

/// `HH:MM` (UTC) → ns after midnight.
fn time_of_day(t: &S<String>, r: &mut Reporter<'_>) -> Option<u64> {
    let parsed = t.value.split_once(':').and_then(|(h, m)| {
        let (h, m) = (h.parse::<u64>().ok()?, m.parse::<u64>().ok()?);
        (h < 24 && m < 60 && t.value.len() == 5).then_some((h * 60 + m) * 60_000_000_000)
    });
    if parsed.is_none() {
        r.bad(
            t,
            format!(
                "`{}` is not a UTC time of day; expected `HH:MM`, e.g. `23:35`",
                t.value
            ),
        );
    }
    parsed
}
