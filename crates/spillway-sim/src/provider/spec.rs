//! The validated description of an emulated provider: which provider's semantics, its limits,
//! service times, failures and the other tenants of its quota.
//!
//! Built by the scenario loader from YAML (inline or from a profile library); every number here
//! has been checked (limits ≥ 1, probabilities in [0, 1], windows > 0).

use crate::scenario::Price;
use spillway_core::upstream::headers::UnixNanos;
use spillway_core::{Duration, Time};

/// The error latency of a provider whose profile sets none: one HTTPS round trip to a cloud
/// API on a warm connection (tens of milliseconds), with the provider's edge answering before
/// any model work.
pub const DEFAULT_ERROR_LATENCY: Duration = Duration::from_millis(50);

/// A provider as the simulator emulates it.
#[derive(Debug, Clone, PartialEq)]
pub struct ProviderSpec {
    /// Display name (or the profile's name).
    pub name: String,
    /// Whose rate-limit semantics and header formats, with the limits.
    pub kind: KindSpec,
    /// Calls served at once. Rate-limited kinds answer 429 above it; [`KindSpec::Unlimited`]
    /// queues calls FIFO for one of exactly this many slots (an M/M/c or M/G/c server).
    pub concurrency: u64,
    /// Service time of an admitted call.
    pub latency: LatencySpec,
    /// How long a refusal or failure (429, 503, 529, an outage's status) takes to reach the
    /// caller: a rejected call still costs a network round trip, so a client that retries at
    /// once still advances time ([`DEFAULT_ERROR_LATENCY`] unless the profile says; zero for
    /// [`KindSpec::Basic`], the simulator's original idealised model).
    pub error_latency: Duration,
    /// Provider-wide overload (503, or 529 for Anthropic) rising with concurrency.
    pub overload: Option<OverloadSpec>,
    /// Windows during which every call fails.
    pub outages: Vec<OutageSpec>,
    /// Other services spending the same quota.
    pub shared_quota: Vec<SharedQuotaSpec>,
    /// The wall-clock instant of `Time::ZERO` (for `Date`, RFC 3339 and epoch headers and the
    /// Pacific day).
    pub wall_clock_start: UnixNanos,
    /// Prices.
    pub price: Price,
}

/// Whose semantics, with the limits. All limits are ≥ 1.
#[derive(Debug, Clone, PartialEq)]
pub enum KindSpec {
    /// The simulator's original model (a `provider:` block without `kind`): OpenAI-like RPM
    /// and TPM buckets charging input + output, rejected calls free and answered at once
    /// unless `error_latency` says otherwise (a gateway that learns of a 429 instantly is the
    /// idealised setting its scheduling scenarios study), `retry-after` always sent (whole
    /// seconds, at least 1).
    Basic {
        /// Requests per minute.
        rpm: u64,
        /// Tokens per minute.
        tpm: u64,
    },
    /// OpenAI: continuous-refill RPM/TPM (+RPD) buckets with capacity = limit; input +
    /// `max_tokens` reserved at admission; 429s count against the request limits;
    /// `x-ratelimit-*` headers with Go durations; `retry-after` only sometimes.
    OpenAi {
        /// Requests per minute.
        rpm: u64,
        /// Tokens per minute.
        tpm: u64,
        /// Requests per day (continuous refill over 24 h).
        rpd: Option<u64>,
        /// Probability that a 429 carries `retry-after`.
        retry_after_probability: f64,
        /// Whether a 429'd call consumes a request ("unsuccessful requests contribute").
        count_rejected: bool,
    },
    /// Anthropic: RPM, ITPM, OTPM token buckets; `anthropic-ratelimit-*` headers with RFC 3339
    /// resets; `retry-after` in whole seconds; 529 for overload.
    Anthropic {
        /// Requests per minute.
        rpm: u64,
        /// Input tokens per minute.
        itpm: u64,
        /// Output tokens per minute.
        otpm: u64,
        /// How output tokens are counted.
        otpm_counting: OtpmCounting,
    },
    /// Azure OpenAI: RPM and TPM enforced per fixed sub-window (1 s or 10 s) at
    /// `limit × sub_window / 1 min`; integer-second resets; `retry-after` and `retry-after-ms`.
    Azure {
        /// Requests per minute.
        rpm: u64,
        /// Tokens per minute.
        tpm: u64,
        /// The enforcement window (1 s or 10 s).
        sub_window: Duration,
    },
    /// Gemini API: fixed windows, RPM and input-token TPM per wall-clock minute (reset at second
    /// 00), RPD per Pacific day; no rate-limit headers, the wait only in the body.
    Gemini {
        /// Requests per minute.
        rpm: u64,
        /// Input tokens per minute.
        tpm: u64,
        /// Requests per Pacific day.
        rpd: Option<u64>,
    },
    /// A generic API: one fixed window of `limit` requests per `window` (aligned to the wall
    /// clock), `X-RateLimit-Reset` as a Unix timestamp, `Retry-After` in seconds.
    Generic {
        /// Requests per window.
        limit: u64,
        /// The window.
        window: Duration,
    },
    /// No rate limits at all: exactly [`ProviderSpec::concurrency`] servers and a FIFO queue, for
    /// validating the simulator against queueing theory.
    Unlimited,
}

impl KindSpec {
    /// The name used in YAML `kind:`.
    pub const fn name(&self) -> &'static str {
        match self {
            KindSpec::Basic { .. } => "basic",
            KindSpec::OpenAi { .. } => "openai",
            KindSpec::Anthropic { .. } => "anthropic",
            KindSpec::Azure { .. } => "azure",
            KindSpec::Gemini { .. } => "gemini",
            KindSpec::Generic { .. } => "generic",
            KindSpec::Unlimited => "unlimited",
        }
    }
}

/// How Anthropic counts output tokens against OTPM.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum OtpmCounting {
    /// 2025 docs: `max_tokens` is reserved at admission and the unused part returned at the end.
    MaxTokens,
    /// 2026 docs: counted as produced (charged at completion); admission needs OTPM headroom.
    Actual,
}

/// Service time of an admitted call.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum LatencySpec {
    /// `base + per_output_token × output`, times a uniform factor in `[1 − jitter, 1 + jitter]`.
    Empirical {
        /// Time to first token (network, queueing, prefill).
        base: Duration,
        /// Decode time per output token.
        per_output_token: Duration,
        /// Relative jitter in [0, 1); 0 draws no random numbers.
        jitter: f64,
    },
    /// Always `mean` (M/D/c).
    Constant {
        /// The service time.
        mean: Duration,
    },
    /// Exponential with this mean (M/M/c).
    Exponential {
        /// Mean service time.
        mean: Duration,
    },
    /// Log-normal: `median × exp(sigma × Z)`.
    LogNormal {
        /// Median service time.
        median: Duration,
        /// Standard deviation of the log.
        sigma: f64,
    },
}

/// Overload: above `from` × concurrency in flight, calls fail with probability rising linearly
/// to `max_probability` at full concurrency.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OverloadSpec {
    /// Utilisation (in-flight / concurrency, in [0, 1]) where overload starts.
    pub from: f64,
    /// Failure probability at full concurrency, in [0, 1].
    pub max_probability: f64,
}

/// Every call in `[start, end)` fails with `status` and consumes no quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutageSpec {
    /// Start.
    pub start: Time,
    /// End (exclusive).
    pub end: Time,
    /// The HTTP status returned (500-599).
    pub status: u16,
}

/// Another service on the same key: during `[start, end)` it takes `fraction_ppm` (parts per
/// million) of every limit's rate, as long as the quota has room for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedQuotaSpec {
    /// Start.
    pub start: Time,
    /// End (exclusive).
    pub end: Time,
    /// Fraction of each limit consumed, in parts per million (1..=1_000_000).
    pub fraction_ppm: u64,
}
