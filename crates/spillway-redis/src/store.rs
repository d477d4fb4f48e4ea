//! The connection: one multiplexed connection (many requests in flight on one socket, pipelined by
//! the driver) behind a [`ConnectionManager`] that reconnects when Redis returns, the script
//! (EVALSHA, loaded again on NOSCRIPT), timeouts, and the split of errors into "unavailable" (the
//! failure policy answers) and the rest (returned as errors).

use crate::config::RedisConfig;
use crate::epoch::Epoch;
use crate::error::RedisLimitError;
use crate::stats::{Counters, StoreStats};
use crate::wire::Call;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, IntoConnectionInfo, RedisError, Script, ScriptInvocation, ServerErrorKind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Most cancellations kept while Redis is away; past it the oldest are dropped (and counted).
const MAX_PENDING: usize = 100_000;

/// The limiter script: every algorithm, any number of layers, one atomic call. Two files for
/// readability (the hot paths, then the general path), one script for Redis.
const SOURCE: &str = concat!(include_str!("lua/hot.lua"), include_str!("lua/general.lua"));

/// Why a call got no answer from the script.
#[derive(Debug)]
pub(crate) enum Fault {
    /// Redis is unreachable, restarting or slower than the response timeout: the failure policy
    /// answers. The text is for logs.
    Unavailable(String),
    /// Anything else: returned to the caller.
    Fatal(RedisLimitError),
}

/// A connection to Redis shared by every limiter built from it (cheap to clone).
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    conn: ConnectionManager,
    script: Script,
    config: RedisConfig,
    /// Request ids: `<instance>.<sequence>`, unique across instances and restarts.
    instance: u64,
    sequence: AtomicU64,
    /// Cancellations of acquires whose reply was lost, sent before the next call.
    pending: Mutex<Vec<Call>>,
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

fn classify(e: RedisError, url: &str) -> Fault {
    if is_auth(&e) {
        Fault::Fatal(RedisLimitError::Auth {
            url: url.to_owned(),
            detail: e.to_string(),
        })
    } else if is_unavailable(&e) {
        Fault::Unavailable(e.to_string())
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

fn invocation<'a>(script: &'a Script, call: &Call) -> ScriptInvocation<'a> {
    let mut inv = script.prepare_invoke();
    for k in &call.keys {
        inv.key(k);
    }
    let (mode, numbers, rid_ttl_ms) = call.args();
    inv.arg(mode).arg(numbers);
    if let Some(ttl) = rid_ttl_ms {
        inv.arg(ttl);
    }
    inv
}

impl RedisStore {
    /// Connect, authenticate and load the script. Errors: [`RedisLimitError::InvalidUrl`],
    /// [`RedisLimitError::Unreachable`] (also after `connect_timeout`),
    /// [`RedisLimitError::Auth`]. Once connected, outages are answered by the failure policy.
    pub async fn connect(config: RedisConfig) -> Result<Self, RedisLimitError> {
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
                Fault::Unavailable(detail) => unreachable(detail),
            })?;
        let fatal = |e| match classify(e, &url) {
            Fault::Fatal(fatal) => fatal,
            Fault::Unavailable(detail) => unreachable(detail),
        };
        // A PING first: an unauthenticated client sending the script (over 16 KB) gets a
        // protocol error from Redis instead of NOAUTH, which would hide a missing password.
        redis::cmd("PING")
            .query_async::<String>(&mut conn)
            .await
            .map_err(fatal)?;
        let script = Script::new(SOURCE);
        script
            .prepare_invoke()
            .load_async(&mut conn)
            .await
            .map_err(fatal)?;
        let epoch = Epoch::new(&config.prefix);
        epoch
            .check(&mut conn)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        Ok(RedisStore {
            inner: Arc::new(Inner {
                conn,
                script,
                config,
                instance: random_u64(),
                sequence: AtomicU64::new(0),
                pending: Mutex::new(Vec::new()),
                stats: Counters::default(),
                epoch,
            }),
        })
    }

    /// The configuration (prints with the password redacted).
    pub fn config(&self) -> &RedisConfig {
        &self.inner.config
    }

    async fn timed<T>(&self, fut: impl Future<Output = Result<T, RedisError>>) -> Result<T, Fault> {
        let limit = self.inner.config.response_timeout;
        match tokio::time::timeout(limit, fut).await {
            Ok(result) => result.map_err(|e| classify(e, &self.inner.config.redacted_url())),
            Err(_) => Err(Fault::Unavailable(format!("no reply within {limit:?}"))),
        }
    }

    /// Counters of faults, cancellations and lost state (see [`StoreStats`]).
    pub fn stats(&self) -> StoreStats {
        self.inner.stats.snapshot()
    }

    /// Send the queued cancellations of acquires whose reply was lost. Run before every call;
    /// public so that a caller can drain them (e.g. at shutdown, or a test before counting).
    /// Returns how many are still queued (Redis still unavailable).
    pub async fn flush_cancellations(&self) -> usize {
        let queued: Vec<Call> = std::mem::take(&mut *self.lock_pending());
        if queued.is_empty() {
            return 0;
        }
        let mut conn = self.inner.conn.clone();
        let mut pipe = redis::pipe();
        let invocations: Vec<ScriptInvocation<'_>> = queued
            .iter()
            .map(|c| invocation(&self.inner.script, c))
            .collect();
        for inv in &invocations {
            pipe.invoke_script(inv);
        }
        match self
            .timed(pipe.query_async::<Vec<Vec<i64>>>(&mut conn))
            .await
        {
            Ok(replies) => {
                self.inner.stats.cancelled(&replies);
                0
            }
            Err(_) => {
                // Not sent, or sent and lost: resending is safe (a cancel is idempotent).
                self.inner.stats.fault();
                self.requeue(queued)
            }
        }
    }

    fn lock_pending(&self) -> std::sync::MutexGuard<'_, Vec<Call>> {
        self.inner
            .pending
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn requeue(&self, calls: Vec<Call>) -> usize {
        let mut pending = self.lock_pending();
        let mut all = calls;
        all.append(&mut pending);
        let excess = all.len().saturating_sub(MAX_PENDING);
        all.drain(..excess);
        self.inner.stats.dropped(excess);
        *pending = all;
        pending.len()
    }

    /// Tag an acquire with a fresh request id (other calls are sent as they are).
    fn tagged(&self, call: &Call) -> Option<Call> {
        call.is_acquire().then(|| {
            let n = self.inner.sequence.fetch_add(1, Ordering::Relaxed);
            let ttl = self.inner.config.dedupe_ttl.as_millis();
            call.with_rid(
                &format!("{:x}.{n:x}", self.inner.instance),
                u64::try_from(ttl).unwrap_or(u64::MAX),
            )
        })
    }

    /// Before a call: drain queued cancellations, and after a fault check the state epoch.
    async fn before_call(&self) {
        self.flush_cancellations().await;
        if self.inner.stats.needs_epoch_check() {
            let mut conn = self.inner.conn.clone();
            let checked = tokio::time::timeout(
                self.inner.config.response_timeout,
                self.inner.epoch.check(&mut conn),
            )
            .await;
            match checked {
                Ok(Ok(lost)) => self.inner.stats.epoch_checked(lost),
                _ => self.inner.stats.fault(),
            }
        }
    }

    /// After a call: a lost reply of a tagged acquire queues its cancellation.
    fn after_call<T>(&self, tagged: Option<&Call>, result: &Result<T, Fault>) {
        if let Err(Fault::Unavailable(_)) = result {
            self.inner.stats.fault();
            if let Some(call) = tagged {
                self.requeue(vec![call.cancel()]);
            }
        }
    }

    /// Run one call (EVALSHA; on NOSCRIPT the driver loads the script and retries once: NOSCRIPT
    /// means the script did not run, and a tagged acquire is idempotent anyway).
    pub(crate) async fn eval(&self, call: &Call) -> Result<Vec<i64>, Fault> {
        self.before_call().await;
        let tagged = self.tagged(call);
        let sent = tagged.as_ref().unwrap_or(call);
        let mut conn = self.inner.conn.clone();
        let inv = invocation(&self.inner.script, sent);
        let result = self.timed(inv.invoke_async::<Vec<i64>>(&mut conn)).await;
        self.after_call(tagged.as_ref(), &result);
        result
    }

    /// Run many calls in one pipeline (one round trip). Calls that met NOSCRIPT (script cache
    /// flushed) are run again one by one after the script is reloaded; the others ran once.
    pub(crate) async fn eval_many(
        &self,
        calls: &[Call],
    ) -> Result<Vec<Result<Vec<i64>, Fault>>, Fault> {
        if calls.is_empty() {
            return Ok(Vec::new());
        }
        self.before_call().await;
        let tagged: Vec<Call> = calls
            .iter()
            .map(|c| self.tagged(c).unwrap_or_else(|| c.clone()))
            .collect();
        let mut conn = self.inner.conn.clone();
        let invocations: Vec<ScriptInvocation<'_>> = tagged
            .iter()
            .map(|c| invocation(&self.inner.script, c))
            .collect();
        let mut pipe = redis::pipe();
        for inv in &invocations {
            pipe.invoke_script(inv);
        }
        pipe.ignore_errors();
        let result: Result<Vec<redis::RedisResult<Vec<i64>>>, Fault> =
            self.timed(pipe.query_async(&mut conn)).await;
        if let Err(Fault::Unavailable(_)) = &result {
            self.inner.stats.fault();
            self.requeue(
                tagged
                    .iter()
                    .filter(|c| c.is_acquire())
                    .map(Call::cancel)
                    .collect(),
            );
        }
        let replies = result?;
        let mut out = Vec::with_capacity(replies.len());
        for (reply, call) in replies.into_iter().zip(&tagged) {
            out.push(match reply {
                Ok(v) => Ok(v),
                Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                    self.eval_once(call).await
                }
                Err(e) => Err(classify(e, &self.inner.config.redacted_url())),
            });
        }
        Ok(out)
    }

    /// Run another script of this crate (the shared budget's) on the shared connection, with
    /// the same timeouts and error split; NOSCRIPT loads it and runs it again.
    pub(crate) async fn run_script(&self, inv: ScriptInvocation<'_>) -> Result<Vec<i64>, Fault> {
        let mut conn = self.inner.conn.clone();
        let result = self.timed(inv.invoke_async::<Vec<i64>>(&mut conn)).await;
        if let Err(Fault::Unavailable(_)) = &result {
            self.inner.stats.fault();
        }
        result
    }

    /// Run an already tagged call again (after NOSCRIPT: it did not run).
    async fn eval_once(&self, call: &Call) -> Result<Vec<i64>, Fault> {
        let mut conn = self.inner.conn.clone();
        let inv = invocation(&self.inner.script, call);
        let result = self.timed(inv.invoke_async::<Vec<i64>>(&mut conn)).await;
        self.after_call(call.is_acquire().then_some(call), &result);
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
