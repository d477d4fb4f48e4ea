//! What goes into and comes out of a [`super::PriorityScheduler`].

use super::config::MAX_CLASSES;
use crate::time::Duration;

/// A request to queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Item<T> {
    /// Class index (0 = most urgent).
    pub class: usize,
    /// Tenant (user, API key…) for fair share inside the class.
    pub tenant: u64,
    /// Cost in the unit the weighted disciplines share (e.g. estimated tokens).
    pub cost: u64,
    /// The caller's request.
    pub payload: T,
}

/// Names a queued request, for [`super::PriorityScheduler::cancel`]. A ticket of a request that
/// has left the queue (popped, shed, expired, cancelled) never names another request. Tickets
/// are only meaningful to the scheduler that issued them.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Ticket(u64);

/// Low bits of a ticket holding the class; the rest is the class's sequence number (8 bytes in
/// all, so the engine's per-request records do not grow).
const CLASS_BITS: u32 = 6;
const _: () = assert!(MAX_CLASSES <= 1 << CLASS_BITS);

impl Ticket {
    /// Sequence numbers per class stay below this (2^58: centuries of pushes at 1 GHz); a push
    /// that would need more is refused, never wrapped.
    pub(crate) const SEQ_LIMIT: u64 = 1 << (64 - CLASS_BITS);

    /// The ticket of `class`'s request number `seq` (below [`Ticket::SEQ_LIMIT`]).
    pub(crate) fn new(class: usize, seq: u64) -> Ticket {
        Ticket(seq << CLASS_BITS | class as u64 & ((1 << CLASS_BITS) - 1))
    }

    pub(crate) fn class(self) -> usize {
        (self.0 & ((1 << CLASS_BITS) - 1)) as usize
    }

    pub(crate) fn seq(self) -> u64 {
        self.0 >> CLASS_BITS
    }
}

/// Why a push was refused; the item is handed back.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Refusal {
    /// The class index is not configured.
    UnknownClass,
    /// The item's class is at its bound and the shed pick is `Newest` (tail drop).
    ClassFull,
    /// The scheduler is at capacity and no droppable class less urgent than the item's is
    /// queued.
    CapacityFull,
}

/// Why a queued request was removed without being served.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemovalReason {
    /// Its class was at its bound and a newer request of the same class took its place
    /// (shed pick `Oldest`).
    ClassFull,
    /// The scheduler was at capacity and a more urgent request took its place.
    CapacityFull,
    /// It waited past its class deadline.
    Expired,
}

/// A request removed without being served, returned to the caller with its payload.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Removed<T> {
    /// The ticket it had.
    pub ticket: Ticket,
    /// The caller's request.
    pub payload: T,
    /// Its class.
    pub class: usize,
    /// Its tenant.
    pub tenant: u64,
    /// Its cost.
    pub cost: u64,
    /// How long it had been queued.
    pub waited: Duration,
    /// Why it was removed.
    pub reason: RemovalReason,
}

/// The result of [`super::PriorityScheduler::push`].
#[must_use]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PushOutcome<T> {
    /// The item is queued. At most one other request was shed to make room.
    Queued {
        /// Names the queued item.
        ticket: Ticket,
        /// A request removed to make room, if any.
        shed: Option<Removed<T>>,
    },
    /// The item was not queued; nothing changed.
    Refused {
        /// The item, handed back.
        item: Item<T>,
        /// Why.
        reason: Refusal,
    },
}

impl<T> PushOutcome<T> {
    /// The ticket, if the item was queued.
    pub fn ticket(&self) -> Option<Ticket> {
        match self {
            PushOutcome::Queued { ticket, .. } => Some(*ticket),
            PushOutcome::Refused { .. } => None,
        }
    }
}

/// A request leaving the queue to be served.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Popped<T> {
    /// The ticket it had.
    pub ticket: Ticket,
    /// The caller's request.
    pub payload: T,
    /// Its class.
    pub class: usize,
    /// Its tenant.
    pub tenant: u64,
    /// Its cost.
    pub cost: u64,
    /// How long it was queued.
    pub waited: Duration,
    /// Serve it on a cheaper model: its class has a `Downgrade` step and the queue was at or
    /// above the pressure threshold when it was popped.
    pub downgrade: bool,
}
