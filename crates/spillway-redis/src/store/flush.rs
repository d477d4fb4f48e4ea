//! Delivering the queued cancellations (see [`pending`]): in chunks, each reply settling its
//! own cancellation, before a call (one chunk) and from the background task (until empty).

use super::{Fault, RedisStore, is_refusal};
use crate::function;
use crate::pending::{self, Taken};
use std::sync::Arc;
use tokio::time::Instant;

/// How a flush of one chunk of cancellations went; both say how many are left (queued, or in
/// flight in another flush).
pub(super) enum Flushed {
    /// Every cancellation of the chunk was delivered: the next chunk may follow.
    Whole(usize),
    /// Nothing was queued, or some of the chunk was put back: stop until the next flush.
    Stopped(usize),
}

impl RedisStore {
    /// Start the task that delivers queued cancellations when no call does ([`pending`]).
    pub(super) fn flush_in_background(&self) {
        let weak = Arc::downgrade(&self.inner);
        let flush = move || {
            let inner = weak.upgrade()?;
            Some(async move { RedisStore { inner }.flush_cancellations().await })
        };
        tokio::spawn(pending::flush_in_background(
            self.inner.pending.waker(),
            flush,
        ));
    }

    /// Send the queued cancellations of acquires whose reply was lost. Run in the background
    /// while the store makes no call (and one chunk before every call); public so that a caller
    /// can drain them (e.g. at shutdown, or a test before counting). Sends them in chunks (of
    /// 512), until the queue is empty or a chunk is not delivered whole. Returns how many are
    /// still queued (Redis unavailable or refusing some) or being sent by another flush (the
    /// background's).
    pub async fn flush_cancellations(&self) -> usize {
        loop {
            match self.flush_chunk(self.deadline()).await {
                Flushed::Whole(left) if left > 0 => {}
                Flushed::Whole(left) | Flushed::Stopped(left) => return left,
            }
        }
    }

    /// Send one chunk of queued cancellations in one pipeline, answered by `deadline`. Each
    /// reply settles its own cancellation: delivered, or put back (a refusal of one does not
    /// fail the others).
    pub(super) async fn flush_chunk(&self, deadline: Instant) -> Flushed {
        let pending = &self.inner.pending;
        let taken = match pending.take() {
            Ok(taken) => taken,
            Err(in_flight) => return Flushed::Stopped(in_flight),
        };
        let mut conn = self.inner.conn.clone();
        let mut pipe = redis::pipe();
        for call in taken.calls() {
            pipe.add_command(function::fcall(&self.inner.function, call));
        }
        pipe.ignore_errors();
        let sent = async {
            let replies: Vec<redis::RedisResult<Vec<i64>>> = pipe.query_async(&mut conn).await?;
            if replies
                .iter()
                .any(|r| r.as_ref().is_err_and(function::is_missing))
            {
                // The function was lost: none ran; a cancel is idempotent anyway.
                self.load(&mut conn).await?;
                return pipe.query_async(&mut conn).await;
            }
            Ok(replies)
        };
        match self.timed(deadline, sent).await {
            Ok(replies) => self.settle_chunk(taken, replies),
            Err(fault) => {
                // Not sent, or sent and lost: resending is safe (a cancel is idempotent).
                self.inner.stats.fault();
                let refused = matches!(fault, Fault::Fatal(_));
                Flushed::Stopped(pending.put_back(taken, self.expired(refused), &self.inner.stats))
            }
        }
    }

    /// Settle a chunk by its replies: delivered ones are done, the others put back (those Redis
    /// refused, rather than could not run now, dropped once past the dedupe ttl).
    fn settle_chunk(&self, taken: Taken, replies: Vec<redis::RedisResult<Vec<i64>>>) -> Flushed {
        let refused: Vec<Option<bool>> = replies
            .iter()
            .map(|r| r.as_ref().err().map(is_refusal))
            .collect();
        let answered: Vec<Vec<i64>> = replies.into_iter().flatten().collect();
        self.inner.stats.cancelled(&answered);
        let (delivered, failed) = taken.split(|i| refused[i].is_none());
        let pending = &self.inner.pending;
        pending.done(delivered);
        if failed.is_empty() {
            return Flushed::Whole(pending.left());
        }
        self.inner.stats.fault();
        let failed_refused: Vec<bool> = refused.into_iter().flatten().collect();
        let (refused, busy) = failed.split(|i| failed_refused[i]);
        pending.put_back(busy, None, &self.inner.stats);
        let left = pending.put_back(refused, self.expired(true), &self.inner.stats);
        Flushed::Stopped(left)
    }

    /// Cancellations queued before this instant are dropped when Redis `refused` them (see
    /// [`pending`]); none when it could not run them now.
    fn expired(&self, refused: bool) -> Option<Instant> {
        refused
            .then(|| Instant::now().checked_sub(self.inner.config.dedupe_ttl))
            .flatten()
    }
}
