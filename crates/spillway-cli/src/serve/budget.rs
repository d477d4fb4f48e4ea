//! The policy's `budget:` in a server: core's [`SpendGate`] on the wall clock, the cap a
//! refusal names, and the model a degraded request is sent with.
//!
//! The gate is the simulator's, built by the same [`BudgetSetup::gate_config`], with no
//! horizon (a hold waits for the real reset). The file's times (`keys:` validity, `events:`,
//! price changes) are offsets from a start, as in a simulation; in a server that start is the
//! moment it starts, so the gate runs on "ns since start" ([`ServeGate`]) with the start as its
//! Unix origin: calendar periods still reset at UTC boundaries, and a key that `expires: 60d`
//! expires 60 days after `serve` started (not 60 days after 1970).
//!
//! A call the upstream started answering is paid for however it ends (the client goes away
//! mid-stream, the stream breaks before its usage): the engine books it, from the answer and
//! the usage the proxy reports ([`spillway_core::engine::Engine::on_progress`]), through
//! [`Spend::complete`]; [`Spend::cancel`] only ever sees a request nobody bills.

use super::settler::Closer;
use super::shared_budget::{Prepaid, SharedBudget};
use axum::body::Bytes;
use spillway_core::budget::BudgetError;
use spillway_core::budget::{Settlement, SharedAccount, Ticket};
use spillway_core::engine::{RequestId, RequestMeta, Spend, SpendGate, SpendRefusal, SpendStep};
use spillway_core::policy::PolicySpec;
use spillway_core::policy::budget::BudgetSetup;
use spillway_core::{Duration, Time};
use spillway_gateway::headers::BudgetCap;

use super::build::ServeEngine;

/// Output tokens a `fixed` or `learned` estimate starts from unless the policy's `budget:`
/// says (`output_tokens:`): a server has no traffic model to take a feature's median from, so
/// every feature starts here and `learned` adapts.
pub const OUTPUT_MEDIAN: u64 = 256;

/// A [`SpendGate`] whose clock starts when the server started: the engine's `now` (ns since
/// the Unix epoch) minus `start`; under `--redis` its spend is shared by every replica
/// ([`SharedBudget`]).
#[derive(Debug)]
pub struct ServeGate {
    gate: SpendGate,
    start: Time,
    shared: Option<SharedBudget>,
    /// The next ticket tag (a local gate's tickets; a shared gate's Redis request ids).
    next_tag: u64,
}

impl ServeGate {
    /// Count the spend in Redis, shared with every replica of the policy.
    pub fn share(&mut self, shared: SharedBudget) {
        self.shared = Some(shared);
    }

    /// The cap names, in ledger order (the shared budget's keys).
    pub fn cap_names(&self) -> Vec<String> {
        let ledger = &self.gate.budget().ledger;
        ledger.caps().map(|(_, c)| c.name.clone()).collect()
    }

    /// A fresh ticket tag.
    pub(super) fn next_tag(&mut self) -> u64 {
        let tag = self.next_tag;
        self.next_tag = self.next_tag.wrapping_add(1).max(1);
        tag
    }

    /// The gate and its shared side.
    pub(super) fn parts(&mut self) -> (&mut SpendGate, Option<&mut SharedBudget>) {
        (&mut self.gate, self.shared.as_mut())
    }

    /// Hand this admission what Redis answered (shared budgets only).
    pub fn prepay(&mut self, prepaid: Option<Prepaid>) {
        if let Some(shared) = &mut self.shared {
            shared.prepay(prepaid);
        }
    }

    /// Under `--redis`, what applies the queued settlements at shutdown.
    pub fn closer(&self) -> Option<Closer> {
        self.shared.as_ref().map(SharedBudget::closer)
    }

    /// Under `--redis`, the settlements and releases given up after retrying.
    pub fn settles_given_up(&self) -> Option<u64> {
        self.shared.as_ref().map(SharedBudget::gave_up)
    }

    /// Release a hold Redis made for a request the engine did not admit.
    pub fn release(&self, now: Time, tag: u64, accounts: Vec<SharedAccount>) {
        if let Some(shared) = &self.shared {
            shared.finish(now, tag, accounts, 0);
        }
    }

    /// The gate's own time at the engine's `now`.
    pub(super) fn local(&self, now: Time) -> Time {
        Time::from_nanos(now.as_nanos().saturating_sub(self.start.as_nanos()))
    }

    /// The engine's time at the gate's `t`.
    fn wall(&self, t: Time) -> Time {
        t.saturating_add(Duration::from_nanos(self.start.as_nanos()))
    }

    /// Books `settled` in the shared store too, under `--redis`.
    fn settle_shared(&self, now: Time, ticket: &Ticket, settled: Option<&Settlement>) {
        if let Some(s) = settled {
            self.finish_shared(now, ticket, s.actual_nano_usd);
        }
    }

    /// Under `--redis`, finishes `ticket` on the accounts it charges: books `actual`, or with 0
    /// releases its hold.
    fn finish_shared(&self, now: Time, ticket: &Ticket, actual: u64) {
        if let Some(shared) = &self.shared {
            let accounts = self.gate.budget().ledger.shared_accounts(&ticket.subject());
            shared.finish(now, ticket.tag, accounts, actual);
        }
    }

    /// The upstream key the ring picks for `request` at the engine's `now` (`Some(0)`
    /// without keys).
    pub fn select_key<M>(&self, now: Time, request: &RequestMeta<M>) -> Option<u64> {
        self.gate.select_key(self.local(now), request)
    }
}

impl<M> Spend<M> for ServeGate {
    /// Under `--redis`, the key the request was planned and held on (the ring may have
    /// rotated since); locally, the ring's pick now.
    fn key(&mut self, now: Time, request: &RequestMeta<M>) -> Option<u64> {
        if let Some(shared) = &self.shared {
            return shared.planned_key();
        }
        let now = self.local(now);
        self.gate.key(now, request)
    }

    fn key_usable(&self, now: Time, api_key: u64) -> bool {
        self.gate.key_usable(self.local(now), api_key)
    }

    /// Under `--redis` a request is planned and held in Redis before the engine sees it, which
    /// cannot happen again inside the engine: a request whose key became unusable while it
    /// waited (the engine released its hold on the old key) is refused for want of a key
    /// rather than sent with an expired or revoked one. (Shared budgets never hold.)
    fn decide_again(&mut self, now: Time, request: &RequestMeta<M>) -> SpendStep {
        if self.shared.is_some() {
            return SpendStep::Refuse(SpendRefusal::NoKey);
        }
        let api_key = self.key(now, request);
        self.decide(now, request, api_key)
    }

    fn decide(&mut self, now: Time, request: &RequestMeta<M>, api_key: Option<u64>) -> SpendStep {
        let local = self.local(now);
        let step = match &mut self.shared {
            Some(shared) => shared.decide(&mut self.gate, (local, now), request),
            None => {
                let mut step = self.gate.decide(local, request, api_key);
                if let SpendStep::Admit(Some(ticket)) = &mut step {
                    ticket.tag = self.next_tag();
                }
                step
            }
        };
        match step {
            SpendStep::Hold(until) => SpendStep::Hold(self.wall(until)),
            SpendStep::Refuse(SpendRefusal::Cap { cap, reset_at }) => {
                let reset_at = reset_at.map(|t| self.wall(t));
                SpendStep::Refuse(SpendRefusal::Cap { cap, reset_at })
            }
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
        let local = self.local(now);
        let settled =
            <SpendGate as Spend<M>>::complete(&mut self.gate, local, ticket, input, output);
        self.settle_shared(now, &ticket, settled.as_ref());
        settled
    }

    fn bill(&mut self, now: Time, ticket: Ticket, input: u64, output: u64) -> Option<Settlement> {
        let local = self.local(now);
        let settled = <SpendGate as Spend<M>>::bill(&mut self.gate, local, ticket, input, output);
        self.settle_shared(now, &ticket, settled.as_ref());
        settled
    }

    /// Releases the ticket of a request the upstream never accepted (the engine books the
    /// others), here and in the shared store.
    fn cancel(&mut self, now: Time, ticket: Ticket) {
        let local = self.local(now);
        <SpendGate as Spend<M>>::cancel(&mut self.gate, local, ticket);
        self.finish_shared(now, &ticket, 0);
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
    let start_output = budget.output_tokens.unwrap_or(OUTPUT_MEDIAN);
    let mut config = setup.gate_config(budget, vec![start_output], pressure, None);
    config.origin_unix_ns = start.as_nanos();
    let gate = SpendGate::new(config)?;
    Ok(Some(ServeGate {
        gate,
        start,
        shared: None,
        next_tag: 1,
    }))
}

/// The cap a budget refusal names (`None` when no cap decided: no usable key, or the shared
/// budget's store did not answer). Its reset is in the refusal itself.
pub fn refusing_cap(engine: &ServeEngine, why: SpendRefusal) -> Option<BudgetCap> {
    let SpendRefusal::Cap { cap, .. } = why else {
        return None;
    };
    let served = engine.spend().as_ref()?;
    Some(BudgetCap {
        name: served.gate.budget().ledger.cap(cap?)?.name.clone(),
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
