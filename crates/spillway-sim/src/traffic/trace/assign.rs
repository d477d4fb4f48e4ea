//! Who sends each trace row, and as which class and feature.
//!
//! Rules (documented in the scenario reference):
//! - A row with a user (or, failing that, a session) key belongs to that key's user; keys get
//!   ids in order of first appearance, after the Zipf population. Copy `c > 0` of a row (rate
//!   scaling above 1) is a different user: the key `(key, c)`.
//! - A row without one is sent by Zipf user `k` of `users.count`, drawn with weight
//!   `1/(k+1)^exponent` from its own stream (`Concern::TraceUsers`).
//! - The mix entry: among the entries whose class, feature and model agree with the row's
//!   own columns (a missing column agrees with anything; an entry without `model` accepts
//!   every model), one is drawn by weight from `Concern::TraceMix`. One draw per row whatever
//!   the candidates, so the streams stay aligned.

use super::reader::TraceRow;
use super::spec::{MixEntry, TraceSpec};
use crate::rng::{Concern, stream};
use crate::traffic::unit_f64;
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap;

/// Most distinct user/session keys one replay may hold (memory grows with users, so a bound).
pub const MAX_KEYED_USERS: usize = 10_000_000;

/// Users and mix entries for trace rows.
pub struct Assigner {
    zipf_cdf: Vec<f64>,
    /// Key (with `\0copy` appended for copies > 0) → local id.
    keyed: FxHashMap<String, u64>,
    users_rng: ChaCha8Rng,
    mix_rng: ChaCha8Rng,
    mix: Vec<MixEntry>,
    first_user: u64,
    first_group: u32,
}

impl Assigner {
    /// For `spec` under `seed`.
    pub fn new(spec: &TraceSpec, seed: u64) -> Self {
        let mut acc = 0.0;
        let zipf_cdf = (0..spec.users.count)
            .map(|k| {
                acc += 1.0 / ((k + 1) as f64).powf(spec.users.exponent);
                acc
            })
            .collect();
        Assigner {
            zipf_cdf,
            keyed: FxHashMap::default(),
            users_rng: stream(seed, Concern::TraceUsers, 0),
            mix_rng: stream(seed, Concern::TraceMix, 0),
            mix: spec.mix.clone(),
            first_user: spec.first_user,
            first_group: spec.first_group as u32,
        }
    }

    /// Distinct keyed users seen so far.
    pub fn keyed_users(&self) -> usize {
        self.keyed.len()
    }

    /// The global user id of copy `copy` of a row with user key `key`; an error once more
    /// than `MAX_KEYED_USERS` keys have been seen.
    pub fn user(&mut self, key: Option<&str>, copy: u32) -> Result<u64, String> {
        let zipf = self.zipf_cdf.len() as u64;
        match key {
            Some(key) => {
                let known = copy == 0 && self.keyed.contains_key(key);
                if !known && self.keyed.len() >= MAX_KEYED_USERS {
                    return Err(format!(
                        "more than {MAX_KEYED_USERS} distinct users/sessions; the replay keeps one entry per user"
                    ));
                }
                let next = zipf + self.keyed.len() as u64;
                let local = match (copy, self.keyed.get(key)) {
                    (0, Some(&local)) => local,
                    (0, None) => *self.keyed.entry(key.to_string()).or_insert(next),
                    (c, _) => *self.keyed.entry(format!("{key}\0{c}")).or_insert(next),
                };
                Ok(self.first_user.saturating_add(local))
            }
            None => {
                let total = self.zipf_cdf.last().copied().unwrap_or(0.0);
                let u = unit_f64(&mut self.users_rng) * total;
                let k = self.zipf_cdf.partition_point(|&c| c <= u) as u64;
                Ok(self
                    .first_user
                    .saturating_add(k.min(zipf.saturating_sub(1))))
            }
        }
    }

    /// The scenario group of `row`, or why no mix entry accepts it.
    pub fn group(&mut self, row: &TraceRow) -> Result<u32, String> {
        let u = unit_f64(&mut self.mix_rng);
        let agrees = |e: &MixEntry| {
            row.class.as_deref().is_none_or(|c| c == e.class.name())
                && row.feature.as_deref().is_none_or(|f| f == e.feature)
                && e.model
                    .as_deref()
                    .is_none_or(|m| row.model.as_deref() == Some(m))
        };
        let total: f64 = self
            .mix
            .iter()
            .filter(|e| agrees(e))
            .map(|e| e.weight)
            .sum();
        if total <= 0.0 {
            return Err(format!(
                "no entry of `traffic.trace.mix` accepts this row (class {}, feature {}, model {}); add one",
                shown(&row.class),
                shown(&row.feature),
                shown(&row.model)
            ));
        }
        let mut target = u * total;
        let mut last = 0;
        for (i, e) in self.mix.iter().enumerate().filter(|(_, e)| agrees(e)) {
            last = i;
            if target < e.weight {
                break;
            }
            target -= e.weight;
        }
        Ok(self.first_group + last as u32)
    }
}

fn shown(v: &Option<String>) -> String {
    v.as_deref().map_or("-".to_string(), |s| format!("`{s}`"))
}
