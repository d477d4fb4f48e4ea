//! [`Backoff`]: how long to wait before retrying a failed upstream call.
//!
//! The strategies are the ones compared in the AWS Architecture Blog's "Exponential Backoff And
//! Jitter", so a simulation can show why jitter matters (plain exponential retries of many
//! clients land together: a thundering herd). For retry `n` (0-based) with
//! `e(n) = min(cap, base·2^n)`:
//!
//! | strategy | delay |
//! |---|---|
//! | [`None`](BackoffStrategy::None) | `0` (retry at once; Retry-After still applies) |
//! | [`Constant`](BackoffStrategy::Constant) | `base` |
//! | [`Exponential`](BackoffStrategy::Exponential) | `e(n)` |
//! | [`FullJitter`](BackoffStrategy::FullJitter) | uniform in `[0, e(n)]` |
//! | [`EqualJitter`](BackoffStrategy::EqualJitter) | uniform in `[e(n)/2, e(n)]` |
//! | [`DecorrelatedJitter`](BackoffStrategy::DecorrelatedJitter) | `min(cap, uniform in [base, 3·prev])`, `prev` starting at `base` |
//! | [`SdkJitter`](BackoffStrategy::SdkJitter) | uniform in `[e(n) − e(n)/4, e(n)]` (the official OpenAI and Anthropic Python SDKs) |
//!
//! **Retry-After wins when longer** by default: the delay is `max(backoff, retry_after)`,
//! because the provider said earlier retries will fail. A client may use it otherwise
//! ([`RetryAfterUse`]): exactly when short enough (the SDKs), or not at all. All arithmetic is integer nanoseconds and
//! saturates; the RNG is the caller's (one seeded stream per concern), so runs reproduce.

use rand_core::Rng;

use super::uniform::uniform_inclusive;
use crate::time::Duration;

/// How the delay grows from one retry to the next.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BackoffStrategy {
    /// No wait between attempts (only Retry-After delays a retry).
    None,
    /// Always `base`.
    Constant,
    /// `min(cap, base·2^n)`, no randomness.
    Exponential,
    /// Uniform in `[0, min(cap, base·2^n)]` (AWS "full jitter").
    FullJitter,
    /// Half of `min(cap, base·2^n)` fixed, the other half random (AWS "equal jitter").
    EqualJitter,
    /// `min(cap, uniform in [base, 3·previous delay])` (AWS "decorrelated jitter").
    DecorrelatedJitter,
    /// `min(cap, base·2^n)` times a uniform factor in `[0.75, 1]`: openai-python's and
    /// anthropic-sdk-python's `_calculate_retry_timeout` (`jitter = 1 - 0.25 * random()`).
    SdkJitter,
}

impl BackoffStrategy {
    /// Every strategy, for CLIs, sweeps and tests.
    pub const ALL: [BackoffStrategy; 7] = [
        BackoffStrategy::None,
        BackoffStrategy::Constant,
        BackoffStrategy::Exponential,
        BackoffStrategy::FullJitter,
        BackoffStrategy::EqualJitter,
        BackoffStrategy::DecorrelatedJitter,
        BackoffStrategy::SdkJitter,
    ];

    /// A stable snake_case name (`full_jitter`, …) for config and reports.
    pub const fn name(self) -> &'static str {
        match self {
            BackoffStrategy::None => "none",
            BackoffStrategy::Constant => "constant",
            BackoffStrategy::Exponential => "exponential",
            BackoffStrategy::FullJitter => "full_jitter",
            BackoffStrategy::EqualJitter => "equal_jitter",
            BackoffStrategy::DecorrelatedJitter => "decorrelated_jitter",
            BackoffStrategy::SdkJitter => "sdk_jitter",
        }
    }

    /// The strategy called `name` (the inverse of [`BackoffStrategy::name`]).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.name() == name)
    }
}

/// A backoff configuration that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BackoffError {
    /// The cap is below the base, so the first delay would already break the cap.
    #[error("backoff cap {cap} is below its base {base}: the cap must be at least the base")]
    CapBelowBase {
        /// The base delay.
        base: Duration,
        /// The cap.
        cap: Duration,
    },
    /// Zero attempts would never even send the request once.
    #[error("max_attempts must be at least 1 (it counts the first attempt), got 0")]
    ZeroAttempts,
}

/// The longest Retry-After a policy waits for unless told otherwise
/// ([`BackoffConfig::with_max_retry_after`]): 120 s, openai-python's `MAX_RETRY_AFTER_DELAY`
/// and the longer of the official SDKs' bounds (anthropic-python and older openai-python
/// obey up to 60 s). Why a bound at all: a hint can be absurd (`retry-after:
/// 99999999999999999999` saturates, a far-future HTTP-date, Azure's "retry after 86400
/// seconds"), and a coordinated gateway would pause every request to that provider for as
/// long. Past it the request gives up ([`BackoffConfig::gives_up`]) and the provider is paused
/// for the bound only ([`BackoffConfig::honoured`]): a wait no SDK would sit through is one no
/// caller is still waiting for, and the next send finds out whether it was meant.
pub const DEFAULT_MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// A validated backoff policy.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct BackoffConfig {
    strategy: BackoffStrategy,
    base: Duration,
    cap: Duration,
    max_attempts: u32,
    max_retry_after: Option<Duration>,
    retry_after: RetryAfterUse,
    body_hints: bool,
}

impl BackoffConfig {
    /// The retry policy of seed 2: exponential with jitter, 100 ms base, 30 s cap, 5 attempts;
    /// Retry-After obeyed (at least) up to [`DEFAULT_MAX_RETRY_AFTER`].
    pub const SEED_DEFAULT: BackoffConfig = BackoffConfig {
        strategy: BackoffStrategy::FullJitter,
        base: Duration::from_millis(100),
        cap: Duration::from_secs(30),
        max_attempts: 5,
        max_retry_after: Some(DEFAULT_MAX_RETRY_AFTER),
        retry_after: RetryAfterUse::AtLeast,
        body_hints: true,
    };

    /// A policy known valid at compile time (`cap ≥ base`, `max_attempts ≥ 1`: the callers'
    /// constants), for presets: no bound on Retry-After but the one the preset sets (an SDK's
    /// own, modelled as it is).
    pub(super) const fn preset(
        strategy: BackoffStrategy,
        base: Duration,
        cap: Duration,
        max_attempts: u32,
        retry_after: RetryAfterUse,
    ) -> Self {
        BackoffConfig {
            strategy,
            base,
            cap,
            max_attempts,
            max_retry_after: None,
            retry_after,
            body_hints: true,
        }
    }

    /// A policy; `max_attempts` counts the first attempt (5 = one send and up to 4 retries).
    /// Retry-After is obeyed (at least) up to [`DEFAULT_MAX_RETRY_AFTER`].
    pub fn new(
        strategy: BackoffStrategy,
        base: Duration,
        cap: Duration,
        max_attempts: u32,
    ) -> Result<Self, BackoffError> {
        if cap < base {
            return Err(BackoffError::CapBelowBase { base, cap });
        }
        if max_attempts == 0 {
            return Err(BackoffError::ZeroAttempts);
        }
        Ok(BackoffConfig {
            strategy,
            base,
            cap,
            max_attempts,
            max_retry_after: Some(DEFAULT_MAX_RETRY_AFTER),
            retry_after: RetryAfterUse::AtLeast,
            body_hints: true,
        })
    }

    /// Give up instead of waiting when a Retry-After is longer than `limit` (OpenAI's SDK
    /// stops at 120 s; Azure has sent 86 400 s), and pause the provider for `limit` at most.
    /// The default is [`DEFAULT_MAX_RETRY_AFTER`]; `None` waits for any hint, however long.
    pub const fn with_max_retry_after(mut self, limit: Option<Duration>) -> Self {
        self.max_retry_after = limit;
        self
    }

    /// How the client uses a Retry-After (default [`RetryAfterUse::AtLeast`]).
    pub const fn with_retry_after(mut self, used: RetryAfterUse) -> Self {
        self.retry_after = used;
        self
    }

    /// Whether the client also takes a wait hint found only in an error body (default yes:
    /// a gateway may parse bodies). The official SDKs read headers only, so their presets
    /// say no and back off when a provider hints in the body alone (Gemini, often OpenAI).
    pub const fn with_body_hints(mut self, read: bool) -> Self {
        self.body_hints = read;
        self
    }

    /// Whether a wait hint found only in an error body counts.
    pub const fn reads_body_hints(&self) -> bool {
        self.body_hints
    }

    /// How the client uses a Retry-After.
    pub const fn retry_after_use(&self) -> RetryAfterUse {
        self.retry_after
    }

    /// The Retry-After this client obeys: `hint` unless it ignores hints, or this one is
    /// beyond what it takes ([`RetryAfterUse::Exact`]'s `up_to`); never more than
    /// [`Self::max_retry_after`] (a longer hint makes the request give up, and pauses the
    /// others for the bound only).
    pub fn honoured(&self, hint: Option<Duration>) -> Option<Duration> {
        let hint = hint?;
        let obeyed = match self.retry_after {
            RetryAfterUse::AtLeast => Some(hint),
            RetryAfterUse::Exact { up_to } => (!hint.is_zero() && hint <= up_to).then_some(hint),
            RetryAfterUse::Ignore => None,
        };
        obeyed.map(|h| self.max_retry_after.map_or(h, |limit| h.min(limit)))
    }

    /// The wait before a retry whose backoff draw is `backoff` after an answer with `hint`.
    pub fn wait(&self, backoff: Duration, hint: Option<Duration>) -> Duration {
        match (self.retry_after, self.honoured(hint)) {
            (RetryAfterUse::Exact { .. }, Some(h)) => h,
            (_, Some(h)) => backoff.max(h),
            (_, None) => backoff,
        }
    }

    /// The longest Retry-After still waited for (`None`: any).
    pub const fn max_retry_after(&self) -> Option<Duration> {
        self.max_retry_after
    }

    /// Why a request that has made `attempts` attempts stops after a failure whose hint is
    /// `retry_after`, or `None` when it retries. The one give-up rule: [`Backoff::on_failure`]
    /// and the engine (which keeps its retry state per request, not a [`Backoff`]) both ask it.
    /// A client that ignores hints ([`RetryAfterUse::Ignore`]) never reads one, so no hint
    /// makes it give up.
    pub fn gives_up(&self, attempts: u32, retry_after: Option<Duration>) -> Option<GiveUpReason> {
        if attempts >= self.max_attempts {
            return Some(GiveUpReason::AttemptsExhausted);
        }
        let read = retry_after.filter(|_| self.retry_after != RetryAfterUse::Ignore);
        match (read, self.max_retry_after) {
            (Some(wait), Some(limit)) if wait > limit => {
                Some(GiveUpReason::RetryAfterTooLong { retry_after: wait })
            }
            _ => None,
        }
    }

    /// The strategy.
    pub const fn strategy(&self) -> BackoffStrategy {
        self.strategy
    }
    /// The base delay.
    pub const fn base(&self) -> Duration {
        self.base
    }
    /// The largest delay the strategy itself produces (Retry-After may exceed it).
    pub const fn cap(&self) -> Duration {
        self.cap
    }
    /// Attempts in all, the first one included.
    pub const fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// `min(cap, base·2^retry)`, saturating: the exponential envelope of retry `retry`.
    pub fn envelope(&self, retry: u32) -> Duration {
        let factor = 1u64.checked_shl(retry).unwrap_or(u64::MAX);
        self.base.saturating_mul(factor).min(self.cap)
    }

    /// The closed interval every delay of retry `retry` lies in, given the previous delay
    /// (used only by decorrelated jitter). The property tests check draws against this.
    pub fn bounds(&self, retry: u32, previous: Duration) -> (Duration, Duration) {
        let e = self.envelope(retry);
        match self.strategy {
            BackoffStrategy::None => (Duration::ZERO, Duration::ZERO),
            BackoffStrategy::Constant => (self.base, self.base),
            BackoffStrategy::Exponential => (e, e),
            BackoffStrategy::FullJitter => (Duration::ZERO, e),
            BackoffStrategy::EqualJitter => (Duration::from_nanos(e.as_nanos() / 2), e),
            BackoffStrategy::DecorrelatedJitter => {
                let hi = previous.max(self.base).saturating_mul(3).min(self.cap);
                (self.base.min(hi), hi)
            }
            BackoffStrategy::SdkJitter => {
                let quarter = Duration::from_nanos(e.as_nanos() / 4);
                (e.saturating_sub(quarter), e)
            }
        }
    }

    /// The delay before retry `retry` (0-based), drawn from `rng` where the strategy is
    /// random. `previous` is the delay before the previous retry (`base` for the first).
    pub fn delay<R: Rng + ?Sized>(&self, retry: u32, previous: Duration, rng: &mut R) -> Duration {
        let (lo, hi) = self.bounds(retry, previous);
        match self.strategy {
            BackoffStrategy::None | BackoffStrategy::Constant | BackoffStrategy::Exponential => lo,
            BackoffStrategy::FullJitter
            | BackoffStrategy::EqualJitter
            | BackoffStrategy::DecorrelatedJitter
            | BackoffStrategy::SdkJitter => {
                Duration::from_nanos(uniform_inclusive(rng, lo.as_nanos(), hi.as_nanos()))
            }
        }
    }
}

impl Default for BackoffConfig {
    fn default() -> Self {
        Self::SEED_DEFAULT
    }
}

/// How a client uses the provider's Retry-After.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RetryAfterUse {
    /// Wait at least the hint: `max(backoff, hint)` (a careful gateway).
    AtLeast,
    /// Wait exactly the hint when it is in `(0, up_to]`, else the backoff alone (the official
    /// OpenAI and Anthropic Python SDKs, see `ClientPreset`).
    Exact {
        /// The longest hint still obeyed.
        up_to: Duration,
    },
    /// Never look at it (many scripts; SDK settings that drop it): the backoff alone.
    Ignore,
}

/// What to do after a failed attempt.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum RetryDecision {
    /// Retry after this delay (already the larger of backoff and Retry-After).
    RetryAfter(Duration),
    /// Stop retrying.
    GiveUp(GiveUpReason),
}

/// Why a request is not retried.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GiveUpReason {
    /// Every attempt of [`BackoffConfig::max_attempts`] is used.
    AttemptsExhausted,
    /// The provider asked for a wait longer than [`BackoffConfig::max_retry_after`].
    RetryAfterTooLong {
        /// The wait asked for.
        retry_after: Duration,
    },
}

/// The backoff state of one logical request: which retry comes next and the last delay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Backoff {
    config: BackoffConfig,
    /// Retries already scheduled.
    retries: u32,
    /// The previous delay (decorrelated jitter grows from it).
    previous: Duration,
}

impl Backoff {
    /// A fresh request: no retries yet.
    pub fn new(config: BackoffConfig) -> Self {
        Backoff {
            config,
            retries: 0,
            previous: config.base,
        }
    }

    /// The policy.
    pub const fn config(&self) -> &BackoffConfig {
        &self.config
    }

    /// Retries scheduled so far.
    pub const fn retries(&self) -> u32 {
        self.retries
    }

    /// After a failed attempt: the delay before the next one, `max(backoff, retry_after)`, or
    /// [`RetryDecision::GiveUp`] if the attempts are used up or the hint is too long.
    pub fn on_failure<R: Rng + ?Sized>(
        &mut self,
        retry_after: Option<Duration>,
        rng: &mut R,
    ) -> RetryDecision {
        let attempts = self.retries.saturating_add(1);
        if let Some(reason) = self.config.gives_up(attempts, retry_after) {
            return RetryDecision::GiveUp(reason);
        }
        let backoff = self.config.delay(self.retries, self.previous, rng);
        self.previous = backoff;
        self.retries += 1;
        RetryDecision::RetryAfter(self.config.wait(backoff, retry_after))
    }

    /// Start over (a new logical request reusing this state).
    pub fn reset(&mut self) {
        *self = Backoff::new(self.config);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Fixed(u64);
    impl rand_core::TryRng for Fixed {
        type Error = core::convert::Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
            Ok(self.0 as u32)
        }
        fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
            Ok(self.0)
        }
        fn try_fill_bytes(&mut self, _: &mut [u8]) -> Result<(), Self::Error> {
            Ok(())
        }
    }

    fn cfg(strategy: BackoffStrategy) -> BackoffConfig {
        let base = Duration::from_millis(100);
        BackoffConfig::new(strategy, base, Duration::from_secs(30), 5).unwrap()
    }

    #[test]
    fn exponential_doubles_up_to_the_cap() {
        let c = cfg(BackoffStrategy::Exponential);
        let mut rng = Fixed(0);
        let ms: Vec<u64> = [0, 1, 2, 8, 9, 63, 64, 200]
            .iter()
            .map(|&n| c.delay(n, Duration::ZERO, &mut rng).as_millis())
            .collect();
        assert_eq!(ms, [100, 200, 400, 25_600, 30_000, 30_000, 30_000, 30_000]);
    }

    #[test]
    fn retry_after_wins_when_longer_and_attempts_run_out() {
        let mut b = Backoff::new(cfg(BackoffStrategy::Constant));
        let mut rng = Fixed(0);
        let long = Some(Duration::from_secs(7));
        assert_eq!(
            b.on_failure(long, &mut rng),
            RetryDecision::RetryAfter(Duration::from_secs(7))
        );
        let short = Some(Duration::from_millis(5));
        for _ in 0..3 {
            let d = b.on_failure(short, &mut rng);
            assert_eq!(d, RetryDecision::RetryAfter(Duration::from_millis(100)));
        }
        let exhausted = RetryDecision::GiveUp(GiveUpReason::AttemptsExhausted);
        assert_eq!(b.on_failure(None, &mut rng), exhausted);
        assert_eq!(b.retries(), 4);
        b.reset();
        assert_eq!(b.retries(), 0);
    }

    #[test]
    fn a_retry_after_beyond_the_limit_gives_up() {
        let limit = Some(Duration::from_secs(120));
        let c = cfg(BackoffStrategy::Exponential).with_max_retry_after(limit);
        let mut b = Backoff::new(c);
        let mut rng = Fixed(0);
        let day = Duration::from_secs(86_400);
        assert_eq!(
            b.on_failure(Some(day), &mut rng),
            RetryDecision::GiveUp(GiveUpReason::RetryAfterTooLong { retry_after: day })
        );
        let ok = Some(Duration::from_secs(120));
        assert_eq!(
            b.on_failure(ok, &mut rng),
            RetryDecision::RetryAfter(Duration::from_secs(120))
        );
    }

    /// Without a bound of its own a policy gives up past [`DEFAULT_MAX_RETRY_AFTER`] and
    /// obeys no more than it (a saturated hint used to close the gate for good); `None`
    /// still waits for anything.
    #[test]
    fn the_default_bounds_an_obeyed_hint() {
        let huge = Some(Duration::MAX);
        for c in [BackoffConfig::default(), cfg(BackoffStrategy::FullJitter)] {
            let too_long = GiveUpReason::RetryAfterTooLong {
                retry_after: Duration::MAX,
            };
            assert_eq!(c.gives_up(1, huge), Some(too_long));
            assert_eq!(c.honoured(huge), Some(DEFAULT_MAX_RETRY_AFTER));
            let bound = Some(DEFAULT_MAX_RETRY_AFTER);
            assert_eq!((c.gives_up(1, bound), c.honoured(bound)), (None, bound));
            let unbounded = c.with_max_retry_after(None);
            assert_eq!(
                (unbounded.gives_up(1, huge), unbounded.honoured(huge)),
                (None, huge)
            );
            // A client that never reads hints is not stopped by one.
            let blind = c.with_retry_after(RetryAfterUse::Ignore);
            assert_eq!(
                (blind.gives_up(1, huge), blind.honoured(huge)),
                (None, None)
            );
        }
    }

    #[test]
    fn invalid_configs_are_errors() {
        let (base, cap) = (Duration::from_secs(2), Duration::from_secs(1));
        assert_eq!(
            BackoffConfig::new(BackoffStrategy::Exponential, base, cap, 3),
            Err(BackoffError::CapBelowBase { base, cap })
        );
        assert_eq!(
            BackoffConfig::new(BackoffStrategy::Exponential, cap, base, 0),
            Err(BackoffError::ZeroAttempts)
        );
        for s in BackoffStrategy::ALL {
            assert_eq!(BackoffStrategy::from_name(s.name()), Some(s));
        }
    }
}
