//! The money part of a scenario: the model catalogue (`models:`), upstream API keys (`keys:`),
//! things that happen to them (`events:`) and each policy's `budget:` block, validated into
//! [`crate::budget`] and [`crate::keys`] types with every error located.
//!
//! Keys and events are in `key_events` (applied to the [`KeyRing`] at load); this file holds
//! the catalogue, the policy blocks, and the helpers both share.
//!
//! Secrets never appear in scenario text: `secret: { env: NAME }` or `{ file: PATH }` names where
//! one is read (at load; an unreadable one is an error); without `secret:` the key gets a
//! synthetic placeholder that is never shown (reports name such keys by name only).

use super::Reporter;
use super::S;
pub use super::key_events::{
    LeakSpec, PriceChange, RawEvent, RawKey, RawKeyBudget, RawLeak, RawPriceChange, RawSecret,
    secret_source,
};
use super::key_events::{event, key_ring};
use super::models::{ModelsFile, load_models};
use super::policies::{PolicyBlocks, PolicySpec};
use super::units::usd_to_nano_usd;
use crate::budget::{CapSpec, CapTarget, DegradationLadder, ModelId, OnExhausted, Period};
pub use crate::budget::{EstimateKind, PolicyBudget};
use crate::engine::SpendGateConfig;
use crate::keys::{KeyId, KeyRing};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::Path;

// ---------------------------------------------------------------------------------------------
// Raw (mirrors the YAML)

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
    /// The output tokens a `fixed` or `learned` estimate starts from in `spillway serve`
    /// (default 256): a server has no traffic model to take a feature's median from.
    pub output_tokens: Option<S<u64>>,
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
    /// `global`, `user`, `team`, `feature` or `api_key`.
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

impl BudgetSetup {
    /// The configuration of `policy`'s [`SpendGate`](crate::engine::SpendGate) under this
    /// setup: `feature_medians[f]` starts feature `f`'s output estimate, shedding downgrades
    /// at `pressure_per_mille`, holds past `horizon` are refusals (`None` in a server).
    pub fn gate_config(
        &self,
        policy: &PolicyBudget,
        feature_medians: Vec<u64>,
        pressure_per_mille: u32,
        horizon: Option<crate::Time>,
    ) -> SpendGateConfig {
        SpendGateConfig {
            catalogue: self.models.catalogue.clone(),
            keys: self.keys.clone(),
            prices: self.prices.clone(),
            origin_unix_ns: self.origin_unix_ns,
            policy: policy.clone(),
            feature_medians,
            pressure_per_mille,
            horizon,
        }
    }
}

const PERIODS: &str = "`hour`, `day` or `month`";

/// The largest starting output estimate accepted (no model writes more in one answer).
const MAX_OUTPUT_TOKENS: u64 = 1_000_000;

// ---------------------------------------------------------------------------------------------
// Validation

/// The scenario-level blocks: `None` when there is no `models:` (then `keys:`, `events:` and
/// policy `budget:` blocks are errors, reported by [`policy_budget`] and here).
fn setup(raw: &PolicyBlocks<'_>, r: &mut Reporter<'_>) -> Option<Option<BudgetSetup>> {
    let (keys, events) = (raw.keys, raw.events);
    let origin = raw.starts_at_utc.map_or(Some(0), |t| time_of_day(t, r));
    let Some(models_path) = raw.models else {
        if let Some(k) = keys.first() {
            r.bad(&k.name, "`keys:` needs a top-level `models:` catalogue");
        }
        if let Some(e) = events.first() {
            r.bad(&e.at, "`events:` needs a top-level `models:` catalogue");
        }
        if let Some(t) = raw.starts_at_utc {
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
                        super::closest_names(&l.value, &known)
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
    let output_tokens = match &raw.output_tokens {
        None => Some(None),
        Some(n) if (1..=MAX_OUTPUT_TOKENS).contains(&n.value) => Some(Some(n.value)),
        Some(n) => {
            r.bad(
                n,
                format!(
                    "output_tokens (where serve's output estimate starts) must be 1 to {MAX_OUTPUT_TOKENS}, got {}",
                    n.value
                ),
            );
            None
        }
    };
    let caps: Vec<Option<CapSpec>> = raw.caps.iter().map(|c| cap(c, r)).collect();
    if !super::cap_names::check(&raw.caps, r) {
        return None;
    }
    let first = keys.first();
    let environment = text_or(raw.environment.as_ref(), first.map(|k| &k.environment));
    let service = text_or(raw.service.as_ref(), first.map(|k| &k.service));
    let caps = caps.into_iter().collect::<Option<Vec<_>>>()?;
    // The policy's caps and the keys' budgets share one ledger: what the gate would refuse at
    // start (too many caps, a name taken by a key's budget) is said here.
    let key_caps = setup.keys.budget_caps();
    let key_count = key_caps.len();
    let mut all = caps.clone();
    all.extend(key_caps);
    if let Err(e) = crate::budget::Ledger::new(all, setup.origin_unix_ns) {
        let (at, message) = super::cap_names::ledger_error(&raw.caps, key_count, &raw.model, &e);
        r.bad(at, message);
        return None;
    }
    Some(PolicyBudget {
        requested: requested?,
        ladder: ladder?,
        estimate: estimate?,
        output_tokens: output_tokens?,
        caps,
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
    let scope = super::layers::scope(&c.scope, r);
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

pub(crate) fn period(p: &S<String>, r: &mut Reporter<'_>) -> Option<Period> {
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
pub(crate) fn usd_price(v: &S<f64>, r: &mut Reporter<'_>) -> Option<u64> {
    let nano = (v.value.is_finite() && v.value >= 0.0)
        .then(|| usd_to_nano_usd(&format!("{}", v.value)))
        .flatten();
    if nano.is_none() {
        r.bad(v, format!("must be a USD amount ≥ 0, got {}", v.value));
    }
    nano
}

/// A spending limit: a USD amount greater than 0.
pub(crate) fn usd_limit(v: &S<f64>, r: &mut Reporter<'_>) -> Option<u64> {
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

pub(crate) fn model_id(
    name: &S<String>,
    models: &ModelsFile,
    r: &mut Reporter<'_>,
) -> Option<ModelId> {
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

/// Validate the money blocks of `raw` and attach each policy's `budget:` to `policies` (in file
/// order; `None` when the policies themselves were invalid). Returns the scenario-wide setup.
pub(crate) fn attach(
    raw: &PolicyBlocks<'_>,
    policies: Option<&mut Vec<PolicySpec>>,
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
            let validated = policy_budget(b, usable, raw.keys, r);
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
        // `then`, not `then_some`: the product must only be computed once the bounds hold
        // (an eager `then_some` overflowed on `1000000000000000000:00`).
        (h < 24 && m < 60 && t.value.len() == 5).then(|| (h * 60 + m) * 60_000_000_000)
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
