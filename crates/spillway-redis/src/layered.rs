//! [`RedisLayered`]: spillway-core's [`Layered`] on Redis — every layer checked, then all charged
//! or none, in one script over keys that share one hash tag.

use crate::config::FailurePolicy;
use crate::error::RedisLimitError;
use crate::key::{StateKeys, validate_key_part};
use crate::reservation::RedisReservation;
use crate::shape::{Action, Shape};
use crate::store::{Fault, RedisStore};
use crate::verdict::{
    Degraded, RETRY_WHILE_AWAY, ServedBy, Verdict, local_share, settle_off_redis,
};
use crate::wire::{Call, Op};
use spillway_core::Time;
use spillway_core::limit::{
    Demand, Denial, LayerRoom, LayerSet, LayerSpec, Layered, LayeredDecision, LayeredError,
    Reservation, Scope, Subject, Unit,
};
use std::sync::Mutex;

/// How [`RedisLayered::settle_once`] went.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Settled {
    /// Who settled it (a failure policy: Redis did not take it, or the failure policy had
    /// admitted it).
    pub served_by: ServedBy,
    /// Redis was asked and did not take it: the failure policy answered (the local share
    /// recorded its extra charge, or failing closed nothing did). `false` when Redis applied
    /// it, or when the failure policy had admitted it and settled it where it charged.
    pub outage: bool,
    /// Redis did not take it and surely did not run it (it refused the connection, or
    /// answered that it could not run it now): sending it again cannot apply it twice.
    /// `false` when its reply was lost (a timeout, a connection dropped after sending).
    pub unsent: bool,
}

#[derive(Clone, Debug)]
struct Layer {
    name: String,
    scope: Scope,
    unit: Unit,
    shape: Shape,
}

impl Layer {
    fn cost(&self, demand: Demand) -> u64 {
        self.unit.cost(demand)
    }
    fn scope_key(&self, subject: &Subject) -> u64 {
        subject.id(self.scope)
    }
}

/// Layered limits on Redis with spillway-core's [`Layered`] semantics: check then commit (a
/// denial charges nothing), a denial names every blocking layer and the latest of their exact
/// `retry_at`, and reserve → settle refunds or charges the difference on every layer.
///
/// All keys share the hash tag `{<name>}` (one cluster slot), because a global layer is shared
/// by every subject and a script may only touch one slot.
#[derive(Debug)]
pub struct RedisLayered {
    store: RedisStore,
    name: String,
    layers: Vec<Layer>,
    local: Option<Mutex<Layered>>,
}

impl RedisLayered {
    /// Build from layer specs (the same checks as [`Layered::new`], plus key-part and range
    /// checks for Redis).
    pub fn new(
        store: &RedisStore,
        name: &str,
        specs: Vec<LayerSpec>,
    ) -> Result<Self, RedisLimitError> {
        validate_key_part("prefix", &store.config().prefix)?;
        validate_key_part("limiter name", name)?;
        Layered::new(specs.clone())?;
        let policy = store.config().failure_policy;
        let mut layers = Vec::with_capacity(specs.len());
        let mut shares = Vec::with_capacity(specs.len());
        for spec in specs {
            validate_key_part("layer name", &spec.name)?;
            let shape = Shape::new(&spec.limit)?;
            if let Some(limit) = local_share(&spec.limit, policy, store.config().replicas) {
                shares.push(LayerSpec {
                    limit,
                    ..spec.clone()
                });
            }
            layers.push(Layer {
                name: spec.name,
                scope: spec.scope,
                unit: spec.unit,
                shape,
            });
        }
        let local = match policy {
            FailurePolicy::FailClosed { .. } => None,
            _ => Some(Mutex::new(Layered::new(shares)?)),
        };
        Ok(RedisLayered {
            store: store.clone(),
            name: name.to_owned(),
            layers,
            local,
        })
    }

    /// Layer names in order (index = position in a [`LayerSet`]).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.layers.iter().map(|l| l.name.as_str())
    }

    /// The first layer (in order) that can never admit `demand`.
    fn ensure_fits(&self, demand: Demand) -> Result<(), RedisLimitError> {
        for layer in &self.layers {
            let (cost, capacity) = (layer.cost(demand), layer.shape.capacity());
            if cost > capacity {
                return Err(LayeredError::NeverFits {
                    layer: layer.name.clone(),
                    cost,
                    capacity,
                }
                .into());
            }
        }
        Ok(())
    }

    /// The call over the layers with a non-zero cost (`costs[i]` for layer `i`, with an action
    /// per layer), and the layer index of each position in it.
    fn call(
        &self,
        op: Op,
        now: Time,
        subject: &Subject,
        per_layer: &[(u64, Action)],
    ) -> (Call, Vec<usize>) {
        let config = self.store.config();
        let included: Vec<usize> = (0..self.layers.len())
            .filter(|&i| per_layer[i].0 > 0)
            .collect();
        let server_time = config.time_source == crate::TimeSource::Redis;
        let mut call = Call::new(op, server_time, now, config.expiry_grace, false);
        for &i in &included {
            let layer = &self.layers[i];
            let keys = StateKeys::layer(
                &config.prefix,
                &self.name,
                &layer.name,
                layer.scope_key(subject),
            );
            layer
                .shape
                .push(&mut call, &keys, per_layer[i].1, per_layer[i].0);
        }
        (call, included)
    }

    /// The room of the `included` layers from the reply's room part (`[n, ..n values..]`),
    /// and what follows it.
    fn rooms<'r>(
        &self,
        now: Time,
        rest: &'r [u64],
        included: &[usize],
    ) -> Option<(Vec<LayerRoom>, &'r [u64])> {
        let (&n, tail) = rest.split_first()?;
        let n = usize::try_from(n).ok()?;
        let (mut values, after) = (tail.get(..n)?, tail.get(n..)?);
        let mut rooms = Vec::with_capacity(included.len());
        for &index in included {
            let layer = &self.layers[index];
            let snap = values.get(..layer.shape.room_len())?;
            values = &values[layer.shape.room_len()..];
            let room = layer.shape.room(now, snap);
            rooms.push(LayerRoom {
                index,
                unit: layer.unit,
                limit: room.limit,
                remaining: room.remaining,
                full_at: room.full_at,
            });
        }
        values.is_empty().then_some((rooms, after))
    }

    /// The decision (and, when the call asked for it, every included layer's room).
    fn decision(
        &self,
        raw: &[i64],
        now: Time,
        costs: &[(u64, Action)],
        included: &[usize],
        with_room: bool,
    ) -> Result<(Verdict<LayeredDecision>, Vec<LayerRoom>), RedisLimitError> {
        let reply = self.store.parse_reply(raw, now)?;
        let short = || RedisLimitError::Reply {
            detail: format!("malformed reply {raw:?}"),
        };
        let (rooms, mut rest) = if with_room {
            self.rooms(reply.now, &reply.rest, included)
                .ok_or_else(short)?
        } else {
            (Vec::new(), reply.rest.as_slice())
        };
        let (mut blocking, mut retry_at) = (LayerSet::EMPTY, Time::ZERO);
        while let Some((&position, tail)) = rest.split_first() {
            let index = *usize::try_from(position)
                .ok()
                .and_then(|p| included.get(p))
                .ok_or_else(short)?;
            let shape = &self.layers[index].shape;
            let snap = tail.get(..shape.snapshot_len()).ok_or_else(short)?;
            blocking = blocking.with(index);
            retry_at = retry_at.max(shape.retry_at(costs[index].0, snap));
            rest = &tail[shape.snapshot_len()..];
        }
        let decision = match (reply.allowed, blocking.is_empty()) {
            (true, _) => LayeredDecision::Allowed,
            (false, false) => LayeredDecision::Denied(Denial { blocking, retry_at }),
            (false, true) => return Err(short()),
        };
        let verdict = Verdict {
            decision,
            now: reply.now,
            served_by: ServedBy::Redis,
        };
        Ok((verdict, rooms))
    }

    fn degraded(
        &self,
        op: Op,
        now: Time,
        subject: &Subject,
        demand: Demand,
    ) -> Verdict<LayeredDecision> {
        let denied_until = |retry_at| {
            LayeredDecision::Denied(Denial {
                blocking: LayerSet::EMPTY,
                retry_at,
            })
        };
        Degraded::from(self.store.config().failure_policy).verdict(now, denied_until, || {
            self.local.as_ref().map_or(LayeredDecision::Allowed, |m| {
                let mut local = m.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                match op {
                    Op::Check => local.check(now, subject, demand),
                    _ => local.acquire(now, subject, demand),
                }
                // A share too small for the demand: denied while the outage lasts.
                .unwrap_or(denied_until(now.saturating_add(RETRY_WHILE_AWAY)))
            })
        })
    }

    /// Check or acquire; with `with_room`, the reply also carries every included layer's room
    /// (none when the failure policy answered).
    async fn decide(
        &self,
        op: Op,
        now: Time,
        subject: &Subject,
        demand: Demand,
        with_room: bool,
    ) -> Result<(Verdict<LayeredDecision>, Vec<LayerRoom>), RedisLimitError> {
        self.ensure_fits(demand)?;
        let costs: Vec<(u64, Action)> = self
            .layers
            .iter()
            .map(|l| (l.cost(demand), Action::Check))
            .collect();
        let (mut call, included) = self.call(op, now, subject, &costs);
        if included.is_empty() {
            let verdict = Verdict {
                decision: LayeredDecision::Allowed,
                now,
                served_by: ServedBy::Redis,
            };
            return Ok((verdict, Vec::new()));
        }
        if with_room {
            call.with_room();
        }
        match self.store.eval(&call).await {
            Ok(raw) => self.decision(&raw, now, &costs, &included, with_room),
            Err(Fault::Unavailable(_)) => Ok((self.degraded(op, now, subject, demand), Vec::new())),
            Err(Fault::Fatal(e)) => Err(e),
        }
    }

    /// Would `demand` be admitted for `subject` at `now`? Changes nothing.
    pub async fn check(
        &self,
        now: Time,
        subject: &Subject,
        demand: Demand,
    ) -> Result<Verdict<LayeredDecision>, RedisLimitError> {
        Ok(self.decide(Op::Check, now, subject, demand, false).await?.0)
    }

    /// Check every layer; if all admit, charge all (atomically). A denial charges nothing.
    pub async fn acquire(
        &self,
        now: Time,
        subject: &Subject,
        demand: Demand,
    ) -> Result<Verdict<LayeredDecision>, RedisLimitError> {
        Ok(self
            .decide(Op::Acquire, now, subject, demand, false)
            .await?
            .0)
    }

    /// Like `acquire` for an estimate; an admission returns the [`RedisReservation`] to settle
    /// (it remembers who admitted it: Redis or the failure policy).
    pub async fn reserve(
        &self,
        now: Time,
        subject: &Subject,
        estimate: Demand,
    ) -> Result<Verdict<Result<RedisReservation, Denial>>, RedisLimitError> {
        Ok(self.reserving(now, subject, estimate, false).await?.0)
    }

    /// [`reserve`](Self::reserve), and in the same call (no extra round trip) the room of every
    /// layer the demand touches after it (spillway-core's [`Layered::room`] for those layers:
    /// what the `x-ratelimit-*` headers report). Layers with a zero cost for this demand, and
    /// every layer when the failure policy answered, are absent.
    pub async fn reserve_with_room(
        &self,
        now: Time,
        subject: &Subject,
        estimate: Demand,
    ) -> Result<(Verdict<Result<RedisReservation, Denial>>, Vec<LayerRoom>), RedisLimitError> {
        self.reserving(now, subject, estimate, true).await
    }

    async fn reserving(
        &self,
        now: Time,
        subject: &Subject,
        estimate: Demand,
        with_room: bool,
    ) -> Result<(Verdict<Result<RedisReservation, Denial>>, Vec<LayerRoom>), RedisLimitError> {
        let (v, rooms) = self
            .decide(Op::Acquire, now, subject, estimate, with_room)
            .await?;
        let decision = match v.decision {
            LayeredDecision::Allowed => Ok(RedisReservation::new(
                Reservation {
                    subject: *subject,
                    estimate,
                    charged_at: v.now,
                },
                v.served_by,
            )),
            LayeredDecision::Denied(d) => Err(d),
        };
        let verdict = Verdict {
            decision,
            now: v.now,
            served_by: v.served_by,
        };
        Ok((verdict, rooms))
    }

    /// Settle a reservation with the actual demand where its admission was charged. Admitted
    /// by Redis: refund or charge the difference on every layer, in one script (charging may
    /// put a layer in debt, as in spillway-core); if Redis is unavailable then, the failure
    /// policy's local share records the layers' extra charges, never their refunds (it never
    /// held this charge). Admitted by the failure policy: on the local share only, never in
    /// Redis (see [`RedisReservation`]: its acquire, had it landed, is refunded there by its
    /// cancellation). Returns who settled it.
    pub async fn settle(
        &self,
        now: Time,
        reservation: RedisReservation,
        actual: Demand,
    ) -> Result<ServedBy, RedisLimitError> {
        Ok(self.settle_once(now, reservation, actual).await?.served_by)
    }

    /// [`RedisLayered::settle`], saying also whether a settle Redis did not take may be sent
    /// again: a settle carries no request id, so one whose reply was lost after it ran would
    /// apply its difference twice. Send one that may go again with
    /// [`resettle`](Self::resettle).
    pub async fn settle_once(
        &self,
        now: Time,
        reservation: RedisReservation,
        actual: Demand,
    ) -> Result<Settled, RedisLimitError> {
        self.settling(now, reservation, actual, true).await
    }

    /// [`settle_once`](Self::settle_once) again, for a settle Redis surely did not run
    /// ([`Settled::unsent`]): the same, except that the local share is left alone (the first
    /// try recorded it there; a second record would charge it twice).
    pub async fn resettle(
        &self,
        now: Time,
        reservation: RedisReservation,
        actual: Demand,
    ) -> Result<Settled, RedisLimitError> {
        self.settling(now, reservation, actual, false).await
    }

    /// A settle; `record_locally`: whether the local share records it when Redis does not.
    async fn settling(
        &self,
        now: Time,
        reservation: RedisReservation,
        actual: Demand,
        record_locally: bool,
    ) -> Result<Settled, RedisLimitError> {
        let (reservation, admitted_by) = reservation.into_parts();
        let local = || self.settle_local(now, reservation, actual);
        let done = |served_by| Settled {
            served_by,
            outage: false,
            unsent: false,
        };
        if let Some(settled_by) = settle_off_redis(admitted_by, local) {
            return Ok(done(settled_by));
        }
        let per_layer: Vec<(u64, Action)> = self
            .layers
            .iter()
            .map(|l| {
                let (action, cost) = Action::settling(reservation.settle_step(l.unit, actual));
                (cost, action)
            })
            .collect();
        let (call, included) = self.call(Op::Apply, now, &reservation.subject, &per_layer);
        if included.is_empty() {
            return Ok(done(ServedBy::Redis));
        }
        match self.store.eval(&call).await {
            Ok(raw) => self
                .store
                .parse_reply(&raw, now)
                .map(|_| done(ServedBy::Redis)),
            Err(Fault::Fatal(e)) => Err(e),
            // Only the commit part reaches the local share: it never held this charge, so a
            // refund there would be room nobody charged (lib.rs, "No refund to a share that
            // never charged"); Redis keeps the estimate.
            Err(Fault::Unavailable(outage)) => {
                let at_least_estimated = Demand {
                    requests: actual.requests.max(reservation.estimate.requests),
                    tokens: actual.tokens.max(reservation.estimate.tokens),
                };
                let local = || {
                    if record_locally {
                        self.settle_local(now, reservation, at_least_estimated);
                    }
                };
                Ok(Settled {
                    served_by: Degraded::from(self.store.config().failure_policy).apply(local),
                    outage: true,
                    unsent: outage.unsent,
                })
            }
        }
    }

    /// Settle `reservation` on the local share (none when failing closed).
    fn settle_local(&self, now: Time, reservation: Reservation, actual: Demand) {
        if let Some(m) = &self.local {
            m.lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .settle(now, reservation, actual);
        }
    }
}
