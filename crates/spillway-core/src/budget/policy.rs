//! A policy's budget as data: which model requests ask for, where to go as caps fill, how
//! output is guessed, the caps, and which keys carry the traffic; plus the price changes a
//! deployment schedules. The simulator's scenarios and a production policy file build the
//! same values, so one [`crate::engine::SpendGate`] runs both.

use super::{CapSpec, DegradationLadder, ModelId, OutputEstimate};
use crate::Time;

/// How a policy guesses output tokens before the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EstimateKind {
    /// EWMA of actual outputs per feature, starting at the feature's median.
    Learned,
    /// The model's `max_output_tokens` (an upper bound: caps are never exceeded).
    MaxTokens,
    /// The feature's median output, always.
    Fixed,
}

impl EstimateKind {
    /// The estimator's policy for a feature whose median output is `median`.
    pub fn for_feature(self, median: u64) -> OutputEstimate {
        match self {
            EstimateKind::Learned => OutputEstimate::Learned { initial: median },
            EstimateKind::MaxTokens => OutputEstimate::MaxTokens,
            EstimateKind::Fixed => OutputEstimate::Fixed(median),
        }
    }
}

/// A policy's `budget:` block, resolved against a model catalogue.
#[derive(Debug, Clone)]
pub struct PolicyBudget {
    /// The model asked for.
    pub requested: ModelId,
    /// Where to go as caps fill (empty: none).
    pub ladder: DegradationLadder,
    /// Output estimate kind.
    pub estimate: EstimateKind,
    /// Where a `fixed` or `learned` estimate starts in a server (`None`: its default); the
    /// simulator starts each feature at its traffic's median output instead.
    pub output_tokens: Option<u64>,
    /// The policy's caps (each key's budget is added from the key ring when the gate is
    /// built).
    pub caps: Vec<CapSpec>,
    /// Environment of the keys carrying the traffic.
    pub environment: String,
    /// Service of the keys carrying the traffic.
    pub service: String,
}

/// A model's new list prices from `at` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PriceChange {
    /// When.
    pub at: Time,
    /// Which model.
    pub model: ModelId,
    /// Nano-USD per million input tokens.
    pub input_nano_usd_per_mtok: u64,
    /// Nano-USD per million output tokens.
    pub output_nano_usd_per_mtok: u64,
}
