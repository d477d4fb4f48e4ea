//! [`SpendGate`]: the budget policy as the engine's [`Spend`]. After the limiter layers each
//! request gets an API key and a budget verdict; at completion its actual cost is booked (the
//! engine also completes a call the provider accepted that ends otherwise, at no less than
//! its estimate); a request that leaves any other way releases its reservation.
//!
//! | verdict | the engine |
//! |---|---|
//! | `Allow` | queues it for the requested model |
//! | `Degrade(m)` | queues it for `m` ([`super::EngineEvent::Degraded`]) |
//! | `QueueUntil(t)` | holds it (admitted, not queued) and asks again at `t`, or sooner when reservations settle and may have left room (`super::holds`); if `t` is after the gate's horizon (a simulation's end) it is refused at once, since it could never be served |
//! | `Reject` | refuses it ([`super::EngineEvent::BudgetRefused`]) |
//!
//! Price changes are applied lazily: before any decision or booking at `now`, every change due
//! by `now` is set in the catalogue, so the gate needs no timer and no clock of its own: the
//! simulator drives it with virtual time, a server with its clock.

use super::RequestMeta;
use super::spend::{Spend, SpendRefusal, SpendStep};
use crate::Time;
use crate::budget::{
    Budget, BudgetError, CapId, Estimator, Ledger, ModelCatalogue, PolicyBudget, PriceChange,
    Settlement, Ticket, Verdict,
};
use crate::keys::{KeyId, KeyRing};
use crate::limit::Subject;

/// EWMA shift of the learned estimate (weight 1/8 per sample).
const EWMA_SHIFT: u32 = 3;

/// What a [`SpendGate`] is built from: the deployment's money setup and one policy's budget.
#[derive(Debug, Clone)]
pub struct SpendGateConfig {
    /// Models and their list prices.
    pub catalogue: ModelCatalogue,
    /// The upstream API keys (their budgets become caps).
    pub keys: KeyRing,
    /// Scheduled price changes (any order; applied by time).
    pub prices: Vec<PriceChange>,
    /// `Time::ZERO` as ns since the Unix epoch: where calendar periods reset (0 when `now`
    /// already is Unix time).
    pub origin_unix_ns: u64,
    /// The policy's budget.
    pub policy: PolicyBudget,
    /// Median output tokens of each feature, by feature id: the learned estimate's start and
    /// the fixed estimate (features beyond it use the first one's).
    pub feature_medians: Vec<u64>,
    /// The scheduler's pressure level (per mille) at which shedding downgrades: the ladder's
    /// model for that level is the cheaper model.
    pub pressure_per_mille: u32,
    /// A hold ending after this instant is a refusal (a simulation's end); `None` in a server.
    pub horizon: Option<Time>,
}

/// One policy's budget, keys and price schedule.
#[derive(Debug, Clone)]
pub struct SpendGate {
    budget: Budget,
    keys: KeyRing,
    /// Each key with a budget of its own, and that budget's cap in the ledger.
    key_caps: Vec<(KeyId, CapId)>,
    requested: crate::budget::ModelId,
    environment: String,
    service: String,
    prices: Vec<PriceChange>,
    next_price: usize,
    pressure_per_mille: u32,
    horizon: Option<Time>,
}

impl SpendGate {
    /// Build the gate: the policy's caps plus every key's budget in one ledger.
    ///
    /// # Errors
    /// The caps are inconsistent (duplicate names, more than [`crate::budget::MAX_CAPS`]).
    pub fn new(config: SpendGateConfig) -> Result<Self, BudgetError> {
        let policy = config.policy;
        let default_median = config.feature_medians.first().copied().unwrap_or(1);
        let mut estimator = Estimator::new(policy.estimate.for_feature(default_median), EWMA_SHIFT);
        for (id, median) in (0u64..).zip(&config.feature_medians) {
            estimator.set_policy(id, policy.estimate.for_feature(*median));
        }
        let mut caps = policy.caps;
        caps.extend(config.keys.budget_caps());
        let ledger = Ledger::new(caps, config.origin_unix_ns)?;
        let key_caps = config
            .keys
            .iter()
            .filter_map(|k| {
                let cap = config.keys.budget_cap(k.id)?;
                Some((k.id, ledger.cap_id(&cap.name)?))
            })
            .collect();
        let mut prices = config.prices;
        prices.sort_by_key(|p| p.at);
        Ok(SpendGate {
            budget: Budget::new(config.catalogue, estimator, policy.ladder, ledger),
            keys: config.keys,
            key_caps,
            requested: policy.requested,
            environment: policy.environment,
            service: policy.service,
            prices,
            next_price: 0,
            pressure_per_mille: config.pressure_per_mille,
            horizon: config.horizon,
        })
    }

    /// The budget (catalogue, estimator, ledger) for reports and gauges.
    pub fn budget(&self) -> &Budget {
        &self.budget
    }

    /// The key ring.
    pub fn keys(&self) -> &KeyRing {
        &self.keys
    }

    /// The key the ring picks at `now` for `request` in the policy's environment and
    /// service, passing over keys whose own budget has no room for it while a usable one
    /// has (such a key would only get the request refused by its cap); `Some(0)` when no
    /// keys are configured; `None` when none is usable. Room is judged on the request's
    /// estimate at the prices last applied ([`Spend::key`] applies those due first).
    pub fn select_key<M>(&self, now: Time, request: &RequestMeta<M>) -> Option<u64> {
        if self.keys.iter().next().is_none() {
            return Some(0);
        }
        let (environment, service) = (&self.environment, &self.service);
        let key = if self.key_caps.is_empty() {
            self.keys.select(now, environment, service)
        } else {
            let cheapest = self.budget.cheapest_estimate(
                &subject(request, 0),
                self.requested,
                request.input_tokens,
            );
            let room =
                |key: KeyId| self.key_budget_has_room(now, subject(request, key.0), cheapest);
            self.keys.select_preferring(now, environment, service, room)
        };
        key.map(|k| k.0)
    }

    /// Whether the own budget (if any) of `payer`'s key has room at `now` for `cheapest`
    /// nano-USD (the request's estimate on the cheapest model it may be served by),
    /// reservations included: the ledger's fit rule on that key's cap alone. A key that
    /// cannot take even that is as good as spent for this request: its cap would refuse it.
    fn key_budget_has_room(&self, now: Time, payer: Subject, cheapest: u64) -> bool {
        let key = KeyId(payer.api_key);
        let Some(&(_, cap)) = self.key_caps.iter().find(|(k, _)| *k == key) else {
            return true;
        };
        let ledger = &self.budget.ledger;
        ledger.check_cap(now, cap, &payer, cheapest).is_ok()
    }

    /// `key` if it is usable at `now`: a request that brings its own key (or, in the
    /// simulator, an attacker holding a leaked one) is carried by it or by nothing.
    pub fn pinned_key(&self, now: Time, key: KeyId) -> Option<u64> {
        let usable = self.keys.get(key).is_some_and(|k| k.is_usable(now));
        usable.then_some(key.0)
    }

    /// Whether `key` (from [`Self::select_key`] or [`Self::pinned_key`]) may still carry a
    /// request at `now`: 0 without keys configured, else a usable key of the ring.
    pub fn key_usable(&self, now: Time, key: u64) -> bool {
        if self.keys.iter().next().is_none() {
            return true;
        }
        self.pinned_key(now, KeyId(key)).is_some()
    }

    /// Apply the price changes due by `now`.
    fn catch_up(&mut self, now: Time) {
        while let Some(p) = self.prices.get(self.next_price).filter(|p| p.at <= now) {
            // An unknown model changes nothing (the config resolved it against this catalogue).
            let _ = self.budget.catalogue.set_prices(
                p.model,
                p.input_nano_usd_per_mtok,
                p.output_nano_usd_per_mtok,
            );
            self.next_price += 1;
        }
    }

    /// The verdict for a request of `subject` with `input_tokens` at `now`. Without `holds`
    /// a `QueueUntil` verdict is a refusal naming the cap and its reset (a driver that cannot
    /// hold, e.g. one whose budget is counted by a shared store). With `store_held`, what a
    /// shared store holds for the request: an admission whose estimate exceeds it is refused
    /// like any capped request, naming the cap this preflight found and its reset (the store
    /// found no room for it across the fleet).
    pub(super) fn verdict(
        &mut self,
        now: Time,
        subject: Subject,
        input_tokens: u64,
        holds: bool,
        store_held: Option<u64>,
    ) -> SpendStep {
        self.catch_up(now);
        let admission = self
            .budget
            .admit(now, &subject, self.requested, input_tokens);
        let preflight = admission.preflight;
        let cap = preflight.decided_by.or(preflight.tightest.map(|u| u.cap));
        let refused =
            |reset_at: Option<Time>| SpendStep::Refuse(SpendRefusal::Cap { cap, reset_at });
        let step = match (preflight.verdict, admission.ticket) {
            (Verdict::Allow | Verdict::Degrade(_), Some(ticket))
                if store_held.is_none_or(|held| ticket.estimate.cost_nano_usd <= held) =>
            {
                return SpendStep::Admit(Some(ticket));
            }
            (Verdict::QueueUntil(t), _) if holds && self.horizon.is_none_or(|h| t <= h) => {
                SpendStep::Hold(t)
            }
            (Verdict::QueueUntil(t), _) => refused(Some(t)),
            _ => refused(cap.and_then(|c| self.budget.ledger.reset_at(now, c))),
        };
        // Only an admission reserves; release anything reserved for another verdict.
        if let Some(ticket) = admission.ticket {
            self.budget.cancel(now, ticket);
        }
        step
    }

    /// Apply the price changes due by `now` (before a preflight outside [`Self::verdict`]).
    pub(super) fn prices_at(&mut self, now: Time) {
        self.catch_up(now);
    }

    /// The budget, to change (a shared store's totals are written into its ledger).
    pub(super) fn budget_mut(&mut self) -> &mut Budget {
        &mut self.budget
    }

    /// The model requests ask for.
    pub(super) fn requested(&self) -> crate::budget::ModelId {
        self.requested
    }
}

/// Who pays for `request` carried by `api_key`.
pub(super) fn subject<M>(request: &RequestMeta<M>, api_key: u64) -> Subject {
    Subject {
        user: request.user,
        team: request.team,
        feature: request.feature,
        api_key,
    }
}

impl<M> Spend<M> for SpendGate {
    /// [`SpendGate::select_key`] at the prices due by `now`.
    fn key(&mut self, now: Time, request: &RequestMeta<M>) -> Option<u64> {
        self.catch_up(now);
        self.select_key(now, request)
    }

    fn key_usable(&self, now: Time, api_key: u64) -> bool {
        SpendGate::key_usable(self, now, api_key)
    }

    fn decide(&mut self, now: Time, request: &RequestMeta<M>, api_key: Option<u64>) -> SpendStep {
        let Some(api_key) = api_key else {
            return SpendStep::Refuse(SpendRefusal::NoKey);
        };
        self.verdict(
            now,
            subject(request, api_key),
            request.input_tokens,
            true,
            None,
        )
    }

    /// Book the actual cost at the catalogue's current price for the model used.
    fn complete(
        &mut self,
        now: Time,
        ticket: Ticket,
        input: u64,
        output: u64,
    ) -> Option<Settlement> {
        self.catch_up(now);
        Some(self.budget.complete(now, ticket, input, output))
    }

    /// Book an accepted call that did not complete, at the current price, teaching nothing.
    fn bill(&mut self, now: Time, ticket: Ticket, input: u64, output: u64) -> Option<Settlement> {
        self.catch_up(now);
        Some(self.budget.bill(now, ticket, input, output))
    }

    fn cancel(&mut self, now: Time, ticket: Ticket) {
        self.budget.cancel(now, ticket);
    }

    /// Switch to the ladder's model at the pressure level. The reservation keeps the dearer
    /// estimate until it settles (conservative); the estimate is repriced so the estimator
    /// learns the right error.
    fn downgrade(&mut self, ticket: &mut Ticket) {
        let catalogue = &self.budget.catalogue;
        let Some(model) = self.budget.ladder.model_for_pressure(
            self.pressure_per_mille,
            ticket.requested,
            catalogue,
        ) else {
            return;
        };
        if !catalogue.is_dearer(ticket.estimate.model, model) {
            return;
        }
        ticket.estimate = self.budget.estimator.estimate(
            ticket.subject().feature,
            model,
            ticket.estimate.input_tokens,
            catalogue,
        );
    }
}
