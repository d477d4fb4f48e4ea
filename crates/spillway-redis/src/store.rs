//! The connection: one multiplexed connection (many requests in flight on one socket, pipelined by
//! the driver) behind a [`ConnectionManager`] that reconnects when Redis returns, the script
//! (EVALSHA, loaded again on NOSCRIPT), timeouts, and the split of errors into "unavailable" (the
//! failure policy answers) and the rest (returned as errors).

use crate::config::RedisConfig;
use crate::error::RedisLimitError;
use crate::wire::{Arg, Call};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{ErrorKind, IntoConnectionInfo, RedisError, Script, ScriptInvocation, ServerErrorKind};
use std::sync::Arc;

/// The limiter script: every algorithm, any number of layers, one atomic call.
const SOURCE: &str = include_str!("lua/limiter.lua");

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
    for a in &call.args {
        match a {
            Arg::Num(n) => inv.arg(*n),
            Arg::Text(t) => inv.arg(*t),
        };
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
        let script = Script::new(SOURCE);
        script
            .prepare_invoke()
            .load_async(&mut conn)
            .await
            .map_err(|e| match classify(e, &url) {
                Fault::Fatal(fatal) => fatal,
                Fault::Unavailable(detail) => unreachable(detail),
            })?;
        Ok(RedisStore {
            inner: Arc::new(Inner {
                conn,
                script,
                config,
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

    /// Run one call (EVALSHA; on NOSCRIPT the driver loads the script and retries once).
    pub(crate) async fn eval(&self, call: &Call) -> Result<Vec<i64>, Fault> {
        let mut conn = self.inner.conn.clone();
        let inv = invocation(&self.inner.script, call);
        self.timed(inv.invoke_async::<Vec<i64>>(&mut conn)).await
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
        let mut conn = self.inner.conn.clone();
        let invocations: Vec<ScriptInvocation<'_>> = calls
            .iter()
            .map(|c| invocation(&self.inner.script, c))
            .collect();
        let mut pipe = redis::pipe();
        for inv in &invocations {
            pipe.invoke_script(inv);
        }
        pipe.ignore_errors();
        let replies: Vec<redis::RedisResult<Vec<i64>>> =
            self.timed(pipe.query_async(&mut conn)).await?;
        let mut out = Vec::with_capacity(replies.len());
        for (reply, call) in replies.into_iter().zip(calls) {
            out.push(match reply {
                Ok(v) => Ok(v),
                Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                    self.eval(call).await
                }
                Err(e) => Err(classify(e, &self.inner.config.redacted_url())),
            });
        }
        Ok(out)
    }
}
