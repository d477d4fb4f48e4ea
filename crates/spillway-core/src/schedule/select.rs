//! Choosing the class to serve: strict priority, aging, or weighted DRR.

use super::config::Discipline;
use super::scheduler::PriorityScheduler;
use crate::time::{Duration, Time};

impl<T> PriorityScheduler<T> {
    /// The class [`PriorityScheduler::pop`] serves at `now`, `None` if all are empty.
    pub(super) fn select_class(&mut self, now: Time) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        match self.plan.discipline {
            Discipline::Strict => self.classes.iter().position(|q| q.len() > 0),
            Discipline::Aging { step } => self.aged_class(now, step),
            Discipline::Weighted => {
                let classes = &mut self.classes;
                self.round.select(|class| classes[class].next_cost())
            }
        }
    }

    /// The class whose oldest request has the best effective level, ties to the earlier
    /// arrival, then the more urgent class. Only class heads are looked at: within a class the
    /// oldest request has waited longest, so it has the best level (one aging step for all).
    fn aged_class(&self, now: Time, step: Duration) -> Option<usize> {
        let step_ns = step.as_nanos().max(1);
        let mut best: Option<(usize, Time, usize)> = None;
        for (class, queue) in self.classes.iter().enumerate() {
            let Some(arrival) = queue.oldest().map(|q| q.arrival) else {
                continue;
            };
            let steps = now.saturating_since(arrival).as_nanos() / step_ns;
            let level = class.saturating_sub(usize::try_from(steps).unwrap_or(usize::MAX));
            let key = (level, arrival, class);
            if best.is_none_or(|b| key < b) {
                best = Some(key);
            }
        }
        best.map(|(_, _, class)| class)
    }
}
