//! [`PriorityScheduler`]: the queue itself — push, pop, cancel, sizes.

use super::class_queue::{ClassQueue, Queued};
use super::config::{Discipline, SchedulerConfig, ShedPick};
use super::error::ConfigError;
use super::plan::Plan;
use super::slab::{Entry, Handle, Slab};
use super::types::{Item, Popped, PushOutcome, Refusal, RemovalReason, Removed, Ticket};
use super::weighted::WeightedRound;
use crate::time::Time;

/// A bounded multi-class queue for an LLM gateway, with time passed in. See the
/// [module docs](super) for the semantics.
#[derive(Debug)]
pub struct PriorityScheduler<T> {
    pub(super) plan: Plan,
    pub(super) slab: Slab<T>,
    pub(super) classes: Vec<ClassQueue>,
    pub(super) len: usize,
    pub(super) round: WeightedRound,
}

impl<T> PriorityScheduler<T> {
    /// A scheduler for `config`, or the first problem found in it.
    pub fn new(config: &SchedulerConfig) -> Result<Self, ConfigError> {
        let plan = Plan::new(config)?;
        let classes = (0..plan.names.len())
            .map(|_| ClassQueue::new(plan.fair_share))
            .collect();
        Ok(PriorityScheduler {
            slab: Slab::with_capacity(plan.capacity.min(1 << 16)),
            classes,
            len: 0,
            round: WeightedRound::new(&plan.weights),
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
        let Some(&bound) = self.plan.bounds.get(class) else {
            return refuse(item, Refusal::UnknownClass);
        };
        let victim = if self.classes[class].len() >= bound {
            if self.plan.pick == ShedPick::Newest {
                return refuse(item, Refusal::ClassFull);
            }
            self.picked(class).map(|h| (h, RemovalReason::ClassFull))
        } else if self.len >= self.plan.capacity {
            let Some(victim) = self.capacity_victim(class).and_then(|c| self.picked(c)) else {
                return refuse(item, Refusal::CapacityFull);
            };
            Some((victim, RemovalReason::CapacityFull))
        } else {
            None
        };
        let entry = Entry {
            payload: item.payload,
            arrival: now,
            tenant: item.tenant,
            cost: item.cost,
            class,
        };
        let handle = match self.slab.insert(entry) {
            Ok(handle) => handle,
            // Only after ~2^32 slot retirements (capacity is at most 2^31): refuse, never panic.
            Err(entry) => return refuse(entry.into_item(), Refusal::CapacityFull),
        };
        let shed = victim.and_then(|(victim, reason)| self.remove(now, victim, reason));
        let queued = Queued {
            handle,
            arrival: now,
            cost: item.cost,
        };
        self.classes[class].push(queued, item.tenant);
        self.len += 1;
        PushOutcome::Queued {
            ticket: Ticket(handle),
            shed,
        }
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

    /// `class`'s newest or oldest request, per the shed pick.
    fn picked(&self, class: usize) -> Option<Handle> {
        let queue = &self.classes[class];
        let queued = match self.plan.pick {
            ShedPick::Newest => queue.newest(),
            ShedPick::Oldest => queue.oldest(),
        };
        queued.map(|q| q.handle)
    }

    /// Takes a queued request out without serving it.
    pub(super) fn remove(
        &mut self,
        now: Time,
        handle: Handle,
        reason: RemovalReason,
    ) -> Option<Removed<T>> {
        let entry = self.slab.remove(handle)?;
        self.classes[entry.class].on_removed(entry.tenant, entry.cost, false, &self.slab);
        self.len -= 1;
        Some(Removed {
            ticket: Ticket(handle),
            waited: now.saturating_since(entry.arrival),
            payload: entry.payload,
            class: entry.class,
            tenant: entry.tenant,
            cost: entry.cost,
            reason,
        })
    }

    /// Removes the request `ticket` names, if it is still queued (a client gave up).
    pub fn cancel(&mut self, ticket: Ticket) -> Option<T> {
        let entry = self.slab.remove(ticket.0)?;
        self.classes[entry.class].on_removed(entry.tenant, entry.cost, false, &self.slab);
        self.len -= 1;
        Some(entry.payload)
    }

    /// Whether the request `ticket` names is still queued.
    pub fn contains(&self, ticket: Ticket) -> bool {
        self.slab.is_live(ticket.0)
    }

    /// The next request to serve at `now`, per the discipline. Deadlines are not checked here:
    /// call [`PriorityScheduler::drain_expired`] first if classes have deadlines.
    pub fn pop(&mut self, now: Time) -> Option<Popped<T>> {
        let class = self.select_class(now)?;
        let pressure = self.under_pressure();
        let handle = self.classes[class].next_to_serve(&self.slab)?.handle;
        let entry = self.slab.remove(handle)?;
        let queue = &mut self.classes[class];
        queue.on_removed(entry.tenant, entry.cost, true, &self.slab);
        self.len -= 1;
        if self.plan.discipline == Discipline::Weighted {
            self.round.on_served(class, entry.cost, queue.len() == 0);
        }
        Some(Popped {
            ticket: Ticket(handle),
            waited: now.saturating_since(entry.arrival),
            payload: entry.payload,
            class,
            tenant: entry.tenant,
            cost: entry.cost,
            downgrade: pressure && self.plan.downgrade_mask & (1 << class) != 0,
        })
    }
}

fn refuse<T>(item: Item<T>, reason: Refusal) -> PushOutcome<T> {
    PushOutcome::Refused { item, reason }
}
