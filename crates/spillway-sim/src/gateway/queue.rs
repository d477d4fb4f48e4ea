//! The waiting line between admission and the provider.

use super::Slot;
use std::collections::VecDeque;

/// A bounded FIFO of admitted requests.
///
/// This is the seam for the priority scheduler: the event loop only pushes, pushes back to the
/// front (a retry that keeps its place), pops, and asks the length.
#[derive(Debug)]
pub struct RequestQueue {
    items: VecDeque<Slot>,
    capacity: usize,
}

impl RequestQueue {
    /// An empty queue holding at most `capacity` requests.
    pub fn new(capacity: usize) -> Self {
        RequestQueue {
            items: VecDeque::new(),
            capacity,
        }
    }
    /// Add at the back; gives the request back if the queue is full (the caller sheds it).
    pub fn push(&mut self, slot: Slot) -> Result<(), Slot> {
        if self.items.len() >= self.capacity {
            return Err(slot);
        }
        self.items.push_back(slot);
        Ok(())
    }
    /// Put a request back at the front (a retry keeps its turn). Never refused: the request
    /// was already counted in the queue's bound when it was admitted.
    pub fn push_front(&mut self, slot: Slot) {
        self.items.push_front(slot);
    }
    /// Take the next request.
    pub fn pop(&mut self) -> Option<Slot> {
        self.items.pop_front()
    }
    /// Requests waiting.
    pub fn len(&self) -> usize {
        self.items.len()
    }
    /// Whether nothing waits.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
    /// Every waiting request (for end-of-run accounting).
    pub fn drain(&mut self) -> impl Iterator<Item = Slot> + '_ {
        self.items.drain(..)
    }
}
