//! Named layers — e.g. global sliding window → per-user token bucket → per-feature window —
//! with two guarantees:
//!
//! - **Check, then commit.** Every layer is asked first; only if all admit is any charged. A
//!   denied request consumes nothing anywhere (otherwise a request refused by the per-feature
//!   layer would still eat the user's allowance, and retries would be refused forever).
//! - **A denial explains itself.** It names every blocking layer (so the caller can tell the
//!   user *which* limit they hit) and the earliest instant at which all layers would admit.
//!
//! Reserve → settle: LLM costs are known only after the response (output tokens), so admission
//! charges an estimate and [`Layered::settle`] refunds or charges the difference on every layer.

use super::{AnyLimiter, Decision, Keyed, LimitError, LimitSpec, Limiter, SpecError};
use crate::time::Time;

/// What a layer is keyed by.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scope {
    /// One limiter for all traffic.
    Global,
    /// One limiter per user.
    User,
    /// One limiter per feature (prompt template, endpoint).
    Feature,
    /// One limiter per API key.
    ApiKey,
}

/// What a layer counts.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    /// Each request costs 1.
    Requests,
    /// Each request costs its (estimated) LLM tokens.
    Tokens,
}

/// A named layer: scope, unit, and the limit each key of the scope gets.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerSpec {
    /// Name shown when this layer blocks (e.g. "per-user").
    pub name: String,
    /// What the layer is keyed by.
    pub scope: Scope,
    /// What the layer counts.
    pub unit: Unit,
    /// The limit per key.
    pub limit: LimitSpec,
}

/// Who is asking: the keys each scope uses.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Subject {
    /// User id.
    pub user: u64,
    /// Feature id.
    pub feature: u64,
    /// API key id (an index, never the secret).
    pub api_key: u64,
}

/// What a request costs in each unit.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Demand {
    /// Requests (normally 1).
    pub requests: u64,
    /// LLM tokens (estimated at admission, actual at settle).
    pub tokens: u64,
}

/// A set of layer indices (at most 32 layers), in layer order.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LayerSet(u32);

impl LayerSet {
    /// The set holding only layer `index` (indices ≥ 32 give the empty set).
    pub fn single(index: usize) -> Self {
        LayerSet(1u32.checked_shl(index as u32).unwrap_or(0))
    }
    /// Whether layer `index` is in the set.
    pub fn contains(self, index: usize) -> bool {
        index < 32 && self.0 & (1 << index) != 0
    }
    /// Number of layers in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }
    /// Layer indices in the set, ascending.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        (0..32).filter(move |i| self.0 & (1 << i) != 0)
    }
    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

/// Why a layered request was refused now.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Denial {
    /// Every layer that refused.
    pub blocking: LayerSet,
    /// Earliest instant at which every layer would admit, if nothing else happened.
    pub retry_at: Time,
}

/// The answer of a layered check.
#[must_use]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LayeredDecision {
    /// Every layer admits (for `acquire`/`reserve`: and every layer was charged).
    Allowed,
    /// At least one layer refused; nothing was charged.
    Denied(Denial),
}

/// An admitted estimate, to be settled with the actual demand.
#[must_use = "a reservation must be settled, or its estimate stays charged"]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Reservation {
    /// Who reserved.
    pub subject: Subject,
    /// What was charged at admission.
    pub estimate: Demand,
}

/// Errors of layered limiting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LayeredError {
    /// A layer can never admit this demand.
    #[error("layer `{layer}`: cost {cost} exceeds capacity {capacity}: it can never be admitted")]
    NeverFits {
        /// The layer's name.
        layer: String,
        /// The cost in the layer's unit.
        cost: u64,
        /// The layer's capacity.
        capacity: u64,
    },
    /// A layer's spec is invalid.
    #[error("layer `{layer}`: {source}")]
    Spec {
        /// The layer's name.
        layer: String,
        /// What is wrong.
        source: SpecError,
    },
    /// More than 32 layers.
    #[error("at most 32 layers are supported, got {0}")]
    TooManyLayers(usize),
    /// Two layers share a name.
    #[error("two layers are named `{0}`; names identify the blocking layer and must be unique")]
    DuplicateName(String),
}

/// A layer's limiter(s): one for the global scope, one per key otherwise.
#[derive(Clone, Debug)]
enum LayerState {
    Single(AnyLimiter),
    PerKey(Keyed<u64, AnyLimiter>),
}

#[derive(Clone, Debug)]
struct Layer {
    name: String,
    scope: Scope,
    unit: Unit,
    state: LayerState,
}

impl Layer {
    fn key(&self, subject: &Subject) -> u64 {
        match self.scope {
            Scope::Global => 0,
            Scope::User => subject.user,
            Scope::Feature => subject.feature,
            Scope::ApiKey => subject.api_key,
        }
    }
    fn cost(&self, demand: Demand) -> u64 {
        match self.unit {
            Unit::Requests => demand.requests,
            Unit::Tokens => demand.tokens,
        }
    }
    fn check(&self, now: Time, subject: &Subject, cost: u64) -> Result<Decision, LimitError> {
        match &self.state {
            LayerState::Single(l) => l.check(now, cost),
            LayerState::PerKey(k) => k.check(now, &self.key(subject), cost),
        }
    }
    fn commit(&mut self, now: Time, subject: &Subject, cost: u64) {
        let key = self.key(subject);
        match &mut self.state {
            LayerState::Single(l) => l.commit(now, cost),
            LayerState::PerKey(k) => k.commit(now, &key, cost),
        }
    }
    fn refund(&mut self, now: Time, subject: &Subject, cost: u64) {
        let key = self.key(subject);
        match &mut self.state {
            LayerState::Single(l) => l.refund(now, cost),
            LayerState::PerKey(k) => k.refund(now, &key, cost),
        }
    }
}

/// Named layers, checked in order, committed only if all admit.
#[derive(Clone, Debug)]
pub struct Layered {
    layers: Vec<Layer>,
}

impl Layered {
    /// Build the layers (at most 32, unique names, valid specs).
    pub fn new(specs: Vec<LayerSpec>) -> Result<Self, LayeredError> {
        if specs.len() > 32 {
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
    /// The name of layer `index`.
    pub fn layer_name(&self, index: usize) -> Option<&str> {
        self.layers.get(index).map(|l| l.name.as_str())
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
    /// asked, so the denial names all blocking layers, not just the first.
    pub fn check(
        &self,
        now: Time,
        subject: &Subject,
        demand: Demand,
    ) -> Result<LayeredDecision, LayeredError> {
        let mut blocking = 0u32;
        let mut retry_at = Time::ZERO;
        for (i, layer) in self.layers.iter().enumerate() {
            match layer.check(now, subject, layer.cost(demand)) {
                Ok(Decision::Allowed) => {}
                Ok(Decision::Denied { retry_at: at }) => {
                    blocking |= 1 << i;
                    retry_at = retry_at.max(at);
                }
                Err(LimitError::CostExceedsCapacity { cost, capacity }) => {
                    return Err(LayeredError::NeverFits {
                        layer: layer.name.clone(),
                        cost,
                        capacity,
                    });
                }
            }
        }
        Ok(if blocking == 0 {
            LayeredDecision::Allowed
        } else {
            LayeredDecision::Denied(Denial {
                blocking: LayerSet(blocking),
                retry_at,
            })
        })
    }
    /// Check every layer; if all admit, charge all. A denial changes no layer.
    pub fn acquire(
        &mut self,
        now: Time,
        subject: &Subject,
        demand: Demand,
    ) -> Result<LayeredDecision, LayeredError> {
        let decision = self.check(now, subject, demand)?;
        if decision == LayeredDecision::Allowed {
            for layer in &mut self.layers {
                let cost = layer.cost(demand);
                layer.commit(now, subject, cost);
            }
        }
        Ok(decision)
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
            }),
            LayeredDecision::Denied(denial) => Err(denial),
        })
    }
    /// Settle a reservation with the actual demand: refund or charge the difference on every
    /// layer. Charging may put a layer in debt (later requests wait longer); that is the
    /// honest outcome of an under-estimate.
    pub fn settle(&mut self, now: Time, reservation: Reservation, actual: Demand) {
        let subject = reservation.subject;
        for layer in &mut self.layers {
            let (estimated, used) = (layer.cost(reservation.estimate), layer.cost(actual));
            if used < estimated {
                layer.refund(now, &subject, estimated - used);
            } else if used > estimated {
                layer.commit(now, &subject, used - estimated);
            }
        }
    }
    /// Drop fresh per-key state in every layer; returns how many keys were dropped.
    pub fn sweep(&mut self, now: Time) -> usize {
        self.layers
            .iter_mut()
            .map(|l| match &mut l.state {
                LayerState::Single(_) => 0,
                LayerState::PerKey(k) => k.sweep(now),
            })
            .sum()
    }
    /// Resident per-key limiters across all layers (a memory gauge).
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
    use crate::limit::Algorithm;
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
