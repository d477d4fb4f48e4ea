//! The bound on requests inside ([`super::EngineConfig::max_requests`]: a server holds each
//! one's connection and body), and how it yields to the queue's priorities. At the bound an
//! arrival the queue would place by shedding less urgent queued work, as it does at its own
//! capacity, takes that request's place: the bound never refuses urgent work while less
//! urgent work waits in the queue (a driver with a bound sheds as the simulator, which runs
//! without one, does), and it is never exceeded.

use super::slab::RequestId;
use super::spend::Spend;
use super::state::Request;
use super::{Departure, Engine, Limiter};
use crate::Time;
use rand_core::Rng;

impl<M: Copy, L: Limiter, S: Spend<M>, R: Rng> Engine<M, L, S, R> {
    /// Whether an arrival of `class` can come in: below the bound, or in the place of the
    /// queued request the queue would shed for it.
    pub(super) fn has_room_for(&self, class: usize) -> bool {
        self.requests.len() < self.config.max_requests || self.queue.can_make_room(class)
    }

    /// Store an admitted request; at the bound, first shed the queued request whose place it
    /// takes. `None`: no room after all (nothing was shed).
    pub(super) fn insert_within_bound(
        &mut self,
        now: Time,
        request: Request<M, L::Placement>,
    ) -> Option<RequestId> {
        if self.requests.len() >= self.config.max_requests {
            let victim = self.queue.make_room(now, request.meta.class)?;
            self.depart(now, victim.payload, Departure::Shed, 0);
        }
        self.requests.insert(request)
    }
}
