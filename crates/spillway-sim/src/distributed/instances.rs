//! [`Instances`]: the policy's gateway instances as the gateway's door sees them — route a
//! request, ask the instance's limiter (or the shared store), and settle later on the same one.

use super::async_sync::AsyncViews;
use super::router::Router;
use crate::metrics::DistributedStats;
use crate::rng::{Concern, stream};
use crate::scenario::{InstancesSpec, SyncMode};
use rand_chacha::ChaCha8Rng;
use rand_core::Rng;
use spillway_core::limit::{
    Demand, Denial, LayerSpec, Layered, LayeredError, Reservation, Subject,
};
use spillway_core::{Duration, Time};

/// Where an admitted request was admitted, to settle it in the same places.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Placement {
    /// The instance that admitted it.
    pub instance: u32,
    /// Whether the shadow exact limiter admitted (and charged) it too; `false` means it was
    /// over-admitted.
    pub exact: bool,
}

/// An admission: the reservation, where it lives, and when the request may enter the queue
/// (later than its arrival by the store's round trip under `central`).
pub type Admitted = spillway_core::engine::Admitted<Placement>;

/// How the instances hold their limits.
#[derive(Debug, Clone)]
enum Limits {
    /// One limiter: a single instance, or the `central` store every instance asks.
    Shared(Layered),
    /// `local-split`: one limiter per instance with `limit / N`.
    Split(Vec<Layered>),
    /// `async-sync`: one full-limit view per instance, synchronised periodically.
    Async(AsyncViews),
}

/// The round trip to a `central` store.
#[derive(Debug, Clone)]
struct Store {
    rtt: Duration,
    jitter: Duration,
    rng: ChaCha8Rng,
}

/// A policy's gateway instances.
pub struct Instances {
    router: Router,
    limits: Limits,
    /// The true limit, run on the admitted stream (absent when `limits` is exact already).
    shadow: Option<Layered>,
    store: Option<Store>,
    stats: DistributedStats,
}

impl Instances {
    /// Build the instances of a policy with `layers` (`spec` `None`: one exact instance).
    pub fn new(
        layers: &[LayerSpec],
        spec: Option<&InstancesSpec>,
        seed: u64,
    ) -> Result<Self, LayeredError> {
        let full = || Layered::new(layers.to_vec());
        let count = spec.map_or(1, |s| s.count.max(1));
        let router = Router::new(
            spec.map_or(crate::scenario::Balancer::RoundRobin, |s| s.balancer),
            count,
            seed,
        );
        let (limits, shadow, store) = match spec {
            None => (Limits::Shared(full()?), None, None),
            Some(spec) => match spec.mode {
                SyncMode::Central { rtt, jitter } => {
                    let rng = stream(seed, Concern::StoreRtt, 0);
                    let store = Store { rtt, jitter, rng };
                    (Limits::Shared(full()?), None, Some(store))
                }
                SyncMode::LocalSplit => {
                    let split: Vec<LayerSpec> = layers
                        .iter()
                        .map(|l| LayerSpec {
                            limit: spec.per_instance(&l.limit),
                            ..l.clone()
                        })
                        .collect();
                    let views = (0..count)
                        .map(|_| Layered::new(split.clone()))
                        .collect::<Result<_, _>>()?;
                    (Limits::Split(views), Some(full()?), None)
                }
                SyncMode::AsyncSync { sync_interval } => {
                    let views = (0..count).map(|_| full()).collect::<Result<_, _>>()?;
                    let views = AsyncViews::new(views, sync_interval);
                    (Limits::Async(views), Some(full()?), None)
                }
            },
        };
        Ok(Instances {
            router,
            limits,
            shadow,
            store,
            stats: DistributedStats {
                instances: count,
                ..DistributedStats::default()
            },
        })
    }

    /// Layer names in order (the same on every instance).
    pub fn layer_names(&self) -> Vec<String> {
        let layered = match &self.limits {
            Limits::Shared(l) => Some(l),
            Limits::Split(views) => views.first(),
            Limits::Async(_) => self.shadow.as_ref(),
        };
        layered.map_or_else(Vec::new, |l| l.names().map(str::to_string).collect())
    }

    /// The store's round trip for one check (zero without a store), counted in the stats.
    fn round_trip(&mut self) -> Duration {
        let Some(store) = &mut self.store else {
            return Duration::ZERO;
        };
        let jitter_ns = store.jitter.as_nanos();
        let extra = match jitter_ns {
            0 => 0,
            // Modulo bias below jitter / 2^64.
            j => store.rng.next_u64() % j.saturating_add(1),
        };
        let rtt = store.rtt.saturating_add(Duration::from_nanos(extra));
        self.stats.store_round_trips += 1;
        self.stats.added_latency_ns = self.stats.added_latency_ns.saturating_add(rtt.as_nanos());
        rtt
    }

    /// What the instances measured so far.
    pub fn stats(&self) -> DistributedStats {
        let mut stats = self.stats.clone();
        if let Limits::Async(views) = &self.limits {
            stats.syncs = views.syncs;
            stats.max_admitted_between_syncs = views.max_admitted_between_syncs;
        }
        stats
    }
}

/// The engine's door is these instances: the engine holds an admission until `ready_at`.
impl spillway_core::engine::Limiter for Instances {
    type Placement = Placement;

    /// A request of `class` arrives at `now`: route it, ask its instance (or the store), and
    /// if admitted, offer it to the shadow exact limiter.
    fn admit(
        &mut self,
        now: Time,
        subject: &Subject,
        estimate: Demand,
        class: usize,
    ) -> Result<Result<Admitted, Denial>, LayeredError> {
        let instance = self.router.route(subject.user);
        // Every check pays the round trip, admitted or not; drawn first so the jitter stream
        // advances once per arrival whatever the decision.
        let ready_at = now.saturating_add(self.round_trip());
        let decision = match &mut self.limits {
            Limits::Shared(l) => l.reserve(now, subject, estimate)?,
            Limits::Split(views) => views[instance].reserve(now, subject, estimate)?,
            Limits::Async(views) => views.reserve(now, instance, subject, estimate)?,
        };
        let reservation = match decision {
            Ok(reservation) => reservation,
            Err(denial) => return Ok(Err(denial)),
        };
        let exact = match &mut self.shadow {
            None => true,
            Some(shadow) => matches!(shadow.reserve(now, subject, estimate), Ok(Ok(_))),
        };
        let counter = match exact {
            true => &mut self.stats.exact_admitted,
            false => &mut self.stats.over_admitted,
        };
        if let Some(c) = counter.get_mut(class) {
            *c += 1;
        }
        Ok(Ok(Admitted {
            reservation,
            placement: Placement {
                // `instance < count ≤ MAX_INSTANCES`.
                instance: instance as u32,
                exact,
            },
            ready_at,
        }))
    }

    /// Settle an admitted request with what it really used, where it was admitted.
    fn settle(
        &mut self,
        now: Time,
        reservation: Reservation,
        placement: Placement,
        actual: Demand,
    ) {
        let instance = placement.instance as usize;
        match &mut self.limits {
            Limits::Shared(l) => l.settle(now, reservation, actual),
            Limits::Split(views) => {
                if let Some(view) = views.get_mut(instance) {
                    view.settle(now, reservation, actual);
                }
            }
            Limits::Async(views) => views.settle(now, instance, reservation, actual),
        }
        if let (Some(shadow), true) = (&mut self.shadow, placement.exact) {
            shadow.settle(now, reservation, actual);
        }
    }
}
