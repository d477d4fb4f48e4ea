//! STUB: named layers with check-then-commit and reserve-then-settle.
//!
//! The API below is the contract the simulator codes against; bodies are to be implemented.

use super::{LimitSpec, SpecError};
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

/// Named layers, checked in order, committed only if all admit.
#[derive(Clone, Debug)]
pub struct Layered {
    _specs: Vec<LayerSpec>,
}

impl Layered {
    /// Build the layers.
    pub fn new(specs: Vec<LayerSpec>) -> Result<Self, LayeredError> {
        Ok(Layered { _specs: specs })
    }
    /// Layer names, in order (index = position in [`LayerSet`]).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self._specs.iter().map(|s| s.name.as_str())
    }
    /// Would `demand` be admitted for `subject` at `now`? Changes nothing.
    pub fn check(
        &self,
        _now: Time,
        _subject: &Subject,
        _demand: Demand,
    ) -> Result<LayeredDecision, LayeredError> {
        todo!()
    }
    /// Check every layer; if all admit, charge all. A denial changes no layer.
    pub fn acquire(
        &mut self,
        _now: Time,
        _subject: &Subject,
        _demand: Demand,
    ) -> Result<LayeredDecision, LayeredError> {
        todo!()
    }
    /// Like `acquire` for an estimate, returning a reservation to settle later.
    pub fn reserve(
        &mut self,
        _now: Time,
        _subject: &Subject,
        _estimate: Demand,
    ) -> Result<Result<Reservation, Denial>, LayeredError> {
        todo!()
    }
    /// Settle a reservation with the actual demand: refund or charge the difference on every layer.
    pub fn settle(&mut self, _now: Time, _reservation: Reservation, _actual: Demand) {
        todo!()
    }
    /// Drop fresh per-key state in every layer.
    pub fn sweep(&mut self, _now: Time) -> usize {
        todo!()
    }
}
