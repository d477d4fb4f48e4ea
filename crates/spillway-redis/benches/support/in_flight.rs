//! Calls per second with 64 in flight, pipelined (one `acquire_many` batch) or as 64 concurrent
//! tasks on the shared connection, next to `INCR` sent the same way (the floor). Like
//! `cpu.rs`, the subjects take turns within each round and the figures are medians over the
//! rounds, so a shared machine's drifting load hits them alike.

use super::cpu::median;
use super::{BATCH, KEYS, spec};
use spillway_core::Time;
use spillway_core::limit::Algorithm;
use spillway_redis::{RedisLimiter, RedisStore, Request};
use std::sync::Arc;
use tokio::runtime::Runtime;

/// What one batch of 64 is.
enum Batch {
    IncrPipeline,
    IncrTasks,
    AcquireMany(Arc<RedisLimiter>),
    AcquireTasks(Arc<RedisLimiter>),
}

fn now(i: u64) -> Time {
    Time::from_nanos(1_900_000_000_000_000_000 + i * 1_000)
}

impl Batch {
    /// Batch number `b` (keys rotate, the caller's time advances 1 µs per call).
    async fn run(&self, conn: &redis::aio::ConnectionManager, b: u64) {
        let first = b * BATCH as u64;
        let keys: Vec<String> = (first..first + BATCH as u64)
            .map(|i| format!("user{}", i % KEYS))
            .collect();
        match self {
            Batch::IncrPipeline => {
                let mut pipe = redis::pipe();
                for _ in 0..BATCH {
                    pipe.cmd("INCR").arg("bench:counter");
                }
                let _: Vec<i64> = pipe.query_async(&mut conn.clone()).await.unwrap();
            }
            Batch::AcquireMany(l) => {
                let requests: Vec<Request<'_>> = (first..)
                    .zip(&keys)
                    .map(|(i, key)| Request {
                        key,
                        now: now(i),
                        cost: 1,
                    })
                    .collect();
                l.acquire_many(&requests).await.unwrap();
            }
            Batch::IncrTasks | Batch::AcquireTasks(_) => {
                let mut set = tokio::task::JoinSet::new();
                for (i, key) in (first..).zip(keys) {
                    let (mut conn, limiter) = (conn.clone(), self.limiter());
                    set.spawn(async move {
                        match limiter {
                            Some(l) => drop(l.acquire(&key, now(i), 1).await.unwrap()),
                            None => drop(
                                redis::cmd("INCR")
                                    .arg("bench:counter")
                                    .query_async::<i64>(&mut conn)
                                    .await
                                    .unwrap(),
                            ),
                        }
                    });
                }
                set.join_all().await;
            }
        }
    }

    fn limiter(&self) -> Option<Arc<RedisLimiter>> {
        match self {
            Batch::AcquireTasks(l) => Some(l.clone()),
            _ => None,
        }
    }
}

/// Calls per second over batches `from..from + n`.
#[allow(clippy::disallowed_methods)] // a benchmark measures wall time
fn calls_per_s(
    rt: &Runtime,
    conn: &redis::aio::ConnectionManager,
    batch: &Batch,
    from: u64,
    n: u64,
) -> f64 {
    let start = std::time::Instant::now();
    rt.block_on(async {
        for b in from..from + n {
            batch.run(conn, b).await;
        }
    });
    (n * BATCH as u64) as f64 / start.elapsed().as_secs_f64()
}

/// Pipelined and concurrent calls per second: `rounds` rounds of `n` batches per subject.
pub fn in_flight(
    rt: &Runtime,
    store: &RedisStore,
    conn: &redis::aio::ConnectionManager,
    rounds: u64,
    n: u64,
) {
    let limiter =
        |name: &str, algorithm| Arc::new(RedisLimiter::new(store, name, spec(algorithm)).unwrap());
    let subjects = [
        ("64 pipelined: INCR (floor)", Batch::IncrPipeline),
        (
            "64 pipelined: acquire_many, GCRA",
            Batch::AcquireMany(limiter("manyGcra", Algorithm::TokenBucket)),
        ),
        (
            "64 pipelined: acquire_many, sliding log",
            Batch::AcquireMany(limiter("manyLog", Algorithm::SlidingLog)),
        ),
        ("64 concurrent tasks: INCR (floor)", Batch::IncrTasks),
        (
            "64 concurrent tasks: acquire, GCRA",
            Batch::AcquireTasks(limiter("tasksGcra", Algorithm::TokenBucket)),
        ),
        (
            "64 concurrent tasks: acquire, sliding log",
            Batch::AcquireTasks(limiter("tasksLog", Algorithm::SlidingLog)),
        ),
    ];
    let mut samples = vec![Vec::new(); subjects.len()];
    for round in 0..rounds {
        for (j, (_, batch)) in subjects.iter().enumerate() {
            samples[j].push(calls_per_s(rt, conn, batch, round * n, n));
        }
    }
    for (j, (name, _)) in subjects.iter().enumerate() {
        // The floor of a subject: INCR sent the same way, same round.
        let floor = if j < 3 { 0 } else { 3 };
        let share = median(
            samples[j]
                .iter()
                .zip(&samples[floor])
                .map(|(s, f)| s / f)
                .collect(),
        );
        println!(
            "{name}: {:.1} k calls/s median, {:.0} % of its INCR floor ({rounds} rounds x {n} batches)",
            median(samples[j].clone()) / 1e3,
            100.0 * share
        );
    }
}
