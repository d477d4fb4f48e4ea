//! Server CPU per call (`INFO commandstats` `usec_per_call`, stats reset before each sample)
//! and sequential calls per second: Spillway's acquire against the peer scripts kept here and
//! a plain `INCR` (the round-trip floor), on the same server in one run. They take turns, `n`
//! sequential calls each per round, so that load drifting on a shared machine hits all of them
//! alike; the figures are per-subject medians over the rounds and the medians of the per-round
//! ratios. Spillway runs twice per algorithm: exact (the default: each acquire also writes a
//! request-id record, which the peers do not do) and without the record
//! (`RedisConfig::exact_accounting = false`, the peers' guarantee: like for like).

use super::{KEYS, spec};
use spillway_core::Time;
use spillway_core::limit::Algorithm;
use spillway_redis::{RedisLimiter, RedisStore};
use tokio::runtime::Runtime;

/// go-redis `redis_rate` (v10) `allowN`: GCRA with the TAT as a float of seconds since 2017,
/// written from its published algorithm; the peer for the token bucket's server CPU.
const REDIS_RATE_GCRA: &str = r#"
redis.replicate_commands()
local rate_limit_key = KEYS[1]
local burst = ARGV[1]
local rate = ARGV[2]
local period = ARGV[3]
local cost = tonumber(ARGV[4])
local emission_interval = period / rate
local increment = emission_interval * cost
local burst_offset = emission_interval * burst
local jan_1_2017 = 1483228800
local now = redis.call("TIME")
now = (now[1] - jan_1_2017) + (now[2] / 1000000)
local tat = redis.call("GET", rate_limit_key)
if not tat then tat = now else tat = tonumber(tat) end
tat = math.max(tat, now)
local new_tat = tat + increment
local allow_at = new_tat - burst_offset
local diff = now - allow_at
local remaining = diff / emission_interval
if remaining < 0 then
  local reset_after = tat - now
  local retry_after = diff * -1
  return {0, 0, tostring(retry_after), tostring(reset_after)}
end
local reset_after = new_tat - now
if reset_after > 0 then
  redis.call("SET", rate_limit_key, new_tat, "EX", math.ceil(reset_after))
end
local retry_after = -1
return {cost, remaining, tostring(retry_after), tostring(reset_after)}
"#;

/// A plain ZSET sliding log (score = instant in µs, one member per request): the peer for the
/// sliding log's server CPU.
const ZSET_SLIDING_LOG: &str = r#"
local key, now, window, limit = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
local n = redis.call('ZCARD', key)
if n < limit then
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, math.ceil(window / 1000))
  return {1, n + 1}
end
local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
return {0, n, oldest[2]}
"#;

/// What is measured: a Spillway acquire, a peer script (a GCRA one or the ZSET log), or `INCR`.
enum Under {
    Spillway(RedisLimiter),
    Peer { script: redis::Script, gcra: bool },
    Incr,
}

fn key(i: u64) -> String {
    format!("user{}", i % KEYS)
}

fn now(i: u64) -> Time {
    Time::from_nanos(1_800_000_000_000_000_000 + i * 1_000)
}

impl Under {
    /// Call number `i` (keys rotate, the caller's time advances 1 µs per call).
    async fn call(&self, admin: &redis::aio::ConnectionManager, i: u64) {
        match self {
            Under::Spillway(l) => {
                l.acquire(&key(i), now(i), 1).await.unwrap();
            }
            Under::Peer { script, gcra } => {
                let mut conn = admin.clone();
                let mut inv = script.prepare_invoke();
                // Named like Spillway's keys (`spillway:cpuTokenBucket:{user5}`), of similar length.
                let name = if *gcra {
                    "peerRedisRate"
                } else {
                    "peerZsetLog"
                };
                inv.key(format!("spillway:{name}:{{{}}}", key(i)));
                if *gcra {
                    inv.arg(1_000_000).arg(1_000_000).arg(1).arg(1);
                } else {
                    let us = now(i).as_nanos() / 1_000;
                    inv.arg(us)
                        .arg(1_000_000)
                        .arg(1_000_000)
                        .arg(format!("{us}-{i}"));
                }
                let _: redis::Value = inv.invoke_async(&mut conn).await.unwrap();
            }
            Under::Incr => {
                let mut conn = admin.clone();
                let _: i64 = redis::cmd("INCR")
                    .arg("bench:counter")
                    .query_async(&mut conn)
                    .await
                    .unwrap();
            }
        }
    }

    /// The `commandstats` entry that counts this subject's server time.
    fn stat(&self) -> &'static str {
        match self {
            Under::Incr => "cmdstat_incr:",
            Under::Spillway(_) => "cmdstat_fcall:",
            Under::Peer { .. } => "cmdstat_evalsha:",
        }
    }
}

/// One sample: server `usec_per_call` and wall time per sequential call (µs).
#[derive(Clone, Copy)]
struct Sample {
    server: f64,
    wall: f64,
}

/// Server and wall time per call over calls `from..from + n` of `under`.
#[allow(clippy::disallowed_methods)] // a benchmark measures wall time
fn sample(
    rt: &Runtime,
    admin: &redis::aio::ConnectionManager,
    under: &Under,
    from: u64,
    n: u64,
) -> Sample {
    let mut conn = admin.clone();
    rt.block_on(async {
        let _: () = redis::cmd("CONFIG")
            .arg("RESETSTAT")
            .query_async(&mut conn)
            .await
            .unwrap();
        let start = std::time::Instant::now();
        for i in from..from + n {
            under.call(admin, i).await;
        }
        let wall = start.elapsed().as_secs_f64() * 1e6 / n as f64;
        let stats: String = redis::cmd("INFO")
            .arg("commandstats")
            .query_async(&mut conn)
            .await
            .unwrap();
        let line = stats
            .lines()
            .find(|l| l.starts_with(under.stat()))
            .expect("the command in commandstats");
        let field = line
            .split(',')
            .find_map(|f| f.strip_prefix("usec_per_call="))
            .expect("usec_per_call");
        Sample {
            server: field.parse().expect("a number"),
            wall,
        }
    })
}

pub fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

/// The median over rounds of `of(a) / of(b)`, each ratio taken within one round.
fn median_ratio(a: &[Sample], b: &[Sample], of: impl Fn(&Sample) -> f64) -> f64 {
    median(a.iter().zip(b).map(|(x, y)| of(x) / of(y)).collect())
}

/// Spillway's acquire against its peer for both algorithms: `rounds` rounds of `n` calls each;
/// `loose` is a store without exact accounting (no request-id record).
pub fn server_cpu(
    rt: &Runtime,
    (store, loose): (&RedisStore, &RedisStore),
    admin: &redis::aio::ConnectionManager,
    rounds: u64,
    n: u64,
) {
    let spillway = |store: &RedisStore, algorithm: Algorithm| {
        let exact = if store.config().exact_accounting {
            ""
        } else {
            "NoRecord"
        };
        let name = format!("cpu{algorithm:?}{exact}");
        Under::Spillway(RedisLimiter::new(store, &name, spec(algorithm)).unwrap())
    };
    let peer = |source: &str, gcra: bool| Under::Peer {
        script: redis::Script::new(source),
        gcra,
    };
    let unders = [
        (
            "Spillway GCRA, exact (default)",
            spillway(store, Algorithm::TokenBucket),
        ),
        (
            "Spillway GCRA, no record",
            spillway(loose, Algorithm::TokenBucket),
        ),
        ("redis_rate GCRA (peer)", peer(REDIS_RATE_GCRA, true)),
        (
            "Spillway sliding log, exact (default)",
            spillway(store, Algorithm::SlidingLog),
        ),
        (
            "Spillway sliding log, no record",
            spillway(loose, Algorithm::SlidingLog),
        ),
        (
            "plain ZSET sliding log (peer)",
            peer(ZSET_SLIDING_LOG, false),
        ),
        ("INCR (floor)", Under::Incr),
    ];
    // Load every script once (a first EVALSHA meets NOSCRIPT) before anything is counted.
    for (_, under) in &unders {
        sample(rt, admin, under, 0, 1);
    }
    let mut samples = vec![Vec::new(); unders.len()];
    for round in 0..rounds {
        for (j, (_, under)) in unders.iter().enumerate() {
            samples[j].push(sample(rt, admin, under, 1 + round * n, n));
        }
    }
    let incr = unders.len() - 1;
    for (j, (name, _)) in unders.iter().enumerate() {
        let server: Vec<f64> = samples[j].iter().map(|s| s.server).collect();
        let (lo, hi) = server
            .iter()
            .fold((f64::MAX, 0f64), |(l, h), &x| (l.min(x), h.max(x)));
        let of_incr = median_ratio(&samples[incr], &samples[j], |s| s.wall);
        println!(
            "{name}: server usec_per_call median {:.2} (min {lo:.2}, max {hi:.2}); sequential {:.1} µs/call, {:.0} % of INCR's calls/s ({rounds} rounds x {n} calls)",
            median(server.clone()),
            median(samples[j].iter().map(|s| s.wall).collect()),
            100.0 * of_incr
        );
    }
    for (ours, theirs, what) in [
        (0, 2, "GCRA exact (does more than the peer)"),
        (1, 2, "GCRA no record (like for like)"),
        (3, 5, "sliding log exact (does more than the peer)"),
        (4, 5, "sliding log no record (like for like)"),
    ] {
        let ratio = median_ratio(&samples[ours], &samples[theirs], |s| s.server);
        println!("server cpu ratio {what} Spillway / peer: median {ratio:.2} over {rounds} rounds");
    }
}
