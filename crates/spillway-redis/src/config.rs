//! How to reach Redis and what to do when it cannot answer.

use crate::error::RedisLimitError;
use spillway_core::{Duration, Time};
use std::fmt;

/// Where "now" comes from.
///
/// - [`TimeSource::Caller`]: the `now` passed to each call. Deterministic and testable (the
///   differential tests inject it), and no extra work on the server; but every instance must
///   pass the *same* time base (e.g. Unix-epoch nanoseconds from a synchronised clock, not a
///   per-process monotonic origin), and skew between instances becomes skew in the limit: an
///   instance whose clock runs ahead sees windows expire early and admits early.
/// - [`TimeSource::Redis`]: the script reads Redis `TIME` (Unix epoch, microsecond resolution),
///   so every instance shares one clock whatever their own skew; the `now` passed in is then
///   used only by [`FailurePolicy::LocalFallback`] and [`FailurePolicy::FailClosed`], and
///   `retry_at` is in Redis' Unix-epoch nanoseconds ([`Verdict::now`](crate::Verdict) tells
///   the instant used). The price: decisions depend on the server clock, so they are not
///   reproducible, and a failover to a replica with a different clock moves time.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TimeSource {
    /// The `now` argument of each call.
    Caller,
    /// Redis `TIME`, read inside the script.
    Redis,
}

/// What a call answers when Redis is unreachable or slower than the response timeout.
///
/// Errors that are not about availability (bad keys, rejected credentials, a script error) are
/// returned as errors under every policy.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FailurePolicy {
    /// Admit, but never more than this instance's share: a local limiter at `limit /`
    /// [`RedisConfig::replicas`] per key (as [`FailurePolicy::LocalFallback`], reported as
    /// [`ServedBy::FailOpen`](crate::ServedBy)). Right when availability matters more than the
    /// limit; the share keeps an outage from admitting without bound (it used to admit
    /// everything: 2,628 against a limit of 100 in one outage).
    FailOpen,
    /// Deny everything, with `retry_at = now + retry_after`. Right when exceeding the limit is
    /// worse than an outage (hard spend caps). A layered denial then names no layer (its
    /// `blocking` set is empty): no limit was hit, Redis was unavailable.
    FailClosed {
        /// How long callers are told to wait.
        retry_after: Duration,
    },
    /// Limit locally with spillway-core limiters at `limit / instances` (and `burst /
    /// instances`, at least 1): with `instances` gateway instances the fleet stays near the
    /// global limit without coordination. Local state starts fresh at the outage and is not
    /// copied back to Redis when it returns (Redis resumes from its own state).
    LocalFallback {
        /// How many instances share the limit (at least 1).
        instances: u64,
    },
}

/// The longest [`RedisConfig::dedupe_ttl`], in ms: 2^45 (about 1,115 years). Why this bound:
/// the caller's `now` in ms is below 2^45 (any `u64` of ns), so a mark's `until` (`now` +
/// `dedupe_ttl`) stays below 2^46: exact as a Lua double (2^53) and within the log meta's
/// 7-byte field (2^56, which a larger value would wrap), and a mark's expiry (Redis `TIME` in ms
/// plus the same) keeps its 14 digits through `tostring`. Below 1 ms, Redis refuses the
/// expiry (`PX 0`).
pub const MAX_DEDUPE_TTL_MS: u64 = 1 << 45;

/// Connection and behaviour settings. `Display` and `Debug` redact the password.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisConfig {
    /// `redis://[user[:password]@]host:port[/db]`. A password here is redacted when printed.
    pub url: String,
    /// Password, if not in the URL (overrides the URL's).
    pub password: Option<String>,
    /// First part of every key, to share a Redis between deployments.
    pub prefix: String,
    /// Where "now" comes from.
    pub time_source: TimeSource,
    /// What to answer when Redis is unavailable.
    pub failure_policy: FailurePolicy,
    /// Longest wait to establish a connection.
    pub connect_timeout: std::time::Duration,
    /// Longest wait for a reply; after it the failure policy answers.
    pub response_timeout: std::time::Duration,
    /// Extra time a key is kept after its state becomes fresh, so that a caller whose `now`
    /// steps back (or an instance whose clock lags) within the grace still sees the state.
    pub expiry_grace: Duration,
    /// How many gateway instances share each limit: [`FailurePolicy::FailOpen`] admits at most
    /// `limit / replicas` per key during an outage (default 1: one instance may admit a whole
    /// limit on its own).
    pub replicas: u64,
    /// How long Redis remembers an admitted request id, so that the cancellation of an acquire
    /// whose reply was lost refunds it exactly (see [`RedisStore`](crate::RedisStore)). A
    /// cancellation that arrives later (an outage longer than this) leaves that one charge in
    /// place until its window ends. An admission keeps one small key this long, unless every
    /// limiter of the call is a sliding log (a single log, or layered logs only: each keeps the
    /// id in the entry it charges, and a cancellation that finds no entry leaves a mark this
    /// long; a log layered with a bucket or a counter is covered by the key): 10 s by default.
    /// From 1 ms to [`MAX_DEDUPE_TTL_MS`]; [`RedisStore::connect`](crate::RedisStore::connect)
    /// refuses any other.
    pub dedupe_ttl: std::time::Duration,
    /// Whether a limiter acquire carries a request-id record (default `true`): exact
    /// accounting under faults, a reply lost to a timeout or a dropped connection is refunded
    /// by its cancellation and never charged twice. `false` sends no record and no
    /// cancellation, the guarantee of a plain script such as go-redis `redis_rate`: a lost
    /// reply's acquire may stay charged (at most once each; Redis never admits more than the
    /// limit, while fail-open and the local fallback admit up to `limit / replicas` per
    /// replica during an outage, either way), for less server CPU per acquire (a token
    /// bucket's: ~3 µs, one key created per admission; a sliding log's: ~1 µs, 14 bytes more
    /// per entry and a key argument: `reports/perf-redis.md`).
    /// [`RedisBudget`](crate::RedisBudget) keeps its records either way.
    pub exact_accounting: bool,
}

impl RedisConfig {
    /// Defaults for `url`: caller's time, fail closed for 1 s, 100 ms connect and 250 ms
    /// response timeouts, 1 s expiry grace, prefix `spillway`, 1 replica, 10 s dedupe, exact
    /// accounting.
    ///
    /// The response timeout comes from measurement: a healthy local Redis answering bursts of
    /// 2,000 concurrent checks (`SPILLWAY_BENCH_BURST=1 cargo bench -p spillway-redis --bench
    /// redis`, 2-core machine under load) had p99.9 = 107-111 ms, max 118 ms; the old 50 ms fired
    /// on every such burst and handed it to the failure policy. 250 ms is that p99.9 with a
    /// margin of 2.3×; a deployment with larger bursts should measure and raise it.
    pub fn new(url: impl Into<String>) -> Self {
        RedisConfig {
            url: url.into(),
            password: None,
            prefix: "spillway".into(),
            time_source: TimeSource::Caller,
            failure_policy: FailurePolicy::FailClosed {
                retry_after: Duration::from_secs(1),
            },
            connect_timeout: std::time::Duration::from_millis(100),
            response_timeout: std::time::Duration::from_millis(250),
            expiry_grace: Duration::from_secs(1),
            replicas: 1,
            dedupe_ttl: std::time::Duration::from_secs(10),
            exact_accounting: true,
        }
    }

    /// Refuse settings the scripts cannot honour, before connecting: a
    /// [`RedisLimitError::InvalidConfig`] naming the field and its allowed range.
    pub(crate) fn validate(&self) -> Result<(), RedisLimitError> {
        let ms = self.dedupe_ttl.as_millis();
        if ms == 0 || ms > u128::from(MAX_DEDUPE_TTL_MS) {
            return Err(RedisLimitError::InvalidConfig {
                field: "dedupe_ttl",
                value: format!("{:?}", self.dedupe_ttl),
                allowed: format!("1 ms to {MAX_DEDUPE_TTL_MS} ms (2^45 ms, about 1,115 years)"),
            });
        }
        Ok(())
    }

    /// `now` if calls run on the caller's time ([`TimeSource::Caller`]), `None` on Redis time.
    pub(crate) fn caller_now(&self, now: Time) -> Option<Time> {
        (self.time_source == TimeSource::Caller).then_some(now)
    }

    /// The URL with any password replaced by `****`.
    pub fn redacted_url(&self) -> String {
        redact_url(&self.url)
    }
}

/// `scheme://user:secret@host` → `scheme://user:****@host`; anything else unchanged.
pub(crate) fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://").map(|i| i + 3) else {
        return url.to_owned();
    };
    let authority_end = url[scheme_end..]
        .find('/')
        .map_or(url.len(), |i| scheme_end + i);
    let Some(at) = url[scheme_end..authority_end].rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &url[scheme_end..scheme_end + at];
    let user = userinfo.split(':').next().unwrap_or("");
    let redacted = if userinfo.contains(':') {
        format!("{user}:****")
    } else {
        // `redis://secret@host`: a lone userinfo is the password in redis URLs.
        "****".to_owned()
    };
    format!(
        "{}{}{}",
        &url[..scheme_end],
        redacted,
        &url[scheme_end + at..]
    )
}

impl fmt::Display for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "redis {} (password: {}, prefix {:?}, time {:?}, on failure {:?}, timeouts {:?}/{:?}, grace {} ms)",
            self.redacted_url(),
            if self.password.is_some() {
                "****"
            } else {
                "none"
            },
            self.prefix,
            self.time_source,
            self.failure_policy,
            self.connect_timeout,
            self.response_timeout,
            self.expiry_grace.as_millis(),
        )
    }
}

impl fmt::Debug for RedisConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_debug_never_show_the_password() {
        let mut c = RedisConfig::new("redis://admin:hunter2-secret@127.0.0.1:6379/0");
        c.password = Some("other-secret".into());
        for shown in [format!("{c}"), format!("{c:?}")] {
            assert!(!shown.contains("hunter2"), "{shown}");
            assert!(!shown.contains("other-secret"), "{shown}");
            assert!(
                shown.contains("redis://admin:****@127.0.0.1:6379/0"),
                "{shown}"
            );
        }
    }

    #[test]
    fn dedupe_ttl_is_refused_outside_1_ms_to_2_pow_45_ms() {
        let with = |ttl| {
            let mut c = RedisConfig::new("redis://127.0.0.1:6379");
            c.dedupe_ttl = ttl;
            c.validate()
        };
        let ms = std::time::Duration::from_millis;
        for ok in [ms(1), ms(10_000), ms(MAX_DEDUPE_TTL_MS)] {
            assert_eq!(with(ok), Ok(()), "{ok:?}");
        }
        let too_large = [
            ms(MAX_DEDUPE_TTL_MS + 1),
            ms(1 << 56),
            std::time::Duration::MAX,
        ];
        for bad in [ms(0), std::time::Duration::from_micros(999)]
            .into_iter()
            .chain(too_large)
        {
            let err = with(bad).unwrap_err();
            let shown = err.to_string();
            assert!(matches!(
                err,
                RedisLimitError::InvalidConfig {
                    field: "dedupe_ttl",
                    ..
                }
            ));
            assert!(
                shown.contains("dedupe_ttl") && shown.contains("35184372088832 ms"),
                "{shown}"
            );
        }
    }

    #[test]
    fn urls_without_credentials_are_unchanged() {
        assert_eq!(
            redact_url("redis://127.0.0.1:6379"),
            "redis://127.0.0.1:6379"
        );
        assert_eq!(redact_url("redis://pw@h:1/2"), "redis://****@h:1/2");
        assert_eq!(redact_url("not a url"), "not a url");
        assert_eq!(redact_url("redis://h/a@b"), "redis://h/a@b");
    }
}
