//! A leaked API key in the wild: an attacker's requests, merged into the normal arrivals.
//!
//! Each leak is a Poisson stream of one synthetic user (id `u64::MAX − leak index`, far from
//! any generated user) from the leak's start until its detection (or the end of traffic), on
//! its own random stream ([`Concern::Leak`]), so the normal traffic is exactly what it would be
//! without the leak. Its group index is `first_group + leak index`: the gateway appends one
//! group (class background, feature `leak`) per leak after the scenario's groups.

use super::{Arrival, ExactTime, exp1};
use crate::rng::{Concern, stream};
use crate::scenario::budget::LeakSpec;
use rand_chacha::ChaCha8Rng;
use spillway_core::Time;
use std::iter::Peekable;

struct Source {
    spec: LeakSpec,
    user: u64,
    group: u32,
    end: Time,
    next: Option<Time>,
    /// The exact instant of `next` (its sub-nanosecond part carries into the next gap).
    exact: ExactTime,
    rng: ChaCha8Rng,
}

impl Source {
    fn advance(&mut self) {
        let gap_ns = exp1(&mut self.rng) / self.spec.rate_per_sec * 1e9;
        self.exact = self.exact.plus_nanos(gap_ns);
        self.next = (self.exact.at < self.end).then_some(self.exact.at);
    }
}

/// `base` arrivals with every leak's attacker requests merged in by time (base first on ties).
pub struct WithLeaks<I: Iterator<Item = Arrival>> {
    base: Peekable<I>,
    leaks: Vec<Source>,
}

impl<I: Iterator<Item = Arrival>> WithLeaks<I> {
    /// Merge `leaks` (group indices from `first_group`) into `base`, traffic ending at `horizon`.
    pub fn new(base: I, leaks: &[LeakSpec], first_group: u32, seed: u64, horizon: Time) -> Self {
        let leaks = leaks
            .iter()
            .zip(0u32..)
            .map(|(spec, i)| {
                let mut source = Source {
                    spec: *spec,
                    user: u64::MAX - u64::from(i),
                    group: first_group.saturating_add(i),
                    end: spec.until.min(horizon),
                    next: None,
                    exact: ExactTime::at(spec.from),
                    rng: stream(seed, Concern::Leak, i),
                };
                if spec.rate_per_sec > 0.0 {
                    source.advance();
                }
                source
            })
            .collect();
        WithLeaks {
            base: base.peekable(),
            leaks,
        }
    }
}

impl<I: Iterator<Item = Arrival>> Iterator for WithLeaks<I> {
    type Item = Arrival;

    fn next(&mut self) -> Option<Arrival> {
        let earliest = self
            .leaks
            .iter_mut()
            .filter_map(|s| s.next.map(|t| (t, s)))
            .min_by_key(|(t, s)| (*t, s.group));
        let base_at = self.base.peek().map(|a| a.at);
        match earliest {
            Some((at, source)) if base_at.is_none_or(|b| at < b) => {
                source.advance();
                Some(Arrival {
                    at,
                    user: source.user,
                    group: source.group,
                    input_tokens: source.spec.input_tokens,
                    output_tokens: source.spec.output_tokens,
                    failed: false,
                })
            }
            _ => self.base.next(),
        }
    }
}
