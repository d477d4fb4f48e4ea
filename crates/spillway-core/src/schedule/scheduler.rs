//! [`PriorityScheduler`]: the queue itself — push, pop, cancel, sizes.

use super::class_queue::ClassQueue;
use super::class_queue::Taken;
use super::config::{Discipline, SchedulerConfig, ShedPick};
use super::error::ConfigError;
use super::plan::Plan;
use super::types::{Item, Popped, PushOutcome, Refusal, RemovalReason, Removed, Ticket};
use super::weighted::WeightedRound;
use crate::time::Time;

/// A class to shed a request from (its oldest or newest, per the shed pick), and why.
type Victim = (usize, RemovalReason);

/// A bounded multi-class queue for an LLM gateway, with time passed in. See the
/// [module docs](super) for the semantics. Its payloads are `Copy` handles (see the module
/// docs' "Payloads are handles").
#[derive(Debug)]
pub struct PriorityScheduler<T> {
    pub(super) plan: Plan,
    pub(super) classes: Vec<ClassQueue<T>>,
    pub(super) len: usize,
    pub(super) round: WeightedRound,
    /// At or before every queued request's arrival (lowered by each push, raised only when
    /// aging scans the class heads): while `now` is less than one aging step past it, no
    /// request has aged and aging decides as strict does, without reading the heads.
    pub(super) oldest_bound: Time,
    /// The latest push time since the queue was last empty.
    pub(super) last_push: Time,
    /// Whether no push since the queue was last empty went back in time, so each class's
    /// oldest request is its front and the heads' minimum may raise `oldest_bound`.
    pub(super) pushes_in_order: bool,
}

impl<T: Copy> PriorityScheduler<T> {
    /// A scheduler for `config`, or the first problem found in it.
    pub fn new(config: &SchedulerConfig) -> Result<Self, ConfigError> {
        let plan = Plan::new(config)?;
        let classes = (0..plan.names.len())
            .map(|_| ClassQueue::new(plan.fair_share))
            .collect();
        Ok(PriorityScheduler {
            classes,
            len: 0,
            round: WeightedRound::new(&plan.weights),
            oldest_bound: Time::MAX,
            last_push: Time::ZERO,
            pushes_in_order: true,
            plan,
        })
    }

    /// Requests queued.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Requests queued in `class` (0 for an unknown class).
    pub fn len_of(&self, class: usize) -> usize {
        self.classes.get(class).map_or(0, ClassQueue::len)
    }

    /// Number of classes.
    pub fn class_count(&self) -> usize {
        self.classes.len()
    }

    /// The configured name of `class`.
    pub fn class_name(&self, class: usize) -> Option<&str> {
        self.plan.names.get(class).map(String::as_str)
    }

    /// The index of the class called `name`.
    pub fn class_index(&self, name: &str) -> Option<usize> {
        self.plan.names.iter().position(|n| n == name)
    }

    /// The bound of `class` (0 for an unknown class).
    pub fn bound_of(&self, class: usize) -> usize {
        self.plan.bounds.get(class).copied().unwrap_or(0)
    }

    /// Total capacity across classes.
    pub fn capacity(&self) -> usize {
        self.plan.capacity
    }

    /// Whether requests of `Downgrade` classes are popped with `downgrade: true` right now.
    pub fn under_pressure(&self) -> bool {
        self.len >= self.plan.pressure_len
    }

    /// Queues `item` at `now`, shedding at most one queued request to make room (see the
    /// module docs), or refuses it and hands it back.
    pub fn push(&mut self, now: Time, item: Item<T>) -> PushOutcome<T> {
        let class = item.class;
        let victim = match self.victim(class, false) {
            Ok(victim) => victim,
            Err(reason) => return refuse(item, reason),
        };
        if self.classes[class].seq_exhausted(Ticket::SEQ_LIMIT) {
            // Only after 2^58 pushes to one class: refuse, never wrap or panic.
            return refuse(item, Refusal::CapacityFull);
        }
        let shed = victim.and_then(|(c, reason)| self.remove_end(now, c, self.plan.pick, reason));
        if matches!(self.plan.discipline, Discipline::Aging { .. }) {
            self.note_push_time(now);
        }
        let seq = self.classes[class].push(now, item.tenant, item.cost, item.payload);
        self.len += 1;
        PushOutcome::Queued {
            ticket: Ticket::new(class, seq),
            shed,
        }
    }

    /// Whether [`PriorityScheduler::make_room`] would shed a request for an arrival of `class`.
    pub fn can_make_room(&self, class: usize) -> bool {
        matches!(self.victim(class, true), Ok(Some(_)))
    }

    /// Sheds the request a push of `class` would shed if the queue were at capacity (the
    /// oldest or newest of a less urgent droppable class, or of `class` at its bound with shed
    /// pick `Oldest`), for an owner with no room for one more request (the engine at its
    /// bound on requests inside): the arrival takes its place as it would at capacity.
    /// `None`: no such request, nothing changed.
    pub fn make_room(&mut self, now: Time, class: usize) -> Option<Removed<T>> {
        let (c, reason) = self.victim(class, true).ok().flatten()?;
        self.remove_end(now, c, self.plan.pick, reason)
    }

    /// The queued request a push of `class` displaces; `Ok(None)` when it fits without, `Err`
    /// when it is refused. `full`: as if at capacity.
    fn victim(&self, class: usize, full: bool) -> Result<Option<Victim>, Refusal> {
        let Some(&bound) = self.plan.bounds.get(class) else {
            return Err(Refusal::UnknownClass);
        };
        if self.classes[class].len() >= bound {
            if self.plan.pick == ShedPick::Newest {
                return Err(Refusal::ClassFull);
            }
            return Ok(self.picked(class).map(|c| (c, RemovalReason::ClassFull)));
        }
        if full || self.len >= self.plan.capacity {
            let victim = self.capacity_victim(class).and_then(|c| self.picked(c));
            return victim
                .map(|c| Some((c, RemovalReason::CapacityFull)))
                .ok_or(Refusal::CapacityFull);
        }
        Ok(None)
    }

    /// Keeps [`PriorityScheduler::oldest_bound`] at or before the arrival being queued, and
    /// notes whether pushes stay in time order (starting afresh when the queue is empty). Only
    /// aging reads them, so only aging pays for this.
    #[inline]
    fn note_push_time(&mut self, now: Time) {
        if self.len == 0 {
            self.oldest_bound = now;
            self.pushes_in_order = true;
        } else {
            self.oldest_bound = self.oldest_bound.min(now);
            self.pushes_in_order &= now >= self.last_push;
        }
        self.last_push = now;
    }

    /// The least urgent droppable class with requests that is strictly less urgent than
    /// `arriving`.
    fn capacity_victim(&self, arriving: usize) -> Option<usize> {
        self.plan
            .drop_order
            .iter()
            .copied()
            .take_while(|&class| class > arriving)
            .find(|&class| self.classes[class].len() > 0)
    }

    /// `class`, if it has a request to shed (its newest or oldest, per the shed pick).
    fn picked(&self, class: usize) -> Option<usize> {
        (self.classes[class].len() > 0).then_some(class)
    }

    /// Takes `class`'s oldest or newest request out without serving it.
    pub(super) fn remove_end(
        &mut self,
        now: Time,
        class: usize,
        end: ShedPick,
        reason: RemovalReason,
    ) -> Option<Removed<T>> {
        let queue = self.classes.get_mut(class)?;
        let taken = match end {
            ShedPick::Oldest => queue.take_oldest(),
            ShedPick::Newest => queue.take_newest(),
        }?;
        self.len -= 1;
        Some(removed(now, class, taken, reason))
    }

    /// Removes the request `ticket` names, if it is still queued (a client gave up).
    pub fn cancel(&mut self, ticket: Ticket) -> Option<T> {
        let queue = self.classes.get_mut(ticket.class())?;
        let taken = queue.cancel(ticket.seq())?;
        self.len -= 1;
        Some(taken.payload)
    }

    /// Whether the request `ticket` names is still queued.
    pub fn contains(&self, ticket: Ticket) -> bool {
        self.classes
            .get(ticket.class())
            .is_some_and(|q| q.contains(ticket.seq()))
    }

    /// The next request to serve at `now`, per the discipline. Deadlines are not checked here:
    /// call [`PriorityScheduler::drain_expired`] first if classes have deadlines.
    pub fn pop(&mut self, now: Time) -> Option<Popped<T>> {
        let class = self.select_class(now)?;
        let pressure = self.under_pressure();
        let queue = &mut self.classes[class];
        let taken = queue.serve()?;
        self.len -= 1;
        if self.plan.discipline == Discipline::Weighted {
            self.round.on_served(class, taken.cost, queue.len() == 0);
        }
        Some(Popped {
            ticket: Ticket::new(class, taken.seq),
            waited: now.saturating_since(taken.arrival),
            payload: taken.payload,
            class,
            tenant: taken.tenant,
            cost: taken.cost,
            downgrade: pressure && self.plan.downgrade_mask & (1 << class) != 0,
        })
    }
}

/// What the caller gets back for a request removed without being served.
fn removed<T>(now: Time, class: usize, taken: Taken<T>, reason: RemovalReason) -> Removed<T> {
    Removed {
        ticket: Ticket::new(class, taken.seq),
        waited: now.saturating_since(taken.arrival),
        payload: taken.payload,
        class,
        tenant: taken.tenant,
        cost: taken.cost,
        reason,
    }
}

fn refuse<T>(item: Item<T>, reason: Refusal) -> PushOutcome<T> {
    PushOutcome::Refused { item, reason }
}
