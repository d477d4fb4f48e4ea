//! Requests inside the gateway, stored in a slab so memory follows requests in the system,
//! not requests ever seen.

use crate::traffic::Arrival;
use spillway_core::limit::Reservation;
use spillway_core::{Duration, Time};

/// Index of a request in the slab.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Slot(u32);

/// A request the gateway has admitted.
#[derive(Debug, Clone)]
pub struct Request {
    /// The arrival it came from.
    pub arrival: Arrival,
    /// Index of the class (cached from the group).
    pub class: usize,
    /// What the limiter layers charged, to settle at the end.
    pub reservation: Reservation,
    /// The gateway instance that admitted it (settled there too).
    pub placement: crate::distributed::Placement,
    /// Upstream attempts made so far.
    pub attempts: u32,
    /// When it last entered the queue.
    pub queued_at: Time,
    /// Queue wait before the first upstream call (or before leaving unserved).
    pub waited: Duration,
    /// Whether [`Request::waited`] is final and recorded in the metrics.
    pub wait_recorded: bool,
    /// The backoff delay before its last retry (decorrelated jitter grows from it).
    pub last_backoff: Duration,
    /// Whether the call that is serving it went to the fallback provider (its prices apply).
    pub on_fallback: bool,
    /// The budget's reservation (policies with a `budget:`), completed or cancelled on
    /// departure; its estimate names the model the request is served on.
    pub spend_ticket: Option<spillway_core::budget::Ticket>,
}

/// Live requests with slot reuse.
#[derive(Debug, Default)]
pub struct RequestSlab {
    items: Vec<Option<Request>>,
    free: Vec<u32>,
}

impl RequestSlab {
    /// Store a request.
    pub fn insert(&mut self, request: Request) -> Slot {
        match self.free.pop() {
            Some(i) => {
                self.items[i as usize] = Some(request);
                Slot(i)
            }
            None => {
                self.items.push(Some(request));
                Slot((self.items.len() - 1) as u32)
            }
        }
    }
    /// The request in `slot`, read-only.
    pub fn get(&self, slot: Slot) -> Option<&Request> {
        self.items.get(slot.0 as usize).and_then(Option::as_ref)
    }
    /// The request in `slot`. Slots are only held by the event loop for live requests.
    pub fn get_mut(&mut self, slot: Slot) -> Option<&mut Request> {
        self.items.get_mut(slot.0 as usize).and_then(Option::as_mut)
    }
    /// Remove and return the request in `slot`.
    pub fn remove(&mut self, slot: Slot) -> Option<Request> {
        let taken = self.items.get_mut(slot.0 as usize).and_then(Option::take);
        if taken.is_some() {
            self.free.push(slot.0);
        }
        taken
    }
    /// Live requests.
    pub fn len(&self) -> usize {
        self.items.len() - self.free.len()
    }
    /// Whether no request is live.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
