//! [`QuotaTruth`]: the provider's real state of one limit, named like the client sees it, so
//! the simulator can score a client's local headroom model against it.

use super::answer::LimitedBy;
use spillway_core::Duration;
use spillway_core::upstream::headers::Dimension;

/// One limit's true state at an instant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QuotaTruth {
    /// Which limit.
    pub by: LimitedBy,
    /// The [`Dimension`] a header parser files it under (`requests`, `tokens`,
    /// `input-tokens`, `output-tokens`; `requests-per-day`, which no header reports).
    pub dimension: Dimension,
    /// The limit (per sub-window for Azure requests, per window for generic).
    pub limit: u64,
    /// What is left; negative in debt.
    pub remaining: i64,
    /// Time until the limit is fully available again (bucket full / window over).
    pub reset_after: Duration,
}

impl QuotaTruth {
    pub(crate) fn new(by: LimitedBy, limit: u64, remaining: i64, reset_after: Duration) -> Self {
        let dimension = match by {
            LimitedBy::Requests | LimitedBy::Concurrency => Dimension::Requests,
            LimitedBy::Tokens => Dimension::Tokens,
            LimitedBy::InputTokens => Dimension::InputTokens,
            LimitedBy::OutputTokens => Dimension::OutputTokens,
            LimitedBy::RequestsPerDay => {
                Dimension::from_name("requests-per-day").unwrap_or(Dimension::Requests)
            }
        };
        QuotaTruth {
            by,
            dimension,
            limit,
            remaining,
            reset_after,
        }
    }
}
