//! What happened to a store's calls under faults: counted, so that metrics can show it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// A snapshot of a store's fault counters ([`RedisStore::stats`](crate::RedisStore::stats)).
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct StoreStats {
    /// Calls Redis did not answer in time (or at all): the failure policy answered.
    pub faults: u64,
    /// Cancellations delivered for acquires whose reply was lost.
    pub cancels_delivered: u64,
    /// Of those, acquires Redis had charged and that were refunded (phantom charges undone).
    pub phantom_refunds: u64,
    /// Cancellations dropped because too many were queued, or because Redis still refused them
    /// once queued longer than the dedupe ttl (each may leave one phantom charge).
    pub cancels_dropped: u64,
    /// Times the data set was found lost (restart without persistence, flush): see the epoch.
    pub lost_epochs: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Counters {
    faults: AtomicU64,
    cancels_delivered: AtomicU64,
    phantom_refunds: AtomicU64,
    cancels_dropped: AtomicU64,
    lost_epochs: AtomicU64,
    check_epoch: AtomicBool,
}

impl Counters {
    pub(crate) fn fault(&self) {
        self.faults.fetch_add(1, Ordering::Relaxed);
        self.check_epoch.store(true, Ordering::Relaxed);
    }

    /// Cancel replies: `{1, now_s, now_ns, refunded}`.
    pub(crate) fn cancelled(&self, replies: &[Vec<i64>]) {
        let n = u64::try_from(replies.len()).unwrap_or(u64::MAX);
        let refunded = replies.iter().filter(|r| r.get(3) == Some(&1)).count();
        self.cancels_delivered.fetch_add(n, Ordering::Relaxed);
        self.phantom_refunds.fetch_add(
            u64::try_from(refunded).unwrap_or(u64::MAX),
            Ordering::Relaxed,
        );
    }

    pub(crate) fn dropped(&self, n: usize) {
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        self.cancels_dropped.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn needs_epoch_check(&self) -> bool {
        self.check_epoch.load(Ordering::Relaxed)
    }

    pub(crate) fn epoch_checked(&self, lost: bool) {
        self.check_epoch.store(false, Ordering::Relaxed);
        if lost {
            self.lost_epochs.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub(crate) fn snapshot(&self) -> StoreStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StoreStats {
            faults: get(&self.faults),
            cancels_delivered: get(&self.cancels_delivered),
            phantom_refunds: get(&self.phantom_refunds),
            cancels_dropped: get(&self.cancels_dropped),
            lost_epochs: get(&self.lost_epochs),
        }
    }
}
