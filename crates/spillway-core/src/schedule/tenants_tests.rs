//! The tenant ring against a plain model of DRR: every tenant a sub-queue found by linear
//! search, removed requests trimmed off their tenant's ends when removed and skipped when they
//! reach the front, emptied tenants kept in the ring until visited or compacted. Whatever representation the ring uses inside (lone requests
//! inline, sub-queues, stale refs), the requests it serves must be the model's.

use super::arrivals::{Arrivals, Slot};
use super::class_queue::ClassQueue;
use super::tenants::TenantRing;
use crate::time::Time;
use rand_chacha::ChaCha8Rng;
use rand_core::{Rng, SeedableRng};
use std::collections::{BTreeSet, VecDeque};

/// A tenant in the model: id, (seq, cost) in arrival order, deficit.
type Member = (u64, VecDeque<(u64, u64)>, u64);

#[derive(Default)]
struct Model {
    ring: VecDeque<Member>,
    charged: bool,
    quantum: u64,
    removed: BTreeSet<u64>,
}

impl Model {
    fn push(&mut self, tenant: u64, seq: u64, cost: u64) {
        self.quantum = self.quantum.max(cost);
        match self.ring.iter_mut().find(|m| m.0 == tenant) {
            Some(member) => member.1.push_back((seq, cost)),
            None => self
                .ring
                .push_back((tenant, VecDeque::from([(seq, cost)]), 0)),
        }
    }

    fn skip_removed(&mut self) -> bool {
        let Some(member) = self.ring.front_mut() else {
            return false;
        };
        while member
            .1
            .front()
            .is_some_and(|h| self.removed.contains(&h.0))
        {
            member.1.pop_front();
        }
        if member.1.is_empty() {
            self.ring.pop_front();
            self.charged = false;
        }
        true
    }

    fn front(&mut self) -> Option<(u64, u64)> {
        loop {
            let before = self.ring.len();
            if !self.skip_removed() {
                return None;
            }
            if self.ring.len() < before {
                continue;
            }
            let member = self.ring.front_mut()?;
            if !self.charged {
                member.2 = member.2.saturating_add(self.quantum);
                self.charged = true;
            }
            let head = *member.1.front()?;
            if head.1 <= member.2 {
                return Some(head);
            }
            self.ring.rotate_left(1);
            self.charged = false;
        }
    }

    fn take_front(&mut self, cost: u64) {
        if let Some(member) = self.ring.front_mut() {
            member.1.pop_front();
            member.2 = member.2.saturating_sub(cost);
        }
        self.skip_removed();
    }

    /// A request left by another way: its tenant drops the removed refs at both ends of its
    /// queue at once (the rest wait for a visit or a compaction: lazy deletion).
    fn remove(&mut self, tenant: u64, seq: u64) {
        self.removed.insert(seq);
        let removed = &self.removed;
        if let Some(member) = self.ring.iter_mut().find(|m| m.0 == tenant) {
            while member.1.front().is_some_and(|h| removed.contains(&h.0)) {
                member.1.pop_front();
            }
            while member.1.back().is_some_and(|h| removed.contains(&h.0)) {
                member.1.pop_back();
            }
        }
    }

    /// Refs held, live or stale: the compaction trigger, so the ring must count exactly these.
    fn entries(&self) -> usize {
        self.ring.iter().map(|member| member.1.len()).sum()
    }

    fn compact(&mut self) {
        let removed = &self.removed;
        for member in &mut self.ring {
            member.1.retain(|h| !removed.contains(&h.0));
        }
        let front_emptied = self.ring.front().is_some_and(|m| m.1.is_empty());
        self.ring.retain(|m| !m.1.is_empty());
        if front_emptied {
            self.charged = false;
        }
    }
}

fn slot(seq: u64, tenant: u64, cost: u64) -> Slot<u64> {
    Slot {
        seq,
        arrival: Time::ZERO,
        cost,
        tenant,
        payload: Some(seq),
    }
}

/// One step: 0 or 1 push (tenant, cost), 2 peek, 3 pop, 4 cancel the `pick`-th live request,
/// otherwise compact. Its index is the pushed request's seq.
type Op = (u8, u64, u64, usize);

proptest::proptest! {
    /// Pushes, peeks, pops, cancels and compactions in any order: the ring settles on and
    /// serves exactly the model's requests, and holds exactly the model's refs (one per live
    /// request plus the stale ones between live ones, which decide compaction).
    #[test]
    fn the_ring_serves_as_plain_drr_does(
        ops in proptest::collection::vec((0u8..6, 0u64..12, 1u64..60, 0usize..64), 0..400),
    ) {
        serves_as_the_model(ops)?;
    }
}

/// A lone tenant charged on its visit, cancelled, then back with a costlier request (which
/// raised the quantum) cannot pay: it goes to the back carrying its credit, and that credit
/// serves its second request within its next visit, before tenant 2's.
#[test]
fn a_lone_tenant_that_cannot_pay_carries_its_credit_to_the_back() {
    let ops = vec![
        (0, 0, 10, 0),
        (0, 1, 10, 0),
        (2, 0, 0, 0),
        (4, 0, 0, 0),
        (0, 0, 30, 0),
        (2, 0, 0, 0),
        (0, 0, 10, 0),
        (0, 2, 10, 0),
    ];
    if let Err(failure) = serves_as_the_model(ops) {
        panic!("{failure}");
    }
}

fn serves_as_the_model(ops: Vec<Op>) -> Result<(), proptest::test_runner::TestCaseError> {
    let mut ring = TenantRing::default();
    let mut arrivals: Arrivals<u64> = Arrivals::new();
    let mut model = Model::default();
    let mut live: Vec<u64> = Vec::new();
    for (seq, (op, tenant, cost, pick)) in (0u64..).zip(ops) {
        match op {
            0 | 1 => {
                let queued = arrivals.push(slot(seq, tenant, cost));
                ring.push(tenant, queued, &arrivals);
                model.push(tenant, seq, cost);
                live.push(seq);
            }
            2 => {
                let got = ring.front(&arrivals).map(|r| (r.seq, r.cost));
                proptest::prop_assert_eq!(got, model.front());
            }
            3 => {
                let expected = model.front();
                let got = ring.front(&arrivals).and_then(|r| {
                    let taken = arrivals.take(arrivals.position_of_live(r))?;
                    ring.take_front(taken.cost, &arrivals);
                    Some((taken.seq, taken.cost))
                });
                proptest::prop_assert_eq!(got, expected);
                if let Some((seq, cost)) = got {
                    model.take_front(cost);
                    live.retain(|&s| s != seq);
                }
            }
            4 if !live.is_empty() => {
                let seq = live.remove(pick % live.len());
                let position = arrivals.find(seq);
                proptest::prop_assert!(position.is_some());
                let taken = position.and_then(|p| arrivals.take(p));
                proptest::prop_assert_eq!(taken.as_ref().map(|t| t.seq), Some(seq));
                if let Some(taken) = taken {
                    ring.trim_tenant(taken.tenant, &arrivals);
                    model.remove(taken.tenant, seq);
                }
            }
            _ => {
                ring.compact(&arrivals);
                arrivals.compact();
                ring.renumber(&arrivals);
                model.compact();
            }
        }
        proptest::prop_assert_eq!(ring.entries(), model.entries());
        ring.check_index();
    }
    while let Some(expected) = model.front() {
        let got = ring.front(&arrivals).and_then(|r| {
            let taken = arrivals.take(arrivals.position_of_live(r))?;
            ring.take_front(taken.cost, &arrivals);
            Some((taken.seq, taken.cost))
        });
        proptest::prop_assert_eq!(got, Some(expected));
        model.take_front(expected.1);
        ring.check_index();
    }
    proptest::prop_assert_eq!(ring.front(&arrivals).map(|r| r.seq), None);
    proptest::prop_assert_eq!(ring.entries(), 0);
    Ok(())
}

/// A class past the prefetch threshold (over 5,000 queued among 300 tenants), so its served
/// pops run [`TenantRing::prefetch_upcoming`] and `Arrivals::prefetch` (under overflow checks,
/// in a debug build) until it drains below it, over tombstones and stale refs from cancels and
/// sheds at both ends: it serves exactly the model's requests, and the index stays exact.
///
/// All pushes come before the first removal: a compaction (the class triggers its own) then
/// only drops emptied tenants no request will rejoin, which changes no order, so the model
/// needs no compaction of its own.
#[test]
fn a_class_past_the_prefetch_threshold_serves_as_plain_drr_does() {
    let mut rng = ChaCha8Rng::seed_from_u64(8);
    let mut queue: ClassQueue<u64> = ClassQueue::new(true);
    let mut model = Model::default();
    let mut live: Vec<u64> = Vec::new();
    let mut prefetching_pops = 0;
    for _ in 0..7_500 {
        if rng.next_u64() % 7 == 0 {
            prefetching_pops += pop_as_the_model(&mut queue, &mut model, &mut live);
        } else {
            let (tenant, cost) = (rng.next_u64() % 300, 1 + rng.next_u64() % 100);
            let seq = queue.push(Time::ZERO, tenant, cost, 0);
            model.push(tenant, seq, cost);
            live.push(seq);
        }
        check_index(&queue);
    }
    assert!(queue.len() > 5_000, "queued {}", queue.len());
    while queue.len() > 0 {
        match rng.next_u64() % 10 {
            0 => {
                let seq = live[(rng.next_u64() % live.len() as u64) as usize];
                let position = queue.find(seq);
                remove_as_the_model(&mut queue, &mut model, &mut live, position);
            }
            1 => remove_as_the_model(&mut queue, &mut model, &mut live, Some(0)),
            2 => {
                let newest = queue.newest_position();
                remove_as_the_model(&mut queue, &mut model, &mut live, newest);
            }
            _ => prefetching_pops += pop_as_the_model(&mut queue, &mut model, &mut live),
        }
        check_index(&queue);
    }
    assert_eq!(model.front(), None);
    assert!(
        prefetching_pops > 1_000,
        "{prefetching_pops} pops prefetched"
    );
}

/// Pops the class's next request and checks it is the model's; returns 1 if the class was past
/// the prefetch threshold as the pop began (so, but for trimming at the deque's ends, the pop
/// ran the prefetch path), else 0.
fn pop_as_the_model(queue: &mut ClassQueue<u64>, model: &mut Model, live: &mut Vec<u64>) -> usize {
    let expected = model.front();
    let prefetching = queue.prefetching();
    let taken = queue
        .next_to_serve()
        .and_then(|position| queue.take(position, true));
    let got = taken.map(|t| (t.seq, t.cost));
    assert_eq!(got, expected);
    if let Some((seq, cost)) = got {
        model.take_front(cost);
        live.retain(|&s| s != seq);
    }
    usize::from(prefetching && got.is_some())
}

/// Cancels or sheds the request at `position` in the class and in the model.
fn remove_as_the_model(
    queue: &mut ClassQueue<u64>,
    model: &mut Model,
    live: &mut Vec<u64>,
    position: Option<usize>,
) {
    let taken = position.and_then(|p| queue.take(p, false));
    let Some(taken) = taken else {
        panic!("no live request at {position:?}");
    };
    model.remove(taken.tenant, taken.seq);
    live.retain(|&s| s != taken.seq);
}

fn check_index(queue: &ClassQueue<u64>) {
    if let Some(ring) = queue.tenant_ring() {
        ring.check_index();
    }
}

proptest::proptest! {
    /// [`ClassQueue::next_cost`] asked after every push, pop and removal (so its cache is
    /// warm when the next push comes: a lone front converting to a sub-queue, a costlier
    /// request raising the quantum, a solo request being seated) answers the model's next
    /// cost, and the pops serve the model's requests. At most 32 pushes keep the class under
    /// its compaction trigger (2 × 2 × live + 64 held), so the model needs no compaction.
    #[test]
    fn the_cached_next_cost_survives_only_pushes_that_keep_the_answer(
        ops in proptest::collection::vec((0u8..5, 0u64..4, 1u64..40, 0usize..32), 0..32),
    ) {
        let mut queue: ClassQueue<u64> = ClassQueue::new(true);
        let mut model = Model::default();
        let mut live: Vec<u64> = Vec::new();
        for (op, tenant, cost, pick) in ops {
            match op {
                0 | 1 => {
                    let seq = queue.push(Time::ZERO, tenant, cost, 0);
                    model.push(tenant, seq, cost);
                    live.push(seq);
                }
                2 => {
                    pop_as_the_model(&mut queue, &mut model, &mut live);
                }
                _ if !live.is_empty() => {
                    let position = queue.find(live[pick % live.len()]);
                    remove_as_the_model(&mut queue, &mut model, &mut live, position);
                }
                _ => {}
            }
            proptest::prop_assert_eq!(queue.next_cost(), model.front().map(|(_, c)| c));
            check_index(&queue);
        }
    }
}
