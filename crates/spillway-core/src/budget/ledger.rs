//! The [`Ledger`]: spending caps over calendar periods with reserve-before / settle-after.
//!
//! ## The overshoot bound
//! An estimate is admitted only if, for every cap that applies, `spent + reserved + estimate
//! ≤ limit`. Settling replaces the estimate by the actual cost. So:
//! - if estimates are upper bounds (input known, output at `max_tokens`), spend **never**
//!   exceeds a cap;
//! - otherwise the excess is at most the sum of the under-estimates of the requests that were
//!   in flight together when the cap was crossed: with one request at a time, the largest
//!   single under-estimate; with `k` in flight, at most `k` times it. (Once `spent + reserved`
//!   is at the limit nothing more is admitted, so only requests already admitted can push it
//!   further.)
//!
//! Calendar periods need wall-clock time: the ledger maps `now` to Unix time as
//! `origin_unix_ns + now`, so the simulator can start its virtual clock at any date.

use super::cap::{Account, CapSpec, CapState, CapTarget, Key, OnExhausted};
use super::error::BudgetError;
use crate::limit::{Scope, Subject};
use crate::time::Time;

/// Most caps a ledger holds (a reservation records its caps in a `u64` bit set).
pub const MAX_CAPS: usize = 64;

/// A cap's index in its [`Ledger`] (stable: caps are never removed).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CapId(pub usize);

/// How full a cap is for a subject.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct CapUsage {
    /// The cap.
    pub cap: CapId,
    /// `(spent + reserved) × 1000 / limit`, saturating; a zero limit counts as full.
    pub per_mille: u32,
}

/// Why an estimate does not fit now.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Blocked {
    /// The deciding cap: a rejecting one if any blocks, else the queueing one that resets last.
    pub cap: CapId,
    /// The estimate exceeds the cap's whole limit: no period will ever admit it.
    pub never_fits: bool,
    /// When the deciding cap's period resets.
    pub reset_at: Time,
    /// What the deciding cap says to do.
    pub on_exhausted: OnExhausted,
}

/// An admitted estimate, to be settled with the actual cost.
#[must_use = "a reservation must be settled, or its estimate stays reserved"]
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct LedgerReservation {
    /// Who reserved.
    pub subject: Subject,
    /// What was reserved on each cap, nano-USD.
    pub estimate_nano_usd: u64,
    /// The caps charged (bit `i` = cap `i`), so caps added later are not refunded.
    caps: u64,
}

/// Caps and their accounts.
#[derive(Clone, Debug)]
pub struct Ledger {
    pub(super) caps: Vec<CapState>,
    origin_unix_ns: u64,
}

impl Ledger {
    /// A ledger whose `Time::ZERO` is `origin_unix_ns` ns after the Unix epoch (0 when `now`
    /// already is Unix time).
    pub fn new(caps: Vec<CapSpec>, origin_unix_ns: u64) -> Result<Self, BudgetError> {
        let mut ledger = Ledger {
            caps: Vec::new(),
            origin_unix_ns,
        };
        for spec in caps {
            ledger.add_cap(Time::ZERO, spec)?;
        }
        Ok(ledger)
    }
    /// Add a cap at `now` (a new key's budget, say); it starts empty.
    pub fn add_cap(&mut self, now: Time, spec: CapSpec) -> Result<CapId, BudgetError> {
        if self.caps.len() >= MAX_CAPS {
            return Err(BudgetError::TooManyCaps(self.caps.len() + 1));
        }
        if self.caps.iter().any(|c| c.spec.name == spec.name) {
            return Err(BudgetError::DuplicateCap(spec.name));
        }
        if spec.scope == Scope::Global && spec.target != CapTarget::Each {
            return Err(BudgetError::GlobalCapWithTarget(spec.name));
        }
        self.caps.push(CapState::new(spec, self.unix_ns(now)));
        Ok(CapId(self.caps.len() - 1))
    }
    /// Change a cap's limit; admitted reservations stay.
    pub fn set_limit(&mut self, cap: CapId, limit_nano_usd: u64) -> Result<(), BudgetError> {
        let state = self
            .caps
            .get_mut(cap.0)
            .ok_or(BudgetError::UnknownCap(cap.0))?;
        state.spec.limit_nano_usd = limit_nano_usd;
        Ok(())
    }
    /// The cap `id`.
    pub fn cap(&self, id: CapId) -> Option<&CapSpec> {
        self.caps.get(id.0).map(|c| &c.spec)
    }
    /// The id of the cap called `name`.
    pub fn cap_id(&self, name: &str) -> Option<CapId> {
        self.caps
            .iter()
            .position(|c| c.spec.name == name)
            .map(CapId)
    }
    /// Every cap, in order.
    pub fn caps(&self) -> impl Iterator<Item = (CapId, &CapSpec)> {
        self.caps
            .iter()
            .enumerate()
            .map(|(i, c)| (CapId(i), &c.spec))
    }
    /// `now` as ns since the Unix epoch.
    pub fn unix_ns(&self, now: Time) -> u64 {
        self.origin_unix_ns.saturating_add(now.as_nanos())
    }
    /// The fullest cap that applies to `subject` at `now` (`None` if none applies).
    pub fn usage(&self, now: Time, subject: &Subject) -> Option<CapUsage> {
        let unix = self.unix_ns(now);
        let mut worst: Option<CapUsage> = None;
        for (i, cap) in self.caps.iter().enumerate() {
            let Some(key) = cap.key(subject) else {
                continue;
            };
            let used = cap.view(unix, key).committed_nano_usd();
            let per_mille = per_mille(used, cap.spec.limit_nano_usd);
            if worst.is_none_or(|w| per_mille > w.per_mille) {
                worst = Some(CapUsage {
                    cap: CapId(i),
                    per_mille,
                });
            }
        }
        worst
    }
    /// Would `estimate_nano_usd` fit every cap of `subject` at `now`? Changes nothing.
    pub fn check(
        &self,
        now: Time,
        subject: &Subject,
        estimate_nano_usd: u64,
    ) -> Result<(), Blocked> {
        let unix = self.unix_ns(now);
        let mut decider: Option<Blocked> = None;
        for i in 0..self.caps.len() {
            let Some(blocked) = self.blocks(unix, CapId(i), subject, estimate_nano_usd) else {
                continue;
            };
            decider = Some(match decider {
                None => blocked,
                Some(d) if rank(blocked) > rank(d) => blocked,
                Some(d) => d,
            });
        }
        decider.map_or(Ok(()), Err)
    }
    /// [`Ledger::check`] on `cap` alone (fits when it does not apply to `subject` or is
    /// unknown). Why: whether one key's own budget could take a request, without the other
    /// caps (which do not depend on the key) deciding it; the same rule as `check`.
    pub fn check_cap(
        &self,
        now: Time,
        cap: CapId,
        subject: &Subject,
        estimate_nano_usd: u64,
    ) -> Result<(), Blocked> {
        let blocked = self.blocks(self.unix_ns(now), cap, subject, estimate_nano_usd);
        blocked.map_or(Ok(()), Err)
    }
    /// How `cap` blocks `estimate_nano_usd` of `subject` at `unix` ns, if it does: the one
    /// fit rule, `committed + estimate ≤ limit`.
    fn blocks(
        &self,
        unix: u64,
        id: CapId,
        subject: &Subject,
        estimate_nano_usd: u64,
    ) -> Option<Blocked> {
        let cap = self.caps.get(id.0)?;
        let key = cap.key(subject)?;
        let committed = cap.view(unix, key).committed_nano_usd();
        let limit = cap.spec.limit_nano_usd;
        if committed.saturating_add(estimate_nano_usd) <= limit {
            return None;
        }
        let end = cap.window_end_unix_ns(unix);
        Some(Blocked {
            cap: id,
            never_fits: estimate_nano_usd > limit,
            reset_at: Time::from_nanos(end.saturating_sub(self.origin_unix_ns)),
            on_exhausted: cap.spec.on_exhausted,
        })
    }
    /// Check, and if every cap admits, reserve `estimate_nano_usd` on each. A refusal changes
    /// nothing.
    pub fn reserve(
        &mut self,
        now: Time,
        subject: &Subject,
        estimate_nano_usd: u64,
    ) -> Result<LedgerReservation, Blocked> {
        self.check(now, subject, estimate_nano_usd)?;
        let unix = self.unix_ns(now);
        let mut caps = 0u64;
        for (i, cap) in self.caps.iter_mut().enumerate() {
            cap.roll(unix);
            if let Some(key) = cap.key(subject) {
                let account = cap.account_mut(key);
                account.reserved_nano_usd =
                    account.reserved_nano_usd.saturating_add(estimate_nano_usd);
                caps |= 1 << i;
            }
        }
        Ok(LedgerReservation {
            subject: *subject,
            estimate_nano_usd,
            caps,
        })
    }
    /// Settle: release the estimate and book the actual cost on every cap the reservation
    /// charged. An actual above the estimate is booked in full (the money is spent); that is
    /// the bounded overshoot. Settle with 0 to release a request that cost nothing.
    pub fn settle(&mut self, now: Time, reservation: LedgerReservation, actual_nano_usd: u64) {
        let unix = self.unix_ns(now);
        for (i, cap) in self.caps.iter_mut().enumerate() {
            if reservation.caps & (1 << i) == 0 {
                continue;
            }
            cap.roll(unix);
            let Some(key) = cap.key(&reservation.subject) else {
                continue;
            };
            let account = cap.account_mut(key);
            account.reserved_nano_usd = account
                .reserved_nano_usd
                .saturating_sub(reservation.estimate_nano_usd);
            account.spent_nano_usd = account.spent_nano_usd.saturating_add(actual_nano_usd);
            cap.forget_if_empty(key);
        }
    }
    /// Roll every cap to `now`'s period (dropping idle accounts). Reads and writes do this
    /// lazily; call it to get memory back after a quiet boundary.
    pub fn roll(&mut self, now: Time) {
        let unix = self.unix_ns(now);
        self.caps.iter_mut().for_each(|c| c.roll(unix));
    }
    /// The account of `id` under `cap` at `now` (`id` is ignored for global and single-target
    /// caps).
    pub fn account(&self, now: Time, cap: CapId, id: u64) -> Option<Account> {
        let state = self.caps.get(cap.0)?;
        let key = match (state.spec.scope, state.spec.target) {
            (Scope::Global, _) | (_, CapTarget::Only(_)) => Key::Single,
            _ => Key::Id(id),
        };
        Some(state.view(self.unix_ns(now), key))
    }
    /// Resident accounts of `cap` in its current window, by id (empty for global and
    /// single-target caps; see [`Ledger::account`]).
    pub fn accounts(&self, cap: CapId) -> Vec<(u64, Account)> {
        self.caps
            .get(cap.0)
            .map(CapState::accounts)
            .unwrap_or_default()
    }
    /// When `cap`'s current period ends, as a `Time`.
    pub fn reset_at(&self, now: Time, cap: CapId) -> Option<Time> {
        let end = self.caps.get(cap.0)?.window_end_unix_ns(self.unix_ns(now));
        Some(Time::from_nanos(end.saturating_sub(self.origin_unix_ns)))
    }
    /// Estimates reserved and not yet settled, summed over every account of every cap: zero
    /// once every admitted request has been settled or cancelled (a leak check).
    pub fn reserved_nano_usd(&self) -> u64 {
        self.caps
            .iter()
            .fold(0u64, |sum, c| sum.saturating_add(c.reserved_nano_usd()))
    }
    /// Resident accounts across caps (a memory gauge).
    pub fn resident_accounts(&self) -> usize {
        self.caps.iter().map(CapState::resident).sum()
    }
}

/// Which blocking cap decides: one that rejects beats one that queues; among equals, the one
/// that resets last (queueing until then is the earliest the request can fit everywhere).
fn rank(b: Blocked) -> (bool, Time) {
    (
        b.never_fits || b.on_exhausted == OnExhausted::Reject,
        b.reset_at,
    )
}

fn per_mille(used: u64, limit: u64) -> u32 {
    if limit == 0 {
        return 1000;
    }
    let pm = u128::from(used) * 1000 / u128::from(limit);
    u32::try_from(pm).unwrap_or(u32::MAX)
}
