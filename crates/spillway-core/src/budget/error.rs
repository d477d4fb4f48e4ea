//! Configuration errors of the budget module. Runtime outcomes (over budget, queue until) are
//! values ([`Verdict`](super::Verdict)), not errors.

/// A catalogue, ladder or cap that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BudgetError {
    /// A catalogue needs at least one model.
    #[error("the model catalogue is empty: list at least one model")]
    EmptyCatalogue,
    /// More models than [`MAX_MODELS`](super::MAX_MODELS).
    #[error("{0} models: at most 256 are supported")]
    TooManyModels(usize),
    /// A model without a name (index in the list).
    #[error("model #{0} has an empty name")]
    EmptyModelName(usize),
    /// Two models share a name.
    #[error("model `{0}` is listed twice: names must be unique")]
    DuplicateModel(String),
    /// `max_output_tokens` of 0 would make every `MaxTokens` estimate zero.
    #[error("model `{0}`: max_output_tokens must be at least 1")]
    ZeroMaxOutput(String),
    /// A name not in the catalogue.
    #[error("unknown model `{0}`: it is not in the model catalogue")]
    UnknownModel(String),
    /// An id not in the catalogue.
    #[error("unknown model id {0}")]
    UnknownModelId(u16),
    /// Ladder thresholds must strictly increase.
    #[error(
        "ladder step {index}: threshold {at_per_mille}‰ must be above the previous step's {previous}‰"
    )]
    LadderNotIncreasing {
        /// Step index.
        index: usize,
        /// Its threshold.
        at_per_mille: u32,
        /// The previous threshold.
        previous: u32,
    },
    /// A step names a model dearer than an earlier step's (more spend must never buy more).
    #[error(
        "ladder step {index}: `{model}` is dearer than the earlier step's `{earlier}`; each step must be the same or cheaper (tier, then output and input price)"
    )]
    LadderUpgrades {
        /// Step index.
        index: usize,
        /// Its model.
        model: String,
        /// The earlier, cheaper model.
        earlier: String,
    },
    /// Only the last step may exhaust (reject or queue).
    #[error("ladder step {0}: only the last step may be `exhausted`")]
    ExhaustedNotLast(usize),
    /// More caps than [`MAX_CAPS`](super::MAX_CAPS).
    #[error("{0} caps: at most 64 are supported")]
    TooManyCaps(usize),
    /// Two caps share a name.
    #[error("two caps are named `{0}`; names identify the deciding cap and must be unique")]
    DuplicateCap(String),
    /// A global cap has one account; it cannot target one id.
    #[error("cap `{0}`: a global cap cannot target a single id")]
    GlobalCapWithTarget(String),
    /// A cap id not in the ledger.
    #[error("unknown cap #{0}")]
    UnknownCap(usize),
}
