//! The limiter layers of a served policy: in this process ([`Layered`]), or in Redis
//! ([`SharedLayers`]) so that replicas share one limit.
//!
//! The engine's [`Limiter`] is synchronous (sans-IO) and Redis is a round trip away, so a
//! shared admission is decided *before* the engine sees the request: the driver awaits
//! [`SharedStore::reserve`], then hands the verdict to the engine with
//! [`Runtime::admit_prepaid`] ([`SharedLayers`] returns it from `admit`, and gives back one
//! the engine refused before taking). Settlements go the other way: the engine's `settle`
//! queues them and a task applies them to Redis in order ([`crate::settler`]: retried while
//! Redis surely did not run them, for at most [`SETTLE_HORIZON`], else given up and counted;
//! flushed at shutdown).
//! A shared admission's placement is its [`RedisReservation`], which remembers whether Redis or
//! the failure policy admitted it, so that its settle goes where the estimate was charged.
//!
//! The `x-ratelimit-*` headers of a shared layer come from the same Redis call as the admission:
//! the reservation returns the room of every layer it touched, kept per subject until the
//! response reads it ([`Rooms`]), so a header costs no extra round trip.

use crate::headers::Rooms;
use crate::settler::{Apply, Closer, Settler, Tried};
use crate::{Call, Refusal, Runtime};
use rand_core::Rng;
use spillway_core::Time;
use spillway_core::engine::{Admitted, Engine, Limiter, RequestMeta, Spend};
use spillway_core::limit::{
    Demand, Denial, LayerRoom, LayerSet, Layered, LayeredError, Reservation, Subject,
};
use spillway_redis::{RedisLayered, RedisLimitError, RedisReservation, Settled};
use std::cell::Cell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// How long a shared settlement that Redis surely did not run (connection refused, an error
/// reply such as LOADING) is retried: a refund or extra charge dropped at once would leave the
/// limit wrong for a whole window. A settle whose reply was lost (a timeout, a connection
/// dropped after sending) is never sent again: no request id dedupes a layers' settle, so a
/// second send could apply its difference twice. It is given up and counted, and has been
/// applied once or not at all (then the call's estimate stays charged).
pub const SETTLE_HORIZON: std::time::Duration = std::time::Duration::from_secs(30);

/// One settlement of the shared layers: when, which admission, what it really used, and
/// whether a try has already been answered by the failure policy (its local share recorded it
/// then: a retry must not record it again).
struct Settle {
    now: Time,
    reservation: RedisReservation,
    actual: Demand,
    tried: AtomicBool,
}

impl Settle {
    fn new(now: Time, reservation: RedisReservation, actual: Demand) -> Self {
        Settle {
            now,
            reservation,
            actual,
            tried: AtomicBool::new(false),
        }
    }
}

/// Applies [`Settle`]s to the layers' Redis.
struct RedisSettles(Arc<RedisLayered>);

impl Apply for RedisSettles {
    type Item = Settle;

    async fn apply(&self, s: &Settle) -> Tried {
        let settled = if s.tried.swap(true, Ordering::Relaxed) {
            self.0.resettle(s.now, s.reservation, s.actual).await
        } else {
            self.0.settle_once(s.now, s.reservation, s.actual).await
        };
        match settled {
            // Redis did not take it: whatever the failure policy did locally (open, local:
            // its extra charge recorded on the local share; closed: nothing), Redis still
            // needs it. Again while it surely did not run.
            Ok(Settled {
                outage: true,
                unsent: true,
                ..
            }) => Tried::Again,
            // Its reply was lost (it may have run), or Redis refused it for good.
            Ok(Settled { outage: true, .. }) | Err(_) => Tried::Lost,
            Ok(_) => Tried::Applied,
        }
    }
}

/// A verdict decided outside the engine: a reservation or a denial, or the demand can never
/// fit a layer (a configuration matter: the engine refuses it as it does for local layers).
pub type Prepaid = Result<Result<RedisReservation, Denial>, LayeredError>;

/// What names a refusal because the layers' store did not answer: in metrics, bodies and
/// `x-spillway-rejected-by`.
pub const STORE_UNAVAILABLE: &str = spillway_core::limit::refusal_labels::STORE_UNAVAILABLE;

/// Whether `why` is the layers' store failing rather than a limit: a layer denial naming no
/// layer. Only [`SharedLayers`] makes one (every denial of [`Layered`] names its layers): when
/// Redis did not answer (`serve` fails closed), or no verdict was handed over. Told apart so
/// that an outage is a 503 and counted as one, never a 429 that blames the client.
pub fn is_store_outage(why: &spillway_core::engine::Rejection) -> bool {
    matches!(why, spillway_core::engine::Rejection::Layers { blocking, .. } if blocking.is_empty())
}

/// Most subjects whose last room is kept; past it the table starts over (a response then goes
/// without headers until its subject's next admission): bounded memory under any key churn.
const MAX_ROOMS: usize = 16_384;

/// The room each subject's last shared admission reported (what its response's headers show).
#[derive(Default)]
struct LastRooms(Mutex<HashMap<Subject, Vec<LayerRoom>>>);

impl LastRooms {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Subject, Vec<LayerRoom>>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn put(&self, subject: Subject, room: Vec<LayerRoom>) {
        let mut map = self.lock();
        if map.len() >= MAX_ROOMS && !map.contains_key(&subject) {
            map.clear();
        }
        map.insert(subject, room);
    }

    fn get(&self, subject: &Subject) -> Vec<LayerRoom> {
        self.lock().get(subject).cloned().unwrap_or_default()
    }
}

/// Layers in Redis; see the module docs.
pub struct SharedLayers {
    redis: Arc<RedisLayered>,
    rooms: Arc<LastRooms>,
    next: Cell<Option<Prepaid>>,
    settles: Settler<Settle>,
}

impl SharedLayers {
    /// Layers in `redis`; spawns the task that applies settlements, retrying one that did
    /// not land for `SETTLE_HORIZON` (call inside tokio).
    pub fn new(redis: RedisLayered) -> Self {
        Self::with_settle_horizon(redis, SETTLE_HORIZON)
    }

    /// [`SharedLayers::new`], retrying a settlement for `horizon`.
    pub fn with_settle_horizon(redis: RedisLayered, horizon: std::time::Duration) -> Self {
        let redis = Arc::new(redis);
        SharedLayers {
            settles: Settler::start(RedisSettles(redis.clone()), horizon),
            redis,
            rooms: Arc::default(),
            next: Cell::new(None),
        }
    }

    /// Settlements given up after retrying (their estimate stays charged in Redis).
    pub fn settles_given_up(&self) -> u64 {
        self.settles.gave_up()
    }

    /// What applies the queued settlements at shutdown.
    pub fn closer(&self) -> Closer {
        self.settles.closer()
    }

    /// A handle to decide admissions with, outside the engine's lock.
    pub fn store(&self) -> SharedStore {
        SharedStore {
            redis: self.redis.clone(),
            rooms: self.rooms.clone(),
        }
    }
}

/// The Redis side of [`SharedLayers`], usable while the engine is locked by others.
#[derive(Clone)]
pub struct SharedStore {
    redis: Arc<RedisLayered>,
    rooms: Arc<LastRooms>,
}

impl SharedStore {
    /// The shared layers' verdict for `subject` and `estimate` at `now` (one Redis call, which
    /// also reports the touched layers' room for the response's headers). A demand no layer
    /// can ever admit is that error, as with local layers (the client's 400, not an outage);
    /// any other store error counts as a denial naming no layer, retry in a second.
    pub async fn reserve(&self, now: Time, subject: &Subject, estimate: Demand) -> Prepaid {
        match self.redis.reserve_with_room(now, subject, estimate).await {
            Ok((verdict, room)) => {
                // Nothing to report when the failure policy answered: keep the last known.
                if !room.is_empty() {
                    self.rooms.put(*subject, room);
                }
                Ok(verdict.decision)
            }
            Err(RedisLimitError::Layered(never @ LayeredError::NeverFits { .. })) => Err(never),
            Err(_) => Ok(Err(Denial {
                blocking: LayerSet::EMPTY,
                retry_at: now.saturating_add(spillway_core::Duration::from_secs(1)),
            })),
        }
    }
}

/// Either kind of layers.
pub enum ServeLayers {
    /// In this process.
    Local(Layered),
    /// In Redis, shared by replicas.
    Shared(SharedLayers),
}

impl ServeLayers {
    /// The shared layers' settle queue, to close at shutdown (`None`: nothing is queued).
    pub fn closer(&self) -> Option<Closer> {
        match self {
            ServeLayers::Shared(s) => Some(s.closer()),
            ServeLayers::Local(_) => None,
        }
    }

    /// The shared layers' settlements given up (`None` for the layers in this process).
    pub fn settles_given_up(&self) -> Option<u64> {
        match self {
            ServeLayers::Shared(s) => Some(s.settles_given_up()),
            ServeLayers::Local(_) => None,
        }
    }

    /// Hand a verdict decided outside to the next admission (shared layers only). Only
    /// [`Runtime::admit_prepaid`] does, so that a verdict the engine does not take is given back.
    fn prepay(&self, verdict: Prepaid) {
        if let ServeLayers::Shared(s) = self {
            s.next.set(Some(verdict));
        }
    }

    /// Give back a verdict handed over that the admission did not take (the engine refused
    /// before asking its layers): a reservation Redis made is settled at nothing, at once, so
    /// a request that was never admitted keeps nothing charged, and no later admission can
    /// take it as its own.
    fn give_back_unused(&self, now: Time) {
        if let ServeLayers::Shared(s) = self
            && let Some(Ok(Ok(reserved))) = s.next.take()
        {
            s.settles
                .send(Settle::new(now, reserved, Demand::default()));
        }
    }
}

impl<M, S, R> Runtime<M, ServeLayers, S, R>
where
    M: Copy + Send + 'static,
    S: Spend<M> + Send + 'static,
    R: Rng + Send + 'static,
{
    /// [`Runtime::admit_with`] with the shared layers' `verdict` for this request (`None`:
    /// the layers are in this process). The engine takes it if it asks its layers; if it
    /// refuses first (a full gateway, or any refusal before the layers), the reservation goes
    /// back to Redis under the same lock, so nothing is charged for a request never admitted.
    ///
    /// # Errors
    /// The engine's refusal.
    pub fn admit_prepaid(
        &self,
        meta: RequestMeta<M>,
        verdict: Option<Prepaid>,
        prepare: impl FnOnce(&mut Engine<M, ServeLayers, S, R>),
    ) -> Result<Call<M, ServeLayers, S, R>, Refusal> {
        self.admit_locked(
            meta,
            |engine, _| {
                if let Some(verdict) = verdict {
                    engine.limiter().prepay(verdict);
                }
                prepare(engine);
            },
            |engine, now| engine.limiter().give_back_unused(now),
        )
    }
}

impl Limiter for ServeLayers {
    /// The shared admission's reservation (who admitted it: Redis or the failure policy);
    /// `None` for the layers in this process.
    type Placement = Option<RedisReservation>;

    fn admit(
        &mut self,
        now: Time,
        subject: &Subject,
        estimate: Demand,
        class: usize,
    ) -> Result<Result<Admitted<Self::Placement>, Denial>, LayeredError> {
        match self {
            ServeLayers::Local(l) => {
                Ok(l.admit(now, subject, estimate, class)?.map(|a| Admitted {
                    reservation: a.reservation,
                    placement: None,
                    ready_at: a.ready_at,
                }))
            }
            // No verdict handed over: refuse rather than admit unchecked.
            ServeLayers::Shared(s) => Ok(s
                .next
                .take()
                .unwrap_or(Ok(Err(Denial {
                    blocking: LayerSet::EMPTY,
                    retry_at: now,
                })))?
                .map(|reserved| Admitted {
                    reservation: reserved.reservation(),
                    placement: Some(reserved),
                    ready_at: now,
                })),
        }
    }

    fn settle(
        &mut self,
        now: Time,
        reservation: Reservation,
        placement: Option<RedisReservation>,
        actual: Demand,
    ) {
        match (self, placement) {
            (ServeLayers::Local(l), _) => Limiter::settle(l, now, reservation, (), actual),
            (ServeLayers::Shared(s), Some(reserved)) => {
                s.settles.send(Settle::new(now, reserved, actual))
            }
            // Not admitted by `admit` (every shared admission carries its reservation).
            (ServeLayers::Shared(_), None) => {}
        }
    }
}

impl Rooms for ServeLayers {
    /// Shared layers: the room the subject's last admission read in Redis (as of that call).
    fn room(&self, now: Time, subject: &Subject) -> Vec<LayerRoom> {
        match self {
            ServeLayers::Local(l) => l.room(now, subject),
            ServeLayers::Shared(s) => s.rooms.get(subject),
        }
    }
}
