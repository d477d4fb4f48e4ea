//! What a caller may still send: per layer, the limit, the room left now and when the layer is
//! full again — the numbers behind OpenAI-style `x-ratelimit-*` response headers.
//!
//! Computed from `check` alone (nothing changes): the room is the largest cost admitted now
//! (a binary search, at most 64 checks, since every limiter admits any smaller cost when it
//! admits a larger one), the reset the `retry_at` of a whole-capacity cost.

use super::{Layered, Subject, Unit};
use crate::limit::Decision;
use crate::time::Time;

/// One layer's room for one subject at one instant.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct LayerRoom {
    /// The layer's position (as in a `LayerSet`).
    pub index: usize,
    /// What the layer counts.
    pub unit: Unit,
    /// The most it ever admits at once (its capacity).
    pub limit: u64,
    /// The largest cost it admits now.
    pub remaining: u64,
    /// When it holds its whole capacity again (`now` when it already does).
    pub full_at: Time,
}

impl LayerRoom {
    /// Room left as parts per million of the limit (the tightest layer has the least).
    pub fn share_ppm(&self) -> u64 {
        let ppm = u128::from(self.remaining) * 1_000_000 / u128::from(self.limit.max(1));
        u64::try_from(ppm).unwrap_or(u64::MAX)
    }
}

impl Layered {
    /// The room of every layer for `subject` at `now`, in layer order.
    pub fn room(&self, now: Time, subject: &Subject) -> Vec<LayerRoom> {
        self.layers
            .iter()
            .enumerate()
            .map(|(index, layer)| {
                let limit = match &layer.state {
                    super::layer::LayerState::Single(l) => crate::limit::Limiter::capacity(l),
                    super::layer::LayerState::PerKey(k) => k.capacity(),
                };
                let admits =
                    |cost: u64| matches!(layer.check(now, subject, cost), Ok(Decision::Allowed));
                let full_at = match layer.check(now, subject, limit) {
                    Ok(Decision::Denied { retry_at }) => retry_at,
                    _ => now,
                };
                LayerRoom {
                    index,
                    unit: layer.unit,
                    limit,
                    remaining: largest_admitted(limit, admits),
                    full_at,
                }
            })
            .collect()
    }
}

/// The largest cost in `0..=limit` that `admits` (monotone: admitted costs form a prefix).
fn largest_admitted(limit: u64, admits: impl Fn(u64) -> bool) -> u64 {
    let (mut lo, mut hi) = (0u64, limit);
    while lo < hi {
        let mid = lo + (hi - lo).div_ceil(2);
        if admits(mid) { lo = mid } else { hi = mid - 1 }
    }
    lo
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::{Algorithm, Demand, LayerSpec, LimitSpec, Scope};
    use crate::time::Duration;

    fn per_user(limit: u64) -> Layered {
        Layered::new(vec![LayerSpec {
            name: "user".into(),
            scope: Scope::User,
            unit: Unit::Requests,
            limit: LimitSpec {
                algorithm: Algorithm::FixedWindow,
                limit,
                window: Duration::from_secs(60),
                burst: None,
            },
        }])
        .unwrap()
    }

    #[test]
    fn room_counts_down_and_says_when_the_window_ends() {
        let mut layers = per_user(10);
        let alice = Subject {
            team: 0,
            user: 1,
            feature: 0,
            api_key: 0,
        };
        let now = Time::ZERO.saturating_add(Duration::from_secs(5));
        assert_eq!(layers.room(now, &alice)[0].remaining, 10);
        assert_eq!(layers.room(now, &alice)[0].full_at, now);
        let one = Demand {
            requests: 1,
            tokens: 0,
        };
        for _ in 0..3 {
            assert!(matches!(
                layers.acquire(now, &alice, one).unwrap(),
                crate::limit::LayeredDecision::Allowed
            ));
        }
        let room = layers.room(now, &alice)[0];
        assert_eq!((room.limit, room.remaining), (10, 7));
        assert_eq!(
            room.full_at,
            Time::ZERO.saturating_add(Duration::from_secs(60))
        );
        assert_eq!(room.share_ppm(), 700_000);
        // Another subject is untouched.
        let bob = Subject { user: 2, ..alice };
        assert_eq!(layers.room(now, &bob)[0].remaining, 10);
    }

    #[test]
    fn largest_admitted_finds_the_edge_of_the_prefix() {
        for edge in [0, 1, 5, 99, 100] {
            assert_eq!(largest_admitted(100, |c| c <= edge), edge);
        }
        assert_eq!(
            largest_admitted(u64::MAX, |c| c <= u64::MAX - 3),
            u64::MAX - 3
        );
    }
}
