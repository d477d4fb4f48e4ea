//! [`RedisLimiter`]: one limiter per caller key, state in Redis, shared by every instance.

use crate::error::RedisLimitError;
use crate::key::{StateKeys, validate_key_part};
use crate::reservation::{KeyReservation, RedisReservation};
use crate::shape::{Action, Shape};
use crate::store::{Fault, RedisStore};
use crate::verdict::{
    Degraded, RETRY_WHILE_AWAY, ServedBy, Verdict, local_share, settle_off_redis,
};
use crate::wire::{Call, Op};
use spillway_core::Time;
use spillway_core::limit::{
    AnyLimiter, Charge, Decision, Keyed, LimitError, LimitSpec, SettleStep,
};
use std::sync::Mutex;

/// One request of a batch ([`RedisLimiter::acquire_many`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Request<'a> {
    /// The caller's key (user, API key id...), validated like every key part.
    pub key: &'a str,
    /// The caller's instant.
    pub now: Time,
    /// The cost.
    pub cost: u64,
}

/// A keyed limiter whose state lives in Redis: the semantics of spillway-core's
/// [`Gcra`](spillway_core::limit::Gcra), [`SlidingWindowLog`](spillway_core::limit::SlidingWindowLog)
/// or [`SlidingWindowCounter`](spillway_core::limit::SlidingWindowCounter), one per key, with the
/// same decisions and the same exact `retry_at`.
#[derive(Debug)]
pub struct RedisLimiter {
    store: RedisStore,
    name: String,
    shape: Shape,
    local: Option<Mutex<Keyed<String, AnyLimiter>>>,
}

impl RedisLimiter {
    /// A limiter named `name` (a key part: no `{`, `}`, `:`) with `spec` for every key.
    pub fn new(store: &RedisStore, name: &str, spec: LimitSpec) -> Result<Self, RedisLimitError> {
        validate_key_part("prefix", &store.config().prefix)?;
        validate_key_part("limiter name", name)?;
        let shape = Shape::new(&spec)?;
        let local = match local_share(
            &spec,
            store.config().failure_policy,
            store.config().replicas,
        ) {
            Some(share) => Some(Mutex::new(Keyed::new(share.build()?))),
            None => None,
        };
        Ok(RedisLimiter {
            store: store.clone(),
            name: name.to_owned(),
            shape,
            local,
        })
    }

    /// The largest cost ever admitted at once.
    pub fn capacity(&self) -> u64 {
        self.shape.capacity()
    }

    /// Whether a zero cost short-circuits (windows admit it without looking; a token bucket in
    /// debt can deny even a zero cost, as in spillway-core).
    fn trivially_allowed(&self, cost: u64) -> bool {
        cost == 0 && !matches!(self.shape, Shape::Gcra { .. })
    }

    fn call(
        &self,
        op: Op,
        key: &str,
        now: Time,
        action: Action,
        cost: u64,
    ) -> Result<Call, RedisLimitError> {
        let config = self.store.config();
        let keys = StateKeys::single(&config.prefix, &self.name, key)?;
        let server_time = config.time_source == crate::TimeSource::Redis;
        let mut call = Call::new(op, server_time, now, config.expiry_grace, op == Op::Acquire);
        self.shape.push(&mut call, &keys, action, cost);
        Ok(call)
    }

    fn decision(
        &self,
        raw: &[i64],
        now: Time,
        cost: u64,
    ) -> Result<Verdict<Decision>, RedisLimitError> {
        let reply = self.store.parse_reply(raw, now)?;
        let decision = if reply.allowed {
            Decision::Allowed
        } else {
            let snap = reply
                .rest
                .get(1..1 + self.shape.snapshot_len())
                .ok_or_else(|| RedisLimitError::Reply {
                    detail: format!("short denial {raw:?}"),
                })?;
            Decision::Denied {
                retry_at: self.shape.retry_at(cost, snap),
            }
        };
        Ok(Verdict {
            decision,
            now: reply.now,
            served_by: ServedBy::Redis,
        })
    }

    /// The failure policy's answer for a check or acquire while Redis is unavailable.
    fn degraded(&self, op: Op, key: &str, now: Time, cost: u64) -> Verdict<Decision> {
        let denied_until = |retry_at| Decision::Denied { retry_at };
        Degraded::from(self.store.config().failure_policy).verdict(now, denied_until, || {
            self.with_local(|l| {
                let key = key.to_owned();
                match op {
                    Op::Check => l.check(now, &key, cost),
                    _ => l.acquire(now, &key, cost),
                }
            })
            // The share's capacity can be below the cost: never admitted locally.
            .map_or(Decision::Allowed, |d| {
                d.unwrap_or(denied_until(now.saturating_add(RETRY_WHILE_AWAY)))
            })
        })
    }

    /// Run `f` on the local fallback state (`None` if the policy keeps none).
    fn with_local<T>(&self, f: impl FnOnce(&mut Keyed<String, AnyLimiter>) -> T) -> Option<T> {
        let local = self.local.as_ref()?;
        Some(f(&mut local
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)))
    }

    fn ensure_fits(&self, cost: u64) -> Result<(), RedisLimitError> {
        let capacity = self.capacity();
        if cost > capacity {
            return Err(LimitError::CostExceedsCapacity { cost, capacity }.into());
        }
        Ok(())
    }

    async fn decide(
        &self,
        op: Op,
        key: &str,
        now: Time,
        cost: u64,
    ) -> Result<Verdict<Decision>, RedisLimitError> {
        self.ensure_fits(cost)?;
        let call = self.call(op, key, now, Action::Check, cost)?;
        if self.trivially_allowed(cost) {
            return Ok(Verdict {
                decision: Decision::Allowed,
                now,
                served_by: ServedBy::Redis,
            });
        }
        match self.store.eval(&call).await {
            Ok(raw) => self.decision(&raw, now, cost),
            Err(Fault::Unavailable(_)) => Ok(self.degraded(op, key, now, cost)),
            Err(Fault::Fatal(e)) => Err(e),
        }
    }

    /// Check `cost` for `key` at `now`, and consume it if admitted (atomically on Redis).
    pub async fn acquire(
        &self,
        key: &str,
        now: Time,
        cost: u64,
    ) -> Result<Verdict<Decision>, RedisLimitError> {
        self.decide(Op::Acquire, key, now, cost).await
    }

    /// Would `cost` be admitted for `key` at `now`? Changes nothing.
    pub async fn check(
        &self,
        key: &str,
        now: Time,
        cost: u64,
    ) -> Result<Verdict<Decision>, RedisLimitError> {
        self.decide(Op::Check, key, now, cost).await
    }

    async fn apply(
        &self,
        key: &str,
        now: Time,
        action: Action,
        cost: u64,
    ) -> Result<ServedBy, RedisLimitError> {
        // Sent even for a zero cost: in spillway-core a zero refund still prunes a log and
        // rolls a counter's window, and a zero commit moves a token bucket's TAT up to now,
        // which a later call with an earlier `now` can see.
        let call = self.call(Op::Apply, key, now, action, cost)?;
        match self.store.eval(&call).await {
            Ok(raw) => self.store.parse_reply(&raw, now).map(|_| ServedBy::Redis),
            Err(Fault::Fatal(e)) => Err(e),
            // A refund is dropped: the local share never held this charge (see lib.rs, "No
            // refund to a share that never charged").
            Err(Fault::Unavailable(_)) => Ok(Degraded::from(self.store.config().failure_policy)
                .apply(|| {
                    if !matches!(action, Action::Refund { .. }) {
                        self.apply_local(key, now, action, cost);
                    }
                })),
        }
    }

    /// Refund or commit `cost` on the local share (none when failing closed).
    fn apply_local(&self, key: &str, now: Time, action: Action, cost: u64) {
        self.with_local(|l| match action {
            Action::Refund { charge } => l.refund(now, charge, &key.to_owned(), cost),
            _ => l.commit(now, &key.to_owned(), cost),
        });
    }

    /// Consume `cost` without asking (may leave the key in debt, as in spillway-core).
    pub async fn commit(
        &self,
        key: &str,
        now: Time,
        cost: u64,
    ) -> Result<ServedBy, RedisLimitError> {
        self.apply(key, now, Action::Commit, cost).await
    }

    /// Give back `cost` of `charge` (only what is still live of it: in its own window, or in a
    /// token bucket what of it has not refilled, as spillway-core's `Limiter::refund`; never
    /// more room than a fresh limiter). While Redis is unavailable the refund is dropped, not
    /// given to the local share, which never held a Redis charge.
    pub async fn refund(
        &self,
        key: &str,
        now: Time,
        charge: Charge,
        cost: u64,
    ) -> Result<ServedBy, RedisLimitError> {
        self.apply(key, now, Action::Refund { charge }, cost).await
    }

    /// Like [`acquire`](Self::acquire) for an estimate; an admission returns the
    /// [`RedisReservation`] to [`settle`](Self::settle) (it remembers the key and who admitted
    /// it: Redis or the failure policy), a denial `Err(retry_at)`.
    pub async fn reserve(
        &self,
        key: &str,
        now: Time,
        estimate: u64,
    ) -> Result<Verdict<Result<RedisReservation<KeyReservation>, Time>>, RedisLimitError> {
        let v = self.acquire(key, now, estimate).await?;
        let decision = match v.decision {
            Decision::Allowed => {
                let key = key.to_owned();
                let reserved = KeyReservation {
                    key,
                    estimate,
                    charged_at: v.now,
                };
                Ok(RedisReservation::new(reserved, v.served_by))
            }
            Decision::Denied { retry_at } => Err(retry_at),
        };
        Ok(Verdict {
            decision,
            now: v.now,
            served_by: v.served_by,
        })
    }

    /// Settle a reservation with the `actual` cost: refund or charge the difference where the
    /// admission was charged. Admitted by Redis: in Redis (if Redis is unavailable then, as
    /// [`refund`](Self::refund) and [`commit`](Self::commit): a refund is dropped, a commit
    /// charges the local share). Admitted by the failure policy: on the local share only, never
    /// in Redis (see [`RedisReservation`]: its acquire, had it landed, is refunded there by its
    /// cancellation). Returns who settled it.
    pub async fn settle(
        &self,
        now: Time,
        reservation: RedisReservation<KeyReservation>,
        actual: u64,
    ) -> Result<ServedBy, RedisLimitError> {
        let (
            KeyReservation {
                key,
                estimate,
                charged_at,
            },
            admitted_by,
        ) = reservation.into_parts();
        let charge = Charge {
            at: charged_at,
            cost: estimate,
        };
        // Sent even when the estimate was exact (a zero commit): see `apply`.
        let (action, cost) = Action::settling(SettleStep::new(charge, actual));
        let local = || self.apply_local(&key, now, action, cost);
        match settle_off_redis(admitted_by, local) {
            Some(settled_by) => Ok(settled_by),
            None => self.apply(&key, now, action, cost).await,
        }
    }

    /// Acquire for many requests in one pipeline (one round trip; each request is still its
    /// own atomic script, in order). Per-request errors (bad key, cost above capacity) fail the
    /// whole batch before anything is sent.
    pub async fn acquire_many(
        &self,
        requests: &[Request<'_>],
    ) -> Result<Vec<Verdict<Decision>>, RedisLimitError> {
        let mut calls = Vec::with_capacity(requests.len());
        for r in requests {
            self.ensure_fits(r.cost)?;
            let call = self.call(Op::Acquire, r.key, r.now, Action::Check, r.cost)?;
            if !self.trivially_allowed(r.cost) {
                calls.push(call);
            }
        }
        let mut replies = match self.store.eval_many(&calls).await {
            Ok(replies) => replies.into_iter(),
            Err(Fault::Fatal(e)) => return Err(e),
            Err(Fault::Unavailable(_)) => Vec::new().into_iter(),
        };
        let mut out = Vec::with_capacity(requests.len());
        for r in requests {
            out.push(if self.trivially_allowed(r.cost) {
                Verdict {
                    decision: Decision::Allowed,
                    now: r.now,
                    served_by: ServedBy::Redis,
                }
            } else {
                match replies.next() {
                    Some(Ok(raw)) => self.decision(&raw, r.now, r.cost)?,
                    Some(Err(Fault::Fatal(e))) => return Err(e),
                    Some(Err(Fault::Unavailable(_))) | None => {
                        self.degraded(Op::Acquire, r.key, r.now, r.cost)
                    }
                }
            });
        }
        Ok(out)
    }
}
