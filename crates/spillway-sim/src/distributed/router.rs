//! The load balancer in front of the instances: which instance a request reaches.

use crate::rng::{Concern, stream};
use crate::scenario::Balancer;
use rand_chacha::ChaCha8Rng;
use rand_core::Rng;

/// Picks an instance per request.
#[derive(Debug, Clone)]
pub struct Router {
    count: u64,
    how: Route,
}

#[derive(Debug, Clone)]
enum Route {
    RoundRobin { next: u64 },
    Random(Box<ChaCha8Rng>),
    Sticky,
}

impl Router {
    /// A balancer over `count` instances (at least 1); `random` draws from the seed's
    /// `Concern::Balancer` stream, so adding instances to one policy shifts no other stream.
    pub fn new(balancer: Balancer, count: u32, seed: u64) -> Self {
        let how = match balancer {
            Balancer::RoundRobin => Route::RoundRobin { next: 0 },
            Balancer::Random => Route::Random(Box::new(stream(seed, Concern::Balancer, 0))),
            Balancer::Sticky => Route::Sticky,
        };
        Router {
            count: u64::from(count.max(1)),
            how,
        }
    }

    /// The instance (0-based, below the count) for a request of `user`. Every request is
    /// routed, admitted or not: the balancer knows nothing of limits.
    pub fn route(&mut self, user: u64) -> usize {
        let pick = match &mut self.how {
            Route::RoundRobin { next } => {
                // `next < count`: a compare instead of a 64-bit division on every arrival.
                let pick = *next;
                *next = if pick + 1 >= self.count { 0 } else { pick + 1 };
                pick
            }
            // Modulo bias is below count / 2^64: immaterial for at most 1024 instances.
            Route::Random(rng) => rng.next_u64() % self.count,
            Route::Sticky => sticky_hash(user) % self.count,
        };
        // `pick < count ≤ 1024`.
        pick as usize
    }
}

/// SplitMix64's finaliser: consecutive user ids (how the simulator numbers users) spread
/// evenly over instances, and the value is the same on every platform and run.
fn sticky_hash(user: u64) -> u64 {
    let mut z = user.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_robin_cycles_and_sticky_is_a_function_of_the_user() {
        let mut rr = Router::new(Balancer::RoundRobin, 3, 0);
        let picks: Vec<usize> = (0..7).map(|_| rr.route(42)).collect();
        assert_eq!(picks, [0, 1, 2, 0, 1, 2, 0]);
        let mut sticky = Router::new(Balancer::Sticky, 4, 0);
        let first: Vec<usize> = (0..100).map(|u| sticky.route(u)).collect();
        let again: Vec<usize> = (0..100).map(|u| sticky.route(u)).collect();
        assert_eq!(first, again);
        for i in 0..4 {
            let n = first.iter().filter(|&&p| p == i).count();
            assert!((10..=40).contains(&n), "instance {i} got {n} of 100 users");
        }
    }

    #[test]
    fn random_is_seeded_and_covers_every_instance() {
        let picks = |seed| {
            let mut r = Router::new(Balancer::Random, 4, seed);
            (0..200).map(|_| r.route(0)).collect::<Vec<_>>()
        };
        assert_eq!(picks(7), picks(7));
        assert_ne!(picks(7), picks(8));
        assert!((0..4).all(|i| picks(7).contains(&i)));
    }
}
