//! Class deadlines: abandoning requests that waited too long.
//!
//! All requests of a class share its deadline, so they expire in arrival order and only each
//! class's oldest request needs looking at: [`PriorityScheduler::next_expiry`] is O(classes) and
//! [`PriorityScheduler::drain_expired`] O(classes + expired).

use super::config::ShedPick;
use super::scheduler::PriorityScheduler;
use super::types::{RemovalReason, Removed};
use crate::time::Time;

impl<T: Copy> PriorityScheduler<T> {
    /// When `class`'s oldest request expires, if it has a deadline and a request.
    fn class_expiry(&self, class: usize) -> Option<Time> {
        let deadline = (*self.plan.deadlines.get(class)?)?;
        let oldest = self.classes[class].oldest_arrival()?;
        Some(oldest.saturating_add(deadline))
    }

    /// The earliest instant at which a queued request expires: when to call
    /// [`PriorityScheduler::drain_expired`] next. `None` if nothing queued can expire.
    pub fn next_expiry(&self) -> Option<Time> {
        (0..self.classes.len())
            .filter_map(|class| self.class_expiry(class))
            .min()
    }

    /// Removes every request whose deadline is at or before `now` (arrival + deadline ≤ now),
    /// handing each to `on_expired`, oldest first within a class, classes in index order.
    ///
    /// If `now` went backwards between pushes, a request stuck behind a younger head of its
    /// class is reported late, never early.
    pub fn drain_expired(&mut self, now: Time, on_expired: &mut impl FnMut(Removed<T>)) {
        for class in 0..self.classes.len() {
            while let Some(expiry) = self.class_expiry(class) {
                if expiry > now {
                    break;
                }
                match self.remove_end(now, class, ShedPick::Oldest, RemovalReason::Expired) {
                    Some(removed) => on_expired(removed),
                    None => break,
                }
            }
        }
    }
}
