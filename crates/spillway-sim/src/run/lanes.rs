//! Feeding one stream of arrivals to several policies, each on its own thread.
//!
//! Why: the policies of a run share nothing but their arrivals (each has its own gateway,
//! engine, provider, random streams and metrics), so they can run at once. The calling thread
//! generates the arrivals and hands them out a batch at a time; each policy (a *lane*) runs a
//! batch on its worker and sends back the time-series rows it closed. The caller passes those
//! rows to the sink in a fixed order (batch by batch, lane by lane, then every lane's closing
//! rows), exactly the order of the one-thread loop, so the sink sees the same calls whatever
//! the scheduling: outputs do not depend on threads. With one policy, or one core, the same
//! loop runs on the calling thread.

use crate::metrics::TimeseriesRow;
use crate::traffic::Arrival;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::{Scope, ScopedJoinHandle};

/// One policy's run, driven batch by batch.
pub(super) trait Lane {
    /// What the lane returns when the arrivals are over.
    type Output;
    /// Run `batch` (in time order), appending every row closed on the way to `rows`.
    fn feed(&mut self, batch: &[Arrival], rows: &mut Vec<TimeseriesRow>);
    /// Run what is left after the last arrival, appending the closing rows to `rows`.
    fn finish(self, rows: &mut Vec<TimeseriesRow>) -> Self::Output;
}

/// Batches a worker may hold ahead of its work: enough that the generating thread rarely
/// waits, few enough that arrivals do not pile up in memory (each batch is 160 KB).
const QUEUED_BATCHES: usize = 2;

/// Run every lane on the arrivals, `batch` at a time; rows go to `sink` with the lane's index.
pub(super) fn drive<L>(
    lanes: Vec<L>,
    arrivals: &mut impl Iterator<Item = Arrival>,
    batch: usize,
    sink: &mut dyn FnMut(usize, &TimeseriesRow),
) -> Vec<L::Output>
where
    L: Lane + Send,
    L::Output: Send,
{
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if lanes.len() < 2 || cores < 2 {
        return in_turn(lanes, arrivals, batch, sink);
    }
    threaded(lanes, arrivals, batch, sink)
}

/// Every lane on its own worker thread; the sink sees the calls of [`in_turn`], in its order.
fn threaded<L>(
    lanes: Vec<L>,
    arrivals: &mut impl Iterator<Item = Arrival>,
    batch: usize,
    sink: &mut dyn FnMut(usize, &TimeseriesRow),
) -> Vec<L::Output>
where
    L: Lane + Send,
    L::Output: Send,
{
    std::thread::scope(|scope| {
        let workers: Vec<Worker<'_, L::Output>> = lanes
            .into_iter()
            .map(|lane| Worker::start(scope, lane))
            .collect();
        let mut sent = 0usize;
        loop {
            // Collected straight into its buffer: an `Arc<[_]>` from an iterator of unknown
            // length is collected into a `Vec` first, then copied.
            let mut next = Vec::with_capacity(batch);
            next.extend(arrivals.by_ref().take(batch));
            let next = Arc::new(next);
            if next.is_empty() {
                break;
            }
            for worker in &workers {
                worker.send(Arc::clone(&next));
            }
            sent += 1;
            // Batch `sent - 2`'s rows: the workers already hold the batch just sent.
            if sent >= 2 {
                emit_one_reply_each(&workers, sink);
            }
        }
        if sent >= 1 {
            emit_one_reply_each(&workers, sink);
        }
        let workers: Vec<_> = workers.into_iter().map(Worker::close).collect();
        emit_one_reply_each(&workers, sink);
        workers.into_iter().map(Worker::join).collect()
    })
}

/// The one-thread loop: every lane in turn on each batch.
fn in_turn<L: Lane>(
    mut lanes: Vec<L>,
    arrivals: &mut impl Iterator<Item = Arrival>,
    batch: usize,
    sink: &mut dyn FnMut(usize, &TimeseriesRow),
) -> Vec<L::Output> {
    let mut next = Vec::with_capacity(batch);
    let mut rows = Vec::new();
    loop {
        next.clear();
        next.extend(arrivals.by_ref().take(batch));
        if next.is_empty() {
            break;
        }
        for (index, lane) in lanes.iter_mut().enumerate() {
            lane.feed(&next, &mut rows);
            emit(index, &mut rows, sink);
        }
    }
    let outputs: Vec<L::Output> = lanes
        .into_iter()
        .enumerate()
        .map(|(index, lane)| {
            let output = lane.finish(&mut rows);
            emit(index, &mut rows, sink);
            output
        })
        .collect();
    outputs
}

fn emit(index: usize, rows: &mut Vec<TimeseriesRow>, sink: &mut dyn FnMut(usize, &TimeseriesRow)) {
    for row in rows.drain(..) {
        sink(index, &row);
    }
}

/// Wait for the next reply of every worker, in lane order, and pass its rows on.
fn emit_one_reply_each<O>(workers: &[Worker<'_, O>], sink: &mut dyn FnMut(usize, &TimeseriesRow)) {
    for (index, worker) in workers.iter().enumerate() {
        // A closed channel means the worker panicked: `join` re-raises it.
        if let Ok(mut rows) = worker.replies.recv() {
            emit(index, &mut rows, sink);
        }
    }
}

/// A lane on its own thread: batches in, rows out (one reply per batch, then one with the
/// closing rows).
struct Worker<'scope, O> {
    batches: Option<SyncSender<Arc<Vec<Arrival>>>>,
    replies: Receiver<Vec<TimeseriesRow>>,
    handle: ScopedJoinHandle<'scope, O>,
}

impl<'scope, O: Send + 'scope> Worker<'scope, O> {
    fn start<'env, L>(scope: &'scope Scope<'scope, 'env>, mut lane: L) -> Self
    where
        L: Lane<Output = O> + Send + 'scope,
    {
        let (batches, inbox) = sync_channel::<Arc<Vec<Arrival>>>(QUEUED_BATCHES);
        let (outbox, replies) = sync_channel(QUEUED_BATCHES + 1);
        let handle = scope.spawn(move || {
            for batch in inbox {
                let mut rows = Vec::new();
                lane.feed(&batch, &mut rows);
                // The caller stopped listening only if it is unwinding: nothing to report.
                let _ = outbox.send(rows);
            }
            let mut rows = Vec::new();
            let output = lane.finish(&mut rows);
            let _ = outbox.send(rows);
            output
        });
        Worker {
            batches: Some(batches),
            replies,
            handle,
        }
    }

    fn send(&self, batch: Arc<Vec<Arrival>>) {
        if let Some(batches) = &self.batches {
            // A failed send means the worker panicked: `join` re-raises it.
            let _ = batches.send(batch);
        }
    }

    /// No more batches: the worker finishes its lane.
    fn close(mut self) -> Self {
        self.batches = None;
        self
    }

    fn join(self) -> O {
        match self.handle.join() {
            Ok(output) => output,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use spillway_core::Time;

    /// Closes a row for every arrival whose instant is a multiple of its period, and one
    /// closing row holding how many arrivals it saw.
    struct Every(u64, u64);

    impl Lane for Every {
        type Output = u64;
        fn feed(&mut self, batch: &[Arrival], rows: &mut Vec<TimeseriesRow>) {
            for a in batch {
                self.1 += 1;
                if a.at.as_nanos() % self.0 == 0 {
                    rows.push(TimeseriesRow {
                        t_s: a.at.as_nanos(),
                        ..TimeseriesRow::default()
                    });
                }
            }
        }
        fn finish(self, rows: &mut Vec<TimeseriesRow>) -> u64 {
            rows.push(TimeseriesRow {
                offered: self.1,
                ..TimeseriesRow::default()
            });
            self.1
        }
    }

    fn arrivals(n: u64) -> impl Iterator<Item = Arrival> {
        (0..n).map(|i| Arrival {
            at: Time::from_nanos(i),
            user: 0,
            group: 0,
            input_tokens: 1,
            output_tokens: 1,
            failed: false,
        })
    }

    #[test]
    fn threads_call_the_sink_exactly_as_the_one_thread_loop() {
        for (n, batch) in [(0, 4), (3, 4), (4, 4), (1_000, 7), (1_000, 1_000)] {
            let lanes = || vec![Every(3, 0), Every(5, 0), Every(1, 0)];
            let mut alone = Vec::new();
            let out_alone = in_turn(lanes(), &mut arrivals(n), batch, &mut |i, r| {
                alone.push((i, *r))
            });
            // `threaded` itself, not `drive`: with one core `drive` would run `in_turn`.
            let mut on_threads = Vec::new();
            let out_threaded = threaded(lanes(), &mut arrivals(n), batch, &mut |i, r| {
                on_threads.push((i, *r))
            });
            assert_eq!(out_alone, vec![n; 3]);
            assert_eq!(out_threaded, out_alone);
            assert_eq!(on_threads, alone, "{n} arrivals in batches of {batch}");
            assert!(
                alone.len() as u64 >= n,
                "every arrival of lane 3 closes a row"
            );
        }
    }
}
