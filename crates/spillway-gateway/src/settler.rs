//! A task that applies settlements to a shared store (Redis), in order, retrying each one that
//! did not land; what `serve` runs for the shared layers and for the shared budget.
//!
//! Why retry: a settlement that is dropped leaves the store wrong until its state expires (a
//! refund lost: the limit or cap refuses more than it must; an extra charge lost: it admits
//! more). Why only within a horizon, and only what may be sent again: a retry of a call whose
//! reply was lost may apply it twice, so each user of the queue says which tries may be
//! repeated ([`Tried`]) and for how long (the budget: while Redis remembers the request and
//! dedupes it). What is given up is counted, so `/metrics` shows it.
//!
//! At shutdown the server closes the queue ([`Closer::close`]): what is queued is still
//! applied, within a bound, before the runtime (and this task) goes away.
//!
//! Bounded: a store that answers slowly (or not at all, under a fail-open policy that keeps
//! admitting) would otherwise let the queue grow with every request served. Past
//! [`QUEUE_CAPACITY`] a settlement is given up and counted, as one that did not land.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};
use tokio::task::JoinHandle;

/// First wait before a retry (doubled each time, up to [`MAX_BACKOFF`]).
const FIRST_BACKOFF: Duration = Duration::from_millis(100);
/// Longest wait between retries.
const MAX_BACKOFF: Duration = Duration::from_secs(2);
/// Settlements queued at most (a few seconds of a busy gateway's completions; ~100 bytes
/// each); one more is given up and counted.
pub const QUEUE_CAPACITY: usize = 65_536;

/// How one try at a settlement went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tried {
    /// It landed.
    Applied,
    /// It did not land, and sending it again cannot apply it twice: retried.
    Again,
    /// Its reply was lost (it may have run, and a second send could apply it twice), or it
    /// never will land: given up (and counted) at once.
    Lost,
}

/// How one kind of settlement is applied.
pub trait Apply: Send + Sync + 'static {
    /// One settlement.
    type Item: Send + Sync + 'static;
    /// Apply `item` once.
    fn apply(&self, item: &Self::Item) -> impl Future<Output = Tried> + Send;
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
pub struct Settler<T> {
    queue: mpsc::Sender<T>,
    tracker: Arc<Tracker>,
}

/// Closes a [`Settler`] at shutdown.
#[derive(Debug)]
pub struct Closer(Arc<Tracker>);

impl<T: Send + Sync + 'static> Settler<T> {
    /// Spawn the task that applies with `how`, retrying a settlement for at most `horizon`
    /// after its first try (call inside tokio).
    pub fn start<A: Apply<Item = T>>(how: A, horizon: Duration) -> Self {
        let (queue, rx) = mpsc::channel(QUEUE_CAPACITY);
        let tracker = Arc::new(Tracker::default());
        let handle = tokio::spawn(run(how, rx, tracker.clone(), horizon));
        *tracker
            .handle
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(handle);
        Settler { queue, tracker }
    }

    /// Queue `item`. Fails when [`QUEUE_CAPACITY`] settlements are already waiting, or once
    /// the task has ended (the runtime is going away): then it is counted as given up.
    pub fn send(&self, item: T) {
        if self.queue.try_send(item).is_err() {
            self.tracker.gave_up.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Settlements given up so far.
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

async fn run<A: Apply>(
    how: A,
    mut queue: mpsc::Receiver<A::Item>,
    tracker: Arc<Tracker>,
    horizon: Duration,
) {
    while !tracker.closing.load(Ordering::Acquire) {
        tokio::select! {
            item = queue.recv() => match item {
                Some(item) => apply(&how, &item, &tracker, horizon).await,
                None => return, // every sender is gone: nothing more can come
            },
            // A close while applying left a permit: this wakes at once.
            () = tracker.wake.notified() => {}
        }
    }
    // Closing: what was queued before the server stopped.
    while let Ok(item) = queue.try_recv() {
        apply(&how, &item, &tracker, horizon).await;
    }
}

/// Apply `item`, retrying with backoff within `horizon` of the first try while the store says
/// it may be sent again; counted if given up.
async fn apply<A: Apply>(how: &A, item: &A::Item, tracker: &Tracker, horizon: Duration) {
    let started = tokio::time::Instant::now();
    let mut backoff = FIRST_BACKOFF;
    loop {
        match how.apply(item).await {
            Tried::Applied => return,
            Tried::Again => {}
            Tried::Lost => {
                tracker.gave_up.fetch_add(1, Ordering::Relaxed);
                return;
            }
        }
        if started.elapsed().saturating_add(backoff) > horizon {
            tracker.gave_up.fetch_add(1, Ordering::Relaxed);
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = backoff.saturating_mul(2).min(MAX_BACKOFF);
    }
}

#[cfg(test)]
mod tests {
    use super::{Apply, QUEUE_CAPACITY, Settler, Tried};
    use std::time::Duration;

    /// A store that never answers.
    struct Stalled;

    impl Apply for Stalled {
        type Item = u32;
        async fn apply(&self, _: &u32) -> Tried {
            std::future::pending().await
        }
    }

    /// Past the capacity a settlement is given up and counted, not queued: the queue stays
    /// bounded whatever the store does.
    #[tokio::test(flavor = "current_thread")]
    async fn a_full_queue_gives_settlements_up_and_counts_them() {
        let settler = Settler::start(Stalled, Duration::from_secs(30));
        // Current-thread runtime: the task has not run yet, so nothing left the queue.
        for item in 0..QUEUE_CAPACITY as u32 + 10 {
            settler.send(item);
        }
        assert_eq!(settler.gave_up(), 10);
    }
}
