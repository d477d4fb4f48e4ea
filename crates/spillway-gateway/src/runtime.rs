//! The engine behind a mutex, a wall clock, and a timer task.
//!
//! Why a mutex and not an actor: every engine call is short and never blocks (sans-IO), so a
//! lock held for microseconds costs less than a channel round trip per call, and the caller
//! gets its [`Admission`] synchronously (a 429 never waits for a task to be scheduled). The
//! lock is never held across an `.await`.
//!
//! Who waits where: an admitted request waits on its own channel for a [`Step`] (send now, or
//! it left); the timer task sleeps until [`Engine::poll_timeout`] or until an input moves that
//! instant earlier. Every input ends with [`State::pump`], which hands dispatches to their
//! waiters and counts events, so a dispatch is delivered by whichever task made it possible.

use crate::call::{Call, Step};
use crate::metrics::Metrics;
use rand_core::Rng;
use spillway_core::clock::{Clock, WallClock};
use spillway_core::engine::{
    Admission, Engine, EngineEvent, Limiter, Rejection, RequestId, RequestMeta, Spend, SpendRefusal,
};
use spillway_core::limit::Subject;
use spillway_core::{Duration, Time};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::{Notify, mpsc};

/// What the runtime holds under its lock.
pub struct State<M, L: Limiter, S, R> {
    /// The engine.
    pub engine: Engine<M, L, S, R>,
    /// Counters built from the engine's events and admissions.
    pub metrics: Metrics,
    waiters: HashMap<RequestId, mpsc::UnboundedSender<Step<M>>>,
    /// The instant the timer task sleeps until (`None`: until woken).
    armed: Option<Time>,
}

pub(crate) struct Shared<M, L: Limiter, S, R> {
    pub(crate) clock: WallClock,
    state: Mutex<State<M, L, S, R>>,
    wake: Notify,
    closed: AtomicBool,
}

/// A request the engine refused at the door, and when it was refused.
#[derive(Debug, Clone, Copy)]
pub struct Refusal {
    /// Why.
    pub why: Rejection,
    /// When (the `retry_at` of a layer denial is measured from it).
    pub at: Time,
}

impl Refusal {
    /// How long the client should wait: until the layers' `retry_at`, or until the refusing
    /// cap resets (a client told "1s" would only hammer a spent cap), else one second.
    pub fn retry_after(&self) -> Duration {
        match self.why {
            Rejection::Layers { retry_at, .. } => retry_at.saturating_since(self.at),
            Rejection::Budget(SpendRefusal::Cap {
                reset_at: Some(reset),
                ..
            }) => reset.saturating_since(self.at),
            _ => Duration::from_secs(1),
        }
    }
}

/// An admission's outcome: the call, or the refusal.
pub(crate) type Admitted<M, L, S, R> = Result<Call<M, L, S, R>, Refusal>;

/// A running gateway: cheap to clone, shared by every connection.
pub struct Runtime<M, L: Limiter, S, R> {
    pub(crate) shared: Arc<Shared<M, L, S, R>>,
}

impl<M, L: Limiter, S, R> Clone for Runtime<M, L, S, R> {
    fn clone(&self) -> Self {
        Runtime {
            shared: self.shared.clone(),
        }
    }
}

impl<M, L, S, R> Runtime<M, L, S, R>
where
    M: Copy + Send + 'static,
    L: Limiter<Placement: Send> + Send + 'static,
    S: Spend<M> + Send + 'static,
    R: Rng + Send + 'static,
{
    /// Run `engine` (its times are ns since the Unix epoch); `layer_names` label the metrics
    /// of refusals. Spawns the timer task: call inside a tokio runtime.
    pub fn start(engine: Engine<M, L, S, R>, layer_names: Vec<String>) -> Self {
        let shared = Arc::new(Shared {
            clock: WallClock::new(),
            state: Mutex::new(State {
                engine,
                metrics: Metrics::new(layer_names),
                waiters: HashMap::new(),
                armed: None,
            }),
            wake: Notify::new(),
            closed: AtomicBool::new(false),
        });
        tokio::spawn(timer_task(shared.clone()));
        Runtime { shared }
    }

    /// A request arrives: refused now, or a [`Call`] that waits for its turn. Dropping the
    /// call before it completes cancels it in the engine.
    pub fn admit(&self, meta: RequestMeta<M>) -> Result<Call<M, L, S, R>, Refusal> {
        self.admit_with(meta, |_| {})
    }

    /// [`Runtime::admit`], after `prepare` saw the engine under the lock (to hand its layers
    /// or budget what a shared store decided or counted outside the engine).
    pub fn admit_with(
        &self,
        meta: RequestMeta<M>,
        prepare: impl FnOnce(&mut Engine<M, L, S, R>),
    ) -> Result<Call<M, L, S, R>, Refusal> {
        self.admit_locked(meta, |engine, _| prepare(engine), |_, _| {})
    }

    /// [`Runtime::admit`], and the upstream API key the engine admitted (or refused) it with,
    /// as `api_key`-scoped layers see it (0 without one): the subject of the decision, whose
    /// room the `x-ratelimit-*` headers show. The budget is asked for its key under the
    /// engine's lock at the engine's instant, just before the engine asks it: [`Spend::key`]
    /// reads the budget at an instant (its `&mut` is no licence to change it), so both get
    /// the same key.
    pub(crate) fn admit_keyed(&self, meta: RequestMeta<M>) -> (u64, Admitted<M, L, S, R>) {
        let mut api_key = 0;
        let pick = |engine: &mut Engine<M, L, S, R>, now| {
            api_key = engine.spend_mut().key(now, &meta).unwrap_or(0);
        };
        let admitted = self.admit_locked(meta, pick, |_, _| {});
        (api_key, admitted)
    }

    /// [`Runtime::admit_with`], then `finish` under the same lock, right after the engine
    /// decided (to take back what `prepare` handed it and it did not use); both are given the
    /// instant the engine decides at.
    ///
    /// After [`Runtime::close`] the engine is not asked: an admission that was still awaiting
    /// Redis when the runtime closed would sit in a runtime whose timer has stopped and whose
    /// requests were cut, never sent. It is refused as a full gateway is (503, retry later,
    /// elsewhere), and `finish` gives back what `prepare` handed over. The flag is read under
    /// the lock that `close` takes after setting it, so an admission either sees it or is
    /// inside before `close` cuts what is inside.
    pub(crate) fn admit_locked(
        &self,
        meta: RequestMeta<M>,
        prepare: impl FnOnce(&mut Engine<M, L, S, R>, Time),
        finish: impl FnOnce(&mut Engine<M, L, S, R>, Time),
    ) -> Result<Call<M, L, S, R>, Refusal> {
        let class = meta.class;
        let mut state = self.shared.lock();
        let now = self.shared.clock.now();
        prepare(&mut state.engine, now);
        let admission = if self.shared.closed.load(Ordering::Acquire) {
            Admission::Rejected(Rejection::Full)
        } else {
            state.engine.on_request(now, meta)
        };
        finish(&mut state.engine, now);
        match admission {
            Admission::Rejected(why) => {
                state.metrics.rejected(&why);
                // A budget refusal also reports an event: count it now, not at the next input.
                state.pump(now);
                Err(Refusal { why, at: now })
            }
            Admission::Accepted(id) => {
                state.metrics.admitted(class);
                let (tx, rx) = mpsc::unbounded_channel();
                state.waiters.insert(id, tx);
                self.shared.settle(&mut state, now);
                drop(state);
                Ok(Call::new(self.shared.clone(), id, rx))
            }
        }
    }

    /// The runtime's clock reading (ns since the Unix epoch).
    pub fn now(&self) -> Time {
        self.shared.clock.now()
    }

    /// Change the engine under the lock, at the clock's `now` (e.g. write a shared store's
    /// totals into its budget). Never held across an `.await`.
    pub fn with_engine<T>(&self, change: impl FnOnce(&mut Engine<M, L, S, R>, Time) -> T) -> T {
        let mut state = self.shared.lock();
        change(&mut state.engine, self.shared.clock.now())
    }

    /// Read the state under the lock (gauges, the layers' room, metrics).
    pub fn with_state<T>(&self, read: impl FnOnce(&State<M, L, S, R>, Time) -> T) -> T {
        let state = self.shared.lock();
        read(&state, self.shared.clock.now())
    }

    /// The `x-ratelimit-*` headers for `subject` now (its tightest layer of each unit).
    pub fn rate_limit_headers(&self, subject: &Subject, map: &mut axum::http::HeaderMap)
    where
        L: crate::headers::Rooms,
    {
        let (room, now) = self.with_state(|s, now| (s.engine.limiter().room(now, subject), now));
        crate::headers::rate_limit_headers(&room, now, map);
    }

    /// The metrics and gauges in Prometheus text.
    pub fn metrics_text(&self) -> String {
        self.with_state(|s, _| {
            let e = &s.engine;
            let gauges = crate::Gauges {
                queued: [0, 1, 2, 3].map(|c| e.queued_in(c) as u64),
                in_flight: e.in_flight(),
                inside: e.len() as u64,
                breaker: e.breaker_level(),
            };
            s.metrics.render(&gauges)
        })
    }

    /// Stop the timer task (after the server drained its connections, or gave up waiting),
    /// and cut every request still inside: one on the wire leaves billed, as if its client had
    /// gone ([`Engine::on_cancel_sent`]), any other is released. Why here: their settlements
    /// must be queued while the settle queues still run, before the server flushes them; a
    /// request's own drop, later, finds it gone. An admission that reaches the engine after
    /// this is refused ([`Runtime::admit_with`]).
    pub fn close(&self) {
        self.shared.closed.store(true, Ordering::Release);
        self.shared.wake.notify_one();
        let mut state = self.shared.lock();
        let now = self.shared.clock.now();
        // In id order, not the map's: what is settled, and in which order, stays a function
        // of the run.
        let mut inside: Vec<RequestId> = state.waiters.keys().copied().collect();
        inside.sort_unstable();
        for id in inside {
            state.engine.on_cancel_sent(now, id);
        }
        state.pump(now);
    }
}

impl<M: Copy, L: Limiter, S: Spend<M>, R: Rng> Shared<M, L, S, R> {
    pub(crate) fn lock(&self) -> MutexGuard<'_, State<M, L, S, R>> {
        // Every engine call leaves it consistent, so a panicked holder left nothing half-done.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// After an input: deliver, count, and re-arm the timer task if its instant moved earlier.
    pub(crate) fn settle(&self, state: &mut State<M, L, S, R>, now: Time) {
        state.pump(now);
        let next = state.engine.poll_timeout();
        if next.is_some() && (state.armed.is_none() || next < state.armed) {
            self.wake.notify_one();
        }
    }
}

impl<M: Copy, L: Limiter, S: Spend<M>, R: Rng> State<M, L, S, R> {
    /// Hand every dispatch to its waiter (a waiter that is gone is cancelled) and count every
    /// event; a departure closes its waiter's channel after telling it how.
    fn pump(&mut self, now: Time) {
        loop {
            while let Some(d) = self.engine.poll_dispatch(now) {
                self.metrics.dispatched(&d);
                let delivered = self
                    .waiters
                    .get(&d.id)
                    .is_some_and(|tx| tx.send(Step::Send(d)).is_ok());
                if !delivered {
                    self.engine.on_cancel(now, d.id);
                }
            }
            let mut any = false;
            while let Some(event) = self.engine.poll_event() {
                any = true;
                self.metrics.record(&event);
                if let EngineEvent::Departed { id, how, .. } = event
                    && let Some(tx) = self.waiters.remove(&id)
                {
                    let _ = tx.send(Step::Left(how));
                }
            }
            if !any {
                break;
            }
        }
    }
}

/// Sleep until the engine's next timer (or an earlier one arrives), fire what is due, repeat.
async fn timer_task<M, L, S, R>(shared: Arc<Shared<M, L, S, R>>)
where
    M: Copy + Send,
    L: Limiter<Placement: Send> + Send,
    S: Spend<M> + Send,
    R: Rng + Send,
{
    while !shared.closed.load(Ordering::Acquire) {
        let next = {
            let mut state = shared.lock();
            state.armed = state.engine.poll_timeout();
            state.armed
        };
        match next {
            None => shared.wake.notified().await,
            Some(at) => {
                let wait = at.saturating_since(shared.clock.now());
                let wait = std::time::Duration::from_nanos(wait.as_nanos());
                tokio::select! {
                    () = tokio::time::sleep(wait) => {}
                    () = shared.wake.notified() => continue,
                }
            }
        }
        let mut state = shared.lock();
        let now = shared.clock.now();
        while state.engine.poll_timeout().is_some_and(|t| t <= now) {
            state.engine.handle_timeout(now);
            state.pump(now);
        }
    }
}
