//! The policy's `budget:` in a server: core's [`SpendGate`] on the wall clock, the cap a
//! refusal names, and the model a degraded request is sent with.
//!
//! The gate is the simulator's, built by the same [`BudgetSetup::gate_config`], with no
//! horizon (a hold waits for the real reset). The file's times (`keys:` validity, `events:`,
//! price changes) are offsets from a start, as in a simulation; in a server that start is the
//! moment it starts, so the gate runs on "ns since start" ([`ServeGate`]) with the start as its
//! Unix origin: calendar periods still reset at UTC boundaries, and a key that `expires: 60d`
//! expires 60 days after `serve` started (not 60 days after 1970).

use axum::body::Bytes;
use spillway_core::budget::{BudgetError, ModelId};
use spillway_core::budget::{Settlement, Ticket};
use spillway_core::engine::{RequestId, RequestMeta, Spend, SpendGate, SpendStep};
use spillway_core::limit::Subject;
use spillway_core::policy::PolicySpec;
use spillway_core::policy::budget::BudgetSetup;
use spillway_core::{Duration, Time};
use spillway_gateway::headers::BudgetCap;

use super::build::ServeEngine;

/// Output tokens a `fixed` or `learned` estimate starts from: a server has no traffic model
/// to take a feature's median from, so every feature starts here and `learned` adapts.
pub const OUTPUT_MEDIAN: u64 = 256;

/// A [`SpendGate`] whose clock starts when the server started: the engine's `now` (ns since
/// the Unix epoch) minus `start`.
#[derive(Debug)]
pub struct ServeGate {
    gate: SpendGate,
    start: Time,
}

impl ServeGate {
    /// The gate's own time at the engine's `now`.
    fn local(&self, now: Time) -> Time {
        Time::from_nanos(now.as_nanos().saturating_sub(self.start.as_nanos()))
    }

    /// The engine's time at the gate's `t`.
    fn wall(&self, t: Time) -> Time {
        t.saturating_add(Duration::from_nanos(self.start.as_nanos()))
    }

    /// The upstream key the ring picks at the engine's `now` (`Some(0)` without keys).
    pub fn select_key(&self, now: Time) -> Option<u64> {
        self.gate.select_key(self.local(now))
    }
}

impl<M> Spend<M> for ServeGate {
    fn key(&mut self, now: Time, request: &RequestMeta<M>) -> Option<u64> {
        let now = self.local(now);
        self.gate.key(now, request)
    }

    fn decide(&mut self, now: Time, request: &RequestMeta<M>, api_key: Option<u64>) -> SpendStep {
        let now = self.local(now);
        match self.gate.decide(now, request, api_key) {
            SpendStep::Hold(until) => SpendStep::Hold(self.wall(until)),
            step => step,
        }
    }

    fn complete(
        &mut self,
        now: Time,
        ticket: Ticket,
        input: u64,
        output: u64,
    ) -> Option<Settlement> {
        let now = self.local(now);
        <SpendGate as Spend<M>>::complete(&mut self.gate, now, ticket, input, output)
    }

    fn cancel(&mut self, now: Time, ticket: Ticket) {
        let now = self.local(now);
        <SpendGate as Spend<M>>::cancel(&mut self.gate, now, ticket);
    }

    fn downgrade(&mut self, ticket: &mut Ticket) {
        <SpendGate as Spend<M>>::downgrade(&mut self.gate, ticket);
    }
}

/// The gate of `policy` started at `start` (ns since the Unix epoch), `None` when it has no
/// `budget:` (then every request proceeds).
///
/// # Errors
/// The caps cannot be built (duplicate names, too many caps).
pub fn gate(
    setup: Option<&BudgetSetup>,
    policy: &PolicySpec,
    start: Time,
) -> Result<Option<ServeGate>, BudgetError> {
    let (Some(setup), Some(budget)) = (setup, policy.budget.as_ref()) else {
        return Ok(None);
    };
    let pressure = policy.scheduler.pressure_permille;
    let mut config = setup.gate_config(budget, vec![OUTPUT_MEDIAN], pressure, None);
    config.origin_unix_ns = start.as_nanos();
    let gate = SpendGate::new(config)?;
    Ok(Some(ServeGate { gate, start }))
}

/// The cap that refuses `meta` now and when it resets (asked again after the engine refused:
/// the gate's preflight changes nothing). `None` when no cap decided (no usable key).
pub fn refusing_cap(
    engine: &ServeEngine,
    now: Time,
    meta: &RequestMeta<()>,
    requested: ModelId,
) -> Option<BudgetCap> {
    let served = engine.spend().as_ref()?;
    let local = served.local(now);
    let subject = Subject {
        user: meta.user,
        team: meta.team,
        feature: meta.feature,
        api_key: served.gate.select_key(local)?,
    };
    let budget = served.gate.budget();
    let preflight = budget.preflight(local, &subject, requested, meta.input_tokens);
    let cap = preflight.decided_by.or(preflight.tightest.map(|u| u.cap))?;
    Some(BudgetCap {
        name: budget.ledger.cap(cap)?.name.clone(),
        reset_at: budget.ledger.reset_at(local, cap).map(|t| served.wall(t)),
    })
}

/// The model request `id` must be sent with when the budget degraded it, else `None` (the
/// client's body goes upstream untouched).
pub fn degraded_model(engine: &ServeEngine, id: RequestId) -> Option<String> {
    let ticket = engine.spend_ticket(id).filter(|t| t.degraded())?;
    let served = engine.spend().as_ref()?;
    let model = served.gate.budget().catalogue.get(ticket.estimate.model)?;
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
