//! [`Answer`]: what a call gets back — an outcome, an HTTP status, and the response headers as
//! the real provider would write them.
//!
//! Headers are kept as numbers ([`Wire`]) and rendered to text only when asked
//! ([`Answer::headers`]), so the simulator's hot path allocates nothing for them; the text is
//! exactly what a client's header parser would see.

use super::headers::render;
use spillway_core::Duration;
use spillway_core::Time;
use spillway_core::upstream::headers::{Provider, UnixNanos};

/// Which limit refused a call.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum LimitedBy {
    /// Requests per minute (per sub-window for Azure, per window for generic).
    Requests,
    /// Tokens per minute (input + output, or input only for Gemini).
    Tokens,
    /// Anthropic input tokens per minute.
    InputTokens,
    /// Anthropic output tokens per minute.
    OutputTokens,
    /// Requests per day (OpenAI, Gemini).
    RequestsPerDay,
    /// Too many calls in flight.
    Concurrency,
}

/// What happened to a call.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Admitted; the response completes at `done_at`.
    Accepted {
        /// Completion instant.
        done_at: Time,
    },
    /// HTTP 429: a rate limit refused it.
    RateLimited {
        /// The limit that refused (the one with the longest wait).
        by: LimitedBy,
        /// The true wait until the same call would be admitted, if nothing else consumed
        /// quota meanwhile (what a perfect client would know; real clients see `headers`).
        wait: Duration,
        /// The call is larger than the limit itself (OpenAI "Request too large"): retrying
        /// never helps.
        never_fits: bool,
    },
    /// 503 (529 for Anthropic): the provider is overloaded, whatever our quota. Nothing was
    /// consumed.
    Overloaded,
    /// An outage window: the call failed with the outage's status. Nothing was consumed.
    Unavailable,
}

/// One dimension in the response headers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct WireDim {
    /// Which header family (`requests`, `tokens`, `input-tokens`, `output-tokens`).
    pub name: &'static str,
    /// The limit as sent.
    pub limit: u64,
    /// The true remaining (rendering may round it, as Anthropic does).
    pub remaining: i64,
    /// The true time until the limit is fully available again.
    pub reset_after: Duration,
}

/// Most dimensions one response reports (Anthropic: requests, input, output, tokens).
pub const MAX_WIRE_DIMS: usize = 4;

/// The numbers behind a response's headers.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Wire {
    /// Whose header layout and formats.
    pub provider: Provider,
    /// The provider's clock when it answered (the `Date` header).
    pub date: UnixNanos,
    /// Dimensions reported (the first `len`).
    pub dims: [Option<WireDim>; MAX_WIRE_DIMS],
    /// The exact wait sent in `retry-after` (and `retry-after-ms`), if sent at all.
    pub retry_after: Option<Duration>,
    /// Whether to write rate-limit headers (Gemini and the unlimited server send none).
    pub rate_headers: bool,
}

/// A provider's answer to one call.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// What happened.
    pub outcome: Outcome,
    /// The HTTP status (200, 429, 503, 529 or an outage's status).
    pub status: u16,
    /// What the headers say.
    pub wire: Wire,
    /// A wait the provider put in the error body rather than a header: Gemini's
    /// `RetryInfo.retryDelay`, OpenAI's "Please try again in 84ms".
    pub body_retry_delay: Option<Duration>,
    /// How long after the call a refusal or failure reaches the caller (the provider's
    /// [`super::ProviderSpec::error_latency`]); zero for an accepted call, whose response
    /// starts at once and ends at `done_at`.
    pub answer_after: Duration,
}

impl Answer {
    /// The completion instant if the call was admitted.
    pub fn done_at(&self) -> Option<Time> {
        match self.outcome {
            Outcome::Accepted { done_at } => Some(done_at),
            _ => None,
        }
    }

    /// The response headers as text pairs, exactly as the provider formats them (names in the
    /// provider's case), `Date` first.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        render(&self.wire)
    }

    /// The headers as `name: value` lines, for `parse_header_lines` and humans.
    pub fn header_text(&self) -> String {
        let mut out = String::new();
        for (name, value) in self.headers() {
            out.push_str(name);
            out.push_str(": ");
            out.push_str(&value);
            out.push('\n');
        }
        out
    }

    /// The server's wait hint at header precision: `retry-after-ms` if sent, else
    /// `retry-after` (whole seconds, rounded up). `None` when no header hint was sent (the
    /// body may still carry one: [`Answer::body_retry_delay`]).
    pub fn retry_after(&self) -> Option<Duration> {
        let wait = self.wire.retry_after?;
        Some(match self.wire.provider {
            Provider::Azure => Duration::from_millis(super::format::ceil_millis(wait)),
            _ => Duration::from_secs(super::format::ceil_secs(wait)),
        })
    }
}
