//! What a cap is ([`CapSpec`]) and one cap's running state ([`CapState`]): the accounts of the
//! current period, rolled lazily when `now` enters a new one.
//!
//! ## Rollover
//! At a period boundary every account's *spend* resets, but its *reservations* carry over: a
//! request admitted at 23:59 and answered at 00:01 still holds its estimate against the new day
//! until it settles, and its actual cost is booked in the period it settles in. Dropping the
//! reservations instead would let the new period admit a full cap on top of the in-flight
//! estimates and break the overshoot bound. Accounts with nothing reserved are dropped at the
//! roll, so memory follows the ids active in the current period, not every id ever seen.

use rustc_hash::FxHashMap;

use super::period::{Period, Window};
use crate::limit::{Scope, Subject};

/// Which accounts of a scope a cap limits.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum CapTarget {
    /// Every id of the scope gets its own budget of `limit_nano_usd` (every user, every key).
    Each,
    /// Only this id (e.g. the secondary production key's $20/day); other ids are not limited
    /// by this cap.
    Only(u64),
}

/// What a request that does not fit this cap gets.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum OnExhausted {
    /// Refuse it.
    Reject,
    /// Tell the caller to queue it until the period resets (if it fits an empty period).
    Queue,
}

/// A spending cap: scope, period, limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CapSpec {
    /// Shown as the deciding cap (e.g. "per-user daily"); unique in a ledger.
    pub name: String,
    /// What the cap is keyed by (reuses the limiter's [`Scope`]).
    pub scope: Scope,
    /// Every id of the scope, or one.
    pub target: CapTarget,
    /// When spend resets.
    pub period: Period,
    /// The most that may be spent per period, nano-USD.
    pub limit_nano_usd: u64,
    /// What happens at the limit.
    pub on_exhausted: OnExhausted,
}

/// One account's money in the current period.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Account {
    /// Settled (actual) spend this period, nano-USD.
    pub spent_nano_usd: u64,
    /// Estimates admitted and not yet settled, nano-USD.
    pub reserved_nano_usd: u64,
}

impl Account {
    /// Spend plus reservations: what an admission is compared with.
    pub const fn committed_nano_usd(self) -> u64 {
        self.spent_nano_usd.saturating_add(self.reserved_nano_usd)
    }
    /// This account as it is after a period boundary: spend reset, reservations kept.
    const fn rolled(self) -> Account {
        Account {
            spent_nano_usd: 0,
            reserved_nano_usd: self.reserved_nano_usd,
        }
    }
}

/// A cap and its accounts for the current window.
#[derive(Clone, Debug)]
pub(crate) struct CapState {
    pub(crate) spec: CapSpec,
    window: Window,
    /// The account of a global or single-target cap.
    single: Account,
    /// Accounts of an `Each` cap over a non-global scope.
    per_id: FxHashMap<u64, Account>,
}

impl CapState {
    pub(crate) fn new(spec: CapSpec, unix_ns: u64) -> Self {
        CapState {
            window: spec.period.window(unix_ns),
            spec,
            single: Account::default(),
            per_id: FxHashMap::default(),
        }
    }
    /// The account id this cap uses for `subject`, `None` if the cap does not apply to it.
    /// Global caps and single-target caps use id 0 of `single`.
    pub(crate) fn key(&self, subject: &Subject) -> Option<Key> {
        if self.spec.scope == Scope::Global {
            return Some(Key::Single);
        }
        let id = subject.id(self.spec.scope);
        match self.spec.target {
            CapTarget::Each => Some(Key::Id(id)),
            CapTarget::Only(only) if only == id => Some(Key::Single),
            CapTarget::Only(_) => None,
        }
    }
    /// Whether `unix_ns` lies in a later window than the current one (time never rolls back:
    /// an earlier `now` is treated as the current window).
    fn is_new_window(&self, unix_ns: u64) -> bool {
        self.spec.period.window(unix_ns).id > self.window.id
    }
    /// The account for `key` at `unix_ns`, as if rolled; changes nothing.
    pub(crate) fn view(&self, unix_ns: u64, key: Key) -> Account {
        let account = match key {
            Key::Single => self.single,
            Key::Id(id) => self.per_id.get(&id).copied().unwrap_or_default(),
        };
        if self.is_new_window(unix_ns) {
            account.rolled()
        } else {
            account
        }
    }
    /// Roll to the window of `unix_ns` if it is a later one: reset spend, keep reservations,
    /// drop accounts left empty.
    pub(crate) fn roll(&mut self, unix_ns: u64) {
        if !self.is_new_window(unix_ns) {
            return;
        }
        self.window = self.spec.period.window(unix_ns);
        self.single = self.single.rolled();
        self.per_id.retain(|_, a| {
            *a = a.rolled();
            a.reserved_nano_usd > 0
        });
    }
    /// The account for `key` in the current window (inserted if absent).
    pub(crate) fn account_mut(&mut self, key: Key) -> &mut Account {
        match key {
            Key::Single => &mut self.single,
            Key::Id(id) => self.per_id.entry(id).or_default(),
        }
    }
    /// Drop `key`'s account if it holds nothing (after a settle).
    pub(crate) fn forget_if_empty(&mut self, key: Key) {
        if let Key::Id(id) = key
            && self
                .per_id
                .get(&id)
                .is_some_and(|a| *a == Account::default())
        {
            self.per_id.remove(&id);
        }
    }
    /// End of the current window (or of `unix_ns`'s, if later), ns since the Unix epoch.
    pub(crate) fn window_end_unix_ns(&self, unix_ns: u64) -> u64 {
        if self.is_new_window(unix_ns) {
            self.spec.period.window(unix_ns).end_unix_ns
        } else {
            self.window.end_unix_ns
        }
    }
    /// Resident per-id accounts (the single account counts as one).
    pub(crate) fn resident(&self) -> usize {
        1 + self.per_id.len()
    }
    /// Estimates reserved and not settled, over every account of this cap, nano-USD.
    pub(crate) fn reserved_nano_usd(&self) -> u64 {
        self.per_id
            .values()
            .fold(self.single.reserved_nano_usd, |sum, a| {
                sum.saturating_add(a.reserved_nano_usd)
            })
    }
    /// Every resident per-id account, sorted by id (for reports).
    pub(crate) fn accounts(&self) -> Vec<(u64, Account)> {
        let mut all: Vec<(u64, Account)> = self.per_id.iter().map(|(k, a)| (*k, *a)).collect();
        all.sort_unstable_by_key(|(k, _)| *k);
        all
    }
}

/// Which account of a cap.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Key {
    /// The cap's only account.
    Single,
    /// The account of one id of the scope.
    Id(u64),
}
