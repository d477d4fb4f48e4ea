//! The distributed part of a policy (`policies[].instances:`): how many gateway instances run
//! behind a load balancer, how requests are spread over them, and how the instances share (or
//! do not share) their limiter layers.
//!
//! ```yaml
//! instances: { count: 4, balancer: sticky, mode: async-sync, sync_interval: 1s }
//! instances: { count: 4, balancer: round-robin, mode: central, rtt: 1ms, jitter: 200us }
//! instances: { count: 4, balancer: random, mode: local-split }
//! ```
//!
//! Absent, a policy runs one instance with exact limits (the behaviour, and the outputs, of
//! scenarios written before instances existed).

use super::Reporter;
use super::S;
use crate::Duration;
use crate::limit::{LayerSpec, LimitSpec};
use serde::Deserialize;

// ---------------------------------------------------------------------------------------------
// Raw (mirrors the YAML)

/// `policies[].instances:` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawInstances {
    /// Gateway instances, 1 to [`MAX_INSTANCES`].
    pub count: S<u64>,
    /// `round-robin` (default), `random` or `sticky`.
    pub balancer: Option<S<String>>,
    /// `local-split`, `central` or `async-sync`.
    pub mode: S<String>,
    /// With `async-sync`: how often instances exchange their usage, e.g. `1s`.
    pub sync_interval: Option<S<String>>,
    /// With `central`: round trip to the shared store paid by every check, e.g. `1ms`.
    pub rtt: Option<S<String>>,
    /// With `central`: extra round-trip time drawn uniformly from `[0, jitter]` per check.
    pub jitter: Option<S<String>>,
}

// ---------------------------------------------------------------------------------------------
// Validated

/// The most instances a policy may run: each holds its own limiter state, so memory grows
/// with the count; a typo of extra zeros should be an error.
pub const MAX_INSTANCES: u64 = 1024;

/// How the load balancer picks an instance for a request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Balancer {
    /// Instance 0, 1, …, N−1, 0, … in arrival order (rejected requests included: the balancer
    /// routes before any limiter is asked).
    RoundRobin,
    /// Uniformly at random, from the seeded `Concern::Balancer` stream.
    Random,
    /// By a hash of the user id: a user always reaches the same instance.
    Sticky,
}

/// How the instances enforce the policy's layers together.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SyncMode {
    /// Each instance enforces every layer with `limit / N` (and `burst / N`), rounded down.
    LocalSplit,
    /// One shared limiter (a Redis-like store); every check pays a round trip.
    Central {
        /// Base round trip.
        rtt: Duration,
        /// Uniform extra delay bound, per check.
        jitter: Duration,
    },
    /// Each instance counts locally against the full limit and learns the others' usage at
    /// every sync (Kong's `sync_rate`, gubernator's GLOBAL behaviour).
    AsyncSync {
        /// Time between syncs; syncs happen at every multiple of it from the start of the run.
        sync_interval: Duration,
    },
}

/// A policy's instances, validated.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct InstancesSpec {
    /// Instances, 1 to [`MAX_INSTANCES`].
    pub count: u32,
    /// How requests are spread.
    pub balancer: Balancer,
    /// How the limits are shared.
    pub mode: SyncMode,
}

impl InstancesSpec {
    /// The limit one instance enforces for a layer whose policy-wide limit is `limit`:
    /// under `local-split`, `limit / N` and `burst / N` rounded down (so the instances together
    /// never exceed the policy-wide limit; the remainder `limit mod N` is never used);
    /// otherwise the full limit.
    pub fn per_instance(&self, limit: &LimitSpec) -> LimitSpec {
        match self.mode {
            SyncMode::LocalSplit => {
                let n = u64::from(self.count.max(1));
                LimitSpec {
                    limit: limit.limit / n,
                    burst: limit.burst.map(|b| b / n),
                    ..*limit
                }
            }
            _ => *limit,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Validation

const BALANCERS: &str = "`round-robin`, `random` or `sticky`";
const MODES: &str = "`local-split`, `central` or `async-sync`";

/// Validate one policy's `instances:` block against the policy's layers. `None` inside `Some`
/// means "absent" (one exact instance); the outer `None` means errors were reported.
pub fn instances(
    raw: Option<&RawInstances>,
    layers: &[LayerSpec],
    r: &mut Reporter<'_>,
) -> Option<Option<InstancesSpec>> {
    let Some(raw) = raw else {
        return Some(None);
    };
    let count = count(&raw.count, r);
    let balancer = match raw.balancer.as_ref().map(|b| (b, b.value.as_str())) {
        None | Some((_, "round-robin")) => Some(Balancer::RoundRobin),
        Some((_, "random")) => Some(Balancer::Random),
        Some((_, "sticky")) => Some(Balancer::Sticky),
        Some((b, other)) => {
            r.bad(
                b,
                format!("unknown balancer `{other}`; expected {BALANCERS}"),
            );
            None
        }
    };
    let mode = mode(raw, r);
    let spec = InstancesSpec {
        count: count?,
        balancer: balancer?,
        mode: mode?,
    };
    split_layers_fit(&spec, &raw.count, layers, r).then_some(Some(spec))
}

fn count(raw: &S<u64>, r: &mut Reporter<'_>) -> Option<u32> {
    match raw.value {
        0 => {
            r.bad(raw, "count must be at least 1 (1 is a single gateway)");
            None
        }
        n if n > MAX_INSTANCES => {
            r.bad(raw, format!("at most {MAX_INSTANCES} instances, got {n}"));
            None
        }
        n => u32::try_from(n).ok(),
    }
}

/// The mode and its own settings; a setting of another mode is an error (it would be ignored).
fn mode(raw: &RawInstances, r: &mut Reporter<'_>) -> Option<SyncMode> {
    let name = raw.mode.value.as_str();
    if !matches!(name, "local-split" | "central" | "async-sync") {
        r.bad(
            &raw.mode,
            format!("unknown mode `{name}`; expected {MODES}"),
        );
        return None;
    }
    let mut ok = true;
    for (value, owner, field) in [
        (&raw.sync_interval, "async-sync", "sync_interval"),
        (&raw.rtt, "central", "rtt"),
        (&raw.jitter, "central", "jitter"),
    ] {
        if let (Some(v), false) = (value, name == owner) {
            r.bad(v, format!("{field} applies only to `mode: {owner}`"));
            ok = false;
        }
    }
    if !ok {
        return None;
    }
    match name {
        "central" => {
            let Some(rtt) = &raw.rtt else {
                r.bad(&raw.mode, "`central` needs `rtt`, the round trip to the shared store, e.g. `rtt: 1ms` (`0ms` for an ideal store)");
                return None;
            };
            let rtt = r.duration(rtt);
            let jitter = match &raw.jitter {
                Some(j) => r.duration(j),
                None => Some(Duration::ZERO),
            };
            Some(SyncMode::Central {
                rtt: rtt?,
                jitter: jitter?,
            })
        }
        "async-sync" => {
            let Some(interval) = &raw.sync_interval else {
                r.bad(
                    &raw.mode,
                    "`async-sync` needs `sync_interval`, how often instances exchange usage, e.g. `sync_interval: 1s`",
                );
                return None;
            };
            Some(SyncMode::AsyncSync {
                sync_interval: r.positive_duration(interval)?,
            })
        }
        _ => Some(SyncMode::LocalSplit),
    }
}

/// Under `local-split`, every layer's share must still admit something: `limit / N ≥ 1` (and
/// `burst / N ≥ 1`).
fn split_layers_fit(
    spec: &InstancesSpec,
    count: &S<u64>,
    layers: &[LayerSpec],
    r: &mut Reporter<'_>,
) -> bool {
    let mut ok = true;
    for layer in layers {
        let share = spec.per_instance(&layer.limit);
        if share.limit == 0 || share.burst == Some(0) {
            r.bad(
                count,
                format!(
                    "`local-split` gives each of the {} instances 1/{} of every layer (rounded down), but layer `{}` (limit {}{}) would get 0; lower the count or raise the limit",
                    spec.count,
                    spec.count,
                    layer.name,
                    layer.limit.limit,
                    layer
                        .limit
                        .burst
                        .map_or_else(String::new, |b| format!(", burst {b}")),
                ),
            );
            ok = false;
        }
    }
    ok
}
