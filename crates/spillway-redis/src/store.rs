//! The connection: one multiplexed connection (many requests in flight on one socket, pipelined by
//! the driver) behind a [`ConnectionManager`] that reconnects when Redis returns, the limiter
//! function (FCALL, loaded again when Redis has lost it), timeouts, and the split of errors into
//! "unavailable" (the failure policy answers) and the rest (returned as errors).

use crate::config::RedisConfig;
use crate::epoch::Epoch;
use crate::error::RedisLimitError;
use crate::function;
use crate::pending::Pending;
use crate::stats::{Counters, StoreStats};
use crate::wire::{Call, Reply};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, IntoConnectionInfo, RedisError, ScriptInvocation, ServerErrorKind};
use spillway_core::Time;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::time::Instant;

mod flush;

/// Why a call got no answer from the script.
#[derive(Debug)]
pub(crate) enum Fault {
    /// Redis is unreachable, restarting or slower than the response timeout: the failure policy
    /// answers.
    Unavailable(Outage),
    /// Anything else: returned to the caller.
    Fatal(RedisLimitError),
}

/// Why Redis gave no answer, and whether the call may have run anyway.
#[derive(Debug)]
pub(crate) struct Outage {
    /// For logs.
    pub(crate) detail: String,
    /// Redis surely did not run the call: it refused the connection, or answered that it
    /// could not run it now (loading, busy, no master). `false` when the reply was lost (a
    /// timeout, a connection dropped after sending): the call may have run, and a second send
    /// of one that is not idempotent could apply it twice.
    pub(crate) unsent: bool,
}

/// A connection to Redis shared by every limiter built from it (cheap to clone).
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: ConnectionManager,
    /// The limiter function's name ([`function::name`]).
    function: String,
    config: RedisConfig,
    /// Request ids: `<instance>.<sequence>`, unique across instances and restarts.
    instance: u64,
    sequence: AtomicU64,
    /// Cancellations of acquires whose reply was lost, sent before the next call or by the
    /// background task ([`pending`](crate::pending)).
    pending: Pending,
    stats: Counters,
    epoch: Epoch,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RedisStore({})", self.inner.config)
    }
}

fn is_auth(e: &RedisError) -> bool {
    e.kind() == ErrorKind::AuthenticationFailed || matches!(e.code(), Some("WRONGPASS" | "NOAUTH"))
}

/// Whether the failure policy should answer for this error.
fn is_unavailable(e: &RedisError) -> bool {
    e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(
            e.kind(),
            ErrorKind::Server(
                ServerErrorKind::BusyLoading
                    | ServerErrorKind::TryAgain
                    | ServerErrorKind::ClusterDown
                    | ServerErrorKind::MasterDown
            )
        )
        || e.code() == Some("BUSY")
}

/// Whether Redis refused the call (an error the failure policy does not answer), as
/// [`classify`] tells it.
fn is_refusal(e: &RedisError) -> bool {
    is_auth(e) || !is_unavailable(e)
}

fn classify(e: RedisError, url: &str) -> Fault {
    if is_auth(&e) {
        Fault::Fatal(RedisLimitError::Auth {
            url: url.to_owned(),
            detail: e.to_string(),
        })
    } else if is_unavailable(&e) {
        // Not even connected, or an error reply: the call did not run.
        let unsent = e.is_connection_refusal()
            || matches!(e.kind(), ErrorKind::Server(_))
            || e.code().is_some();
        Fault::Unavailable(Outage {
            detail: e.to_string(),
            unsent,
        })
    } else if e.to_string().contains("script") {
        Fault::Fatal(RedisLimitError::Script {
            detail: e.to_string(),
        })
    } else {
        Fault::Fatal(RedisLimitError::Redis {
            detail: e.to_string(),
        })
    }
}

impl RedisStore {
    /// Connect, authenticate and load the script. Errors: [`RedisLimitError::InvalidConfig`]
    /// (before connecting), [`RedisLimitError::InvalidUrl`], [`RedisLimitError::Unreachable`]
    /// (also after `connect_timeout`), [`RedisLimitError::Auth`]. Once connected, outages are
    /// answered by the failure policy.
    pub async fn connect(config: RedisConfig) -> Result<Self, RedisLimitError> {
        config.validate()?;
        let url = config.redacted_url();
        let invalid = |detail: String| RedisLimitError::InvalidUrl {
            url: url.clone(),
            detail,
        };
        let mut info = config
            .url
            .as_str()
            .into_connection_info()
            .map_err(|e| invalid(e.to_string()))?;
        if let Some(password) = &config.password {
            let redis_settings = info.redis_settings().clone().set_password(password.clone());
            info = info.set_redis_settings(redis_settings);
        }
        let client = redis::Client::open(info).map_err(|e| invalid(e.to_string()))?;
        let manager_config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(config.connect_timeout))
            .set_response_timeout(Some(config.response_timeout))
            .set_number_of_retries(1)
            .set_max_delay(config.connect_timeout);
        let unreachable = |detail: String| RedisLimitError::Unreachable {
            url: url.clone(),
            detail,
        };
        let connecting = client.get_connection_manager_with_config(manager_config);
        let mut conn = tokio::time::timeout(config.connect_timeout * 2, connecting)
            .await
            .map_err(|_| {
                unreachable(format!(
                    "no connection within {:?}",
                    config.connect_timeout * 2
                ))
            })?
            .map_err(|e| match classify(e, &url) {
                Fault::Fatal(fatal @ RedisLimitError::Auth { .. }) => fatal,
                Fault::Fatal(other) => unreachable(other.to_string()),
                Fault::Unavailable(o) => unreachable(o.detail),
            })?;
        let fatal = |e| match classify(e, &url) {
            Fault::Fatal(fatal) => fatal,
            Fault::Unavailable(o) => unreachable(o.detail),
        };
        // A PING first: an unauthenticated client sending the library (over 16 KB) gets a
        // protocol error from Redis instead of NOAUTH, which would hide a missing password.
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map_err(fatal)?;
        function::load_cmd()
            .query_async::<String>(&mut conn)
            .await
            .map_err(|e| match fatal(e) {
                RedisLimitError::Redis { detail } => RedisLimitError::Redis {
                    detail: format!("loading the limiter (Redis 7.0 or later is needed for FUNCTION LOAD): {detail}"),
                },
                other => other,
            })?;
        let epoch = Epoch::new(&config.prefix);
        epoch
            .check(&mut conn)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let store = RedisStore {
            inner: Arc::new(Inner {
                conn,
                function: function::name(),
                config,
                instance: random_u64(),
                sequence: AtomicU64::new(0),
                pending: Pending::default(),
                stats: Counters::default(),
                epoch,
            }),
        };
        store.flush_in_background();
        Ok(store)
    }

    /// The configuration (prints with the password redacted).
    pub fn config(&self) -> &RedisConfig {
        &self.inner.config
    }

    /// Parse a limiter script's reply, on the caller's time when the store runs on it: every
    /// limiter reads its replies this one way.
    pub(crate) fn parse_reply(&self, raw: &[i64], now: Time) -> Result<Reply, RedisLimitError> {
        Reply::parse(raw, self.inner.config.caller_now(now))
    }

    /// When a call started now must have its reply: one response timeout away.
    fn deadline(&self) -> Instant {
        Instant::now() + self.inner.config.response_timeout
    }

    /// `fut`'s result, or an outage (its reply lost) if it has none by `deadline`.
    async fn timed<T>(
        &self,
        deadline: Instant,
        fut: impl Future<Output = Result<T, RedisError>>,
    ) -> Result<T, Fault> {
        let limit = self.inner.config.response_timeout;
        match tokio::time::timeout_at(deadline, fut).await {
            Ok(result) => result.map_err(|e| classify(e, &self.inner.config.redacted_url())),
            Err(_) => Err(Fault::Unavailable(Outage {
                detail: format!("no reply within {limit:?}"),
                unsent: false,
            })),
        }
    }

    /// Counters of faults, cancellations and lost state (see [`StoreStats`]).
    pub fn stats(&self) -> StoreStats {
        self.inner.stats.snapshot()
    }

    /// The call as sent with [`RedisConfig::exact_accounting`]: an acquire tagged with a fresh
    /// request id; `None`: as it is (any other call, every call without exact accounting). Only
    /// a tagged acquire is ever cancelled.
    fn tagged(&self, call: &Call) -> Option<Call> {
        if !self.inner.config.exact_accounting || !call.is_acquire() {
            return None;
        }
        let n = self.inner.sequence.fetch_add(1, Ordering::Relaxed);
        // At most MAX_DEDUPE_TTL_MS: checked by connect.
        let ttl = self.inner.config.dedupe_ttl.as_millis();
        let ttl = u64::try_from(ttl).unwrap_or(u64::MAX);
        Some(call.with_rid(self.inner.instance, n, ttl))
    }

    /// Before a call: send a chunk of queued cancellations (at most one: the call waits for
    /// it; the background task drains the rest), and after a fault check the state epoch.
    /// Both and the call share one response timeout, so that an outage is answered by the
    /// failure policy within it, not after one timeout per step: returns the call's deadline,
    /// or, once it has passed (Redis did not answer these steps), an outage for the call,
    /// which is then not sent.
    async fn before_call(&self) -> Result<Instant, Fault> {
        let deadline = self.deadline();
        self.flush_chunk(deadline).await;
        if self.inner.stats.needs_epoch_check() && Instant::now() < deadline {
            let mut conn = self.inner.conn.clone();
            let checked = tokio::time::timeout_at(deadline, self.inner.epoch.check(&mut conn));
            match checked.await {
                Ok(Ok(lost)) => self.inner.stats.epoch_checked(lost),
                _ => self.inner.stats.fault(),
            }
        }
        if Instant::now() < deadline {
            return Ok(deadline);
        }
        let limit = self.inner.config.response_timeout;
        Err(Fault::Unavailable(Outage {
            detail: format!("no reply within {limit:?} to the calls before this one (not sent)"),
            unsent: true,
        }))
    }

    /// After a call: a lost reply of a tagged acquire queues its cancellation. An acquire
    /// surely not sent (a refused connection, an error reply) charged nothing: no cancellation.
    fn after_call<T>(&self, tagged: Option<&Call>, result: &Result<T, Fault>) {
        if let Err(Fault::Unavailable(outage)) = result {
            self.inner.stats.fault();
            if let Some(call) = tagged.filter(|_| !outage.unsent) {
                self.inner
                    .pending
                    .queue(vec![call.cancel()], Instant::now(), &self.inner.stats);
            }
        }
    }

    /// Load the limiter function (again: Redis lost it in a restart or `FUNCTION FLUSH`).
    async fn load(&self, conn: &mut ConnectionManager) -> Result<(), RedisError> {
        function::load_cmd()
            .query_async::<String>(conn)
            .await
            .map(drop)
    }

    /// FCALL `call`; when the function is missing, load it and call once more (the first call
    /// did not run, and a tagged acquire is idempotent anyway).
    async fn fcall(&self, call: &Call) -> Result<Vec<i64>, RedisError> {
        let mut conn = self.inner.conn.clone();
        let cmd = function::fcall(&self.inner.function, call);
        match cmd.query_async(&mut conn).await {
            Err(e) if function::is_missing(&e) => {
                self.load(&mut conn).await?;
                cmd.query_async(&mut conn).await
            }
            other => other,
        }
    }

    /// Run one call.
    pub(crate) async fn eval(&self, call: &Call) -> Result<Vec<i64>, Fault> {
        let before = self.before_call().await;
        let tagged = self.tagged(call);
        let sent = tagged.as_ref().unwrap_or(call);
        let result = match before {
            Ok(deadline) => self.timed(deadline, self.fcall(sent)).await,
            Err(fault) => Err(fault),
        };
        self.after_call(tagged.as_ref(), &result);
        result
    }

    /// Run many calls in one pipeline (one round trip). Calls that found the function missing
    /// are run again one by one (it is loaded again by the first); the others ran once.
    pub(crate) async fn eval_many(
        &self,
        calls: &[Call],
    ) -> Result<Vec<Result<Vec<i64>, Fault>>, Fault> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        let before = self.before_call().await;
        let tagged: Vec<Option<Call>> = calls.iter().map(|c| self.tagged(c)).collect();
        let sent = || {
            calls
                .iter()
                .zip(&tagged)
                .map(|(c, t)| (t.as_ref().unwrap_or(c), t))
        };
        let mut conn = self.inner.conn.clone();
        let mut pipe = redis::pipe();
        for (call, _) in sent() {
            pipe.add_command(function::fcall(&self.inner.function, call));
        }
        pipe.ignore_errors();
        let result: Result<Vec<redis::RedisResult<Vec<i64>>>, Fault> = match before {
            Ok(deadline) => self.timed(deadline, pipe.query_async(&mut conn)).await,
            Err(fault) => Err(fault),
        };
        if let Err(Fault::Unavailable(outage)) = &result {
            self.inner.stats.fault();
            if !outage.unsent {
                let cancels = tagged.iter().flatten().map(Call::cancel).collect();
                self.inner
                    .pending
                    .queue(cancels, Instant::now(), &self.inner.stats);
            }
        }
        let replies = result?;
        let mut out = Vec::with_capacity(replies.len());
        for (reply, (call, tagged)) in replies.into_iter().zip(sent()) {
            out.push(match reply {
                Ok(v) => Ok(v),
                Err(e) if function::is_missing(&e) => self.eval_once(call, tagged.as_ref()).await,
                Err(e) => Err(classify(e, &self.inner.config.redacted_url())),
            });
        }
        Ok(out)
    }

    /// Run another script of this crate (the shared budget's) on the shared connection, with
    /// the same timeouts, error split and epoch check after a fault (a budget is as blind to
    /// a lost data set as the limiters); NOSCRIPT loads it and runs it again.
    pub(crate) async fn run_script(&self, inv: ScriptInvocation<'_>) -> Result<Vec<i64>, Fault> {
        let before = self.before_call().await;
        let mut conn = self.inner.conn.clone();
        let result = match before {
            Ok(deadline) => self.timed(deadline, inv.invoke_async(&mut conn)).await,
            Err(fault) => Err(fault),
        };
        self.after_call(None, &result);
        result
    }

    /// Run a call again as it was sent (the function was missing: it did not run); `tagged`
    /// is the call if it carries a request id.
    async fn eval_once(&self, call: &Call, tagged: Option<&Call>) -> Result<Vec<i64>, Fault> {
        let result = self.timed(self.deadline(), self.fcall(call)).await;
        self.after_call(tagged, &result);
        result
    }
}

/// A random 64-bit value: the standard library seeds each `RandomState` from the OS (no RNG
/// crate, no clock); the process id separates processes that share a seed source.
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(std::process::id());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unsent(e: std::io::ErrorKind) -> bool {
        match classify(RedisError::from(std::io::Error::from(e)), "redis://x") {
            Fault::Unavailable(o) => o.unsent,
            Fault::Fatal(f) => panic!("{e:?} is an outage, not {f}"),
        }
    }

    #[test]
    fn only_a_refused_connection_says_the_call_did_not_run() {
        assert!(unsent(std::io::ErrorKind::ConnectionRefused));
        // The call may have been written before these: its reply was lost.
        assert!(!unsent(std::io::ErrorKind::ConnectionReset));
        assert!(!unsent(std::io::ErrorKind::TimedOut));
    }
}
