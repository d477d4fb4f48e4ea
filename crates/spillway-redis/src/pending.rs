//! The cancellations of acquires whose reply was lost, waiting for Redis to answer again, and the
//! background task that delivers them when no call of the store's would.
//!
//! Every call sends the queued ones first, but a replica that goes quiet after an outage (its
//! traffic moved elsewhere, a batch job that ended) makes no next call: its lost acquires would
//! stay charged in Redis until their windows end, taking room from every other replica. So the
//! store also flushes in the background: a task sleeps on a [`Notify`] while the queue is empty
//! (no timer, no polling), and once woken tries after [`FIRST_RETRY`], doubling the pause up
//! to [`MAX_RETRY`] while Redis stays unavailable (each try costs at most one response timeout),
//! until the queue is empty. The first pause leaves a call that comes anyway (it flushes
//! first) the chance to deliver them, so the task only works for a quiet store.
//!
//! The task holds the store weakly and ends once the store is dropped (the drop wakes it), or
//! with the runtime (at `serve`'s shutdown).

use crate::stats::Counters;
use crate::wire::Call;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;

/// Most cancellations kept while Redis is away; past it the oldest are dropped (and counted).
const MAX_PENDING: usize = 100_000;

/// The background task's first pause after a cancellation is queued.
pub(crate) const FIRST_RETRY: std::time::Duration = std::time::Duration::from_millis(500);

/// Its longest pause between tries while Redis stays unavailable: well inside the 10 s a
/// cancellation stays exact ([`RedisConfig::dedupe_ttl`](crate::RedisConfig)'s default).
pub(crate) const MAX_RETRY: std::time::Duration = std::time::Duration::from_secs(2);

/// The queue, and how many of its calls a flush has taken and not yet delivered or put back.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    queued: Mutex<Vec<Call>>,
    in_flight: AtomicUsize,
    /// Wakes the background task (see the module docs).
    wake: Arc<Notify>,
}

/// Calls a flush took from the queue; give them back with [`Pending::done`] or
/// [`Pending::put_back`].
pub(crate) struct Taken(pub(crate) Vec<Call>);

impl Pending {
    fn lock(&self) -> MutexGuard<'_, Vec<Call>> {
        self.queued.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Everything queued, to send (counted as in flight until [`done`](Self::done) or
    /// [`put_back`](Self::put_back)); `None` when nothing is queued.
    pub(crate) fn take(&self) -> Option<Taken> {
        let mut queued = self.lock();
        if queued.is_empty() {
            return None;
        }
        self.in_flight.fetch_add(queued.len(), Ordering::Relaxed);
        Some(Taken(std::mem::take(&mut *queued)))
    }

    /// `taken` was delivered.
    pub(crate) fn done(&self, taken: Taken) {
        self.in_flight.fetch_sub(taken.0.len(), Ordering::Relaxed);
    }

    /// `taken` was not delivered (a cancel is idempotent: resending is safe); returns how many
    /// are left (queued and in flight elsewhere).
    pub(crate) fn put_back(&self, taken: Taken, stats: &Counters) -> usize {
        let n = taken.0.len();
        self.requeue(taken.0, stats);
        // After the requeue: a concurrent `left` never sees them nowhere.
        self.in_flight.fetch_sub(n, Ordering::Relaxed);
        self.left()
    }

    /// Queue the cancellations of acquires whose reply was just lost, and wake the task.
    pub(crate) fn queue(&self, calls: Vec<Call>, stats: &Counters) {
        if calls.is_empty() {
            return;
        }
        self.requeue(calls, stats);
        self.wake.notify_one();
    }

    /// How many a flush has taken and not yet delivered or put back (when none is queued: how
    /// many are left, without a second lock on every call's path).
    pub(crate) fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }

    /// How many are queued or being sent by some flush.
    pub(crate) fn left(&self) -> usize {
        let queued = self.lock().len();
        queued + self.in_flight.load(Ordering::Relaxed)
    }

    /// `calls` ahead of those queued since (they are older), keeping the newest
    /// [`MAX_PENDING`].
    fn requeue(&self, calls: Vec<Call>, stats: &Counters) {
        let mut queued = self.lock();
        let mut all = calls;
        all.append(&mut queued);
        let excess = all.len().saturating_sub(MAX_PENDING);
        all.drain(..excess);
        stats.dropped(excess);
        *queued = all;
    }

    /// What the background task waits on.
    pub(crate) fn waker(&self) -> Arc<Notify> {
        Arc::clone(&self.wake)
    }
}

impl Drop for Pending {
    /// The store is gone: the background task wakes, finds it gone and ends.
    fn drop(&mut self) {
        self.wake.notify_one();
    }
}

/// The background task: `flush` (the store's, through its weak handle) returns `None` once the
/// store is gone, else how many cancellations are left.
pub(crate) async fn flush_in_background<F, Fut>(wake: Arc<Notify>, mut flush: F)
where
    F: FnMut() -> Option<Fut>,
    Fut: Future<Output = usize>,
{
    loop {
        wake.notified().await;
        let mut pause = FIRST_RETRY;
        loop {
            tokio::time::sleep(pause).await;
            let Some(flushing) = flush() else {
                return;
            };
            if flushing.await == 0 {
                break;
            }
            pause = (pause * 2).min(MAX_RETRY);
        }
    }
}
