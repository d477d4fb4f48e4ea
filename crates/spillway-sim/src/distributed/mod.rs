//! Several gateway instances behind a load balancer, and what that does to limits.
//!
//! The most common complaint about gateways run as replicas is that "limits silently multiply
//! by the number of replicas": each replica enforces the configured limit on its own share of
//! the traffic. A policy may declare `instances: { count, balancer, mode, … }` (see
//! [`crate::scenario::distributed`]) and the simulator runs N instances, each with its own
//! view of the limiter layers, in one of three modes:
//!
//! | mode | limit per instance | cost | error |
//! |---|---|---|---|
//! | `local-split` | `limit / N` (rounded down) | none | never over-admits; under-admits when load is uneven |
//! | `central` | one shared limiter | a round trip per check | exact (same decisions as one instance) |
//! | `async-sync` | full limit, usage exchanged every `sync_interval` | none per request | over-admits between syncs, ≤ (N−1) × one instance's admissions per interval |
//!
//! **Local split** never over-admits: the shares add up to at most the limit. It under-admits
//! when the load is uneven: the remainder `limit mod N` is never used; an instance whose share
//! is spent denies while others idle (a few heavy users behind `sticky`, or a global limit
//! when traffic is skewed to one instance); and a per-user layer behind `sticky` gives each
//! user only `limit / N`, since all of the user's requests reach one instance.
//!
//! **Central**: the store decides at the arrival instant (the one-way delay is folded into the
//! round trip), so its decisions are the single instance's; the request then enters the queue
//! `rtt` (plus jitter) later, which adds exactly that to its latency and queue-wait figures. A
//! rejected request pays the round trip too (counted in `store_round_trips`), though no latency
//! is recorded for rejections. The decisions are identical at any `rtt` for request-unit
//! layers; a token-unit layer is settled (its estimate corrected) when the request departs,
//! which the round trip delays, so later token decisions can differ from one gateway's by
//! that shift (with `rtt: 0ms` the run is identical bit for bit).
//!
//! **Async sync**: the sync model and the derivation of the over-admission bound are in
//! `distributed/async_sync.rs`.
//!
//! **Measuring it**: a shadow exact limiter — the policy's layers, unsplit, one instance — is
//! offered every admitted request and settled like it; the admissions it would deny are
//! counted as over-admitted ([`crate::metrics::DistributedStats`], `over_admission_pct`).

mod async_sync;
mod instances;
mod router;

pub use instances::{Admitted, Instances, Placement};
pub use router::Router;
