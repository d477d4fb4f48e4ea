//! The waiting line between admission and the provider: the core [`PriorityScheduler`] over
//! request slots, with the gateway's vocabulary (shed victims as slots, per-class depths).

use super::Slot;
use crate::scenario::{Class, SchedulerSpec};
use spillway_core::Time;
use spillway_core::schedule::{Item, PriorityScheduler, PushOutcome as CoreOutcome};

pub use spillway_core::schedule::Ticket;

/// What happened to a pushed request.
#[derive(Debug, Default)]
pub struct PushOutcome {
    /// The request's ticket if it was queued; `None` if it was refused (shed on arrival).
    pub ticket: Option<Ticket>,
    /// A queued request dropped to make room.
    pub shed: Option<Slot>,
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
    scheduler: PriorityScheduler<Slot>,
}

impl RequestQueue {
    /// An empty queue for `spec`. Scenario validation built `spec` with the same constructor,
    /// so this cannot fail for a loaded scenario; an error here is reported as a policy error.
    pub fn new(spec: &SchedulerSpec) -> Result<Self, spillway_core::schedule::ConfigError> {
        Ok(RequestQueue {
            scheduler: PriorityScheduler::new(spec)?,
        })
    }

    /// Queue `slot` of `class` for `user` costing `cost` tokens (the tenant for fair share
    /// inside the class is the user).
    pub fn push(
        &mut self,
        now: Time,
        slot: Slot,
        class: Class,
        user: u64,
        cost: u64,
    ) -> PushOutcome {
        let item = Item {
            class: class.index(),
            tenant: user,
            cost,
            payload: slot,
        };
        match self.scheduler.push(now, item) {
            CoreOutcome::Queued { ticket, shed } => PushOutcome {
                ticket: Some(ticket),
                shed: shed.map(|removed| removed.payload),
            },
            CoreOutcome::Refused { .. } => PushOutcome::default(),
        }
    }

    /// Take the next request.
    pub fn pop(&mut self, now: Time) -> Option<Popped> {
        self.scheduler.pop(now).map(|p| Popped {
            slot: p.payload,
            downgrade: p.downgrade,
        })
    }

    /// Remove a queued request (its user gave up); `None` if it already left.
    pub fn cancel(&mut self, ticket: Ticket) -> Option<Slot> {
        self.scheduler.cancel(ticket)
    }

    /// Requests waiting, per class.
    pub fn len_by_class(&self) -> [u64; 4] {
        Class::ALL.map(|c| self.scheduler.len_of(c.index()) as u64)
    }

    /// Every waiting request (for end-of-run accounting), emptying the queue.
    pub fn drain(&mut self, now: Time) -> Vec<Slot> {
        let mut out = Vec::with_capacity(self.scheduler.len());
        while let Some(p) = self.scheduler.pop(now) {
            out.push(p.payload);
        }
        out
    }
}
