//! Many clients on one key — tasks sharing a connection, tasks with their own connections, and
//! separate processes — admit exactly the limit, never more.

use crate::server::{Server, connect, runtime};
use spillway_core::limit::{Algorithm, LimitSpec};
use spillway_core::{Duration, Time};
use spillway_redis::{RedisConfig, RedisLimiter, Request, ServedBy};
use std::process::{Command, Stdio};

const CHILD_URL: &str = "SPILLWAY_REDIS_CHILD_URL";
const CHILD_ALGORITHM: &str = "SPILLWAY_REDIS_CHILD_ALGORITHM";
const ATTEMPTS_PER_CLIENT: u64 = 60;

fn spec(algorithm: Algorithm, limit: u64) -> LimitSpec {
    LimitSpec {
        algorithm,
        limit,
        window: Duration::from_secs(3600),
        burst: None,
    }
}

fn algorithm_named(name: &str) -> Algorithm {
    match name {
        "TokenBucket" => Algorithm::TokenBucket,
        "SlidingLog" => Algorithm::SlidingLog,
        _ => Algorithm::SlidingCounter,
    }
}

/// `ATTEMPTS_PER_CLIENT` acquires of cost 1 on the shared key at one instant; the count admitted.
async fn hammer(limiter: &RedisLimiter, batched: bool) -> u64 {
    let now = Time::from_secs(1_000);
    let verdicts = if batched {
        let requests: Vec<Request<'_>> = (0..ATTEMPTS_PER_CLIENT)
            .map(|_| Request {
                key: "shared",
                now,
                cost: 1,
            })
            .collect();
        limiter.acquire_many(&requests).await.expect("batch")
    } else {
        let mut out = Vec::new();
        for _ in 0..ATTEMPTS_PER_CLIENT {
            out.push(limiter.acquire("shared", now, 1).await.expect("acquire"));
        }
        out
    };
    assert!(verdicts.iter().all(|v| v.served_by == ServedBy::Redis));
    verdicts.iter().filter(|v| v.decision.is_allowed()).count() as u64
}

/// Entry point of the child processes spawned by `processes_and_tasks_admit_exactly_the_limit`;
/// without the child environment it has nothing to do.
#[test]
fn child_worker() {
    let (Ok(url), Ok(algorithm)) = (std::env::var(CHILD_URL), std::env::var(CHILD_ALGORITHM))
    else {
        return;
    };
    let admitted = runtime().block_on(async {
        // Generous timeouts: a loaded CI machine must not turn this into a failure-policy test.
        let mut config = RedisConfig::new(url);
        config.response_timeout = std::time::Duration::from_secs(5);
        config.connect_timeout = std::time::Duration::from_secs(5);
        let store = connect(config).await;
        let limiter =
            RedisLimiter::new(&store, "race", spec(algorithm_named(&algorithm), 100)).unwrap();
        hammer(&limiter, true).await
    });
    println!("\nADMITTED={admitted}");
}

fn spawn_child(url: &str, algorithm: Algorithm) -> std::process::Child {
    Command::new(std::env::current_exe().expect("test binary path"))
        .args([
            "--exact",
            "concurrency::child_worker",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD_URL, url)
        .env(CHILD_ALGORITHM, format!("{algorithm:?}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn a child test process")
}

fn admitted_by(child: std::process::Child) -> u64 {
    let out = child.wait_with_output().expect("child output");
    assert!(out.status.success(), "child failed: {:?}", out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find_map(|l| l.split_once("ADMITTED=").map(|(_, n)| n))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no ADMITTED line in child output: {text}"))
}

#[test]
fn processes_and_tasks_admit_exactly_the_limit() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let rt = runtime();
    for algorithm in [
        Algorithm::TokenBucket,
        Algorithm::SlidingLog,
        Algorithm::SlidingCounter,
    ] {
        let mut admin = server.admin();
        let _: () = redis::cmd("FLUSHALL").query(&mut admin).expect("flush");
        let children: Vec<_> = (0..3)
            .map(|_| spawn_child(&server.url(), algorithm))
            .collect();
        let in_process: u64 = rt.block_on(async {
            let shared = connect(server.config()).await;
            let own = connect(server.config()).await;
            let mut tasks = Vec::new();
            for i in 0..6 {
                let store = if i % 2 == 0 {
                    shared.clone()
                } else {
                    own.clone()
                };
                tasks.push(tokio::spawn(async move {
                    let limiter = RedisLimiter::new(&store, "race", spec(algorithm, 100)).unwrap();
                    hammer(&limiter, i % 3 == 0).await
                }));
            }
            let mut sum = 0;
            for t in tasks {
                sum += t.await.expect("task");
            }
            sum
        });
        let from_children: u64 = children.into_iter().map(admitted_by).sum();
        // 9 clients × 60 attempts = 540 for a limit of 100 within the window.
        assert_eq!(
            in_process + from_children,
            100,
            "{algorithm:?}: tasks {in_process}, processes {from_children}"
        );
    }
}
