//! The policy's `budget:` in a server: core's [`SpendGate`] on the wall clock, the cap a
//! refusal names, and the model a degraded request is sent with.
//!
//! The gate is the simulator's, built by the same [`BudgetSetup::gate_config`]; only what
//! differs for real time is here: no horizon (a hold waits for the real reset), and the engine's
//! `now` already is ns since the Unix epoch, so calendar periods reset at UTC boundaries with
//! an origin of 0 (the file's `starts_at_utc` places a simulation, not a server).

use axum::body::Bytes;
use spillway_core::budget::{BudgetError, ModelId};
use spillway_core::engine::{RequestId, RequestMeta, SpendGate};
use spillway_core::limit::Subject;
use spillway_core::policy::PolicySpec;
use spillway_core::policy::budget::BudgetSetup;
use spillway_core::{Duration, Time};
use spillway_gateway::headers::BudgetCap;

use super::build::ServeEngine;

/// Output tokens a `fixed` or `learned` estimate starts from: a server has no traffic model
/// to take a feature's median from, so every feature starts here and `learned` adapts.
pub const OUTPUT_MEDIAN: u64 = 256;

/// The gate of `policy`, `None` when it has no `budget:` (then every request proceeds).
///
/// # Errors
/// The caps cannot be built (duplicate names, too many caps).
pub fn gate(
    setup: Option<&BudgetSetup>,
    policy: &PolicySpec,
) -> Result<Option<SpendGate>, BudgetError> {
    let (Some(setup), Some(budget)) = (setup, policy.budget.as_ref()) else {
        return Ok(None);
    };
    let pressure = policy.scheduler.pressure_permille;
    let mut config = setup.gate_config(budget, vec![OUTPUT_MEDIAN], pressure, None);
    // Price changes are written as offsets from the file's start; the clock counts from 1970.
    for change in &mut config.prices {
        change.at = change
            .at
            .saturating_add(Duration::from_nanos(config.origin_unix_ns));
    }
    config.origin_unix_ns = 0;
    SpendGate::new(config).map(Some)
}

/// The cap that refuses `meta` now and when it resets (asked again after the engine refused:
/// the gate's preflight changes nothing). `None` when no cap decided (no usable key).
pub fn refusing_cap(
    engine: &ServeEngine,
    now: Time,
    meta: &RequestMeta<()>,
    requested: ModelId,
) -> Option<BudgetCap> {
    let gate = engine.spend().as_ref()?;
    let subject = Subject {
        user: meta.user,
        feature: meta.feature,
        api_key: gate.select_key(now)?,
    };
    let budget = gate.budget();
    let preflight = budget.preflight(now, &subject, requested, meta.input_tokens);
    let cap = preflight.decided_by.or(preflight.tightest.map(|u| u.cap))?;
    Some(BudgetCap {
        name: budget.ledger.cap(cap)?.name.clone(),
        reset_at: budget.ledger.reset_at(now, cap),
    })
}

/// The model request `id` must be sent with when the budget degraded it, else `None` (the
/// client's body goes upstream untouched).
pub fn degraded_model(engine: &ServeEngine, id: RequestId) -> Option<String> {
    let ticket = engine.spend_ticket(id).filter(|t| t.degraded())?;
    let gate = engine.spend().as_ref()?;
    let model = gate.budget().catalogue.get(ticket.estimate.model)?;
    Some(model.name.clone())
}

/// `body` (a JSON object, already parsed once by the proxy) with its `model` set to `model`.
pub fn with_model(body: &Bytes, model: &str) -> Bytes {
    let Ok(serde_json::Value::Object(mut object)) = serde_json::from_slice(body) else {
        return body.clone();
    };
    object.insert("model".into(), serde_json::Value::from(model));
    serde_json::to_vec(&object).map_or_else(|_| body.clone(), Bytes::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_model_is_rewritten_and_everything_else_kept() {
        let body = Bytes::from_static(br#"{"model":"gpt-4o","max_tokens":3,"stream":false}"#);
        let out: serde_json::Value =
            serde_json::from_slice(&with_model(&body, "gpt-4o-mini")).expect("json");
        assert_eq!(out["model"], "gpt-4o-mini");
        assert_eq!(out["max_tokens"], 3);
        assert_eq!(out["stream"], false);
    }

    #[test]
    fn a_body_that_is_not_an_object_is_left_alone() {
        let body = Bytes::from_static(b"[1,2]");
        assert_eq!(with_model(&body, "m"), body);
    }
}
