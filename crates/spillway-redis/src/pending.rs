//! The cancellations of acquires whose reply was lost, waiting for Redis to answer again, and the
//! background task that delivers them when no call of the store's would.
//!
//! Only an acquire that may have run queues one: a lost reply (a timeout, a connection dropped
//! after sending), never a refused connection or an error reply (nothing was charged).
//!
//! Every call sends a chunk of the queued ones first (at most one [`CHUNK`], so a call waits for
//! one chunk at most), but a replica that goes quiet after an outage (its traffic moved
//! elsewhere, a batch job that ended) makes no next call: its lost acquires would stay charged in
//! Redis until their windows end, taking room from every other replica. So the store also
//! flushes in the background: a task sleeps on a [`Notify`] while the queue is empty (no timer,
//! no polling), and once woken tries after [`FIRST_RETRY`], doubling the pause up to
//! [`MAX_RETRY`] while Redis stays unavailable (each try costs at most one response timeout),
//! until the queue is empty, chunk after chunk. The first pause leaves a call that comes anyway
//! (it flushes first) the chance to deliver them, so the task only works for a quiet store.
//!
//! Each reply of a chunk settles its own cancellation. One Redis refused (an error reply, not an
//! outage: NOPERM, OOM, WRONGTYPE) is put back too, for a refusal may clear (memory freed, an
//! ACL fixed) and a cancel is idempotent; but once queued longer than the dedupe ttl a refusal
//! drops it (counted in [`StoreStats::cancels_dropped`](crate::StoreStats)): a refusal that
//! never clears would otherwise be retried every [`MAX_RETRY`] and resent before every call for
//! ever. By then the acquire's request-id record (token buckets, counters, mixed layers) has
//! expired and the cancellation would refund nothing; only a sliding log's entry can outlive it,
//! a refund lost to a Redis that keeps refusing. An outage (no answer) drops none: Redis may come
//! back, and [`MAX_PENDING`] bounds the queue.
//!
//! The task holds the store weakly and ends once the store is dropped (the drop wakes it), or
//! with the runtime (at `serve`'s shutdown).

use crate::stats::Counters;
use crate::wire::Call;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use tokio::sync::Notify;
use tokio::time::Instant;

/// Most cancellations kept while Redis is away; past it the oldest are dropped (and counted).
const MAX_PENDING: usize = 100_000;

/// Most cancellations sent in one pipeline: a few milliseconds of Redis work (it runs on the
/// order of 100 k pipelined calls a second), so a chunk is answered well within a response
/// timeout (250 ms default). A backlog sent whole could take longer than that, time out whole
/// and be resent for ever; in chunks, each one delivered is done.
pub(crate) const CHUNK: usize = 512;

/// The background task's first pause after a cancellation is queued.
pub(crate) const FIRST_RETRY: std::time::Duration = std::time::Duration::from_millis(500);

/// Its longest pause between tries while Redis stays unavailable: well inside the 10 s a
/// cancellation stays exact ([`RedisConfig::dedupe_ttl`](crate::RedisConfig)'s default).
pub(crate) const MAX_RETRY: std::time::Duration = std::time::Duration::from_secs(2);

/// The queue, and how many of its calls a flush has taken and not yet delivered or put back.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    state: Mutex<State>,
    /// Wakes the background task (see the module docs).
    wake: Arc<Notify>,
}

/// Both counts under one lock, so that a reader sees every cancellation either queued or in
/// flight, never in neither (an in-flight count kept beside the lock once let the background
/// task take the queue for empty and go idle while a put-back was requeueing).
#[derive(Debug, Default)]
struct State {
    queued: Vec<Queued>,
    in_flight: usize,
}

impl State {
    fn left(&self) -> usize {
        self.queued.len() + self.in_flight
    }

    /// `calls` ahead of those queued since (they are older), keeping the newest
    /// [`MAX_PENDING`].
    fn requeue(&mut self, calls: Vec<Queued>, stats: &Counters) {
        let mut all = calls;
        all.append(&mut self.queued);
        let excess = all.len().saturating_sub(MAX_PENDING);
        all.drain(..excess);
        stats.dropped(excess);
        self.queued = all;
    }
}

/// A cancellation and when it was queued (on the runtime's clock).
#[derive(Debug)]
struct Queued {
    call: Call,
    at: Instant,
}

/// Calls a flush took from the queue; give them back with [`Pending::done`] or
/// [`Pending::put_back`].
pub(crate) struct Taken(Vec<Queued>);

impl Taken {
    /// The cancellations to send.
    pub(crate) fn calls(&self) -> impl Iterator<Item = &Call> {
        self.0.iter().map(|q| &q.call)
    }

    /// Split by each call's position (in [`calls`](Self::calls) order): those `pick` selects,
    /// then the rest; so that each reply of a pipeline settles its own cancellation.
    pub(crate) fn split(self, mut pick: impl FnMut(usize) -> bool) -> (Taken, Taken) {
        let (mut picked, mut rest) = (Vec::new(), Vec::new());
        for (i, q) in self.0.into_iter().enumerate() {
            if pick(i) {
                picked.push(q)
            } else {
                rest.push(q)
            }
        }
        (Taken(picked), Taken(rest))
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Pending {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The oldest [`CHUNK`] queued (or all, if fewer), to send (counted as in flight until
    /// [`done`](Self::done) or [`put_back`](Self::put_back)); when nothing is queued, how many
    /// another flush is sending.
    pub(crate) fn take(&self) -> Result<Taken, usize> {
        let mut state = self.lock();
        if state.queued.is_empty() {
            return Err(state.in_flight);
        }
        let n = state.queued.len().min(CHUNK);
        state.in_flight += n;
        Ok(Taken(state.queued.drain(..n).collect()))
    }

    /// `taken` was delivered.
    pub(crate) fn done(&self, taken: Taken) {
        self.lock().in_flight -= taken.0.len();
    }

    /// `taken` was not delivered (a cancel is idempotent: resending is safe), except those
    /// queued before `expired` (when given), dropped and counted; returns how many are left
    /// (queued and in flight elsewhere).
    pub(crate) fn put_back(
        &self,
        taken: Taken,
        expired: Option<Instant>,
        stats: &Counters,
    ) -> usize {
        let n = taken.0.len();
        let mut kept = taken.0;
        if let Some(expired) = expired {
            kept.retain(|q| q.at >= expired);
            stats.dropped(n - kept.len());
        }
        let mut state = self.lock();
        state.requeue(kept, stats);
        state.in_flight -= n;
        state.left()
    }

    /// Queue the cancellations of acquires whose reply was just lost (at `now`, the runtime's
    /// clock), and wake the task.
    pub(crate) fn queue(&self, calls: Vec<Call>, now: Instant, stats: &Counters) {
        if calls.is_empty() {
            return;
        }
        let calls = calls.into_iter().map(|call| Queued { call, at: now });
        self.lock().requeue(calls.collect(), stats);
        self.wake.notify_one();
    }

    /// How many are queued or being sent by some flush.
    pub(crate) fn left(&self) -> usize {
        self.lock().left()
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_refused_batch_drops_only_its_cancellations_queued_before_the_cutoff() {
        let (pending, stats) = (Pending::default(), Counters::default());
        let t0 = Instant::now();
        let later = t0 + Duration::from_secs(10);
        pending.queue(vec![Call::default(); 2], t0, &stats);
        pending.queue(vec![Call::default(); 3], later, &stats);
        let taken = pending.take().expect("queued");
        assert_eq!(pending.put_back(taken, Some(later), &stats), 3);
        assert_eq!(stats.snapshot().cancels_dropped, 2);
        // What is kept is sent again (and, unrefused, delivered).
        let taken = pending.take().expect("kept");
        assert_eq!(taken.calls().count(), 3);
        pending.done(taken);
        assert_eq!(pending.left(), 0);
    }

    #[test]
    fn an_empty_queue_reports_what_another_flush_is_sending() {
        let (pending, stats) = (Pending::default(), Counters::default());
        pending.queue(vec![Call::default(); 2], Instant::now(), &stats);
        let taken = pending.take().expect("queued");
        assert_eq!(pending.take().err(), Some(2));
        assert_eq!(pending.put_back(taken, None, &stats), 2);
        assert_eq!(pending.take().map(|t| t.calls().count()).ok(), Some(2));
    }

    #[test]
    fn a_flush_takes_one_chunk_oldest_first_and_splits_it_by_reply() {
        let (pending, stats) = (Pending::default(), Counters::default());
        let t0 = Instant::now();
        pending.queue(vec![Call::default(); CHUNK], t0, &stats);
        pending.queue(
            vec![Call::default(); 3],
            t0 + Duration::from_secs(1),
            &stats,
        );
        let taken = pending.take().expect("queued");
        assert_eq!(taken.calls().count(), CHUNK);
        // One refused (put back), the rest delivered: only the refused one is left of the chunk.
        let (refused, delivered) = taken.split(|i| i == 7);
        pending.done(delivered);
        assert_eq!(pending.put_back(refused, None, &stats), 1 + 3);
        assert_eq!(pending.take().map(|t| t.calls().count()).ok(), Some(4));
    }

    #[test]
    fn an_outage_drops_none() {
        let (pending, stats) = (Pending::default(), Counters::default());
        pending.queue(vec![Call::default(); 2], Instant::now(), &stats);
        let taken = pending.take().expect("queued");
        assert_eq!(pending.put_back(taken, None, &stats), 2);
        assert_eq!(stats.snapshot().cancels_dropped, 0);
    }
}
