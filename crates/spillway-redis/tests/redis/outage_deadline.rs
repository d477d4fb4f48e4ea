//! During an outage the failure policy answers a call within one response timeout: the
//! cancellations sent before it, the epoch check after a fault and the call itself share it
//! (before, each had its own: up to three timeouts). A call whose turn comes after the
//! timeout is not sent at all, so it queues no cancellation either.

use crate::server::{Server, connect, runtime};
use crate::settle_outage::spec;
use spillway_core::Time;
use spillway_core::limit::Algorithm;
use spillway_redis::{FailurePolicy, RedisLimiter, ServedBy};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_millis(500);

#[test]
fn a_stalled_redis_is_answered_by_the_policy_within_one_response_timeout() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    runtime().block_on(async {
        let mut config = server.config();
        config.failure_policy = FailurePolicy::FailOpen;
        config.response_timeout = TIMEOUT;
        let store = connect(config).await;
        let limiter = RedisLimiter::new(&store, "deadline", spec(Algorithm::TokenBucket)).unwrap();
        let t = Time::from_secs(100);
        let stall = server.stall();
        // Its reply is lost: a fault (an epoch check is due) and a cancellation queued.
        let first = limiter.acquire("k", t, 1).await.unwrap();
        assert_eq!(first.served_by, ServedBy::FailOpen);
        // Now a cancellation and an epoch check come before the call, all unanswered.
        let started = tokio::time::Instant::now();
        let second = limiter.acquire("k", t, 1).await.unwrap();
        let took = started.elapsed();
        assert_eq!(second.served_by, ServedBy::FailOpen);
        assert!(took < 2 * TIMEOUT, "answered after {took:?}");
        // The second acquire was never sent: only the first one's cancellation is queued.
        assert_eq!(store.flush_cancellations().await, 1);
        stall.resume();
    });
}
