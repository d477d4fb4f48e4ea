//! The engine: its parts, its configuration, and the record of one request.

use super::limiter::Limiter;
use super::slab::Slab;
use super::spend::Spend;
use super::timers::Timers;
use super::upstream::{UpstreamConfig, UpstreamPolicy};
use super::{EngineEvent, RequestId, RequestMeta};
use crate::budget::Ticket as SpendTicket;
use crate::limit::Reservation;
use crate::schedule::{ConfigError, PriorityScheduler, SchedulerConfig, Ticket};
use crate::upstream::{Headroom, SendMark, Target};
use crate::{Duration, Time};
use rand_core::Rng;
use std::collections::{BTreeMap, VecDeque};

/// Everything an engine is built from, besides its parts.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// Calls on the wire at most.
    pub max_in_flight: u64,
    /// Requests inside the engine at most (queued, held, waiting or in flight). At it, an
    /// arrival takes the place of the queued request the queue would shed for it at capacity
    /// (a less urgent one), or is refused with [`super::Rejection::Full`].
    pub max_requests: usize,
    /// Patience of each class's clients: a request still queued or held this long after its
    /// arrival is abandoned (`None`: no deadline).
    pub deadlines: Vec<Option<Duration>>,
    /// The priority queue.
    pub scheduler: SchedulerConfig,
    /// The client side towards the providers.
    pub upstream: UpstreamConfig,
}

/// Where a request is, so that a cancel releases exactly what it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// Its admission is still on its way (a shared store's round trip).
    Entering,
    /// The budget holds it until a reset (or until settlements free room); the hold's number
    /// (see [`Engine::held_order`]).
    Held(u64),
    /// In the priority queue.
    Queued(Ticket),
    /// Waiting for its backoff, or due for a retry.
    Retrying,
    /// Chosen, waiting for upstream room (headroom, Retry-After, a provider).
    Staged,
    /// On the wire.
    InFlight,
}

/// A request inside the engine.
#[derive(Debug)]
pub(crate) struct Request<M, P> {
    pub meta: RequestMeta<M>,
    pub arrived: Time,
    pub reservation: Reservation,
    pub placement: P,
    pub stage: Stage,
    pub attempts: u32,
    pub wait_recorded: bool,
    /// The backoff delay before its last retry (decorrelated jitter grows from it).
    pub last_backoff: Duration,
    /// Where its current call went.
    pub target: Target,
    /// Its current call in the headroom model's log (what its answer's headers are as of);
    /// `None` when the model did not log it (no proactive model, sent to the fallback).
    pub sent: Option<SendMark>,
    /// The budget's reservation, completed or cancelled on departure.
    pub spend_ticket: Option<SpendTicket>,
    /// Tokens its call used so far, once the provider accepted it (`None` before): an
    /// accepted call is billed however it ends ([`super::bill`]).
    pub accepted: Option<Seen>,
}

/// Tokens an accepted call is known to have used so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    pub input: u64,
    pub output: u64,
}

/// Something scheduled for later.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Timer {
    /// A wait (Retry-After, headroom, an open breaker) is over: dispatch again.
    Wake,
    /// A request's backoff is over: it may be sent again.
    RetryDue(RequestId),
    /// The client of a queued request runs out of patience.
    Abandon(RequestId, Ticket),
    /// A held request's reset, or its deadline if sooner, came: it may ask again (or, past its
    /// deadline, it leaves), if still held by that hold (its number).
    BudgetDue(RequestId, u64),
}

/// The sans-IO gateway: see the [module docs](super).
///
/// `M` is the driver's payload per request, `L` the limiter layers, `S` the budget, `R` the
/// random source of backoff jitter and cache draws.
pub struct Engine<M, L: Limiter, S, R> {
    pub(crate) config: EngineConfig,
    pub(crate) limiter: L,
    pub(crate) spend: S,
    pub(crate) upstream: UpstreamPolicy<R>,
    pub(crate) queue: PriorityScheduler<RequestId>,
    pub(crate) requests: Slab<Request<M, L::Placement>>,
    pub(crate) timers: Timers<Timer>,
    /// Admitted requests still paying for their admission, by queue-entry time.
    pub(crate) entering: Timers<RequestId>,
    /// Requests due for a retry; they go before the queue (they were chosen once already).
    pub(crate) retries: VecDeque<RequestId>,
    /// A request taken from the queue that must wait before it is sent; it goes first.
    pub(crate) staged: Option<RequestId>,
    /// The earliest pending [`Timer::Wake`], so waiting does not flood the timers.
    pub(crate) next_wake: Option<Time>,
    pub(crate) in_flight: u64,
    /// Requests held by the budget, per class (the gauge beside the queue's depth).
    pub(crate) held: Vec<usize>,
    /// Held requests by hold number, the earliest first: the order settlements wake them in.
    pub(crate) held_order: BTreeMap<u64, RequestId>,
    /// The next hold's number.
    pub(crate) next_hold: u64,
    /// A budget reservation settled or was released since the held requests were last asked:
    /// there may be room for them before their reset.
    pub(crate) spend_settled: bool,
    /// Something changed that may let a request go: [`Engine::poll_dispatch`] looks again.
    pub(crate) dispatch_pending: bool,
    pub(crate) events: VecDeque<EngineEvent<M>>,
}

impl<M: Copy, L: Limiter, S: Spend<M>, R: Rng> Engine<M, L, S, R> {
    /// An engine over `limiter` and `spend`.
    ///
    /// # Errors
    /// The scheduler's configuration is inconsistent.
    pub fn new(
        config: EngineConfig,
        limiter: L,
        spend: S,
        jitter: R,
        cache_draws: R,
    ) -> Result<Self, ConfigError> {
        let queue = PriorityScheduler::new(&config.scheduler)?;
        // One gauge per class, sized once: holding a request only counts.
        let held = vec![0; queue.class_count()];
        Ok(Engine {
            queue,
            upstream: UpstreamPolicy::new(&config.upstream, jitter, cache_draws),
            config,
            limiter,
            spend,
            requests: Slab::default(),
            timers: Timers::default(),
            entering: Timers::default(),
            retries: VecDeque::new(),
            staged: None,
            next_wake: None,
            in_flight: 0,
            held,
            held_order: BTreeMap::new(),
            next_hold: 0,
            spend_settled: false,
            dispatch_pending: false,
            events: VecDeque::new(),
        })
    }

    /// The next thing that happened, for the driver's metrics and logs.
    pub fn poll_event(&mut self) -> Option<EngineEvent<M>> {
        self.events.pop_front()
    }

    /// When [`Engine::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Time> {
        [self.timers.peek_time(), self.entering.peek_time()]
            .into_iter()
            .flatten()
            .min()
    }

    /// Requests inside the engine.
    pub fn len(&self) -> usize {
        self.requests.len()
    }

    /// Whether no request is inside.
    pub fn is_empty(&self) -> bool {
        self.requests.len() == 0
    }

    /// Calls on the wire.
    pub fn in_flight(&self) -> u64 {
        self.in_flight
    }

    /// Timers pending (deadlines, resets, backoff ends, wakes), some perhaps already moot: a
    /// gauge of the engine's memory, which stays proportional to live requests.
    pub fn timers_pending(&self) -> usize {
        self.timers.len()
    }

    /// Requests queued in `class`.
    pub fn queued_in(&self, class: usize) -> usize {
        self.queue.len_of(class)
    }

    /// Requests of `class` the budget holds (until a cap resets or settlements free room):
    /// admitted and waiting like queued ones, but outside the queue (so not in
    /// [`Engine::queued_in`]).
    pub fn held_in(&self, class: usize) -> usize {
        self.held.get(class).copied().unwrap_or(0)
    }

    /// The primary's breaker: 0 closed, 1 half-open, 2 open.
    pub fn breaker_level(&self) -> u8 {
        self.upstream.breaker_level()
    }

    /// Whether responses should carry parsed rate-limit headers (a proactive policy models
    /// the provider's quota from them; others skip the parsing).
    pub fn wants_headers(&self) -> bool {
        self.upstream.headroom.is_some()
    }

    /// The local model of the primary's quota (proactive policies).
    pub fn headroom(&self) -> Option<&Headroom> {
        self.upstream.headroom.as_ref()
    }

    /// Whether a fallback provider is configured. Why a driver asks: the tower layer sends a
    /// request again only when the engine moves a refused key's request to the fallback, so
    /// without one it keeps no copy of the request's body.
    pub fn has_fallback(&self) -> bool {
        self.upstream.has_fallback()
    }

    /// The earliest instant anything may be sent to `target` (its Retry-After gate).
    pub fn gate_until(&self, now: Time, target: Target) -> Time {
        self.upstream.gate_until(now, target)
    }

    /// The driver's payload of a live request.
    pub fn payload(&self, id: RequestId) -> Option<&M> {
        self.requests.get(id).map(|r| &r.meta.payload)
    }

    /// The budget's reservation of a live request (its `estimate.model` is the model to send:
    /// a degraded request's is the ladder's cheaper one); `None` without a budget. A server
    /// reads it at dispatch to rewrite the upstream request's model.
    pub fn spend_ticket(&self, id: RequestId) -> Option<&SpendTicket> {
        self.requests.get(id)?.spend_ticket.as_ref()
    }

    /// The limiter layers.
    pub fn limiter(&self) -> &L {
        &self.limiter
    }

    /// The budget.
    pub fn spend(&self) -> &S {
        &self.spend
    }

    /// The budget, to change between inputs (a driver hands it what a store shared by
    /// replicas counted, before the request it was counted for arrives).
    pub fn spend_mut(&mut self) -> &mut S {
        &mut self.spend
    }

    /// Take the parts back (after [`Engine::drain`]).
    pub fn into_parts(self) -> (L, S) {
        (self.limiter, self.spend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Memory per request inside the engine, with a 40-byte driver payload (the simulator's
    /// arrival) and an 8-byte placement (the simulator's instance and shadow flag): the slab
    /// slot (record and generation). Queued requests add the scheduler's item (class, tenant,
    /// cost, id). 392: the reservation carries the instant it was charged (8 bytes), which a
    /// settle's refund needs to come out of that charge only.
    #[test]
    fn a_request_record_stays_small() {
        let slot = super::super::slab::slot_bytes::<Request<[u64; 5], u64>>();
        let item = std::mem::size_of::<crate::schedule::Item<RequestId>>();
        std::io::Write::write_all(
            &mut std::io::stdout(),
            format!("engine bytes per queued request: slab slot {slot} + queue item {item}\n")
                .as_bytes(),
        )
        .ok();
        assert!(slot + item <= 392, "slot {slot} + item {item}");
    }
}
