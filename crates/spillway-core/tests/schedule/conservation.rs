//! Random configs and random operation sequences against a plain model of what is queued:
//! every pushed request leaves exactly once (popped, shed, expired, cancelled); FIFO within
//! class and tenant (within class without fair share); bounds are never exceeded; an arrival
//! is refused only when it must be; capacity shedding never drops a request while a less urgent
//! one is queued; the downgrade flag follows the pressure rule; deadlines are exact.

use crate::{START, config, scheduler};
use proptest::prelude::*;
use spillway_core::schedule::{
    ClassSpec, Discipline, Item, PriorityScheduler, PushOutcome, Refusal, RemovalReason, Removed,
    SchedulerConfig, ShedPick, ShedStep, Ticket,
};
use spillway_core::{Duration, Time};
use std::collections::BTreeMap;

/// Class count, bound increments, deadlines (µs), weights, drop count, downgrade bits.
type Classes = (usize, Vec<usize>, Vec<Option<u64>>, Vec<u64>, usize, u64);
/// Capacity, discipline, aging step (µs), fair share, pick oldest, pressure per mille.
type Knobs = (Option<usize>, usize, u64, bool, bool, u32);

fn classes() -> impl Strategy<Value = Classes> {
    (1usize..=4).prop_flat_map(|n| {
        (
            Just(n),
            prop::collection::vec(0usize..4, n),
            prop::collection::vec(prop::option::weighted(0.4, 1u64..3_000), n),
            prop::collection::vec(1u64..50, n),
            0usize..=n,
            any::<u64>(),
        )
    })
}

fn knobs() -> impl Strategy<Value = Knobs> {
    (
        prop::option::of(1usize..30),
        0usize..3,
        1u64..500,
        any::<bool>(),
        any::<bool>(),
        0u32..=1000,
    )
}

fn build((classes, knobs): (Classes, Knobs)) -> SchedulerConfig {
    let (n, increments, deadlines, weights, drops, downgrade_bits) = classes;
    let (capacity, discipline, step_us, fair, oldest, permille) = knobs;
    let mut bound = 0;
    let specs = (0..n)
        .map(|i| {
            bound += 1 + increments[i];
            ClassSpec {
                name: format!("c{i}"),
                bound,
                weight: weights[i],
                deadline: deadlines[i].map(Duration::from_micros),
            }
        })
        .collect();
    let mut shed_order: Vec<ShedStep> = (0..drops)
        .map(|k| ShedStep::Drop(format!("c{}", n - 1 - k)))
        .collect();
    for class in 0..n - drops {
        if downgrade_bits & (1 << class) != 0 {
            shed_order.push(ShedStep::Downgrade(format!("c{class}")));
        }
    }
    SchedulerConfig {
        classes: specs,
        discipline: match discipline {
            0 => Discipline::Strict,
            1 => Discipline::Aging {
                step: Duration::from_micros(step_us),
            },
            _ => Discipline::Weighted,
        },
        tenant_fair_share: fair,
        capacity,
        shed_order,
        shed_pick: if oldest {
            ShedPick::Oldest
        } else {
            ShedPick::Newest
        },
        pressure_permille: permille,
    }
}

#[derive(Clone, Debug)]
enum Op {
    /// Class (one past the last is possible: unknown), tenant, cost.
    Push(usize, u64, u64),
    Pop,
    /// Index into all tickets ever issued.
    Cancel(usize),
    Drain,
}

fn ops() -> impl Strategy<Value = Vec<(u64, Op)>> {
    let op = prop_oneof![
        5 => (0usize..5, 0u64..3, 0u64..20).prop_map(|(c, t, k)| Op::Push(c, t, k)),
        3 => Just(Op::Pop),
        1 => any::<usize>().prop_map(Op::Cancel),
        1 => Just(Op::Drain),
    ];
    prop::collection::vec((0u64..400, op), 1..150)
}

#[derive(Clone, Debug)]
struct Queued {
    class: usize,
    tenant: u64,
    arrival: Time,
}

/// The scheduler under test next to the model of what it holds.
struct Harness {
    s: PriorityScheduler<u64>,
    cfg: SchedulerConfig,
    /// Queued requests by id (= push order).
    live: BTreeMap<u64, Queued>,
    tickets: Vec<Ticket>,
    next_id: u64,
}

impl Harness {
    fn lens(&self) -> Vec<usize> {
        (0..self.cfg.classes.len())
            .map(|c| self.s.len_of(c))
            .collect()
    }

    fn expiry_of(&self, q: &Queued) -> Option<Time> {
        let deadline = self.cfg.classes[q.class].deadline?;
        Some(q.arrival.saturating_add(deadline))
    }

    /// Takes a departing request out of the model; it must have been queued.
    fn leave(&mut self, id: u64, class: usize) -> Result<Queued, TestCaseError> {
        let q = self.live.remove(&id);
        prop_assert!(q.is_some(), "request {} left twice or was never queued", id);
        let q = q.expect("checked");
        prop_assert_eq!(q.class, class);
        Ok(q)
    }

    fn check_sizes(&self) -> Result<(), TestCaseError> {
        prop_assert_eq!(self.s.len(), self.live.len());
        prop_assert!(self.s.len() <= self.s.capacity());
        for (c, spec) in self.cfg.classes.iter().enumerate() {
            let model = self.live.values().filter(|q| q.class == c).count();
            prop_assert_eq!(self.s.len_of(c), model);
            prop_assert!(
                model <= spec.bound,
                "class {} holds {} > {}",
                c,
                model,
                spec.bound
            );
        }
        let next = self.live.values().filter_map(|q| self.expiry_of(q)).min();
        prop_assert_eq!(self.s.next_expiry(), next);
        Ok(())
    }
}

impl Harness {
    fn push(
        &mut self,
        now: Time,
        class: usize,
        tenant: u64,
        cost: u64,
    ) -> Result<(), TestCaseError> {
        let id = self.next_id;
        self.next_id += 1;
        let lens = self.lens();
        let (len, n) = (self.s.len(), self.cfg.classes.len());
        let item = Item {
            class,
            tenant,
            cost,
            payload: id,
        };
        match self.s.push(now, item) {
            PushOutcome::Refused { item, reason } => {
                prop_assert_eq!(item.payload, id, "the refused item is handed back");
                let expected = if class >= n {
                    Refusal::UnknownClass
                } else if lens[class] >= self.cfg.classes[class].bound {
                    Refusal::ClassFull
                } else {
                    Refusal::CapacityFull
                };
                prop_assert_eq!(reason, expected);
                if reason == Refusal::ClassFull {
                    prop_assert_eq!(self.cfg.shed_pick, ShedPick::Newest);
                }
                if reason == Refusal::CapacityFull {
                    prop_assert_eq!(len, self.s.capacity());
                    let droppable = lens.iter().enumerate().any(|(c, &l)| {
                        c > class && l > 0 && self.cfg.classes.len() - c <= drop_count(&self.cfg)
                    });
                    prop_assert!(
                        !droppable,
                        "refused although a lower droppable class is queued"
                    );
                }
            }
            PushOutcome::Queued { ticket, shed } => {
                prop_assert!(class < n);
                self.tickets.push(ticket);
                if let Some(victim) = shed {
                    self.check_victim(&victim, class, &lens, len)?;
                } else {
                    prop_assert!(lens[class] < self.cfg.classes[class].bound);
                    prop_assert!(
                        len < self.s.capacity(),
                        "queued at capacity without shedding"
                    );
                }
                self.live.insert(
                    id,
                    Queued {
                        class,
                        tenant,
                        arrival: now,
                    },
                );
            }
        }
        Ok(())
    }

    fn check_victim(
        &mut self,
        victim: &Removed<u64>,
        arriving: usize,
        lens: &[usize],
        len: usize,
    ) -> Result<(), TestCaseError> {
        let q = self.leave(victim.payload, victim.class)?;
        let same_class_ids = self
            .live
            .iter()
            .filter(|(_, o)| o.class == q.class)
            .map(|(&id, _)| id);
        let (oldest, newest) = (same_class_ids.clone().min(), same_class_ids.max());
        match self.cfg.shed_pick {
            ShedPick::Oldest => {
                prop_assert!(oldest.is_none_or(|o| o > victim.payload), "not the oldest")
            }
            ShedPick::Newest => {
                prop_assert!(newest.is_none_or(|o| o < victim.payload), "not the newest")
            }
        }
        match victim.reason {
            RemovalReason::ClassFull => {
                prop_assert_eq!(victim.class, arriving);
                prop_assert_eq!(lens[arriving], self.cfg.classes[arriving].bound);
            }
            RemovalReason::CapacityFull => {
                prop_assert_eq!(len, self.s.capacity());
                prop_assert!(
                    victim.class > arriving,
                    "dropped a class not below the arrival"
                );
                let lower_queued = lens[victim.class + 1..].iter().any(|&l| l > 0);
                prop_assert!(
                    !lower_queued,
                    "dropped class {} while a lower one was queued",
                    victim.class
                );
            }
            other => prop_assert!(false, "shed with reason {:?}", other),
        }
        Ok(())
    }

    fn pop(&mut self, now: Time) -> Result<(), TestCaseError> {
        let len = self.s.len();
        let lens = self.lens();
        let Some(p) = self.s.pop(now) else {
            prop_assert!(
                self.live.is_empty(),
                "pop returned nothing with requests queued"
            );
            return Ok(());
        };
        let q = self.leave(p.payload, p.class)?;
        prop_assert_eq!(p.tenant, q.tenant);
        prop_assert_eq!(p.waited, now.saturating_since(q.arrival));
        let fifo_peer = |o: &Queued| {
            o.class == q.class && (!self.cfg.tenant_fair_share || o.tenant == q.tenant)
        };
        let older = self.live.range(..p.payload).any(|(_, o)| fifo_peer(o));
        prop_assert!(
            !older,
            "request {} popped before an older one of its class/tenant",
            p.payload
        );
        if self.cfg.discipline == Discipline::Strict {
            prop_assert_eq!(Some(p.class), lens.iter().position(|&l| l > 0));
        }
        let pressure = (len as u128 * 1000)
            >= self.s.capacity() as u128 * u128::from(self.cfg.pressure_permille);
        let downgradable = self
            .cfg
            .shed_order
            .contains(&ShedStep::Downgrade(format!("c{}", p.class)));
        prop_assert_eq!(p.downgrade, pressure && downgradable);
        Ok(())
    }

    fn cancel(&mut self, index: usize) -> Result<(), TestCaseError> {
        if self.tickets.is_empty() {
            return Ok(());
        }
        let ticket = self.tickets[index % self.tickets.len()];
        let was_queued = self.s.contains(ticket);
        match self.s.cancel(ticket) {
            Some(id) => {
                prop_assert!(was_queued);
                let class = self.live.get(&id).map_or(usize::MAX, |q| q.class);
                self.leave(id, class)?;
            }
            None => prop_assert!(!was_queued, "a queued ticket did not cancel"),
        }
        prop_assert!(!self.s.contains(ticket));
        Ok(())
    }

    fn drain(&mut self, now: Time) -> Result<(), TestCaseError> {
        let mut expired = Vec::new();
        self.s.drain_expired(now, &mut |r| expired.push(r));
        for r in expired {
            prop_assert_eq!(r.reason, RemovalReason::Expired);
            let q = self.leave(r.payload, r.class)?;
            prop_assert!(
                self.expiry_of(&q).is_some_and(|e| e <= now),
                "expired early"
            );
        }
        let overdue = self
            .live
            .values()
            .any(|q| self.expiry_of(q).is_some_and(|e| e <= now));
        prop_assert!(!overdue, "an expired request is still queued after drain");
        Ok(())
    }
}

fn drop_count(cfg: &SchedulerConfig) -> usize {
    cfg.shed_order
        .iter()
        .filter(|s| matches!(s, ShedStep::Drop(_)))
        .count()
}

proptest! {
    #![proptest_config(config("conservation"))]

    #[test]
    fn every_request_leaves_exactly_once_and_all_rules_hold(cfg in (classes(), knobs()).prop_map(build), ops in ops()) {
        let mut h = Harness { s: scheduler(&cfg), cfg, live: BTreeMap::new(), tickets: Vec::new(), next_id: 0 };
        let mut now = START;
        for (gap_us, op) in ops {
            now = now.saturating_add(Duration::from_micros(gap_us));
            match op {
                Op::Push(class, tenant, cost) => h.push(now, class, tenant, cost)?,
                Op::Pop => h.pop(now)?,
                Op::Cancel(index) => h.cancel(index)?,
                Op::Drain => h.drain(now)?,
            }
            h.check_sizes()?;
        }
        while !h.live.is_empty() {
            h.pop(now)?;
        }
        prop_assert!(h.s.pop(now).is_none());
        prop_assert!(h.s.is_empty());
        prop_assert_eq!(h.s.next_expiry(), None);
    }
}
