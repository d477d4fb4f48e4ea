//! A private `redis-server` per test: free loopback port, temp dir, no persistence.

use spillway_redis::{RedisConfig, RedisStore};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A running server; killed (and its dir removed) on drop.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
    extra: Vec<String>,
}

pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral loopback port");
    listener.local_addr().expect("local addr").port()
}

pub fn binary_present() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

impl Server {
    /// Start a server with extra arguments (e.g. `--requirepass x`), or `None` when the binary
    /// is absent and Redis is not required (after printing a loud skip notice).
    pub fn start(extra: &[&str]) -> Option<Server> {
        if !binary_present() {
            spillway_testkit::skip_or_fail(
                "SPILLWAY_REQUIRE_REDIS",
                "redis-server not found (install it, or set SPILLWAY_REQUIRE_REDIS=1 to make this a failure)",
            );
            return None;
        }
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("spillway-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the server's temp dir");
        let mut server = Server {
            child: None,
            port,
            dir,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        server.restart();
        Some(server)
    }

    /// (Re)start the server on the same port and wait until it answers.
    pub fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--dir", self.dir.to_str().expect("utf-8 temp dir")])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        self.child = Some(child);
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("redis-server on port {} did not start", self.port);
    }

    /// Kill the server (as a crash would).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
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

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
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
