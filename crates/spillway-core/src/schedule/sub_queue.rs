//! One tenant's sub-queue in a class's DRR ring, for a tenant with two or more requests queued
//! (a tenant with one sits inline in the ring, see [`super::tenants`]).

use super::arrivals::{Arrivals, Ref};
use super::ring::Ring;

/// One tenant's sub-queue.
#[derive(Debug, Default)]
pub(super) struct TenantQueue {
    pub tenant: u64,
    pub items: Ring<Ref>,
    pub deficit: u64,
    /// Refs in `items` whose requests may have left by another way than service.
    pub stale: usize,
}

/// An end of a sub-queue.
#[derive(Copy, Clone)]
pub(super) enum End {
    Front,
    Back,
}

impl TenantQueue {
    /// Credits this tenant's visit one `quantum`, unless `charged` says the visit already had
    /// it (then nothing changes: settling the front again is idempotent).
    #[inline(always)]
    pub fn charge(&mut self, charged: &mut bool, quantum: u64) {
        if !*charged {
            self.deficit = self.deficit.saturating_add(quantum);
            *charged = true;
        }
    }

    /// Pops stale refs off `end`; returns how many. Reads nothing while none are stale.
    #[inline]
    pub fn trim<T>(&mut self, end: End, arrivals: &Arrivals<T>) -> usize {
        let mut removed = 0;
        while self.stale > 0 {
            let at_end = match end {
                End::Front => self.items.front(),
                End::Back => self.items.back(),
            };
            if at_end.is_none_or(|&r| arrivals.position(r).is_some()) {
                break;
            }
            match end {
                End::Front => self.items.pop_front(),
                End::Back => self.items.pop_back(),
            };
            self.stale -= 1;
            removed += 1;
        }
        removed
    }

    /// Drops every stale ref; returns the refs left.
    pub fn drop_stale<T>(&mut self, arrivals: &Arrivals<T>) -> usize {
        if self.stale > 0 {
            self.items.retain(|&r| arrivals.position(r).is_some());
            self.stale = 0;
        }
        self.items.len()
    }
}
