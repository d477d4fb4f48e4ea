//! A private `redis-server` per test (spillway-testkit's [`RedisProcess`]: free loopback port,
//! temp dir, no persistence), with what these tests do to it: connect, inspect, stall.

use spillway_redis::{RedisConfig, RedisStore};
use spillway_testkit::redis_server::RedisProcess;

/// A running server; killed (and its dir removed) on drop.
pub struct Server {
    process: RedisProcess,
    pub port: u16,
}

impl Server {
    /// Start a server with extra arguments (e.g. `--requirepass x`), or `None` when the binary
    /// is absent and Redis is not required (after printing a loud skip notice).
    pub fn start(extra: &[&str]) -> Option<Server> {
        let process = RedisProcess::start(extra, "spillway-redis against a real Redis")?;
        let port = process.port();
        Some(Server { process, port })
    }

    /// (Re)start the server on the same port and wait until it answers.
    pub fn restart(&mut self) {
        self.process.restart();
    }

    /// Kill the server (as a crash would).
    pub fn kill(&mut self) {
        self.process.kill();
    }

    pub fn url(&self) -> String {
        self.process.url()
    }

    /// A config for this server with a long grace (keys outlive any test).
    pub fn config(&self) -> RedisConfig {
        let mut c = RedisConfig::new(self.url());
        c.expiry_grace = spillway_core::Duration::from_secs(3600);
        c.response_timeout = std::time::Duration::from_secs(2);
        c.connect_timeout = std::time::Duration::from_secs(1);
        c
    }

    /// A plain synchronous connection for inspection (DBSIZE, planting bad data).
    pub fn admin(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .expect("client")
            .get_connection()
            .expect("admin connection")
    }

    /// The loaded library's function name (`spillway_<hash>`), from `FUNCTION LIST`, for raw
    /// calls that no Rust caller sends.
    pub fn function_name(&self) -> String {
        let list: redis::Value = redis::cmd("FUNCTION")
            .arg("LIST")
            .query(&mut self.admin())
            .expect("FUNCTION LIST");
        function_name(&list).expect("the library is loaded")
    }

    /// Stall Redis until the test says so: [`Stall::resume`] (or dropping the guard). Every
    /// limiter call sent meanwhile gets no reply (the store's response timeout answers with the
    /// failure policy) and runs when the stall ends; see [`Stall`] for why that is race-free.
    pub fn stall(&self) -> Stall {
        let mut admin = self.admin();
        let _: () = redis::cmd("CLIENT")
            .arg("PAUSE")
            .arg(STALL_CAP_MS)
            .arg("WRITE")
            .query(&mut admin)
            .expect("CLIENT PAUSE WRITE");
        Stall { admin: Some(admin) }
    }

    pub fn dbsize(&self) -> i64 {
        redis::cmd("DBSIZE")
            .query(&mut self.admin())
            .expect("DBSIZE")
    }
}

/// How long a [`Stall`] could last if nobody resumed it: far beyond any test (a guard always
/// resumes it, on drop too); `CLIENT PAUSE` needs some bound.
const STALL_CAP_MS: u64 = 120_000;

/// Redis stalled by `CLIENT PAUSE <cap> WRITE` from an admin connection, until
/// [`resume`](Stall::resume) sends `CLIENT UNPAUSE` (dropping the guard does too).
///
/// Race-free: the stall ends when the test ends it, never on a clock. `CLIENT PAUSE` has taken
/// effect when its `OK` arrives, and from then Redis holds every write command (`FCALL`,
/// `EVAL`: every limiter, cancellation and budget call) unanswered, in order per connection,
/// however late the test thread runs; a held client's later commands (an epoch `GET`) wait
/// behind it. `CLIENT UNPAUSE` is not a write, so it is not held (a `PAUSE ... ALL` would hold
/// it too, on redis-server 7.0.15, even from the pausing connection). After it the held
/// commands run and reply: a call whose reply the store's timeout gave up on still runs,
/// since a response timeout does not drop the store's connection (redis-rs reconnects only on
/// an unrecoverable error; a held client that disconnects would lose its command, which
/// `settle_outage.rs`'s landed-then-refunded count would show). Reads from other connections
/// (a `PING`) are still answered.
#[must_use = "Redis stays stalled until the guard is resumed or dropped"]
pub struct Stall {
    admin: Option<redis::Connection>,
}

impl Stall {
    /// End the stall: the held calls run now, in the order they were sent.
    pub fn resume(mut self) {
        let mut admin = self.admin.take().expect("resumed once");
        unpause(&mut admin).expect("CLIENT UNPAUSE");
    }
}

impl Drop for Stall {
    /// A test that panicked mid-stall still frees Redis for the server's other users.
    fn drop(&mut self) {
        if let Some(admin) = &mut self.admin {
            let _ = unpause(admin);
        }
    }
}

fn unpause(admin: &mut redis::Connection) -> redis::RedisResult<()> {
    redis::cmd("CLIENT").arg("UNPAUSE").query(admin)
}

fn function_name(value: &redis::Value) -> Option<String> {
    match value {
        redis::Value::BulkString(b) if b.starts_with(b"spillway_") => {
            Some(String::from_utf8_lossy(b).into_owned())
        }
        redis::Value::Array(items) => items.iter().find_map(function_name),
        redis::Value::Map(pairs) => pairs
            .iter()
            .find_map(|(k, v)| function_name(k).or_else(|| function_name(v))),
        _ => None,
    }
}

/// A current-thread runtime for sync tests.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

pub async fn connect(config: RedisConfig) -> RedisStore {
    RedisStore::connect(config)
        .await
        .expect("connect to the test server")
}
