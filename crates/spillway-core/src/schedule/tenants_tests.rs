//! A fair-share class against a plain model of DRR: every tenant a sub-queue found by linear
//! search, removed requests trimmed off their tenant's ends when removed and skipped when they
//! reach the front, emptied tenants kept in the ring until visited or compacted. Whatever
//! representation the class uses inside (requests in sub-queues, tokens in arrival order,
//! tombstones), the requests it serves must be the model's, and it must hold exactly the
//! model's entries (they decide when compaction runs, a visible decision).

use super::class_queue::ClassQueue;
use super::class_queue::Taken;
use super::fair::FairClass;
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

    /// A request left by another way: its tenant drops the removed requests at both ends of its
    /// queue at once (the rest wait for a visit or a compaction: lazy deletion).
    fn remove(&mut self, tenant: u64, seq: u64) {
        assert!(!self.removed.contains(&seq), "{seq} removed twice");
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

    /// Entries held, live or tombstones: part of the compaction trigger, so the class must
    /// count exactly these.
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

    /// The model's oldest (`newest`: its newest) live request, as (tenant, seq).
    fn end(&self, newest: bool) -> Option<(u64, u64)> {
        let live = self.ring.iter().flat_map(|m| {
            let removed = &self.removed;
            m.1.iter()
                .filter(move |h| !removed.contains(&h.0))
                .map(|h| (m.0, h.0))
        });
        if newest {
            live.max_by_key(|&(_, seq)| seq)
        } else {
            live.min_by_key(|&(_, seq)| seq)
        }
    }
}

/// One step: 0 or 1 push (tenant, cost), 2 peek, 3 pop, 4 cancel the `pick`-th live request,
/// 5 shed the oldest, 6 shed the newest, otherwise compact. Its index is the pushed request's
/// seq.
type Op = (u8, u64, u64, usize);

proptest::proptest! {
    /// Pushes, peeks, pops, cancels, sheds and compactions in any order: the class settles on
    /// and serves exactly the model's requests, sheds the model's oldest and newest, and holds
    /// exactly the model's entries (one per live request plus the tombstones between live
    /// ones, which decide compaction). Compactions the class triggers itself are mirrored.
    #[test]
    fn the_class_serves_as_plain_drr_does(
        ops in proptest::collection::vec((0u8..8, 0u64..12, 1u64..60, 0usize..64), 0..400),
    ) {
        serves_as_the_model(ops)?;
    }
}

/// A tenant charged on its visit, cancelled, then back with a costlier request (which raised
/// the quantum) cannot pay: it goes to the back carrying its credit, and that credit serves its
/// second request within its next visit, before tenant 2's.
#[test]
fn a_tenant_that_cannot_pay_carries_its_credit_to_the_back() {
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
    let mut class: FairClass<u64> = FairClass::default();
    let mut model = Model::default();
    let mut live: Vec<u64> = Vec::new();
    for (seq, (op, tenant, cost, pick)) in (0u64..).zip(ops) {
        let compactions = class.compactions();
        match op {
            0 | 1 => {
                class.push(seq, Time::ZERO, tenant, cost, seq);
                model.push(tenant, seq, cost);
                live.push(seq);
            }
            2 => {
                proptest::prop_assert_eq!(class.next_cost(), model.front().map(|(_, c)| c));
            }
            3 => {
                let expected = model.front();
                let got = class.serve().map(|t| (t.seq, t.cost));
                proptest::prop_assert_eq!(got, expected);
                if let Some((seq, cost)) = got {
                    model.take_front(cost);
                    live.retain(|&s| s != seq);
                }
            }
            4 if !live.is_empty() => {
                let seq = live.remove(pick % live.len());
                proptest::prop_assert!(class.contains(seq));
                let taken = class.cancel(seq);
                proptest::prop_assert_eq!(
                    taken.as_ref().map(|t| (t.seq, t.payload)),
                    Some((seq, seq))
                );
                proptest::prop_assert!(!class.contains(seq));
                if let Some(taken) = taken {
                    model.remove(taken.tenant, seq);
                }
            }
            5 | 6 => {
                let newest = op == 6;
                let expected = model.end(newest);
                let taken = if newest {
                    class.take_newest()
                } else {
                    class.take_oldest()
                };
                proptest::prop_assert_eq!(taken.as_ref().map(|t| (t.tenant, t.seq)), expected);
                if let Some((tenant, seq)) = expected {
                    model.remove(tenant, seq);
                    live.retain(|&s| s != seq);
                }
            }
            _ => {
                class.compact_now();
            }
        }
        if class.compactions() > compactions {
            model.compact();
        }
        proptest::prop_assert_eq!(class.entries(), model.entries());
        class.check();
    }
    while let Some(expected) = model.front() {
        let got = class.serve().map(|t| (t.seq, t.cost));
        proptest::prop_assert_eq!(got, Some(expected));
        model.take_front(expected.1);
        class.check();
    }
    proptest::prop_assert_eq!(class.serve().map(|t| t.seq), None);
    proptest::prop_assert_eq!(class.entries(), 0);
    Ok(())
}

/// A class past the prefetch threshold (over 5,000 queued among 300 tenants), so its served
/// pops prefetch (under overflow checks, in a debug build) until it drains below it, over
/// tombstones from cancels and sheds at both ends: it serves exactly the model's requests, and
/// its invariants hold. Compactions the class triggers are mirrored by the model.
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
        check(&queue);
    }
    assert!(queue.len() > 5_000, "queued {}", queue.len());
    while queue.len() > 0 {
        let before = compactions(&queue);
        match rng.next_u64() % 10 {
            0 => {
                let seq = live[(rng.next_u64() % live.len() as u64) as usize];
                let taken = queue.cancel(seq);
                removed_as_the_model(&mut model, &mut live, taken);
            }
            1 => {
                let taken = queue.take_oldest();
                removed_as_the_model(&mut model, &mut live, taken);
            }
            2 => {
                let taken = queue.take_newest();
                removed_as_the_model(&mut model, &mut live, taken);
            }
            _ => prefetching_pops += pop_as_the_model(&mut queue, &mut model, &mut live),
        }
        if compactions(&queue) > before {
            model.compact();
        }
        check(&queue);
    }
    assert_eq!(model.front(), None);
    assert!(
        prefetching_pops > 1_000,
        "{prefetching_pops} pops prefetched"
    );
}

/// Pops the class's next request and checks it is the model's; returns 1 if the class was past
/// the prefetch threshold as the pop began, else 0.
fn pop_as_the_model(queue: &mut ClassQueue<u64>, model: &mut Model, live: &mut Vec<u64>) -> usize {
    let expected = model.front();
    let prefetching = queue.fair().is_some_and(FairClass::prefetching);
    let got = queue.serve().map(|t| (t.seq, t.cost));
    assert_eq!(got, expected);
    if let Some((seq, cost)) = got {
        model.take_front(cost);
        live.retain(|&s| s != seq);
    }
    usize::from(prefetching && got.is_some())
}

/// Mirrors a cancel or shed in the model.
fn removed_as_the_model(model: &mut Model, live: &mut Vec<u64>, taken: Option<Taken<u64>>) {
    let Some(taken) = taken else {
        panic!("nothing was removed");
    };
    model.remove(taken.tenant, taken.seq);
    live.retain(|&s| s != taken.seq);
}

fn check(queue: &ClassQueue<u64>) {
    if let Some(fair) = queue.fair() {
        fair.check();
    }
}

fn compactions(queue: &ClassQueue<u64>) -> u64 {
    queue.fair().map_or(0, FairClass::compactions)
}

proptest::proptest! {
    /// [`ClassQueue::next_cost`] asked after every push, pop and removal (so its cache is
    /// warm when the next push comes: an emptied front tenant getting a request again, a
    /// costlier request raising the quantum) answers the model's next cost, and the pops serve
    /// the model's requests. At most 32 pushes keep the class under its compaction trigger
    /// (4 × live + 64 held), so the model needs no compaction.
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
                    let taken = queue.cancel(live[pick % live.len()]);
                    removed_as_the_model(&mut model, &mut live, taken);
                }
                _ => {}
            }
            proptest::prop_assert_eq!(queue.next_cost(), model.front().map(|(_, c)| c));
            check(&queue);
        }
    }
}

/// A tenant whose deep backlog drained frees its buffer: the freed slots keep room for a few
/// dozen entries each, not for the deepest backlog they ever held.
#[test]
fn a_drained_deep_backlog_gives_its_memory_back() {
    let mut class: FairClass<u64> = FairClass::default();
    for seq in 0..10_000 {
        class.push(seq, Time::ZERO, seq % 2, 1, seq);
    }
    while class.serve().is_some() {}
    assert_eq!(class.len(), 0);
    assert!(
        class.free_capacity() <= 2 * 64,
        "{} entries kept",
        class.free_capacity()
    );
}

/// Tenants emptied by cancels in a class that is never served keep their place in the ring
/// (a visible decision), but not their buffers: memory for them is a record each.
#[test]
fn emptied_tenants_keep_no_buffers() {
    let mut class: FairClass<u64> = FairClass::default();
    class.push(0, Time::ZERO, u64::MAX, 1, 0);
    class.push(1, Time::ZERO, u64::MAX - 1, 1, 1);
    for tenant in 1..1_000 {
        let seq = 2 * tenant;
        class.push(seq, Time::ZERO, tenant, 1, seq);
        class.push(seq + 1, Time::ZERO, tenant, 1, seq + 1);
        assert!(class.cancel(seq).is_some());
        assert!(class.cancel(seq + 1).is_some());
    }
    class.check();
    assert_eq!(class.len(), 2);
    assert_eq!(
        class.emptied_capacity(),
        0,
        "emptied tenants' buffers are freed"
    );
}
