//! The scheduling part of a scenario: per-class user behaviour (`classes:`, the traffic's
//! SLO and patience) and each policy's queue discipline (`policies[].scheduler:`).
//!
//! Class settings are the users' side (how long a person waits before giving up); the
//! scheduler is the gateway's side (who is served first, who is shed). Keeping them apart lets
//! two policies be compared on the same impatient users.

use super::Class;
use super::Reporter;
use super::S;
use crate::Duration;
use crate::schedule::{
    ClassSpec, ConfigError, Discipline, PriorityScheduler, SchedulerConfig, ShedPick, ShedStep,
};
use serde::Deserialize;

// ---------------------------------------------------------------------------------------------
// Raw (mirrors the YAML)

/// `classes:` — one optional block per class (an unknown class name is a located error).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClasses {
    /// A person is waiting.
    pub interactive: Option<RawClass>,
    /// Internal tools, webhooks.
    pub standard: Option<RawClass>,
    /// Can wait minutes.
    pub batch: Option<RawClass>,
    /// Can wait hours.
    pub background: Option<RawClass>,
}

/// One class's targets and patience.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawClass {
    /// Queue-wait objective, e.g. `2s`: waits above it are counted in `waits_over_slo`.
    pub slo: Option<S<String>>,
    /// Users give up after waiting this long since arrival, queued or held by a budget cap
    /// (abandoned); absent: they wait forever.
    pub deadline: Option<S<String>>,
}

/// A value per class, e.g. `{ interactive: 50, batch: 1000 }`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPerClass<T> {
    /// Interactive.
    pub interactive: Option<S<T>>,
    /// Standard.
    pub standard: Option<S<T>>,
    /// Batch.
    pub batch: Option<S<T>>,
    /// Background.
    pub background: Option<S<T>>,
}

impl<T> RawPerClass<T> {
    fn get(&self, class: Class) -> Option<&S<T>> {
        match class {
            Class::Interactive => self.interactive.as_ref(),
            Class::Standard => self.standard.as_ref(),
            Class::Batch => self.batch.as_ref(),
            Class::Background => self.background.as_ref(),
        }
    }
}

/// `policies[].scheduler:` — the gateway queue's discipline.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawScheduler {
    /// `strict` (default), `aging` or `weighted`.
    pub discipline: Option<S<String>>,
    /// With `aging`: waiting this long promotes a request one class, e.g. `60s`.
    pub aging_step: Option<S<String>>,
    /// With `weighted`: service share per class (deficit round robin by tokens), e.g. the
    /// seed's `{ interactive: 5, standard: 3, batch: 1, background: 0.1 }`.
    pub weights: Option<RawPerClass<f64>>,
    /// Serve the users of a class round robin by tokens (default true), so one heavy user
    /// cannot monopolise the class.
    pub fair_share: Option<bool>,
    /// Queue bound per class (default: the policy's `queue_capacity` for each). Bounds may not
    /// decrease from urgent to less urgent classes, e.g. `{ interactive: 50, standard: 200,
    /// batch: 1000, background: 5000 }`.
    pub bounds: Option<RawPerClass<u64>>,
    /// Shedding when the queue is full, in order, e.g.
    /// `[background, batch, downgrade-standard]` (the default). `none` never sheds queued work.
    pub shed_order: Option<Vec<S<String>>>,
    /// Which request of the victim class is dropped: `newest` (default) or `oldest`.
    pub shed: Option<S<String>>,
    /// Queue fill (percent of capacity) at which `downgrade-*` steps apply (default 80).
    pub downgrade_at_pct: Option<S<u64>>,
}

// ---------------------------------------------------------------------------------------------
// Validated

/// One class's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassSettings {
    /// Queue-wait objective.
    pub slo: Duration,
    /// Patience: abandoned when still queued after this long.
    pub deadline: Option<Duration>,
}

/// Default queue-wait objectives, from the seed: interactive 2 s, standard 10 s, batch 5 min,
/// background 1 h.
pub const DEFAULT_SLO: [Duration; 4] = [
    Duration::from_secs(2),
    Duration::from_secs(10),
    Duration::from_secs(300),
    Duration::from_secs(3600),
];

/// A policy's scheduler: the core's configuration, built and checked here.
pub type SchedulerSpec = SchedulerConfig;

// ---------------------------------------------------------------------------------------------
// Validation

/// Validate `classes:`.
pub fn classes(raw: &RawClasses, r: &mut Reporter<'_>) -> Option<[ClassSettings; 4]> {
    let mut out = DEFAULT_SLO.map(|slo| ClassSettings {
        slo,
        deadline: None,
    });
    let mut ok = true;
    for class in Class::ALL {
        let block = match class {
            Class::Interactive => &raw.interactive,
            Class::Standard => &raw.standard,
            Class::Batch => &raw.batch,
            Class::Background => &raw.background,
        };
        let Some(block) = block else { continue };
        let settings = &mut out[class.index()];
        if let Some(slo) = &block.slo {
            match r.positive_duration(slo) {
                Some(d) => settings.slo = d,
                None => ok = false,
            }
        }
        if let Some(deadline) = &block.deadline {
            match r.positive_duration(deadline) {
                Some(d) => settings.deadline = Some(d),
                None => ok = false,
            }
        }
    }
    ok.then_some(out)
}

const DISCIPLINES: &str = "`strict`, `aging` or `weighted`";
const SHED_STEPS: &str = "a class name (drop its queued requests: `background`, `batch`, `standard`, `interactive`), `downgrade-<class>`, or `none`";

/// Validate one policy's `scheduler:` block (absent: strict with the policy's capacity).
/// The core scheduler checks the assembled configuration too (e.g. the order of drop steps),
/// so the scenario cannot accept what the library would refuse.
pub fn scheduler(
    raw: Option<&RawScheduler>,
    capacity: u64,
    policy_name: &S<String>,
    r: &mut Reporter<'_>,
) -> Option<SchedulerSpec> {
    let default = RawScheduler::default();
    let raw = raw.unwrap_or(&default);
    let (discipline, weights) = discipline(raw, r)?;
    let bounds = bounds(raw.bounds.as_ref(), capacity, r);
    let shed_order = shed_order(raw.shed_order.as_deref(), r);
    let shed_pick = match raw.shed.as_ref().map(|s| (s, s.value.as_str())) {
        None | Some((_, "newest")) => Some(ShedPick::Newest),
        Some((_, "oldest")) => Some(ShedPick::Oldest),
        Some((s, other)) => {
            r.bad(
                s,
                format!("unknown `{other}`; expected `newest` or `oldest`"),
            );
            None
        }
    };
    let pressure_permille = match &raw.downgrade_at_pct {
        None => Some(800),
        Some(p) if (1..=100).contains(&p.value) => Some(p.value as u32 * 10),
        Some(p) => {
            r.bad(
                p,
                format!("must be a percentage from 1 to 100, got {}", p.value),
            );
            None
        }
    };
    let (bounds, shed_order, shed_pick, pressure_permille) =
        (bounds?, shed_order?, shed_pick?, pressure_permille?);
    let config = SchedulerConfig {
        classes: Class::ALL
            .iter()
            .map(|c| ClassSpec {
                name: c.name().to_string(),
                bound: usize::try_from(bounds[c.index()]).unwrap_or(usize::MAX),
                weight: weights[c.index()],
                deadline: None,
            })
            .collect(),
        discipline,
        tenant_fair_share: raw.fair_share.unwrap_or(true),
        capacity: Some(usize::try_from(capacity).unwrap_or(usize::MAX)),
        shed_order,
        shed_pick,
        pressure_permille,
    };
    if let Err(e) = PriorityScheduler::<()>::new(&config) {
        match shed_order_error(raw.shed_order.as_deref().unwrap_or_default(), &e) {
            Some((at, message)) => r.bad(at, message),
            // Every other refusal is checked above at its own field; should one get through,
            // it is still reported (at the policy), not lost.
            None => r.bad(policy_name, format!("scheduler: {e}")),
        }
        return None;
    }
    Some(config)
}

/// The `shed_order` entry the scheduler's refusal `e` is about, and what to write instead, in
/// the file's words (the scheduler counts drop steps from 0 and knows no field names).
fn shed_order_error<'a>(
    steps: &'a [S<String>],
    e: &ConfigError,
) -> Option<(&'a S<String>, String)> {
    let class_of = |s: &S<String>| {
        let text = s.value.as_str();
        Class::parse(text.strip_prefix("downgrade-").unwrap_or(text))
    };
    match e {
        ConfigError::DuplicateShedStep { name } => {
            let class = Class::parse(name)?;
            let second = steps.iter().filter(|s| class_of(s) == Some(class)).nth(1)?;
            let message = format!(
                "`{}`: class `{name}` is already in shed_order; a class is either dropped or \
                 downgraded, once",
                second.value
            );
            Some((second, message))
        }
        ConfigError::DropOrder { name, expected, .. } => {
            let at = steps.iter().find(|s| s.value == *name)?;
            let message = format!(
                "`{name}` cannot be dropped before `{expected}`: shed_order drops the least \
                 urgent classes first, without gaps (background, then batch, then standard, \
                 then interactive)"
            );
            Some((at, message))
        }
        _ => None,
    }
}

/// The discipline and the per-class weights (per mille; only `weighted` uses them).
fn discipline(raw: &RawScheduler, r: &mut Reporter<'_>) -> Option<(Discipline, [u64; 4])> {
    let name = raw.discipline.as_ref().map(|d| (d, d.value.as_str()));
    let chosen = match name {
        None | Some((_, "strict")) => "strict",
        Some((_, "aging")) => "aging",
        Some((_, "weighted")) => "weighted",
        Some((d, other)) => {
            r.bad(
                d,
                format!("unknown discipline `{other}`; expected {DISCIPLINES}"),
            );
            return None;
        }
    };
    if let (false, Some(step)) = (chosen == "aging", &raw.aging_step) {
        r.bad(step, "aging_step applies only to `discipline: aging`");
        return None;
    }
    let first_weight = Class::ALL
        .iter()
        .find_map(|&c| raw.weights.as_ref()?.get(c));
    if let (false, Some(w)) = (chosen == "weighted", first_weight) {
        r.bad(w, "weights apply only to `discipline: weighted`");
        return None;
    }
    match chosen {
        "aging" => match &raw.aging_step {
            Some(step) => Some((
                Discipline::Aging {
                    step: r.positive_duration(step)?,
                },
                SEED_WEIGHTS,
            )),
            None => {
                let at = raw.discipline.as_ref()?;
                r.bad(at, "`aging` needs `aging_step`, e.g. `aging_step: 60s`");
                None
            }
        },
        "weighted" => weights(raw, r).map(|w| (Discipline::Weighted, w)),
        _ => Some((Discipline::Strict, SEED_WEIGHTS)),
    }
}

/// The seed's weights 5 / 3 / 1 / 0.1 as per-mille integers.
const SEED_WEIGHTS: [u64; 4] = [5000, 3000, 1000, 100];

/// Weights default to the seed's, kept as per-mille integers.
fn weights(raw: &RawScheduler, r: &mut Reporter<'_>) -> Option<[u64; 4]> {
    let mut out = SEED_WEIGHTS;
    let Some(w) = &raw.weights else {
        return Some(out);
    };
    let mut ok = true;
    for class in Class::ALL {
        let Some(v) = w.get(class) else { continue };
        let permille = v.value * 1000.0;
        if v.value.is_finite() && (1.0..=1e12).contains(&permille) {
            out[class.index()] = permille.round() as u64;
        } else {
            r.bad(
                v,
                format!(
                    "weight must be a number ≥ 0.001 (zero would starve the class forever), got {}",
                    v.value
                ),
            );
            ok = false;
        }
    }
    ok.then_some(out)
}

fn bounds(raw: Option<&RawPerClass<u64>>, capacity: u64, r: &mut Reporter<'_>) -> Option<[u64; 4]> {
    let mut out = [capacity; 4];
    let Some(raw) = raw else { return Some(out) };
    let mut ok = true;
    for class in Class::ALL {
        if let Some(v) = raw.get(class) {
            match r.positive(v, "bound") {
                Some(b) if b <= capacity => out[class.index()] = b,
                Some(b) => {
                    r.bad(
                        v,
                        format!("bound {b} exceeds the policy's queue_capacity {capacity}"),
                    );
                    ok = false;
                }
                None => ok = false,
            }
        }
    }
    // Less urgent classes wait longer, so their queues must be at least as deep: a bound that
    // shrinks towards the bottom is almost always a typo (e.g. 50 / 200 / 100 / 5000).
    for pair in Class::ALL.windows(2) {
        let (upper, lower) = (pair[0], pair[1]);
        if out[lower.index()] < out[upper.index()] {
            if let Some(v) = raw.get(lower).or(raw.get(upper)) {
                r.bad(v, format!(
                    "bounds must not decrease from urgent to less urgent classes: {} is {} but {} is {}",
                    upper, out[upper.index()], lower, out[lower.index()]
                ));
            }
            ok = false;
        }
    }
    ok.then_some(out)
}

fn shed_order(raw: Option<&[S<String>]>, r: &mut Reporter<'_>) -> Option<Vec<ShedStep>> {
    let Some(raw) = raw else {
        return Some(vec![
            ShedStep::Drop(Class::Background.name().to_string()),
            ShedStep::Drop(Class::Batch.name().to_string()),
            ShedStep::Downgrade(Class::Standard.name().to_string()),
        ]);
    };
    let mut out = Vec::new();
    let mut ok = true;
    for step in raw {
        let text = step.value.as_str();
        if text == "none" && raw.len() == 1 {
            continue;
        }
        let parsed = match text.strip_prefix("downgrade-") {
            Some(class) => Class::parse(class).map(|c| ShedStep::Downgrade(c.name().to_string())),
            None => Class::parse(text).map(|c| ShedStep::Drop(c.name().to_string())),
        };
        match parsed {
            Some(s) if !out.contains(&s) => out.push(s),
            Some(_) => {
                r.bad(step, format!("`{text}` appears twice in shed_order"));
                ok = false;
            }
            None => {
                r.bad(
                    step,
                    format!("unknown shed step `{text}`; expected {SHED_STEPS}"),
                );
                ok = false;
            }
        }
    }
    ok.then_some(out)
}
