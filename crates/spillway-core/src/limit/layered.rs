//! Named layers — e.g. global sliding window → per-user token bucket → per-feature window —
//! with two guarantees:
//!
//! - **Check, then commit.** Every layer is asked first; only if all admit is any charged. A
//!   denied request consumes nothing anywhere (otherwise a request refused by the per-feature
//!   layer would still eat the user's allowance, and retries would be refused forever), and it
//!   inserts no per-key state (a flood of refused keys costs no memory).
//! - **A denial explains itself.** It names every blocking layer (so the caller can tell the
//!   user *which* limit they hit) and the earliest instant at which all layers would admit: the
//!   latest of the blocking layers' `retry_at`, exact because every layer only loosens with time.
//!
//! Reserve → settle: LLM costs are known only after the response (output tokens), so admission
//! charges an estimate and [`Layered::settle`] refunds or charges the difference on every layer.
//!
//! A layer whose unit costs nothing for a request (`tokens: 0` on a token layer) admits it and
//! records nothing, whatever its state.

mod layer;
mod room;
mod types;

use layer::{Layer, LayerState, Request, Verdict, acquire_layers};
pub use room::LayerRoom;
use types::MAX_LAYERS;
pub use types::{
    Demand, Denial, LayerSet, LayerSpec, LayeredDecision, LayeredError, Reservation, Scope,
    Subject, Unit,
};

use super::Keyed;
use crate::time::Time;

/// Named layers, checked in order, committed only if all admit.
#[derive(Clone, Debug)]
pub struct Layered {
    layers: Vec<Layer>,
}

impl Layered {
    /// Build the layers: at most [`LayerSet::CAPACITY`], unique names, valid specs.
    pub fn new(specs: Vec<LayerSpec>) -> Result<Self, LayeredError> {
        if specs.len() > MAX_LAYERS {
            return Err(LayeredError::TooManyLayers(specs.len()));
        }
        let mut layers: Vec<Layer> = Vec::with_capacity(specs.len());
        for spec in specs {
            if layers.iter().any(|l| l.name == spec.name) {
                return Err(LayeredError::DuplicateName(spec.name));
            }
            let limiter = spec.limit.build().map_err(|source| LayeredError::Spec {
                layer: spec.name.clone(),
                source,
            })?;
            let state = match spec.scope {
                Scope::Global => LayerState::Single(limiter),
                _ => LayerState::PerKey(Keyed::new(limiter)),
            };
            layers.push(Layer {
                name: spec.name,
                scope: spec.scope,
                unit: spec.unit,
                state,
            });
        }
        Ok(Layered { layers })
    }
    /// Layer names, in order (index = position in [`LayerSet`]).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.layers.iter().map(|l| l.name.as_str())
    }
    /// The name of layer `index` (as found in a [`Denial`]'s `blocking` set).
    ///
    /// # Panics
    /// If `index >= self.len()`, like slice indexing: indices in a [`LayerSet`] returned by
    /// this `Layered` are always in range.
    pub fn layer_name(&self, index: usize) -> &str {
        &self.layers[index].name
    }
    /// The names of the layers in `set`, in layer order (indices out of range are skipped).
    pub fn names_in(&self, set: LayerSet) -> impl Iterator<Item = &str> {
        set.iter()
            .filter_map(|i| self.layers.get(i))
            .map(|l| l.name.as_str())
    }
    /// Number of layers.
    pub fn len(&self) -> usize {
        self.layers.len()
    }
    /// Whether there are no layers (everything is admitted).
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }
    /// Would `demand` be admitted for `subject` at `now`? Changes nothing. Every layer is
    /// asked, so a denial names all blocking layers, not just the first; a cost some layer can
    /// never admit is an error naming the first such layer.
    pub fn check(
        &self,
        now: Time,
        subject: &Subject,
        demand: Demand,
    ) -> Result<LayeredDecision, LayeredError> {
        let mut verdict = Verdict::default();
        for (i, layer) in self.layers.iter().enumerate() {
            verdict.add(i, layer.check(now, subject, layer.cost(demand))?);
        }
        Ok(verdict.finish())
    }
    /// Check every layer; if all admit, charge all. A denial (or an error) changes no layer.
    ///
    /// The hot path: each layer's limiter is looked up once, checked, and charged through the
    /// same reference; only a key seen for the first time is looked up again, to insert it.
    pub fn acquire(
        &mut self,
        now: Time,
        subject: &Subject,
        demand: Demand,
    ) -> Result<LayeredDecision, LayeredError> {
        let mut verdict = Verdict::default();
        let request = Request {
            now,
            subject,
            demand,
        };
        acquire_layers(&mut self.layers, 0, &request, &mut verdict)?;
        Ok(verdict.finish())
    }
    /// Like `acquire` for an estimate, returning a reservation to settle later.
    pub fn reserve(
        &mut self,
        now: Time,
        subject: &Subject,
        estimate: Demand,
    ) -> Result<Result<Reservation, Denial>, LayeredError> {
        Ok(match self.acquire(now, subject, estimate)? {
            LayeredDecision::Allowed => Ok(Reservation {
                subject: *subject,
                estimate,
                charged_at: now,
            }),
            LayeredDecision::Denied(denial) => Err(denial),
        })
    }
    /// Settle a reservation with the actual demand: refund or charge the difference on every
    /// layer. A refund gives back only what is still live of the reservation's own charge (its
    /// instant and the layer's estimate): in the window it was made in, or, in a token bucket,
    /// what has not refilled yet (see [`Limiter::refund`](super::Limiter::refund)). Charging
    /// may put a layer in debt (later requests wait longer); that is the honest outcome of an
    /// under-estimate.
    pub fn settle(&mut self, now: Time, reservation: Reservation, actual: Demand) {
        for layer in &mut self.layers {
            let step = reservation.settle_step(layer.unit, actual);
            layer.settle(now, &reservation.subject, step);
        }
    }
    /// Drop fresh per-key state in every layer; returns how many keys were dropped. (Each
    /// layer also sweeps itself, amortised, as it grows; this is for callers who want memory
    /// back now.)
    pub fn sweep(&mut self, now: Time) -> usize {
        self.layers
            .iter_mut()
            .map(|l| match &mut l.state {
                LayerState::Single(_) => 0,
                LayerState::PerKey(k) => k.sweep(now),
            })
            .sum()
    }
    /// Resident limiters across all layers (a memory gauge: one per global layer, one per
    /// resident key otherwise).
    pub fn resident_keys(&self) -> usize {
        self.layers
            .iter()
            .map(|l| match &l.state {
                LayerState::Single(_) => 1,
                LayerState::PerKey(k) => k.len(),
            })
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::{Algorithm, LimitSpec};
    use crate::time::Duration;

    fn layer(name: &str, scope: Scope, algorithm: Algorithm, limit: u64) -> LayerSpec {
        LayerSpec {
            name: name.into(),
            scope,
            unit: Unit::Requests,
            limit: LimitSpec {
                algorithm,
                limit,
                window: Duration::from_secs(60),
                burst: None,
            },
        }
    }

    fn one() -> Demand {
        Demand {
            requests: 1,
            tokens: 10,
        }
    }

    #[test]
    fn a_denial_names_every_blocking_layer_and_charges_none() {
        let mut l = Layered::new(vec![
            layer("global", Scope::Global, Algorithm::SlidingLog, 100),
            layer("per-user", Scope::User, Algorithm::TokenBucket, 2),
            layer("per-feature", Scope::Feature, Algorithm::SlidingLog, 2),
        ])
        .unwrap();
        let alice = Subject {
            user: 1,
            ..Subject::default()
        };
        let t = Time::from_secs(1);
        for _ in 0..2 {
            assert_eq!(l.acquire(t, &alice, one()), Ok(LayeredDecision::Allowed));
        }
        let LayeredDecision::Denied(d) = l.acquire(t, &alice, one()).unwrap() else {
            panic!("third request must be denied");
        };
        assert_eq!(d.blocking.iter().collect::<Vec<_>>(), [1, 2]);
        // Bucket: one token back after 30 s; window: the first entry expires at 61 s.
        assert_eq!(d.retry_at, Time::from_secs(61));
        // The global layer was not charged by the denial: 98 more fit for other users/features.
        let bob = Subject {
            user: 2,
            feature: 9,
            ..Subject::default()
        };
        for _ in 0..2 {
            assert!(matches!(
                l.acquire(t, &bob, one()),
                Ok(LayeredDecision::Allowed)
            ));
        }
    }

    #[test]
    fn a_team_layer_limits_the_users_of_one_team_together_and_no_one_else() {
        let mut l = Layered::new(vec![layer(
            "per-team",
            Scope::Team,
            Algorithm::FixedWindow,
            3,
        )])
        .unwrap();
        let member = |user, team| Subject {
            user,
            team,
            ..Subject::default()
        };
        let (alice, bob, carol) = (member(1, 7), member(2, 7), member(3, 8));
        let t = Time::from_secs(1);
        let mut admitted = 0;
        for who in [alice, bob, alice, bob, alice, bob] {
            admitted += usize::from(l.acquire(t, &who, one()) == Ok(LayeredDecision::Allowed));
        }
        // Alice and Bob share team 7's three requests between them.
        assert_eq!(admitted, 3);
        assert!(matches!(
            l.check(t, &bob, one()),
            Ok(LayeredDecision::Denied(_))
        ));
        // Carol's team has its own three.
        for _ in 0..3 {
            assert_eq!(l.acquire(t, &carol, one()), Ok(LayeredDecision::Allowed));
        }
        assert_eq!(l.resident_keys(), 2);
    }

    #[test]
    fn never_fits_names_the_layer() {
        let l = Layered::new(vec![layer("tiny", Scope::User, Algorithm::FixedWindow, 1)]).unwrap();
        let demand = Demand {
            requests: 2,
            tokens: 0,
        };
        assert_eq!(
            l.check(Time::ZERO, &Subject::default(), demand),
            Err(LayeredError::NeverFits {
                layer: "tiny".into(),
                cost: 2,
                capacity: 1
            })
        );
    }

    #[test]
    fn duplicate_names_and_bad_specs_are_errors() {
        let a = layer("a", Scope::User, Algorithm::TokenBucket, 1);
        assert_eq!(
            Layered::new(vec![a.clone(), a.clone()]).unwrap_err(),
            LayeredError::DuplicateName("a".into())
        );
        let zero = layer("z", Scope::User, Algorithm::TokenBucket, 0);
        assert!(matches!(
            Layered::new(vec![zero]),
            Err(LayeredError::Spec { .. })
        ));
    }
}
