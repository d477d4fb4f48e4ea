//! A [`Ledger`] whose accounts are counted elsewhere: replicas of a gateway share one budget
//! through a store (spillway-redis), and each replica's ledger is a cache of what that store
//! counted.
//!
//! The store only counts (reserve, settle, release on named accounts); every decision stays
//! here. Before deciding, a driver asks [`Ledger::shared_accounts`] which accounts a subject
//! charges, has the store reserve on them and return their totals, and writes those totals
//! back with [`Ledger::set_shared`]; the preflight then runs on the fleet's numbers exactly as
//! it runs on a single process's.

use super::cap::Account;
use super::ledger::{CapId, Ledger};
use super::period::Period;
use crate::limit::Subject;
use crate::time::Time;

/// One account a request charges, as a shared store names it: the cap, the account's id
/// within the cap's scope, and what the store needs to count it (the period that resets its
/// spend, the limit it checks).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct SharedAccount {
    /// The cap (its index in the ledger: replicas built from one policy agree on it).
    pub cap: CapId,
    /// The account within the cap: the user, feature or API key id; 0 for a global cap; the
    /// targeted id for a single-target cap.
    pub id: u64,
    /// When the account's spend resets.
    pub period: Period,
    /// The cap's limit, nano-USD.
    pub limit_nano_usd: u64,
}

impl Ledger {
    /// The accounts `subject` charges, in cap order (what [`Ledger::reserve`] would charge).
    pub fn shared_accounts(&self, subject: &Subject) -> Vec<SharedAccount> {
        let mut out = Vec::new();
        for (i, cap) in self.caps.iter().enumerate() {
            if cap.key(subject).is_none() {
                continue;
            }
            // The subject's id in the cap's scope is the account's: 0 for a global cap, and a
            // single-target cap applies (has a key) only to the subject with the targeted id.
            out.push(SharedAccount {
                cap: CapId(i),
                id: subject.id(cap.spec.scope),
                period: cap.spec.period,
                limit_nano_usd: cap.spec.limit_nano_usd,
            });
        }
        out
    }

    /// Replace `subject`'s account of `cap` at `now` by the store's totals (every replica's
    /// spend this period and reservations in flight). An unknown cap, or one that does not
    /// apply to `subject`, changes nothing.
    pub fn set_shared(&mut self, now: Time, subject: &Subject, cap: CapId, totals: Account) {
        let unix = self.unix_ns(now);
        let Some(state) = self.caps.get_mut(cap.0) else {
            return;
        };
        let Some(key) = state.key(subject) else {
            return;
        };
        state.roll(unix);
        *state.account_mut(key) = totals;
        state.forget_if_empty(key);
    }
}

#[cfg(test)]
mod tests {
    use super::super::{CapSpec, CapTarget, OnExhausted};
    use super::*;
    use crate::limit::Scope;

    fn cap(name: &str, scope: Scope, target: CapTarget) -> CapSpec {
        CapSpec {
            name: name.into(),
            scope,
            target,
            period: Period::Day,
            limit_nano_usd: 1_000,
            on_exhausted: OnExhausted::Reject,
        }
    }

    #[test]
    fn accounts_name_the_scope_id_and_skip_caps_that_do_not_apply() {
        let ledger = Ledger::new(
            vec![
                cap("global", Scope::Global, CapTarget::Each),
                cap("user", Scope::User, CapTarget::Each),
                cap("key 9", Scope::ApiKey, CapTarget::Only(9)),
                cap("key 8", Scope::ApiKey, CapTarget::Only(8)),
            ],
            0,
        )
        .expect("valid");
        let subject = Subject {
            user: 5,
            team: 0,
            feature: 1,
            api_key: 9,
        };
        let ids: Vec<(usize, u64)> = ledger
            .shared_accounts(&subject)
            .iter()
            .map(|a| (a.cap.0, a.id))
            .collect();
        assert_eq!(ids, vec![(0, 0), (1, 5), (2, 9)]);
    }

    #[test]
    fn shared_totals_decide_the_next_check() {
        let mut ledger =
            Ledger::new(vec![cap("user", Scope::User, CapTarget::Each)], 0).expect("valid");
        let subject = Subject {
            user: 5,
            team: 0,
            feature: 1,
            api_key: 0,
        };
        assert!(ledger.check(Time::ZERO, &subject, 600).is_ok());
        let others = Account {
            spent_nano_usd: 300,
            reserved_nano_usd: 200,
        };
        ledger.set_shared(Time::ZERO, &subject, CapId(0), others);
        assert_eq!(ledger.account(Time::ZERO, CapId(0), 5), Some(others));
        assert!(ledger.check(Time::ZERO, &subject, 500).is_ok());
        assert!(ledger.check(Time::ZERO, &subject, 501).is_err());
        ledger.set_shared(Time::ZERO, &subject, CapId(7), others);
    }
}
