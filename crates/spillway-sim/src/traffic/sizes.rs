//! Token counts drawn from a clamped log-normal.

use super::standard_normal;
use crate::scenario::SizeSpec;
use rand_core::Rng;

/// Draws token counts for one size spec.
#[derive(Debug, Clone, Copy)]
pub struct TokenSizes {
    mu: f64,
    sigma: f64,
    max: u64,
}

impl TokenSizes {
    /// From a validated spec (median ≥ 1, 0 ≤ sigma ≤ 5).
    pub fn new(spec: &SizeSpec) -> Self {
        TokenSizes {
            mu: spec.median.ln(),
            sigma: spec.sigma,
            max: spec.max,
        }
    }

    /// One draw in `[1, max]`.
    pub fn draw<R: Rng + ?Sized>(&self, rng: &mut R) -> u64 {
        let z = standard_normal(rng);
        let x = (self.mu + self.sigma * z).exp().round();
        if x >= self.max as f64 {
            self.max
        } else if x >= 1.0 {
            x as u64
        } else {
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Concern, stream};

    #[test]
    fn the_median_and_the_clamp_hold() {
        let sizes = TokenSizes::new(&SizeSpec {
            median: 500.0,
            sigma: 1.0,
            max: 4000,
        });
        let mut rng = stream(1, Concern::Sizes, 0);
        let mut draws: Vec<u64> = (0..20_001).map(|_| sizes.draw(&mut rng)).collect();
        draws.sort_unstable();
        let median = draws[10_000] as f64;
        assert!((median - 500.0).abs() < 25.0, "median {median}");
        assert!(draws.iter().all(|&d| (1..=4000).contains(&d)));
        assert_eq!(*draws.last().unwrap(), 4000, "sigma 1 reaches the clamp");
    }
}
