//! [`RedisBudget`]: the spend of spillway-core's budget caps counted in Redis, so replicas of a
//! gateway share one budget. Redis counts; the core decides (see
//! `spillway_core::engine::SharedTotals` for the driver's side).
//!
//! Three calls, one atomic script (`lua/budget.lua`) each:
//! - **reserve** `(request id, estimate, accounts)`: if every account has room
//!   (`spent + reserved + estimate ≤ limit`) the request holds the estimate on all of them,
//!   else on none; the answer carries every account's totals without this request's hold, so
//!   the core can decide on the fleet's numbers. Idempotent per request id: asking again holds
//!   the new amount instead of the old one, never both, so a retried call never books twice;
//! - **settle** `(request id, actual)`: the hold is released and the actual cost booked in the
//!   period the call ends in, even above the estimate (the money is spent; refusing after the
//!   fact would only lose the record);
//! - **release** `(request id)`: the hold is released, nothing booked.
//!
//! Settling or releasing marks the request finished for [`crate::RedisConfig::dedupe_ttl`]
//! (10 s), so a retried settle books nothing twice and a reserve that lands after its release
//! holds nothing; then the record goes (memory follows the requests in flight, not the rate).
//!
//! ## Keys and memory
//! Under the hash tag of the policy (`<prefix>:{<name>}:…`, the slot of its layers):
//! - spend `budget|<cap>|<account>|s|<period index>`: the hour, UTC day or month since 1970 in
//!   the key, so a period starts at zero; it expires a grace after the period ends: at least
//!   a minute and a tenth of the period (or [`crate::RedisConfig::expiry_grace`] if larger),
//!   well above the clock skew between replicas, and never sooner than that grace after
//!   Redis' own now when booked into (a lagging replica never deletes its booking); a booking
//!   never shortens the expiry (a replica with a larger grace may have set a later one);
//! - holds `budget|<cap>|<account>|h` (their total) and `…|l` (a sorted set: one member
//!   `<amount>:<request id>` per hold, scored by its deadline), without a period: an estimate
//!   admitted at 23:59 and settled at 00:01 still counts against the new day (as in the core's
//!   ledger);
//! - the request's record `budget|q|<request id>`.
//!
//! ## Leases
//! Each hold lapses on its own at its deadline, `now` + the lease (an hour by default, renewed
//! when the request reserves again): every call first drops the expired holds of the accounts
//! it touches (at most 8 per account per call: bounded work; a backlog drains 8 per call while
//! a call can leak at most one). So a leaked hold (a reply lost after the script ran, a replica
//! killed with calls in flight, a call that outlived its record) stops counting at its
//! deadline even on an account that is never idle: until then the budget refuses more, never
//! spends more. A settle or release removes the request's hold only if it is still there, so a
//! hold that lapsed is never subtracted twice. Idle accounts' keys expire a lease after their
//! latest hold. (A build before these leases kept one `…|r` total per account: it is no longer
//! read nor renewed, so it expires within a lease; holds in flight during the upgrade are not
//! seen across versions.)
//!
//! ## Data loss
//! A Redis that loses its data set (a restart without persistence, a failover to a replica
//! that had not seen the writes, a flush, an eviction) resets every period's spend to zero:
//! the fleet may spend each live period's cap once more. So a shared budget needs
//! persistence (AOF, `appendfsync everysec` or `always`) and `maxmemory-policy noeviction`:
//! spend keys carry TTLs, so a `volatile-*` policy evicts them first. Budget calls check the
//! store's epoch key as the limiters do (at connect, then before the first call after a
//! fault) and count a loss in [`StoreStats::lost_epochs`](crate::StoreStats), for an alert.
//!
//! A lost epoch does **not** fail closed: nothing later can tell when refusing may stop (the
//! lost spend is not in Redis any more, and the provider's bill is not in reach), so failing
//! closed would turn a Redis restart into refusing every budgeted request until each cap's
//! period ends, a month for a monthly cap. Counting bounds the damage to one extra cap per
//! account and live period per loss and leaves the decision (restore the spend, lower the
//! caps) to the operator. The calls that fail during the outage itself are errors, and the
//! caller fails closed on them.
//!
//! ## Time
//! Periods and hold deadlines come from the caller's `now` (ns since the Unix epoch), like the
//! limiter scripts' instants; only the keys' expiry uses Redis' clock.

use crate::error::RedisLimitError;
use crate::key::validate_key_part;
use crate::store::{Fault, RedisStore, random_u64};
use redis::Script;
use spillway_core::Time;
use spillway_core::budget::{Account, Period, SharedAccount};
use spillway_core::engine::SharedTotals;

/// The largest amount (limit, estimate, cost) the script keeps exact: 2^53 − 1 nano-USD (the
/// same Lua exactness bound as counts, so one constant), about
/// nine million dollars. Larger amounts are clamped to it (a limit that large never binds).
pub const MAX_AMOUNT_NANO_USD: u64 = crate::shape::MAX_COUNT;

/// How long a hold (and its request's record) lives without the request reserving again.
const DEFAULT_LEASE: std::time::Duration = std::time::Duration::from_secs(3600);

const SOURCE: &str = include_str!("lua/budget.lua");

/// A policy's budget caps counted in Redis. The design (why core decides and Redis counts,
/// the bounds) is in `budget.rs`'s module docs.
#[derive(Debug)]
pub struct RedisBudget {
    store: RedisStore,
    script: Script,
    /// `<prefix>:{<name>}:budget|`.
    base: String,
    /// Key part of each cap, by cap index.
    caps: Vec<String>,
    lease: std::time::Duration,
    instance: u64,
}

impl RedisBudget {
    /// The budget of the policy `name` whose caps are `cap_names` (in ledger order: replicas
    /// built from one policy agree). A cap name's `{`, `}`, `:` and control characters become
    /// `_` in its keys (a name made equal to another's by that gets `~<index>`).
    pub fn new(
        store: &RedisStore,
        name: &str,
        cap_names: &[String],
    ) -> Result<Self, RedisLimitError> {
        validate_key_part("prefix", &store.config().prefix)?;
        validate_key_part("budget name", name)?;
        let mut caps: Vec<String> = Vec::with_capacity(cap_names.len());
        for (i, cap) in cap_names.iter().enumerate() {
            let mut part: String = cap
                .chars()
                .map(|c| match c {
                    '{' | '}' | ':' | '|' => '_',
                    c if c.is_control() => '_',
                    c => c,
                })
                .take(crate::MAX_KEY_PART / 2)
                .collect();
            if part.is_empty() || caps.contains(&part) {
                part.push_str(&format!("~{i}"));
            }
            caps.push(part);
        }
        Ok(RedisBudget {
            store: store.clone(),
            script: Script::new(SOURCE),
            base: format!("{}:{{{name}}}:budget|", store.config().prefix),
            caps,
            lease: DEFAULT_LEASE,
            instance: random_u64(),
        })
    }

    /// Let holds and request records live this long (default an hour): longer than the
    /// longest call (a call outliving it stops counting before it settles), short enough that
    /// a leaked hold lapses soon.
    pub fn with_lease(mut self, lease: std::time::Duration) -> Self {
        self.lease = lease.max(std::time::Duration::from_millis(1));
        self
    }

    /// The id of this replica's request number `n` (the caller numbers its requests), unique
    /// across replicas and restarts.
    pub fn request_id(&self, n: u64) -> String {
        format!("{:x}.{n:x}", self.instance)
    }

    /// Hold `estimate_nano_usd` for request `rid` on every one of `accounts` if all have room
    /// at `now`; the accounts' totals (without this request's hold) and what it now holds.
    pub async fn reserve(
        &self,
        now: Time,
        rid: &str,
        estimate_nano_usd: u64,
        accounts: &[SharedAccount],
    ) -> Result<SharedTotals, RedisLimitError> {
        let reply = self
            .call("r", now, rid, estimate_nano_usd, accounts)
            .await?;
        let totals = reply.get(2..).unwrap_or_default();
        if reply.len() != 2 + 2 * accounts.len() {
            return Err(reply_error(&reply));
        }
        let amount = |v: i64| u64::try_from(v).unwrap_or(0);
        Ok(SharedTotals {
            accounts: accounts
                .iter()
                .zip(totals.chunks_exact(2))
                .map(|(a, pair)| {
                    let account = Account {
                        spent_nano_usd: amount(pair[0]),
                        reserved_nano_usd: amount(pair[1]),
                    };
                    (*a, account)
                })
                .collect(),
            held_nano_usd: amount(reply[1]),
        })
    }

    /// Release `rid`'s hold and book `actual_nano_usd` on `accounts` in `now`'s periods. An
    /// unknown request (its record lapsed) books the actual all the same.
    pub async fn settle(
        &self,
        now: Time,
        rid: &str,
        actual_nano_usd: u64,
        accounts: &[SharedAccount],
    ) -> Result<(), RedisLimitError> {
        self.call("s", now, rid, actual_nano_usd, accounts)
            .await
            .map(drop)
    }

    /// Release `rid`'s hold, booking nothing (the call was never made, or cost nothing).
    pub async fn release(
        &self,
        now: Time,
        rid: &str,
        accounts: &[SharedAccount],
    ) -> Result<(), RedisLimitError> {
        self.call("c", now, rid, 0, accounts).await.map(drop)
    }

    /// Keys of `accounts` (spend in `now`'s periods, held totals, leases; then the record of
    /// `rid`) and their script arguments (limit, spend key expiry and grace, in ms, per
    /// account), in one pass: each account's prefix is formatted and its period's window
    /// computed once per call.
    fn layout(&self, now: Time, rid: &str, accounts: &[SharedAccount]) -> (Vec<String>, Vec<u64>) {
        let n = accounts.len();
        let (mut spend, mut held, mut leases) = (
            Vec::with_capacity(3 * n + 1),
            Vec::with_capacity(n),
            Vec::with_capacity(n),
        );
        let mut args = Vec::with_capacity(3 * n);
        let configured = self.store.config().expiry_grace.as_nanos();
        for a in accounts {
            let cap = self.caps.get(a.cap.0).map_or("?", String::as_str);
            let prefix = format!("{}{cap}|{}", self.base, a.id);
            let window = a.period.window(now.as_nanos());
            spend.push(format!("{prefix}|s|{}", window.id));
            held.push(format!("{prefix}|h"));
            leases.push(format!("{prefix}|l"));
            let grace = spend_grace(a.period, configured);
            args.extend([
                a.limit_nano_usd.min(MAX_AMOUNT_NANO_USD),
                window.end_unix_ns.saturating_add(grace) / 1_000_000,
                grace / 1_000_000,
            ]);
        }
        spend.append(&mut held);
        spend.append(&mut leases);
        spend.push(format!("{}q|{rid}", self.base));
        (spend, args)
    }

    async fn call(
        &self,
        op: &str,
        now: Time,
        rid: &str,
        amount: u64,
        accounts: &[SharedAccount],
    ) -> Result<Vec<i64>, RedisLimitError> {
        validate_key_part("request id", rid)?;
        let (keys, account_args) = self.layout(now, rid, accounts);
        let mut inv = self.script.prepare_invoke();
        for key in keys {
            inv.key(key);
        }
        let ms = |d: std::time::Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX).max(1);
        let now_ms = now.as_nanos() / 1_000_000;
        let lease_ms = ms(self.lease);
        inv.arg(op)
            .arg(accounts.len())
            .arg(amount.min(MAX_AMOUNT_NANO_USD))
            .arg(lease_ms)
            .arg(ms(self.store.config().dedupe_ttl))
            .arg(now_ms)
            .arg(now_ms.saturating_add(lease_ms))
            .arg(rid);
        for arg in account_args {
            inv.arg(arg);
        }
        self.store.run_script(inv).await.map_err(|f| match f {
            Fault::Fatal(e) => e,
            Fault::Unavailable(o) => RedisLimitError::Unreachable {
                url: self.store.config().redacted_url(),
                detail: o.detail,
            },
        })
    }
}

/// The least a spend key outlives its period: replicas pick the period from their own clocks
/// while Redis expires keys on its own, so a replica whose clock lags Redis' by more than the
/// grace would read a spent period as empty, or set an expiry already past and delete the key
/// it just booked into. Hence at least a minute (NTP keeps clocks far closer) and a tenth of
/// the period (6 min for an hour: a few keys per account, no more), or the configured grace if
/// larger. The script also keeps a key booked into at least this long after Redis' own now,
/// so even a replica lagging more never deletes its booking.
fn spend_grace(period: Period, configured_ns: u64) -> u64 {
    const MIN_NS: u64 = 60_000_000_000;
    const DAY_NS: u64 = 86_400_000_000_000;
    let shortest = match period {
        Period::Hour => DAY_NS / 24,
        Period::Day => DAY_NS,
        Period::Month => 28 * DAY_NS,
    };
    configured_ns.max(MIN_NS).max(shortest / 10)
}

fn reply_error(reply: &[i64]) -> RedisLimitError {
    RedisLimitError::Reply {
        detail: format!("the budget script answered {reply:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spend_keys_outlive_their_period_by_a_minute_and_a_tenth_of_it_at_least() {
        let s = 1_000_000_000;
        assert_eq!(spend_grace(Period::Hour, s), 360 * s);
        assert_eq!(spend_grace(Period::Day, 0), 8_640 * s);
        assert_eq!(spend_grace(Period::Month, s), 28 * 8_640 * s);
        assert_eq!(
            spend_grace(Period::Hour, 7_200 * s),
            7_200 * s,
            "configured"
        );
    }
}
