//! Cancellations are sent in chunks, each reply settling its own: a backlog bigger than one
//! chunk drains (before, one pipeline of everything could outlast the response timeout, time
//! out whole and be resent for ever), and one cancellation Redis refuses leaves the others of
//! its chunk delivered (before, the first error reply failed the whole pipeline). An acquire
//! surely never sent (a refused connection) queues no cancellation at all.

use crate::outage::store_with;
use crate::quiet_cancel::once;
use crate::server::{Server, runtime};
use crate::settle_outage::spec;
use spillway_core::Time;
use spillway_core::limit::Algorithm;
use spillway_redis::{FailurePolicy, RedisLimiter, Request, ServedBy};

const T: Time = Time::from_secs(100);

/// More than two chunks of 512.
const BACKLOG: u64 = 1_300;

/// Acquire `keys` (one each, at `T`) in one pipeline while Redis is stalled: the failure policy
/// answers, and once the stall ends every acquire runs (and charges) with its cancellation
/// queued.
async fn lost_then_landed(server: &Server, limiter: &RedisLimiter, keys: &[&str]) {
    let requests: Vec<Request<'_>> = keys
        .iter()
        .map(|key| Request {
            key,
            now: T,
            cost: 1,
        })
        .collect();
    let stall = server.stall();
    let lost = limiter.acquire_many(&requests).await.unwrap();
    assert!(lost.iter().all(|v| v.served_by == ServedBy::FailOpen));
    stall.resume();
}

#[test]
fn a_backlog_bigger_than_one_chunk_drains() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    runtime().block_on(async {
        let store = store_with(&server, FailurePolicy::FailOpen).await;
        let limiter = RedisLimiter::new(&store, "backlog", spec(Algorithm::TokenBucket)).unwrap();
        let keys: Vec<String> = (0..BACKLOG).map(|i| format!("k{i}")).collect();
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        lost_then_landed(&server, &limiter, &keys).await;
        let stats = once(&store, |s| s.cancels_delivered >= BACKLOG).await;
        let stats = stats.unwrap_or_else(|| panic!("never drained: {:?}", store.stats()));
        assert_eq!(
            (stats.cancels_delivered, stats.phantom_refunds),
            (BACKLOG, BACKLOG),
            "each delivered once, each refunding its landed acquire"
        );
        assert_eq!(store.flush_cancellations().await, 0, "nothing left");
    });
}

#[test]
fn one_refused_cancellation_leaves_the_rest_of_its_chunk_delivered() {
    let Some(server) = Server::start(&[]) else {
        return;
    };
    runtime().block_on(async {
        let store = store_with(&server, FailurePolicy::FailOpen).await;
        let limiter = RedisLimiter::new(&store, "mixed", spec(Algorithm::SlidingLog)).unwrap();
        // A list where key "bad"'s log should be: its acquire and its cancellation both get
        // WRONGTYPE; "good"'s are answered.
        let _: () = redis::cmd("RPUSH")
            .arg("spillway:mixed:{bad}")
            .arg("x")
            .query(&mut server.admin())
            .unwrap();
        lost_then_landed(&server, &limiter, &["good", "bad"]).await;
        let stats = once(&store, |s| s.cancels_delivered > 0).await;
        let stats = stats.unwrap_or_else(|| panic!("none delivered: {:?}", store.stats()));
        assert_eq!((stats.cancels_delivered, stats.phantom_refunds), (1, 1));
        // The refused one is kept (queued less than the dedupe ttl: it may yet clear).
        assert_eq!(store.flush_cancellations().await, 1);
        assert_eq!(store.stats().cancels_dropped, 0);
    });
}

#[test]
fn an_acquire_on_a_refused_connection_queues_no_cancellation() {
    let Some(mut server) = Server::start(&[]) else {
        return;
    };
    runtime().block_on(async {
        let store = store_with(&server, FailurePolicy::FailOpen).await;
        let limiter = RedisLimiter::new(&store, "refused", spec(Algorithm::TokenBucket)).unwrap();
        server.kill();
        // The first call may find the old connection dropped (its reply lost: queued).
        let v = limiter.acquire("k", T, 1).await.unwrap();
        assert_eq!(v.served_by, ServedBy::FailOpen);
        let after_first = store.flush_cancellations().await;
        for _ in 0..5 {
            let v = limiter.acquire("k", T, 1).await.unwrap();
            assert_eq!(v.served_by, ServedBy::FailOpen);
        }
        assert_eq!(
            store.flush_cancellations().await,
            after_first,
            "refused connections: nothing sent, nothing to cancel"
        );
    });
}
