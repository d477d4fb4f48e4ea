//! The data of layered limiting: what a layer is ([`LayerSpec`]), who asks ([`Subject`]), what it
//! costs ([`Demand`]), and the answers ([`LayeredDecision`], [`Denial`], [`LayerSet`]).

use crate::limit::{LimitSpec, SpecError};
use crate::time::Time;

/// The most layers a [`Layered`](super::Layered) holds: a [`LayerSet`] is a `u32` bit set.
pub(crate) const MAX_LAYERS: usize = 32;

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
    /// One limiter per team (several users share it).
    Team,
}

impl Scope {
    /// Every scope, in the order files list them.
    pub const ALL: [Scope; 5] = [
        Scope::Global,
        Scope::User,
        Scope::Team,
        Scope::Feature,
        Scope::ApiKey,
    ];
    /// The name used in files and reports.
    pub const fn name(self) -> &'static str {
        match self {
            Scope::Global => "global",
            Scope::User => "user",
            Scope::Team => "team",
            Scope::Feature => "feature",
            Scope::ApiKey => "api_key",
        }
    }
    /// The scope a file names.
    pub fn parse(text: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|s| s.name() == text)
    }
}

/// What a layer counts.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Unit {
    /// Each request costs 1.
    Requests,
    /// Each request costs its (estimated) LLM tokens.
    Tokens,
}

impl Unit {
    /// What `demand` costs in this unit.
    pub const fn cost(self, demand: Demand) -> u64 {
        match self {
            Unit::Requests => demand.requests,
            Unit::Tokens => demand.tokens,
        }
    }
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
    /// Team id (0 when the caller names no team: everyone is then one team).
    pub team: u64,
    /// Feature id.
    pub feature: u64,
    /// API key id (an index, never the secret).
    pub api_key: u64,
}

impl Subject {
    /// The key a layer or cap of `scope` uses for this subject (0 for the global scope). One
    /// mapping, so the in-process layers, the Redis layers and the budget caps key alike.
    pub const fn id(&self, scope: Scope) -> u64 {
        match scope {
            Scope::Global => 0,
            Scope::User => self.user,
            Scope::Team => self.team,
            Scope::Feature => self.feature,
            Scope::ApiKey => self.api_key,
        }
    }
}

/// What a request costs in each unit.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Demand {
    /// Requests (normally 1).
    pub requests: u64,
    /// LLM tokens (estimated at admission, actual at settle).
    pub tokens: u64,
}

/// A set of layer indices (at most [`LayerSet::CAPACITY`]), iterated in layer order.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct LayerSet(u32);

impl LayerSet {
    /// The most layers a set can hold (and so the most layers of a
    /// [`Layered`](super::Layered)).
    pub const CAPACITY: usize = MAX_LAYERS;
    /// The empty set.
    pub const EMPTY: LayerSet = LayerSet(0);

    /// The set whose bit `i` is set for each layer `i` in it.
    pub const fn from_bits(bits: u32) -> Self {
        LayerSet(bits)
    }
    /// The bits of the set (bit `i` = layer `i`).
    pub const fn bits(self) -> u32 {
        self.0
    }
    /// The set holding only layer `index` (an index ≥ [`LayerSet::CAPACITY`] gives the empty set).
    pub const fn single(index: usize) -> Self {
        LayerSet::EMPTY.with(index)
    }
    /// This set plus layer `index` (an index ≥ [`LayerSet::CAPACITY`] is ignored).
    pub const fn with(self, index: usize) -> Self {
        if index < MAX_LAYERS {
            LayerSet(self.0 | 1 << index)
        } else {
            self
        }
    }
    /// Whether layer `index` is in the set.
    pub const fn contains(self, index: usize) -> bool {
        index < MAX_LAYERS && self.0 & (1 << index) != 0
    }
    /// Number of layers in the set.
    pub const fn len(self) -> usize {
        self.0.count_ones() as usize
    }
    /// Layer indices in the set, ascending.
    pub fn iter(self) -> impl Iterator<Item = usize> {
        (0..MAX_LAYERS).filter(move |&i| self.contains(i))
    }
    /// Whether the set is empty.
    pub const fn is_empty(self) -> bool {
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
    /// When it was charged (the `now` of the admission): a settle's refund comes out of this
    /// charge, in its own window, never out of charges made by others since.
    pub charged_at: Time,
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
    /// More than [`LayerSet::CAPACITY`] layers.
    #[error("at most 32 layers are supported, got {0}")]
    TooManyLayers(usize),
    /// Two layers share a name.
    #[error("two layers are named `{0}`; names identify the blocking layer and must be unique")]
    DuplicateName(String),
}
