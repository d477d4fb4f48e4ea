//! The gateway's budget: after the limiter layers and before the queue, each request gets an
//! API key and a budget verdict; at completion its actual cost is booked; a request that leaves
//! any other way releases its reservation (the engine's departure).
//!
//! | verdict | the gateway |
//! |---|---|
//! | `Allow` | queues it for the requested model |
//! | `Degrade(m)` | queues it for `m` (counted `degraded`) |
//! | `QueueUntil(t)` | holds it (admitted, not queued) and asks again at `t`; if `t` is after the run's end (arrivals + drain) it is refused at once, since it could never be served |
//! | `Reject` | refuses it (`rejected` and `budget_rejected`) |
//!
//! A held request does not queue, so users' patience (`deadline`) does not apply to it; if the
//! second answer is a refusal it departs as shed (and counts as `budget_rejected`).
//!
//! Price changes (`events: price`) are applied lazily: before any budget decision or booking
//! at `now`, every change due by `now` is set in the catalogue. With a budget, the catalogue's
//! price replaces the provider's price in `cost_usd`.

use crate::metrics::{BudgetMetrics, CapReport};
use crate::scenario::budget::{BudgetSetup, PolicyBudget, PriceChange};
use crate::traffic::Arrival;
use spillway_core::Time;
use spillway_core::budget::{
    Budget, BudgetError, CapTarget, Estimator, Ledger, ModelId, Ticket, Verdict,
};
use spillway_core::engine::{Spend, SpendStep as Step};
use spillway_core::keys::{KeyId, KeyRing};
use spillway_core::limit::{Scope, Subject};

/// EWMA shift of the learned estimate (weight 1/8 per sample).
const EWMA_SHIFT: u32 = 3;

/// One policy's budget, keys and counters.
pub(crate) struct BudgetGate {
    pub budget: Budget,
    keys: KeyRing,
    requested: ModelId,
    environment: String,
    service: String,
    /// Keys of the attackers, by leak number (group index − `first_leak_group`).
    leaked: Vec<KeyId>,
    first_leak_group: usize,
    prices: Vec<PriceChange>,
    next_price: usize,
    /// The scheduler's pressure level, handed to the ladder for shedding's downgrades.
    pressure_per_mille: u32,
    /// The end of the run (arrivals + drain): a hold beyond it can never be served.
    end: Time,
    pub metrics: BudgetMetrics,
}

impl BudgetGate {
    /// Build the gate of `policy`; `medians[f]` is feature `f`'s median output (the learned
    /// estimate's start and the fixed estimate), `features[f]` its name.
    pub(crate) fn new(
        setup: &BudgetSetup,
        policy: &PolicyBudget,
        features: Vec<(String, u64)>,
        first_leak_group: usize,
        pressure_per_mille: u32,
        end: Time,
    ) -> Result<Self, BudgetError> {
        let default_median = features.first().map_or(1, |f| f.1);
        let mut estimator = Estimator::new(policy.estimate.for_feature(default_median), EWMA_SHIFT);
        for (id, (_, median)) in (0u64..).zip(&features) {
            estimator.set_policy(id, policy.estimate.for_feature(*median));
        }
        let mut caps = policy.caps.clone();
        caps.extend(setup.keys.budget_caps());
        let ledger = Ledger::new(caps, setup.origin_unix_ns)?;
        let budget = Budget::new(
            setup.models.catalogue.clone(),
            estimator,
            policy.ladder.clone(),
            ledger,
        );
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
        Ok(BudgetGate {
            budget,
            keys: setup.keys.clone(),
            end,
            requested: policy.requested,
            environment: policy.environment.clone(),
            service: policy.service.clone(),
            leaked: setup.leaks.iter().map(|l| l.key).collect(),
            first_leak_group,
            prices: setup.prices.clone(),
            next_price: 0,
            pressure_per_mille,
            metrics: BudgetMetrics {
                features: features.into_iter().map(|f| f.0).collect(),
                key_labels,
                ..BudgetMetrics::default()
            },
        })
    }

    /// Apply the price changes due by `now`.
    fn catch_up(&mut self, now: Time) {
        while let Some(p) = self.prices.get(self.next_price).filter(|p| p.at <= now) {
            // The model id was resolved against this catalogue: it cannot be unknown.
            let _ = self.budget.catalogue.set_prices(
                p.model,
                p.input_nano_usd_per_mtok,
                p.output_nano_usd_per_mtok,
            );
            self.next_price += 1;
        }
    }

    /// The key carrying `arrival` at `now`: the leaked key for an attacker, else the ring's
    /// choice; `Some(0)` when no keys are configured; `None` when none is usable.
    fn key_for(&self, now: Time, arrival: &Arrival) -> Option<u64> {
        let leak = (arrival.group as usize).checked_sub(self.first_leak_group);
        if let Some(key) = leak.and_then(|i| self.leaked.get(i)) {
            let usable = self.keys.get(*key).is_some_and(|k| k.is_usable(now));
            return usable.then_some(key.0);
        }
        if self.keys.iter().next().is_none() {
            return Some(0);
        }
        self.keys
            .select(now, &self.environment, &self.service)
            .map(|k| k.0)
    }

    /// Ask the budget about a request of `subject`.
    fn decide(&mut self, now: Time, arrival: &Arrival, subject: Subject) -> Step {
        self.catch_up(now);
        let admission = self
            .budget
            .admit(now, &subject, self.requested, arrival.input_tokens);
        match (admission.preflight.verdict, admission.ticket) {
            (Verdict::Allow | Verdict::Degrade(_), Some(ticket)) => Step::Admit(Some(ticket)),
            (Verdict::QueueUntil(t), _) => Step::Hold(t),
            _ => Step::Refuse,
        }
    }

    /// Switch an admitted request to the ladder's model at the scheduler's pressure level
    /// (shedding's downgrade step). Its reservation keeps the dearer estimate until it settles
    /// (conservative); the estimate is repriced so the estimator learns the right error.
    /// Returns whether it newly runs on a cheaper model.
    fn downgrade(&mut self, ticket: &mut Ticket) -> bool {
        let catalogue = &self.budget.catalogue;
        let Some(model) = self.budget.ladder.model_for_pressure(
            self.pressure_per_mille,
            ticket.requested,
            catalogue,
        ) else {
            return false;
        };
        if !catalogue.is_dearer(ticket.estimate.model, model) {
            return false;
        }
        let was_degraded = ticket.degraded();
        let subject = ticket.subject();
        ticket.estimate = self.budget.estimator.estimate(
            subject.feature,
            model,
            ticket.estimate.input_tokens,
            catalogue,
        );
        !was_degraded
    }

    /// The end of the run: estimate errors and cap usage.
    pub(crate) fn finish(mut self, end: Time) -> BudgetMetrics {
        let errors = self.budget.estimator.overall_errors();
        if errors.cost_nano_usd.count() > 0 {
            self.metrics.estimate_error_p95_nano_usd = Some(errors.cost_nano_usd.quantile(950));
        }
        self.metrics.max_under_estimate_nano_usd = errors.max_under_estimate_nano_usd;
        let ledger = &self.budget.ledger;
        self.metrics.caps = ledger
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
        self.metrics
    }
}

/// The policy's budget as the engine's [`Spend`] (none: every request proceeds), with the
/// group → feature map the budget's subjects need.
pub(crate) struct SimSpend {
    pub gate: Option<BudgetGate>,
    /// Feature of each traffic group.
    pub features: Vec<u64>,
}

impl Spend<Arrival> for SimSpend {
    /// The key `arrival` would be sent with (the leaked key for an attacker), or `None`
    /// when the policy has no budget or no key is usable.
    fn key(&mut self, now: Time, arrival: &Arrival) -> Option<u64> {
        self.gate.as_ref()?.key_for(now, arrival)
    }

    fn decide(&mut self, now: Time, arrival: &Arrival, class: usize, api_key: Option<u64>) -> Step {
        let feature = self.features[arrival.group as usize];
        let Some(gate) = self.gate.as_mut() else {
            return Step::Admit(None);
        };
        let Some(api_key) = api_key else {
            gate.metrics.budget_rejected[class] += 1;
            gate.metrics.no_key[class] += 1;
            return Step::Refuse;
        };
        let subject = Subject {
            user: arrival.user,
            feature,
            api_key,
        };
        let step = gate.decide(now, arrival, subject);
        let end = gate.end;
        let m = &mut gate.metrics;
        match step {
            Step::Admit(Some(ref ticket)) if ticket.degraded() => m.degraded[class] += 1,
            Step::Hold(t) if t > end => {
                m.budget_rejected[class] += 1;
                return Step::Refuse;
            }
            Step::Hold(_) => m.held[class] += 1,
            Step::Refuse => m.budget_rejected[class] += 1,
            Step::Admit(_) => {}
        }
        step
    }

    /// Book a provider completion: the actual cost at the catalogue's current price for the
    /// model used.
    fn complete(
        &mut self,
        now: Time,
        ticket: Ticket,
        class: usize,
        input: u64,
        output: u64,
    ) -> u64 {
        let Some(gate) = self.gate.as_mut() else {
            return 0;
        };
        gate.catch_up(now);
        let settled = gate.budget.complete(now, ticket, input, output);
        let m = &mut gate.metrics;
        m.completed[class] += 1;
        if settled.model == settled.requested {
            m.completed_on_requested[class] += 1;
        }
        let s = settled.subject;
        m.bill(s.user, s.feature, s.api_key, settled.actual_nano_usd);
        settled.actual_nano_usd
    }

    fn cancel(&mut self, now: Time, ticket: Ticket) {
        if let Some(gate) = self.gate.as_mut() {
            gate.budget.cancel(now, ticket);
        }
    }

    fn downgrade(&mut self, ticket: &mut Ticket, class: usize) {
        if let Some(gate) = self.gate.as_mut()
            && gate.downgrade(ticket)
        {
            gate.metrics.degraded[class] += 1;
        }
    }
}
