//! A cancellation Redis refuses (an error reply, not an outage: here OOM) is not retried for
//! ever: once it has been queued longer than the dedupe ttl, the refusal drops it and counts it
//! in `cancels_dropped`. (Before: put back on every error, retried by the background task every
//! 2 s and resent before every call, for as long as the refusal lasted.)

use crate::quiet_cancel::once;
use crate::server::{Server, connect, runtime};
use crate::settle_outage::spec;
use spillway_core::Time;
use spillway_core::limit::Algorithm;
use spillway_redis::{FailurePolicy, RedisLimiter, ServedBy};

#[test]
fn a_cancellation_refused_past_the_dedupe_ttl_is_dropped_and_counted() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    runtime().block_on(async {
        let mut config = server.config();
        config.failure_policy = FailurePolicy::FailOpen;
        config.response_timeout = std::time::Duration::from_millis(200);
        // Every refusal comes after the ttl: the first one drops it.
        config.dedupe_ttl = std::time::Duration::from_millis(1);
        let store = connect(config).await;
        let limiter = RedisLimiter::new(&store, "refused", spec(Algorithm::TokenBucket)).unwrap();
        let stall = server.stall();
        let lost = limiter.acquire("k", Time::from_secs(100), 1).await.unwrap();
        assert_eq!(lost.served_by, ServedBy::FailOpen);
        // Redis now refuses every write (the held acquire too, and the cancellation).
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg("maxmemory")
            .arg("1")
            .query(&mut server.admin())
            .expect("CONFIG SET maxmemory");
        stall.resume();
        // Bounded wait (no call of ours: the background task sends it).
        let stats = once(&store, |s| s.cancels_dropped > 0).await;
        assert_eq!(
            stats.map(|s| s.cancels_dropped),
            Some(1),
            "{:?}",
            store.stats()
        );
        assert_eq!(
            store.flush_cancellations().await,
            0,
            "nothing left to resend"
        );
    });
}
