//! Real processes on loopback: a stub upstream (`spillway emulate` on a generous provider)
//! and `spillway serve`, each killed when dropped.

use super::super::{temp_dir, workspace};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// The policy layer most serve tests use: 100 requests per user an hour (never the limit).
pub const PER_USER_100: &str =
    "  - { name: per-user, scope: user, algorithm: fixed-window, limit: 100, per: 1h }\n";

/// A whole streamed answer (an event, the usage chunk, `[DONE]`), after which the upstream
/// neither closes nor sends another byte (no last chunk of the chunked body).
pub const STREAM_WHOLE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n\
transfer-encoding: chunked\r\n\r\n\
30\r\ndata: {\"choices\":[{\"delta\":{\"content\":\"hi\"}}]}\n\n\r\n\
59\r\ndata: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2,\"total_tokens\":9}}\n\n\r\n\
e\r\ndata: [DONE]\n\n\r\n";

/// A policy file: a generous provider (the stub's), one policy `test` with the given layers
/// and upstream settings, and `extra` top-level YAML.
pub fn policy_file(name: &str, layers: &str, policy: &str, extra: &str) -> PathBuf {
    let dir = temp_dir(&format!("serve-{name}"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("policy.yaml");
    let yaml = format!(
        "duration: 1m\n\
provider:\n  name: stub\n  rpm: 1000000\n  tpm: 1000000000\n  concurrency: 1000\n  \
latency: {{ base: 5ms, per_output_token: 1ms }}\n  \
price: {{ input_usd_per_mtok: 0.15, output_usd_per_mtok: 0.60 }}\n\
traffic:\n  groups:\n    - {{ name: g, users: 1, class: interactive, arrival: {{ poisson: {{ rate: 1/min }} }}, \
input_tokens: {{ median: 10, sigma: 0 }}, output_tokens: {{ median: 10, sigma: 0 }} }}\n\
layers:\n{layers}\
policies:\n  - name: test\n    layers: [{names}]\n{policy}\
{extra}",
        names = layer_names(layers).join(", "),
    );
    std::fs::write(&file, yaml).expect("write policy");
    file
}

fn layer_names(layers: &str) -> Vec<String> {
    layers
        .lines()
        .filter_map(|l| l.split("name: ").nth(1))
        .map(|rest| rest.split([',', ' ', '}']).next().unwrap_or("").to_string())
        .collect()
}

/// A child process that serves HTTP; killed on drop.
pub struct Server {
    child: Child,
    /// `http://ADDR`.
    pub url: String,
    /// The thread reading its stderr, when it is kept ([`Server::serve_keeping_stderr`]).
    stderr: Option<std::thread::JoinHandle<String>>,
}

impl Server {
    /// Start `spillway ARGS` and wait for its banner line (`… http://ADDR …`).
    pub fn start(args: &[&str]) -> Server {
        Server::spawn(args, false)
    }

    /// Start `spillway ARGS`, its stderr kept for [`Server::stop_for_stderr`] (else it is the
    /// test's own).
    fn spawn(args: &[&str], keep_stderr: bool) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_spillway"))
            .args(args)
            .current_dir(workspace())
            .stdout(Stdio::piped())
            .stderr(if keep_stderr {
                Stdio::piped()
            } else {
                Stdio::inherit()
            })
            .spawn()
            .expect("starts");
        // Read as it comes, so that the child never blocks on a full pipe.
        let stderr = child.stderr.take().map(|mut pipe| {
            std::thread::spawn(move || {
                let mut text = String::new();
                let _ = std::io::Read::read_to_string(&mut pipe, &mut text);
                text
            })
        });
        let mut banner = String::new();
        let stdout = child.stdout.take().expect("piped");
        let mut reader = BufReader::new(stdout);
        reader.read_line(&mut banner).expect("a banner line");
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let addr = super::super::banner_addr(&banner);
        Server {
            child,
            url: format!("http://{addr}"),
            stderr,
        }
    }

    /// Kill it and return everything it wrote on stderr (kept by
    /// [`Server::serve_keeping_stderr`]; empty otherwise).
    pub fn stop_for_stderr(mut self) -> String {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.stderr
            .take()
            .map(|reader| reader.join().expect("the stderr reader"))
            .unwrap_or_default()
    }

    /// Stop it as an operator does (SIGTERM: it drains and shuts down), and return its stderr
    /// ([`serve_keeping_stderr`](Self::serve_keeping_stderr)).
    pub fn terminate_for_stderr(mut self) -> String {
        self.signal("-TERM");
        assert!(
            self.exit_status().is_some(),
            "serve did not stop on SIGTERM"
        );
        self.stop_for_stderr()
    }

    /// The stub upstream: `spillway emulate` on `policy`'s provider.
    pub fn stub(policy: &std::path::Path) -> Server {
        let file = policy.to_str().expect("utf-8");
        Server::start(&["emulate", "--profile", file, "--listen", "127.0.0.1:0"])
    }

    /// `spillway serve` of `policy` in front of `upstream`.
    pub fn serve(policy: &std::path::Path, upstream: &str) -> Server {
        Server::serve_with(policy, upstream, &[])
    }

    /// `spillway serve` with `extra` arguments.
    pub fn serve_with(policy: &std::path::Path, upstream: &str, extra: &[&str]) -> Server {
        Server::start(&serve_args(policy, upstream, extra))
    }

    /// `spillway serve` of `policy` in front of `upstream`, its stderr kept for
    /// [`Server::stop_for_stderr`].
    pub fn serve_keeping_stderr(policy: &std::path::Path, upstream: &str) -> Server {
        Server::serve_with_keeping_stderr(policy, upstream, &[])
    }

    /// [`Server::serve_keeping_stderr`] with `extra` arguments.
    pub fn serve_with_keeping_stderr(
        policy: &std::path::Path,
        upstream: &str,
        extra: &[&str],
    ) -> Server {
        Server::spawn(&serve_args(policy, upstream, extra), true)
    }

    /// Whether it is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Send `signal` (e.g. `-TERM`) to the process.
    pub fn signal(&self, signal: &str) {
        let sent = Command::new("kill")
            .args([signal, &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(sent.success());
    }

    /// Its exit status, waiting at most a few seconds.
    pub fn exit_status(&mut self) -> Option<std::process::ExitStatus> {
        for _ in 0..100 {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        None
    }
}

/// The arguments of `spillway serve` of `policy` in front of `upstream`, and `extra`.
fn serve_args<'a>(
    policy: &'a std::path::Path,
    upstream: &'a str,
    extra: &[&'a str],
) -> Vec<&'a str> {
    let file = policy.to_str().expect("utf-8");
    let mut args = vec![
        "serve",
        "--policy",
        file,
        "--upstream",
        upstream,
        "--listen",
        "127.0.0.1:0",
    ];
    args.extend_from_slice(extra);
    args
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A chat request body.
pub fn chat(max_tokens: u64, stream: bool) -> String {
    format!(
        r#"{{"model":"gpt-4o-mini","messages":[{{"role":"user","content":"hello there"}}],"max_tokens":{max_tokens},"stream":{stream},"stream_options":{{"include_usage":{stream}}}}}"#
    )
}

/// A small chat completion (3 output tokens) posted to the gateway at `url`.
pub async fn post_chat(client: &reqwest::Client, url: &str, stream: bool) -> reqwest::Response {
    client
        .post(format!("{url}/v1/chat/completions"))
        .body(chat(3, stream))
        .send()
        .await
        .expect("an answer")
}

/// The statuses of `each` small chat requests sent one after another to `url`, with
/// `headers` (e.g. an `authorization` key) on each.
pub async fn statuses(
    client: reqwest::Client,
    url: String,
    headers: &[(&str, &str)],
    each: usize,
) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..each {
        let mut req = client
            .post(format!("{url}/v1/chat/completions"))
            .body(chat(3, false));
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        let resp = req.send().await.expect("answer");
        statuses.push(resp.status().as_u16());
        let _ = resp.bytes().await;
    }
    statuses
}

/// The value of metric line `name{labels}` in a Prometheus text.
pub fn metric(text: &str, series: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// Poll `/metrics` until `done` holds (bounded: a few seconds), returning the last text.
pub async fn metrics_until(
    client: &reqwest::Client,
    url: &str,
    done: impl Fn(&str) -> bool,
) -> String {
    let mut text = String::new();
    for _ in 0..200 {
        text = client
            .get(format!("{url}/metrics"))
            .send()
            .await
            .expect("metrics")
            .text()
            .await
            .expect("text");
        if done(&text) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    text
}

/// A private `redis-server` on a free loopback port; killed on drop. `None` (after a loud
/// skip, or a failure under `SPILLWAY_REQUIRE_REDIS`) when the binary is absent.
pub struct Redis {
    child: Child,
    /// `redis://127.0.0.1:PORT`.
    pub url: String,
}

impl Redis {
    /// Start one and wait until it accepts connections.
    pub fn start() -> Option<Redis> {
        let present = Command::new("redis-server")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !present {
            spillway_testkit::skip_or_fail(
                "SPILLWAY_REQUIRE_REDIS",
                "redis-server not found: two `serve` replicas sharing one limit were not tested",
            );
            return None;
        }
        Some(Redis::start_on(free_port()))
    }

    /// Start one on `port` (redis-server must be present) and wait until it accepts.
    pub fn start_on(port: u16) -> Redis {
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn redis-server");
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Redis {
                    child,
                    url: format!("redis://127.0.0.1:{port}"),
                };
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("redis-server on port {port} did not start");
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Redis {
    /// Kill it now (an outage).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.stop();
    }
}

/// An upstream that reads each request, writes `reply` (maybe nothing, maybe the start of an
/// answer) and then holds the connection open without a further byte: a stalled provider.
pub struct Stalled {
    /// `http://ADDR`.
    pub url: String,
}

impl Stalled {
    /// Listen on a free loopback port; connections are held until the test process exits.
    pub fn start(reply: &'static [u8]) -> Stalled {
        Stalled::listen(reply, true)
    }

    /// An upstream that reads each request and closes the connection without a byte: the
    /// request went out, and the provider may have it, but no answer will come.
    pub fn dropping() -> Stalled {
        Stalled::listen(b"", false)
    }

    /// An upstream that reads each request, writes `reply` and closes the connection: with the
    /// start of an answer, an answer cut short.
    pub fn cut(reply: &'static [u8]) -> Stalled {
        Stalled::listen(reply, false)
    }

    fn listen(reply: &'static [u8], hold: bool) -> Stalled {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for mut conn in listener.incoming().flatten() {
                read_request(&mut conn);
                let _ = std::io::Write::write_all(&mut conn, reply);
                if hold {
                    held.push(conn);
                }
            }
        });
        Stalled { url }
    }
}

/// A loopback port whose accept queue is full: the kernel drops further SYNs, so a connect to
/// it hangs (until the connecting side's own timeout), as to a host that does not answer.
pub struct Unanswered {
    /// `http://ADDR`.
    pub url: String,
    _listener: tokio::net::TcpListener,
    _queued: Vec<std::net::TcpStream>,
}

impl Unanswered {
    /// Listen with a backlog of 0 and never accept; connect until a connect hangs.
    pub fn start() -> Unanswered {
        let socket = tokio::net::TcpSocket::new_v4().expect("socket");
        socket.bind(([127, 0, 0, 1], 0).into()).expect("bind");
        let listener = socket.listen(0).expect("listen");
        let addr = listener.local_addr().expect("addr");
        let mut queued = Vec::new();
        let wait = std::time::Duration::from_millis(200);
        while let Ok(conn) = std::net::TcpStream::connect_timeout(&addr, wait) {
            queued.push(conn);
            assert!(queued.len() < 64, "the accept queue never filled");
        }
        Unanswered {
            url: format!("http://{addr}"),
            _listener: listener,
            _queued: queued,
        }
    }
}

/// Read one HTTP request (head and a `content-length` body) from `conn`; `false` if the
/// connection ended (or broke) first.
pub fn read_request(conn: &mut std::net::TcpStream) -> bool {
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        let Ok(n) = std::io::Read::read(conn, &mut buf) else {
            return false;
        };
        if n == 0 {
            return false;
        }
        seen.extend_from_slice(&buf[..n]);
        let text = String::from_utf8_lossy(&seen).to_ascii_lowercase();
        let Some(end) = text.find("\r\n\r\n") else {
            continue;
        };
        let length = text
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if seen.len() >= end + 4 + length {
            return true;
        }
    }
}
