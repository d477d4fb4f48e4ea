//! The simulator's side of a policy's budget. The policy itself is core's
//! [`SpendGate`] (keys, verdicts, holds, price changes, booking); here are only what is
//! the simulator's: a leaked key's attacker (its traffic group) is pinned to that key, the
//! gate is built from the scenario, and [`BudgetMetrics`] are counted from the engine's events
//! (plus the ledger and estimator read once at the end).

use crate::metrics::{BudgetMetrics, CapReport};
use crate::scenario::budget::{BudgetSetup, PolicyBudget};
use crate::traffic::Arrival;
use spillway_core::Time;
use spillway_core::budget::{BudgetError, CapTarget, Settlement, Ticket};
use spillway_core::engine::{EngineEvent, RequestMeta, Spend, SpendGate, SpendRefusal, SpendStep};
use spillway_core::keys::KeyId;
use spillway_core::limit::Scope;

/// The policy's budget as the engine's [`Spend`] (none: every request proceeds), with the
/// key each traffic group is pinned to (a leak's attacker sends with the leaked key).
pub(crate) struct SimSpend {
    pub gate: Option<SpendGate>,
    /// Pinned key of each traffic group (`None`: the ring chooses).
    pub pins: Vec<Option<KeyId>>,
}

impl SimSpend {
    /// Build the gate of `policy`: `feature_medians[f]` is feature `f`'s median output (the
    /// learned estimate's start and the fixed estimate); leak `i`'s attacker is traffic group
    /// `first_leak_group + i`; holds ending after `end` (arrivals + drain) are refusals.
    pub(crate) fn new(
        setup: &BudgetSetup,
        policy: &PolicyBudget,
        feature_medians: Vec<u64>,
        first_leak_group: usize,
        pressure_per_mille: u32,
        end: Time,
    ) -> Result<Self, BudgetError> {
        let config = setup.gate_config(policy, feature_medians, pressure_per_mille, Some(end));
        let gate = SpendGate::new(config)?;
        let mut pins = vec![None; first_leak_group];
        pins.extend(setup.leaks.iter().map(|l| Some(l.key)));
        Ok(SimSpend {
            gate: Some(gate),
            pins,
        })
    }
}

impl Spend<Arrival> for SimSpend {
    /// The key `request` would be sent with (the leaked key for an attacker), or `None`
    /// when the policy has no budget or no key is usable.
    fn key(&mut self, now: Time, request: &RequestMeta<Arrival>) -> Option<u64> {
        let gate = self.gate.as_mut()?;
        match self
            .pins
            .get(request.payload.group as usize)
            .copied()
            .flatten()
        {
            Some(key) => gate.pinned_key(now, key),
            None => Spend::key(gate, now, request),
        }
    }
    /// The ring's verdict on `api_key`, pinned or not: a leaked key revoked meanwhile carries
    /// nothing more.
    fn key_usable(&self, now: Time, api_key: u64) -> bool {
        self.gate
            .as_ref()
            .is_none_or(|g| g.key_usable(now, api_key))
    }
    fn decide(&mut self, now: Time, request: &RequestMeta<Arrival>, key: Option<u64>) -> SpendStep {
        self.gate.decide(now, request, key)
    }
    fn complete(
        &mut self,
        now: Time,
        ticket: Ticket,
        input: u64,
        output: u64,
    ) -> Option<Settlement> {
        Spend::<Arrival>::complete(&mut self.gate, now, ticket, input, output)
    }
    fn bill(&mut self, now: Time, ticket: Ticket, input: u64, output: u64) -> Option<Settlement> {
        Spend::<Arrival>::bill(&mut self.gate, now, ticket, input, output)
    }
    fn cancel(&mut self, now: Time, ticket: Ticket) {
        Spend::<Arrival>::cancel(&mut self.gate, now, ticket);
    }
    fn downgrade(&mut self, ticket: &mut Ticket) {
        Spend::<Arrival>::downgrade(&mut self.gate, ticket);
    }
}

/// The budget metrics of a run, before any request: feature names and safe key labels.
pub(crate) fn budget_metrics(setup: &BudgetSetup, features: Vec<String>) -> BudgetMetrics {
    let key_labels = setup
        .keys
        .iter()
        .map(|k| {
            let label = if setup.synthetic_keys.contains(&k.id) {
                k.name.clone()
            } else {
                format!("{}{}", k.name, k.secret.redacted())
            };
            (k.id.0, label)
        })
        .collect();
    BudgetMetrics {
        features,
        key_labels,
        ..BudgetMetrics::default()
    }
}

/// Count one engine event that concerns the budget.
pub(crate) fn record(m: &mut BudgetMetrics, event: &EngineEvent<Arrival>) {
    match *event {
        EngineEvent::Degraded { class } => m.degraded[class] += 1,
        EngineEvent::Held { class, .. } => m.held[class] += 1,
        EngineEvent::BudgetRefused { class, why } => {
            m.budget_rejected[class] += 1;
            if why == SpendRefusal::NoKey {
                m.no_key[class] += 1;
            }
        }
        EngineEvent::Completed {
            class,
            settlement: Some(s),
            ..
        } => {
            m.completed[class] += 1;
            if s.model == s.requested {
                m.completed_on_requested[class] += 1;
            }
            bill_subject(m, &s);
        }
        // An accepted call that did not complete is billed, not completed.
        EngineEvent::Billed { settlement: s, .. } => bill_subject(m, &s),
        _ => {}
    }
}

/// A settled call's cost, billed to its subject (completed or not, the provider bills it).
fn bill_subject(m: &mut BudgetMetrics, s: &Settlement) {
    let who = s.subject;
    m.bill(who.user, who.feature, who.api_key, s.actual_nano_usd);
}

/// The end of the run: estimate errors and cap usage, read from the gate.
pub(crate) fn finish(m: &mut BudgetMetrics, gate: &SpendGate, end: Time) {
    let budget = gate.budget();
    let errors = budget.estimator.overall_errors();
    if errors.cost_nano_usd.count() > 0 {
        m.estimate_error_p95_nano_usd = Some(errors.cost_nano_usd.quantile(950));
    }
    m.max_under_estimate_nano_usd = errors.max_under_estimate_nano_usd;
    let ledger = &budget.ledger;
    m.caps = ledger
        .caps()
        .map(|(id, spec)| {
            let per_id = spec.scope != Scope::Global && spec.target == CapTarget::Each;
            let spent = if per_id {
                ledger
                    .accounts(id)
                    .iter()
                    .map(|(_, a)| a.spent_nano_usd)
                    .max()
                    .unwrap_or(0)
            } else {
                ledger.account(end, id, 0).map_or(0, |a| a.spent_nano_usd)
            };
            CapReport {
                name: spec.name.clone(),
                scope: spec.scope,
                period: spec.period,
                limit_nano_usd: spec.limit_nano_usd,
                spent_nano_usd: spent,
            }
        })
        .collect();
}
