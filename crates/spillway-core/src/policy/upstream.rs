//! A policy's client side towards the provider (`policies[].upstream:`): retries and backoff,
//! retry budget, proactive throttling from rate-limit headers, escalation, circuit breaker,
//! fallback provider and cache.
//!
//! Every part maps onto a `crate::upstream` type, built here so that a scenario can
//! never hold a configuration the library would refuse.

use super::Reporter;
use super::S;
use crate::Duration;
use crate::upstream::{
    BackoffConfig, BackoffStrategy, BreakerConfig, ClientPreset, DEFAULT_MAX_RETRY_AFTER,
    RetryAfterUse,
};
use serde::Deserialize;

/// `upstream:` as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstream {
    /// How failed calls are retried.
    pub retry: Option<RawRetry>,
    /// An official SDK's default retry behaviour instead of `retry:` (`openai-python`,
    /// `anthropic-python`); implies `coordinated: false` unless set.
    pub client: Option<S<String>>,
    /// Retries may be at most this percentage of requests over a minute (Google SRE: 10).
    pub retry_budget_pct: Option<S<u64>>,
    /// Throttle before the provider would refuse, from its `x-ratelimit-*` headers.
    pub proactive: Option<RawProactive>,
    /// Consecutive 429s that raise an alert and move traffic to the fallback (default 3).
    pub escalate_after: Option<S<u32>>,
    /// Stop calling a failing provider for a while.
    pub breaker: Option<RawBreaker>,
    /// Send to the scenario's `fallback_provider` when the primary escalates or its breaker is
    /// open (default false).
    pub fallback: Option<S<bool>>,
    /// With `fallback` and `proactive`: when the primary has no headroom, send requests that
    /// have already waited longer than this (default 2s) to the fallback — a proactive gateway
    /// knows the key is exhausted before any 429.
    pub fallback_after_wait: Option<S<String>>,
    /// Percent of requests whose answer is cached: served from the cache when no provider can
    /// take them (default 0).
    pub cache_hit_pct: Option<S<u64>>,
    /// Whether a Retry-After pauses every request of the gateway (`true`, default: one client
    /// that coordinates) or only the request that received it (`false`: many independent
    /// clients, e.g. SDK retries in each app server — the setting of a thundering herd).
    pub coordinated: Option<bool>,
}

/// `retry:` — backoff between attempts.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetry {
    /// `none`, `constant`, `exponential`, `full-jitter` (default), `equal-jitter`,
    /// `decorrelated-jitter`, `sdk-jitter`.
    pub strategy: Option<S<String>>,
    /// First delay (default 100ms).
    pub base: Option<S<String>>,
    /// Longest delay the strategy produces (default 30s); Retry-After may exceed it.
    pub cap: Option<S<String>>,
    /// Attempts including the first (default 5).
    pub max_attempts: Option<S<u32>>,
    /// Whether the client waits for Retry-After (default true: at least the hint, up to
    /// `max_retry_after`). `false`: a client that never reads it (many scripts), retrying on
    /// its backoff alone.
    pub honor_retry_after: Option<S<bool>>,
    /// The longest Retry-After waited for (default 120 s, `DEFAULT_MAX_RETRY_AFTER`: the
    /// longest an official SDK obeys). A longer hint fails the request and pauses the
    /// provider for this long only: an absurd hint (a saturating number, a far-future date)
    /// must not stop every send for good.
    pub max_retry_after: Option<S<String>>,
}

/// `proactive:` — the local headroom model.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawProactive {
    /// Percent of every limit held back (default 5).
    pub margin_pct: Option<S<u64>>,
}

/// `breaker:` — closed / open / half-open.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBreaker {
    /// Consecutive failures that open it (default 5).
    pub failures: Option<S<u32>>,
    /// How long it stays open before probing (default 30s).
    pub open_for: Option<S<String>>,
    /// Probe calls in half-open (default 1).
    pub probes: Option<S<u32>>,
}

/// A policy's validated client side: the engine's upstream configuration.
pub type UpstreamSpec = crate::engine::UpstreamConfig;

const STRATEGIES: &str = "`none`, `constant`, `exponential`, `full-jitter`, `equal-jitter`, `decorrelated-jitter` or `sdk-jitter`";

fn percent(value: &S<u64>, r: &mut Reporter<'_>) -> Option<u64> {
    if value.value <= 100 {
        Some(value.value)
    } else {
        r.bad(
            value,
            format!("must be a percentage from 0 to 100, got {}", value.value),
        );
        None
    }
}

/// Validate `upstream:`; `max_attempts` is the policy's plain `max_attempts` (used when
/// `retry:` does not say). Without a block, retries wait exactly for Retry-After.
pub fn upstream(
    raw: Option<&RawUpstream>,
    max_attempts: u32,
    has_fallback_provider: bool,
    r: &mut Reporter<'_>,
) -> Option<UpstreamSpec> {
    let Some(raw) = raw else {
        return Some(UpstreamSpec {
            backoff: BackoffConfig::new(
                BackoffStrategy::None,
                Duration::ZERO,
                Duration::ZERO,
                max_attempts,
            )
            .ok()?,
            retry_budget_pct: None,
            proactive_margin_ppm: None,
            escalate_after: 3,
            breaker: None,
            fallback: false,
            fallback_after_wait: None,
            cache_hit_permille: 0,
            coordinated: true,
        });
    };
    let backoff = match (&raw.client, &raw.retry) {
        (Some(name), None) => client(name, r),
        (Some(name), Some(_)) => {
            r.bad(
                name,
                "give `client` (an SDK's retry defaults) or `retry`, not both",
            );
            None
        }
        (None, retry_block) => retry(retry_block.as_ref(), max_attempts, r),
    };
    let budget = raw.retry_budget_pct.as_ref().map(|p| percent(p, r));
    let proactive = raw.proactive.as_ref().map(|p| match &p.margin_pct {
        Some(m) => percent(m, r).map(|pct| pct * 10_000),
        None => Some(50_000),
    });
    let escalate_after = match &raw.escalate_after {
        Some(v) => r.positive(v, "escalate_after"),
        None => Some(3),
    };
    let breaker = raw.breaker.as_ref().map(|b| breaker(b, r));
    let fallback = match &raw.fallback {
        Some(f) if f.value && !has_fallback_provider => {
            r.bad(
                f,
                "`fallback: true` needs a top-level `fallback_provider:` block",
            );
            None
        }
        Some(f) => Some(f.value),
        None => Some(false),
    };
    // An SDK retries each request on its own: a 429 pauses no other request.
    let coordinated = raw.coordinated.unwrap_or(raw.client.is_none());
    if let (false, Some(p)) = (coordinated, &raw.proactive) {
        if let Some(m) = &p.margin_pct {
            r.bad(
                m,
                "`proactive` models the gateway's shared quota: it needs `coordinated: true`",
            );
            return None;
        }
        r.whole(
            "upstream.proactive",
            "`proactive` needs `coordinated: true`",
        );
        return None;
    }
    let spill = match (&raw.fallback_after_wait, fallback, raw.proactive.is_some()) {
        (Some(w), Some(true), true) => r.positive_duration(w).map(Some),
        (Some(w), _, _) => {
            r.bad(
                w,
                "fallback_after_wait needs both `fallback: true` and `proactive`",
            );
            None
        }
        (None, Some(true), true) => Some(Some(Duration::from_secs(2))),
        (None, _, _) => Some(None),
    };
    let cache = match &raw.cache_hit_pct {
        Some(p) => percent(p, r).map(|pct| pct * 10),
        None => Some(0),
    };
    Some(UpstreamSpec {
        backoff: backoff?,
        retry_budget_pct: budget.map_or(Some(None), |b| b.map(Some))?,
        proactive_margin_ppm: proactive.map_or(Some(None), |p| p.map(Some))?,
        escalate_after: escalate_after?,
        breaker: breaker.map_or(Some(None), |b| b.map(Some))?,
        fallback: fallback?,
        fallback_after_wait: spill?,
        cache_hit_permille: cache?,
        coordinated,
    })
}

/// The retry policy of a named SDK preset.
fn client(name: &S<String>, r: &mut Reporter<'_>) -> Option<BackoffConfig> {
    let preset = ClientPreset::from_name(&name.value);
    if preset.is_none() {
        let names: Vec<String> = ClientPreset::ALL
            .iter()
            .map(|p| format!("`{}`", p.name()))
            .collect();
        r.bad(
            name,
            format!(
                "unknown client `{}`; expected {}",
                name.value,
                names.join(" or ")
            ),
        );
    }
    preset.map(ClientPreset::backoff)
}

fn retry(raw: Option<&RawRetry>, max_attempts: u32, r: &mut Reporter<'_>) -> Option<BackoffConfig> {
    let seed = BackoffConfig::SEED_DEFAULT;
    let Some(raw) = raw else {
        return BackoffConfig::new(seed.strategy(), seed.base(), seed.cap(), max_attempts).ok();
    };
    let strategy = match &raw.strategy {
        Some(s) => {
            let parsed = BackoffStrategy::from_name(&s.value.replace('-', "_"));
            if parsed.is_none() {
                r.bad(
                    s,
                    format!("unknown strategy `{}`; expected {STRATEGIES}", s.value),
                );
            }
            parsed
        }
        None => Some(seed.strategy()),
    };
    let base = raw
        .base
        .as_ref()
        .map_or(Some(seed.base()), |b| r.duration(b));
    let cap = raw.cap.as_ref().map_or(Some(seed.cap()), |c| r.duration(c));
    let attempts = match &raw.max_attempts {
        Some(a) => r.positive(a, "max_attempts"),
        None => Some(max_attempts),
    };
    let (strategy, base, cap, attempts) = (strategy?, base?, cap?, attempts?);
    let uses = match &raw.honor_retry_after {
        Some(h) if !h.value => RetryAfterUse::Ignore,
        _ => RetryAfterUse::AtLeast,
    };
    let longest = match &raw.max_retry_after {
        Some(m) => Some(r.duration(m)?),
        None => Some(DEFAULT_MAX_RETRY_AFTER),
    };
    match BackoffConfig::new(strategy, base, cap, attempts) {
        Ok(config) => Some(config.with_retry_after(uses).with_max_retry_after(longest)),
        Err(e) => {
            match raw.cap.as_ref().or(raw.base.as_ref()) {
                Some(at) => r.bad(at, e.to_string()),
                None => r.whole("upstream.retry", e.to_string()),
            }
            None
        }
    }
}

fn breaker(raw: &RawBreaker, r: &mut Reporter<'_>) -> Option<BreakerConfig> {
    let d = BreakerConfig::default();
    let failures = match &raw.failures {
        Some(v) => r.positive(v, "failures"),
        None => Some(d.failure_threshold()),
    };
    let open_for = raw
        .open_for
        .as_ref()
        .map_or(Some(d.open_for()), |o| r.positive_duration(o));
    let probes = match &raw.probes {
        Some(v) => r.positive(v, "probes"),
        None => Some(d.probes()),
    };
    BreakerConfig::new(failures?, open_for?, probes?).ok()
}
