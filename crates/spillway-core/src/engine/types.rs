//! The vocabulary between the engine and its driver: what comes in (requests, responses,
//! completions) and what goes out (admissions, dispatches, events).

use super::{RequestId, SpendRefusal};
use crate::budget::Settlement;
use crate::limit::LayerSet;
use crate::upstream::Target;
use crate::{Duration, Time};

/// A request as the engine needs it; `payload` is the driver's own (returned in events).
#[derive(Debug, Clone, Copy)]
pub struct RequestMeta<M> {
    /// The end user (limiter subject and fair-share tenant).
    pub user: u64,
    /// The user's team (limiter and budget subject; 0 when there are no teams).
    pub team: u64,
    /// The feature (limiter subject).
    pub feature: u64,
    /// Priority class index (0 most urgent).
    pub class: usize,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Completion tokens reserved at the door (an estimate, e.g. the feature's median).
    pub output_estimate: u64,
    /// `max_tokens` sent upstream (what headroom models as the send's cost).
    pub max_tokens: u64,
    /// The driver's data about the request.
    pub payload: M,
}

/// Why a request was refused at the door.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// Limiter layers said no: every blocking layer, and when to try again.
    Layers {
        /// The layers that refused.
        blocking: LayerSet,
        /// When a retry would be admitted if nothing else happened.
        retry_at: Time,
    },
    /// The cost can never fit a layer (configuration).
    NeverFits,
    /// The budget refused (cap reached, or no usable key): why, naming the cap.
    Budget(SpendRefusal),
    /// The engine holds as many requests as it is configured to.
    Full,
}

/// The answer to [`super::Engine::on_request`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Refused; nothing is held for it.
    Rejected(Rejection),
    /// Accepted: queued (or held by the budget until a reset); it will leave exactly once,
    /// reported by an [`EngineEvent::Departed`].
    Accepted(RequestId),
}

/// A request to send upstream now.
#[derive(Debug, Clone, Copy)]
pub struct Dispatch<M> {
    /// The request.
    pub id: RequestId,
    /// Which provider.
    pub target: Target,
    /// 1 for the first send.
    pub attempt: u32,
    /// Its class.
    pub class: usize,
    /// The driver's data.
    pub payload: M,
}

/// The upstream's answer to a dispatch (status and headers).
#[derive(Debug, Clone, Default)]
pub struct Response {
    /// Whether the provider took the call (a 2xx: the body is now streaming).
    pub accepted: bool,
    /// HTTP status.
    pub status: u16,
    /// The wait a header asked for: `retry-after-ms`, else `retry-after`.
    pub retry_after: Option<Duration>,
    /// A wait written only in the error body (Gemini's `RetryInfo.retryDelay`, OpenAI's
    /// "Please try again in 84ms"). Kept apart from the header's because the official SDKs
    /// read headers only: a client preset must not obey what its SDK never sees.
    pub body_retry_after: Option<Duration>,
    /// Parsed rate-limit headers (only needed when [`super::Engine::wants_headers`]); boxed
    /// so that the common answer without them stays small.
    pub snapshot: Option<Box<crate::upstream::headers::RateLimitSnapshot>>,
}

impl Response {
    /// The wait hint a client sees: the header's, else the body's when it reads bodies
    /// ([`crate::upstream::BackoffConfig::reads_body_hints`]).
    pub fn hint(&self, reads_body: bool) -> Option<Duration> {
        self.retry_after
            .or(self.body_retry_after.filter(|_| reads_body))
    }
}

/// The end of an accepted call.
#[derive(Debug, Clone, Copy)]
pub struct Completion {
    /// Prompt tokens billed.
    pub input_tokens: u64,
    /// Completion tokens billed.
    pub output_tokens: u64,
    /// The call failed after being accepted (no retry: it took its time and quota).
    pub failed: bool,
}

/// How a request left the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Departure {
    /// Answered (by the provider or the cache).
    Completed,
    /// Gave up upstream (attempts, retry budget, a failed completion).
    Failed,
    /// Dropped by the queue or by the budget after a hold.
    Shed,
    /// Its client went away.
    Abandoned,
    /// Still inside at [`super::Engine::drain`].
    Unfinished,
}

/// Something the driver may count. Every accepted request gets exactly one `Departed`.
#[derive(Debug, Clone, Copy)]
pub enum EngineEvent<M> {
    /// The queue wait of a request ended (first send, or leaving unserved).
    WaitEnded {
        /// Its class.
        class: usize,
        /// How long it waited since arrival.
        waited: Duration,
    },
    /// A call was answered from the cache.
    CacheServed {
        /// Its class.
        class: usize,
    },
    /// An accepted call finished: usage and the budget's books (`None` without a budget).
    Completed {
        /// Its class.
        class: usize,
        /// The driver's data.
        payload: M,
        /// What the budget booked: who paid, requested and used model, estimated and actual
        /// cost in nano-USD.
        settlement: Option<Settlement>,
        /// Served by the fallback provider.
        on_fallback: bool,
        /// Answered from the cache (no usage).
        from_cache: bool,
    },
    /// A call the provider accepted left without completing (its client went away, it failed
    /// or broke mid-stream, it was still on the wire at [`super::Engine::drain`]): the
    /// provider bills it, so the budget booked it at no less than its estimate. Only with a
    /// budget; it is followed by the request's [`EngineEvent::Departed`].
    Billed {
        /// The request.
        id: RequestId,
        /// Its class.
        class: usize,
        /// What the budget booked (who paid, models, estimated and booked cost).
        settlement: Settlement,
    },
    /// A call was refused or failed upstream (not a completion).
    Wasted {
        /// Its class.
        class: usize,
        /// HTTP status.
        status: u16,
    },
    /// A retry was accepted by the provider.
    RetrySucceeded {
        /// Its class.
        class: usize,
    },
    /// The retry budget refused a retry.
    RetryBudgetDenied {
        /// Its class.
        class: usize,
    },
    /// Consecutive 429s escalated traffic to the fallback.
    Escalated {
        /// Class of the request whose answer escalated.
        class: usize,
    },
    /// The budget routed a request to a cheaper model than asked: at admission (the ladder),
    /// or when shedding downgrades it on leaving the queue.
    Degraded {
        /// Its class.
        class: usize,
    },
    /// The budget holds a request until a cap resets (it stays inside, not queued).
    Held {
        /// Its class.
        class: usize,
        /// When it asks again.
        until: Time,
    },
    /// The budget refused a request: at arrival (then [`Rejection::Budget`]), or when its hold
    /// ended (then it departs as [`Departure::Shed`]).
    BudgetRefused {
        /// Its class.
        class: usize,
        /// Why.
        why: SpendRefusal,
    },
    /// A request left.
    Departed {
        /// The request (dead from now on).
        id: RequestId,
        /// Its class.
        class: usize,
        /// How.
        how: Departure,
        /// When it arrived.
        arrived: Time,
        /// Upstream attempts made.
        attempts: u32,
    },
}
