//! The task that applies a shared budget's settlements and releases in Redis, in order.
//!
//! Why retry, and for how long: a settle that is dropped books nothing although the provider
//! billed the call (the budget overspends); a release that is dropped keeps its estimate
//! reserved until the lease lapses (the budget refuses more than it must). So a failed call
//! is retried with backoff for as long as retrying stays idempotent: Redis remembers a
//! finished request for the store's `dedupe_ttl`, and a settle retried after that record went
//! could book twice. Past that horizon it is given up and counted
//! (`spillway_budget_settles_given_up_total`).
//!
//! At shutdown the server closes the settler ([`Closer::close`]): what is queued is still
//! applied, within a bound, before the runtime (and this task) goes away.

use spillway_core::Time;
use spillway_core::budget::SharedAccount;
use spillway_redis::RedisBudget;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

/// First wait before a retry (doubled each time, up to [`MAX_BACKOFF`]).
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Kept between the retry horizon and the end of Redis' memory of a finished request.
const MARGIN: Duration = Duration::from_secs(1);

/// A settlement or release to apply in Redis, at the engine's `now` (wall clock).
#[derive(Debug)]
pub struct Finish {
    /// When the call ended (its period).
    pub now: Time,
    /// The request's number (its Redis request id).
    pub tag: u64,
    /// Actual cost to book (0 for a release).
    pub actual: u64,
    /// The accounts it charged.
    pub accounts: Vec<SharedAccount>,
}

/// What the task and its owners share.
#[derive(Debug, Default)]
struct Tracker {
    gave_up: AtomicU64,
    closing: AtomicBool,
    wake: Notify,
    handle: Mutex<Option<JoinHandle<()>>>,
}

/// The queue into the settle task.
#[derive(Debug)]
pub struct Settler {
    queue: mpsc::UnboundedSender<Finish>,
    tracker: Arc<Tracker>,
}

/// Closes a [`Settler`] at shutdown.
#[derive(Debug)]
pub struct Closer(Arc<Tracker>);

impl Settler {
    /// Spawn the task (call inside tokio); `remembered` is how long Redis remembers a
    /// finished request (the store's `dedupe_ttl`).
    pub fn start(redis: Arc<RedisBudget>, remembered: Duration) -> Self {
        let (queue, rx) = mpsc::unbounded_channel();
        let tracker = Arc::new(Tracker::default());
        let horizon = remembered.saturating_sub(MARGIN).max(FIRST_BACKOFF);
        let handle = tokio::spawn(run(redis, rx, tracker.clone(), horizon));
        *tracker
            .handle
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(handle);
        Settler { queue, tracker }
    }

    /// Queue `finish`.
    pub fn send(&self, finish: Finish) {
        let _ = self.queue.send(finish);
    }

    /// Settlements and releases given up so far.
    pub fn gave_up(&self) -> u64 {
        self.tracker.gave_up.load(Ordering::Relaxed)
    }

    /// What closes it at shutdown.
    pub fn closer(&self) -> Closer {
        Closer(self.tracker.clone())
    }
}

impl Closer {
    /// Apply what is queued and stop, waiting at most `within`; `false` if that was not
    /// enough (what is left is lost with the process).
    pub async fn close(self, within: Duration) -> bool {
        self.0.closing.store(true, Ordering::Release);
        self.0.wake.notify_one();
        let handle = self
            .0
            .handle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        let Some(handle) = handle else {
            return true;
        };
        tokio::time::timeout(within, handle).await.is_ok()
    }
}

async fn run(
    redis: Arc<RedisBudget>,
    mut queue: mpsc::UnboundedReceiver<Finish>,
    tracker: Arc<Tracker>,
    horizon: Duration,
) {
    while !tracker.closing.load(Ordering::Acquire) {
        tokio::select! {
            f = queue.recv() => match f {
                Some(f) => apply(&redis, &f, &tracker, horizon).await,
                None => return, // every sender is gone: nothing more can come
            },
            // A close while applying left a permit: this wakes at once.
            () = tracker.wake.notified() => {}
        }
    }
    // Closing: what was queued before the server stopped.
    while let Ok(f) = queue.try_recv() {
        apply(&redis, &f, &tracker, horizon).await;
    }
}

/// Apply `f`, retrying with backoff within `horizon` of the first try; counted if given up.
async fn apply(redis: &RedisBudget, f: &Finish, tracker: &Tracker, horizon: Duration) {
    let rid = redis.request_id(f.tag);
    let started = tokio::time::Instant::now();
    let mut backoff = FIRST_BACKOFF;
    loop {
        let done = if f.actual > 0 {
            redis.settle(f.now, &rid, f.actual, &f.accounts).await
        } else {
            redis.release(f.now, &rid, &f.accounts).await
        };
        if done.is_ok() {
            return;
        }
        if started.elapsed().saturating_add(backoff) > horizon {
            tracker.gave_up.fetch_add(1, Ordering::Relaxed);
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = backoff.saturating_mul(2).min(MAX_BACKOFF);
    }
}
