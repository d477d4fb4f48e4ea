//! A private `redis-server` process for a test: a free loopback port, its own temp dir, no
//! persistence unless the arguments ask for it; killed (and its dir removed) on drop. One
//! helper, so every suite that needs a real Redis starts, kills and restarts it alike.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A running `redis-server`; see the module docs.
pub struct RedisProcess {
    child: Option<Child>,
    port: u16,
    dir: PathBuf,
    extra: Vec<String>,
}

/// Whether a `redis-server` binary runs here.
pub fn binary_present() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A loopback port nothing listens on now.
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral loopback port");
    listener.local_addr().expect("local addr").port()
}

impl RedisProcess {
    /// Start one with `extra` arguments (e.g. `--appendonly yes`), or `None` when the binary is
    /// absent, after [`skip_or_fail`](crate::skip_or_fail) on `SPILLWAY_REQUIRE_REDIS` with
    /// `untested` (what goes untested) as the reason.
    pub fn start(extra: &[&str], untested: &str) -> Option<RedisProcess> {
        if !binary_present() {
            let reason = format!("redis-server not found: {untested} not tested");
            crate::skip_or_fail("SPILLWAY_REQUIRE_REDIS", &reason);
            return None;
        }
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("spillway-redis-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the server's temp dir");
        let mut server = RedisProcess {
            child: None,
            port,
            dir,
            extra: extra.iter().map(|s| s.to_string()).collect(),
        };
        server.restart();
        Some(server)
    }

    /// (Re)start the server on the same port and dir, and wait until it accepts connections.
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
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        panic!("redis-server on port {} did not start", self.port);
    }

    /// Kill the server (as a crash would: SIGKILL).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Its loopback port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:PORT/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }
}

impl Drop for RedisProcess {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
