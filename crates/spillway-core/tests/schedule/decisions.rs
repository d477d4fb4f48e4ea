//! The scheduler's decisions, pinned: seeded random configs and operation sequences (every
//! discipline, with and without tenant fair share, both shed picks, deadlines, cancels, time
//! going backwards, runs long enough to compact), each digested into one hash of everything the
//! scheduler answered. `decisions.txt` holds the digests the slab-based scheduler of 2026-12-04
//! produced, so a restructuring of its storage (done for speed) is checked to decide exactly as
//! before, down to the DRR state that compaction timing touches.
//!
//! Tickets are opaque and their representation may change; they are digested as the push index
//! they name (each ticket handed back must be the one its push returned).
//! `SPILLWAY_BLESS_DECISIONS=1` rewrites the file (only for an intended change of behaviour).

use spillway_core::schedule::{
    ClassSpec, Discipline, Item, PriorityScheduler, PushOutcome, SchedulerConfig, ShedPick,
    ShedStep, Ticket,
};
use spillway_core::{Duration, Time};

const SCENARIOS: u64 = 400;
const FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/schedule/decisions.txt");

/// SplitMix64: a tiny seeded generator, so the scenarios never depend on a crate's stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// FNV-1a over the answers.
struct Digest(u64);

impl Digest {
    fn add(&mut self, value: u64) {
        for byte in value.to_le_bytes() {
            self.0 = (self.0 ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
        }
    }
}

fn config(rng: &mut Rng) -> SchedulerConfig {
    let n = 1 + rng.below(4) as usize;
    let spread = [3, 40, 400][rng.below(3) as usize];
    let heavy_weights = rng.chance(50);
    let mut bound = 0;
    let classes = (0..n)
        .map(|i| {
            bound += 1 + rng.below(spread) as usize;
            ClassSpec {
                name: format!("c{i}"),
                bound,
                weight: if heavy_weights {
                    100 + rng.below(5_000)
                } else {
                    1 + rng.below(50)
                },
                deadline: rng
                    .chance(30)
                    .then(|| Duration::from_micros(1 + rng.below(20_000))),
            }
        })
        .collect();
    let drops = rng.below(n as u64 + 1) as usize;
    let mut shed_order: Vec<ShedStep> = (0..drops)
        .map(|k| ShedStep::Drop(format!("c{}", n - 1 - k)))
        .collect();
    for class in 0..n - drops {
        if rng.chance(40) {
            shed_order.push(ShedStep::Downgrade(format!("c{class}")));
        }
    }
    SchedulerConfig {
        classes,
        discipline: match rng.below(3) {
            0 => Discipline::Strict,
            1 => Discipline::Aging {
                step: Duration::from_micros(1 + rng.below(2_000)),
            },
            _ => Discipline::Weighted,
        },
        tenant_fair_share: rng.chance(50),
        capacity: rng
            .chance(50)
            .then(|| 1 + rng.below(bound as u64 + 10) as usize),
        shed_order,
        shed_pick: if rng.chance(50) {
            ShedPick::Oldest
        } else {
            ShedPick::Newest
        },
        pressure_permille: rng.below(1_001) as u32,
    }
}

/// Runs scenario `seed` and digests every answer.
fn scenario(seed: u64) -> u64 {
    let mut rng = Rng(seed);
    let cfg = config(&mut rng);
    let n = cfg.classes.len();
    let mut s: PriorityScheduler<u64> = PriorityScheduler::new(&cfg).expect("valid config");
    let mut d = Digest(0xcbf2_9ce4_8422_2325);
    let mut tickets: Vec<Ticket> = Vec::new();
    let ops = [60, 600, 4_000][rng.below(3) as usize];
    let (tenants, max_cost) = (
        [1, 3, 40][rng.below(3) as usize],
        [1, 30, 5_000][rng.below(3) as usize],
    );
    let mut now = Time::from_secs(1);
    let (mut push, mut pop, mut cancel, mut urgent) = (0, 0, 0, 0);
    for op in 0..ops {
        // Phases: rates and the share of class-0 pushes change every 300 operations, so lower
        // classes starve for a while, stale entries pile up and compaction runs.
        if op % 300 == 0 {
            (push, pop, cancel) = (30 + rng.below(40), 10 + rng.below(40), rng.below(40));
            urgent = rng.below(100);
        }
        now = if rng.chance(2) {
            Time::from_nanos(now.as_nanos().saturating_sub(rng.below(50_000)))
        } else {
            now.saturating_add(Duration::from_nanos(rng.below(400_000)))
        };
        let roll = rng.below(100);
        if roll < push {
            let item = Item {
                class: if rng.chance(urgent) {
                    0
                } else {
                    rng.below(n as u64 + 1) as usize
                },
                tenant: rng.below(tenants),
                cost: rng.below(max_cost),
                payload: tickets.len() as u64,
            };
            match s.push(now, item) {
                PushOutcome::Queued { ticket, shed } => {
                    tickets.push(ticket);
                    d.add(1);
                    if let Some(r) = shed {
                        assert_eq!(tickets[r.payload as usize], r.ticket);
                        for v in [r.payload, r.class as u64, r.tenant, r.cost] {
                            d.add(v);
                        }
                        d.add(r.waited.as_nanos());
                        d.add(r.reason as u64);
                    }
                }
                PushOutcome::Refused { item, reason } => {
                    d.add(2);
                    d.add(item.payload);
                    d.add(reason as u64);
                }
            }
        } else if roll < push + pop {
            d.add(3);
            if let Some(p) = s.pop(now) {
                assert_eq!(tickets[p.payload as usize], p.ticket);
                for v in [p.payload, p.class as u64, p.tenant, p.cost] {
                    d.add(v);
                }
                d.add(p.waited.as_nanos());
                d.add(u64::from(p.downgrade));
            }
        } else if roll < push + pop + cancel && !tickets.is_empty() {
            // Mostly recent tickets, so cancels hit queued requests and leave gaps to compact.
            let window = if rng.chance(70) {
                16
            } else {
                tickets.len() as u64
            };
            let index = tickets.len() - 1 - rng.below(window.min(tickets.len() as u64)) as usize;
            d.add(4);
            d.add(u64::from(s.contains(tickets[index])));
            d.add(s.cancel(tickets[index]).map_or(u64::MAX, |p| p));
        } else {
            d.add(5);
            s.drain_expired(now, &mut |r| {
                assert_eq!(tickets[r.payload as usize], r.ticket);
                d.add(r.payload);
                d.add(r.waited.as_nanos());
            });
        }
        d.add(s.len() as u64);
        d.add(s.next_expiry().map_or(u64::MAX, Time::as_nanos));
        d.add(u64::from(s.under_pressure()));
        for class in 0..n {
            d.add(s.len_of(class) as u64);
        }
    }
    while let Some(p) = s.pop(now) {
        d.add(p.payload);
    }
    d.0
}

#[test]
fn every_decision_matches_the_recorded_digests() {
    let digests: Vec<String> = (0..SCENARIOS)
        .map(|seed| format!("{seed} {:016x}", scenario(seed)))
        .collect();
    if std::env::var_os("SPILLWAY_BLESS_DECISIONS").is_some() {
        std::fs::write(FILE, digests.join("\n") + "\n").expect("write decisions.txt");
        return;
    }
    let recorded = std::fs::read_to_string(FILE).expect("tests/schedule/decisions.txt");
    let recorded: Vec<&str> = recorded.lines().collect();
    assert_eq!(recorded.len(), digests.len(), "scenario count");
    for (ours, theirs) in digests.iter().zip(recorded) {
        assert_eq!(ours, theirs, "scenario (seed, digest) decides differently");
    }
}
