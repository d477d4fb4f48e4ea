//! Scheduler speed in steady state: 100,000 requests queued, then every iteration pushes one
//! and pops one (virtual time advancing 1 µs), so the queue stays at 100,000. Target: at most
//! 100 ns per push + pop.
//!
//! Two std baselines run under the same conditions (this machine is shared, so absolute numbers
//! drift; compare within one run): a `VecDeque` FIFO, the floor for any queue that serves
//! requests pushed 100k operations earlier, and a `BinaryHeap`, the O(log n) alternative.
//!
//! Issue 19's peers run on the scheduler's own items (four per-class `VecDeque`s for strict, a
//! `BinaryHeap` keyed by (class, arrival) for every discipline), at 100k and at 1,000 queued (a
//! realistic gateway depth; the default capacity is 6,250), where the working set fits in cache:
//! the gap to the 100k runs is memory latency, not algorithm.
//!
//! Classes, tenants and costs follow a fixed scattered pattern (multiplicative hashing), so
//! consecutive requests land in different classes and tenant sub-queues, as in a real mix.

use criterion::{Criterion, criterion_group, criterion_main};
use spillway_core::schedule::{ClassSpec, Discipline, Item, PriorityScheduler, SchedulerConfig};
use spillway_core::{Duration, Time};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::hint::black_box;

const QUEUED: u64 = 100_000;
const TENANTS: u64 = 1_000;

fn scattered(i: u64) -> u64 {
    i.wrapping_mul(2_654_435_761) >> 7
}

fn item(i: u64) -> Item<u64> {
    let h = scattered(i);
    Item {
        class: (h % 4) as usize,
        tenant: (h / 4) % TENANTS,
        cost: 100 + (h / 4096) % 4_000,
        payload: i,
    }
}

fn config(discipline: Discipline, fair_share: bool, queued: u64) -> SchedulerConfig {
    let weights = [5000, 3000, 1000, 100];
    let names = ["interactive", "standard", "batch", "background"];
    SchedulerConfig {
        classes: names
            .iter()
            .zip(weights)
            .map(|(name, weight)| ClassSpec::new(name, 2 * queued as usize, weight))
            .collect(),
        discipline,
        tenant_fair_share: fair_share,
        capacity: Some(2 * queued as usize),
        ..SchedulerConfig::default()
    }
}

fn steady_state(c: &mut Criterion, name: &str, discipline: Discipline, fair_share: bool) {
    steady_state_at(c, name, discipline, fair_share, QUEUED);
}

fn steady_state_at(
    c: &mut Criterion,
    name: &str,
    discipline: Discipline,
    fair_share: bool,
    queued: u64,
) {
    let config = config(discipline, fair_share, queued);
    let mut s = PriorityScheduler::new(&config).expect("valid config");
    let mut now = Time::from_secs(1);
    let mut i = 0;
    while (s.len() as u64) < queued {
        let _ = s.push(now, item(i));
        i += 1;
    }
    c.bench_function(name, |b| {
        b.iter(|| {
            now = now.saturating_add(Duration::from_micros(1));
            i += 1;
            let _ = black_box(s.push(now, item(i)));
            black_box(s.pop(now))
        })
    });
    assert_eq!(s.len() as u64, queued, "steady state kept the queue full");
}

fn baselines(c: &mut Criterion) {
    let mut fifo: VecDeque<Item<u64>> = (0..QUEUED).map(item).collect();
    let mut i = QUEUED;
    c.bench_function("baseline 100k/VecDeque fifo", |b| {
        b.iter(|| {
            i += 1;
            fifo.push_back(item(i));
            black_box(fifo.pop_front())
        })
    });
    let mut heap: BinaryHeap<(Reverse<u64>, u64)> = (0..QUEUED)
        .map(|i| (Reverse(scattered(i) % 4 * 1_000_000_000 + i), i))
        .collect();
    c.bench_function("baseline 100k/BinaryHeap", |b| {
        b.iter(|| {
            i += 1;
            heap.push((Reverse(scattered(i) % 4 * 1_000_000_000 + i), i));
            black_box(heap.pop())
        })
    });
}

/// A heap entry ordered by its key only, carrying the same 32-byte item the scheduler queues.
struct Keyed(Reverse<u64>, Item<u64>);

impl PartialEq for Keyed {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Keyed {}
impl PartialOrd for Keyed {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Keyed {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

/// The peers issue 19 names, on the scheduler's own items: strict priority over four per-class
/// `VecDeque`s (the floor for `strict`), and a `BinaryHeap` of the same items keyed by
/// (class, arrival) (the bound for every discipline). Beside them, like for like, a heap that
/// serves in each discipline's own order (see [`Order`]).
fn peers(c: &mut Criterion) {
    for (queued, label) in [(QUEUED, "100k"), (1_000, "1k")] {
        four_deques(c, queued, label);
        heap_peer(
            c,
            &format!("peer {label}/BinaryHeap items"),
            queued,
            &mut ClassArrival,
        );
        heap_peer(
            c,
            &format!("peer {label}/BinaryHeap items, aging order"),
            queued,
            &mut Aged,
        );
        let mut wfq = FairFinish::default();
        heap_peer(
            c,
            &format!("peer {label}/BinaryHeap items, weighted order"),
            queued,
            &mut wfq,
        );
    }
}

/// A service order a `BinaryHeap` can keep: the key of each item as it is pushed, told the key
/// of each item served.
///
/// Why these peers: which requests a discipline serves decides which memory it touches. Keyed by
/// (class, arrival), the heap serves class 0 to 2 almost as soon as they arrive (their entries
/// still in cache) and only class 3's oldest from deep in the heap; aging serves requests that
/// waited ~100 ms at 100 k queued, from every class, whatever the structure. Each peer below is
/// the textbook heap encoding of a discipline (same intent, not the identical order).
trait Order {
    fn key(&mut self, item: &Item<u64>) -> u64;
    fn served(&mut self, _key: u64) {}
}

/// Issue 19's key: class, then arrival (strict priority).
struct ClassArrival;

impl Order for ClassArrival {
    fn key(&mut self, item: &Item<u64>) -> u64 {
        ((item.class as u64) << 48) + item.payload
    }
}

/// Linear aging: rank by arrival plus one step per class (the bench's 50 ms), arrival in µs as
/// the scheduler benches advance time (one request a µs).
struct Aged;

impl Order for Aged {
    fn key(&mut self, item: &Item<u64>) -> u64 {
        item.payload * 1_000 + item.class as u64 * 50_000_000
    }
}

/// Weighted fair queueing by virtual finish time (self-clocked): a request starts at the later
/// of the virtual time (the last served finish) and its class's last finish, and finishes
/// `cost / weight` later (the bench's weights, in units where every weight divides exactly).
#[derive(Default)]
struct FairFinish {
    virtual_now: u64,
    last_finish: [u64; 4],
}

impl Order for FairFinish {
    fn key(&mut self, item: &Item<u64>) -> u64 {
        const PER_WEIGHT: [u64; 4] = [3, 5, 15, 150]; // 15,000 / [5000, 3000, 1000, 100]
        let start = self.virtual_now.max(self.last_finish[item.class]);
        let finish = start + item.cost * PER_WEIGHT[item.class];
        self.last_finish[item.class] = finish;
        finish
    }
    fn served(&mut self, key: u64) {
        self.virtual_now = key;
    }
}

/// A `BinaryHeap` of the scheduler's items in `order`, push + pop at `queued` deep.
fn heap_peer(c: &mut Criterion, name: &str, queued: u64, order: &mut impl Order) {
    let mut heap: BinaryHeap<Keyed> = (0..queued)
        .map(item)
        .map(|it| Keyed(Reverse(order.key(&it)), it))
        .collect();
    let mut i = queued;
    c.bench_function(name, |b| {
        b.iter(|| {
            i += 1;
            let it = item(i);
            heap.push(Keyed(Reverse(order.key(&it)), it));
            let served = heap.pop().map(|Keyed(Reverse(key), item)| {
                order.served(key);
                item
            });
            black_box(served)
        })
    });
}

/// Strict priority over four per-class `VecDeque`s: the floor for `strict`.
fn four_deques(c: &mut Criterion, queued: u64, label: &str) {
    let mut classes: [VecDeque<Item<u64>>; 4] = Default::default();
    for i in 0..queued {
        let it = item(i);
        classes[it.class].push_back(it);
    }
    let mut i = queued;
    c.bench_function(&format!("peer {label}/4 VecDeques strict"), |b| {
        b.iter(|| {
            i += 1;
            let it = item(i);
            classes[it.class].push_back(it);
            black_box(classes.iter_mut().find_map(VecDeque::pop_front))
        })
    });
}

fn push_pop(c: &mut Criterion) {
    let aging = Discipline::Aging {
        step: Duration::from_millis(50),
    };
    steady_state(c, "push+pop 100k/strict", Discipline::Strict, false);
    steady_state(c, "push+pop 100k/aging", aging, false);
    steady_state(c, "push+pop 100k/weighted", Discipline::Weighted, false);
    steady_state(c, "push+pop 100k/strict+tenants", Discipline::Strict, true);
    steady_state(c, "push+pop 100k/aging+tenants", aging, true);
    steady_state(
        c,
        "push+pop 100k/weighted+tenants",
        Discipline::Weighted,
        true,
    );
    steady_state_at(c, "push+pop 1k/strict", Discipline::Strict, false, 1_000);
    steady_state_at(c, "push+pop 1k/aging", aging, false, 1_000);
    steady_state_at(
        c,
        "push+pop 1k/weighted",
        Discipline::Weighted,
        false,
        1_000,
    );
    steady_state_at(
        c,
        "push+pop 1k/strict+tenants",
        Discipline::Strict,
        true,
        1_000,
    );
    steady_state_at(c, "push+pop 1k/aging+tenants", aging, true, 1_000);
    steady_state_at(
        c,
        "push+pop 1k/weighted+tenants",
        Discipline::Weighted,
        true,
        1_000,
    );
}

criterion_group!(benches, baselines, peers, push_pop);
criterion_main!(benches);
