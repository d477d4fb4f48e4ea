//! A sliding log whose saturated total prunes to 0 while an entry remains is dropped; a commit
//! later in the same call then starts a new key, which must carry an expiry (the remembered
//! horizon belonged to the dropped key). Only the general path with `prune_first` and the room
//! reaches this (no Rust caller sends it today), so the call is sent raw.

use crate::server::{Server, connect, runtime};
use spillway_core::limit::{Algorithm, LimitSpec};
use spillway_core::{Duration, Time};
use spillway_redis::{MAX_COUNT, RedisLimiter};

#[test]
fn a_log_dropped_then_written_in_one_call_keeps_an_expiry() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    let window_ns = 1_000_000_000u64;
    let spec = LimitSpec {
        algorithm: Algorithm::SlidingLog,
        limit: 10,
        window: Duration::from_nanos(window_ns),
        burst: None,
    };
    let rt = runtime();
    rt.block_on(async {
        // Grace 1 s: the expiry set at 10 s holds (caller's time) until ~14 s.
        let store = connect(server.config()).await;
        let l = RedisLimiter::new(&store, "sat", spec).unwrap();
        // Two entries whose costs saturate the total at 2^53 - 1.
        l.commit("k", Time::from_nanos(10_000_000_000), MAX_COUNT)
            .await
            .unwrap();
        l.commit("k", Time::from_nanos(10_500_000_000), MAX_COUNT)
            .await
            .unwrap();
        let mut admin = server.admin();
        let name = server.function_name();
        // At 11.2 s the first entry expired: the total prunes to 0 with one entry left, the log
        // is dropped, then the admitted acquire writes it again. A caller with no grace (another
        // instance's configuration) finds the old horizon still holding.
        let nums: Vec<u8> = [0, 11, 200_000_000, 0, 1, 1, 10, window_ns, 1]
            .iter()
            .flat_map(|&n: &u64| (n as f64).to_le_bytes())
            .collect();
        let key = "spillway:sat:{k}";
        let _: redis::Value = redis::cmd("FCALL")
            .arg(&name)
            .arg(1)
            .arg(key)
            .arg("Al?")
            .arg(nums)
            .query(&mut admin)
            .unwrap();
        let len: i64 = redis::cmd("LLEN").arg(key).query(&mut admin).unwrap();
        assert_eq!(len, 1, "the dropped log holds the new entry alone");
        let pttl: i64 = redis::cmd("PTTL").arg(key).query(&mut admin).unwrap();
        assert!(pttl > 0, "{key} expires in {pttl} ms (-1: never)");
    });
}
