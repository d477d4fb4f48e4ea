//! The waiting line between admission and the provider.
//!
//! Interim: strict priority with per-class FIFOs and lazy cancellation; the core
//! `PriorityScheduler` replaces the internals behind the same interface.

use super::Slot;
use crate::scenario::{Class, SchedulerSpec};
use spillway_core::Time;
use std::collections::VecDeque;

/// Handle of a queued request, to cancel it (abandonment).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Ticket(u64);

/// What happened to a pushed request.
#[derive(Debug, Default)]
pub struct PushOutcome {
    /// The request's ticket if it was queued; `None` if it was refused (shed on arrival).
    pub ticket: Option<Ticket>,
    /// Queued requests dropped to make room.
    pub shed: Vec<Slot>,
}

/// A request leaving the queue for the provider.
#[derive(Debug, Clone, Copy)]
pub struct Popped {
    /// The request.
    pub slot: Slot,
    /// Serve it on the cheaper model (shedding's downgrade step).
    pub downgrade: bool,
}

/// Admitted requests waiting for upstream room.
#[derive(Debug)]
pub struct RequestQueue {
    classes: [VecDeque<(u64, Slot)>; 4],
    live: [u64; 4],
    cancelled: std::collections::BTreeSet<u64>,
    capacity: u64,
    next_ticket: u64,
}

impl RequestQueue {
    /// An empty queue for `spec`.
    pub fn new(spec: &SchedulerSpec) -> Self {
        RequestQueue {
            classes: Default::default(),
            live: [0; 4],
            cancelled: Default::default(),
            capacity: spec.capacity,
            next_ticket: 0,
        }
    }

    /// Queue `slot` of `class` for `user` costing `cost` tokens.
    pub fn push(
        &mut self,
        _now: Time,
        slot: Slot,
        class: Class,
        _user: u64,
        _cost: u64,
    ) -> PushOutcome {
        if self.len() >= self.capacity {
            return PushOutcome::default();
        }
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        self.classes[class.index()].push_back((ticket, slot));
        self.live[class.index()] += 1;
        PushOutcome {
            ticket: Some(Ticket(ticket)),
            shed: Vec::new(),
        }
    }

    /// Take the next request.
    pub fn pop(&mut self, _now: Time) -> Option<Popped> {
        for (c, q) in self.classes.iter_mut().enumerate() {
            while let Some((ticket, slot)) = q.pop_front() {
                if self.cancelled.remove(&ticket) {
                    continue;
                }
                self.live[c] -= 1;
                return Some(Popped {
                    slot,
                    downgrade: false,
                });
            }
        }
        None
    }

    /// Remove a queued request (its user gave up); `None` if it already left.
    pub fn cancel(&mut self, ticket: Ticket) -> Option<Slot> {
        for (c, q) in self.classes.iter().enumerate() {
            if let Some(&(_, slot)) = q.iter().find(|(t, _)| *t == ticket.0) {
                if self.cancelled.insert(ticket.0) {
                    self.live[c] -= 1;
                    return Some(slot);
                }
            }
        }
        None
    }

    /// Requests waiting, per class.
    pub fn len_by_class(&self) -> [u64; 4] {
        self.live
    }

    /// Requests waiting.
    pub fn len(&self) -> u64 {
        self.live.iter().sum()
    }

    /// Every waiting request (for end-of-run accounting).
    pub fn drain(&mut self) -> Vec<Slot> {
        let mut out = Vec::new();
        for q in &mut self.classes {
            for (ticket, slot) in q.drain(..) {
                if !self.cancelled.remove(&ticket) {
                    out.push(slot);
                }
            }
        }
        self.live = [0; 4];
        out
    }
}
