//! A [`SpendGate`] whose spend is counted by a store shared by replicas (spillway-redis):
//! core decides, the store counts.
//!
//! The engine's [`super::Spend::decide`] is synchronous and the store is a round trip away,
//! so a driver talks to the store *before* the engine sees the request:
//! 1. [`SpendGate::shared_accounts`]: the accounts the request charges;
//! 2. the store reserves an estimate on all of them or none (idempotent per request id) and
//!    returns their totals without this request's hold ([`SharedTotals`]);
//! 3. [`SpendGate::preview_shared`]: the estimate the gate would reserve on those totals; if
//!    it is more than the store holds, the driver asks the store again for that amount;
//! 4. [`SpendGate::decide_shared`], called by the engine's `decide`: the same preflight as in
//!    the simulator, on the fleet's totals, admitting only what the store holds.
//!
//! So a cap is checked atomically in the store (`spent + reserved + estimate ≤ limit` across
//! every replica) and the verdict (allow, degrade down the ladder, reject, the deciding cap)
//! is the core's. Holds are refusals naming the cap's reset: the engine would ask the gate
//! again at the reset, synchronously, with nobody to ask the store first.

use super::RequestMeta;
use super::spend::{SpendRefusal, SpendStep};
use super::spend_gate::{SpendGate, subject};
use crate::Time;
use crate::budget::{Account, SharedAccount, Verdict};

/// What the store answered for one request: the totals of its accounts (every replica's
/// spend this period and reservations, without this request's own hold) and what it holds
/// for this request.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SharedTotals {
    /// One per account of [`SpendGate::shared_accounts`], in the same order.
    pub accounts: Vec<(SharedAccount, Account)>,
    /// The estimate the store holds for this request, nano-USD (0: nothing).
    pub held_nano_usd: u64,
}

impl SpendGate {
    /// The accounts a request carried by `api_key` charges: what the store must count.
    pub fn shared_accounts<M>(&self, request: &RequestMeta<M>, api_key: u64) -> Vec<SharedAccount> {
        self.budget()
            .ledger
            .shared_accounts(&subject(request, api_key))
    }

    /// The estimate the gate would reserve for `request` on `totals` (`None`: it would not
    /// admit). Writes the totals into the ledger (a cache of the store) and reserves nothing.
    pub fn preview_shared<M>(
        &mut self,
        now: Time,
        request: &RequestMeta<M>,
        api_key: u64,
        totals: &SharedTotals,
    ) -> Option<u64> {
        self.install(now, request, api_key, totals);
        self.prices_at(now);
        let who = subject(request, api_key);
        let requested = self.requested();
        let preflight = self
            .budget()
            .preflight(now, &who, requested, request.input_tokens);
        match preflight.verdict {
            Verdict::Allow | Verdict::Degrade(_) => preflight.estimate.map(|e| e.cost_nano_usd),
            Verdict::QueueUntil(_) | Verdict::Reject => None,
        }
    }

    /// The verdict for `request` on the store's `totals`: the simulator's preflight, except
    /// that an admission needs the store to hold at least its estimate (else the request is
    /// refused naming the cap: the store could not hold it) and a hold is a refusal.
    pub fn decide_shared<M>(
        &mut self,
        now: Time,
        request: &RequestMeta<M>,
        api_key: Option<u64>,
        totals: &SharedTotals,
    ) -> SpendStep {
        let Some(api_key) = api_key else {
            return SpendStep::Refuse(SpendRefusal::NoKey);
        };
        self.install(now, request, api_key, totals);
        let who = subject(request, api_key);
        self.verdict(
            now,
            who,
            request.input_tokens,
            false,
            Some(totals.held_nano_usd),
        )
    }

    /// Write the store's totals into the ledger.
    fn install<M>(&mut self, now: Time, request: &RequestMeta<M>, api_key: u64, t: &SharedTotals) {
        let who = subject(request, api_key);
        let ledger = &mut self.budget_mut().ledger;
        for (account, totals) in &t.accounts {
            ledger.set_shared(now, &who, account.cap, *totals);
        }
    }
}
