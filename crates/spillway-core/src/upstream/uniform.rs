//! [`uniform_inclusive`]: an unbiased integer draw from a caller's RNG.
//!
//! Why not `rand`'s `random_range`: the core depends only on `rand_core` (the trait), and the
//! draw must be exactly reproducible from the stream the simulator hands in, whatever `rand`
//! version a user links. Rejection sampling (Lemire's widening multiply) is a few lines, exact
//! and unbiased.

use rand_core::Rng;

/// A uniformly distributed integer in `lo..=hi` (`lo` if `hi < lo`).
pub(crate) fn uniform_inclusive<R: Rng + ?Sized>(rng: &mut R, lo: u64, hi: u64) -> u64 {
    if hi <= lo {
        return lo;
    }
    let span = hi - lo;
    if span == u64::MAX {
        return rng.next_u64();
    }
    let range = span + 1;
    // Lemire: the high word of x·range is uniform once the low word clears the biased zone.
    let threshold = range.wrapping_neg() % range;
    loop {
        let wide = u128::from(rng.next_u64()) * u128::from(range);
        let low = wide as u64;
        if low >= threshold {
            return lo + (wide >> 64) as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::convert::Infallible;
    use rand_core::TryRng;

    /// Counts up from a start value: predictable draws for exact assertions.
    struct Counter(u64);

    impl TryRng for Counter {
        type Error = Infallible;
        fn try_next_u32(&mut self) -> Result<u32, Infallible> {
            Ok(self.try_next_u64()? as u32)
        }
        fn try_next_u64(&mut self) -> Result<u64, Infallible> {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            Ok(self.0)
        }
        fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
            dst.fill(0);
            Ok(())
        }
    }

    #[test]
    fn draws_stay_in_range_and_cover_it() {
        let mut rng = Counter(1);
        let mut seen = [false; 4];
        for _ in 0..200 {
            let v = uniform_inclusive(&mut rng, 10, 13);
            assert!((10..=13).contains(&v), "{v}");
            seen[(v - 10) as usize] = true;
        }
        assert_eq!(seen, [true; 4]);
        assert_eq!(uniform_inclusive(&mut rng, 7, 7), 7);
        assert_eq!(uniform_inclusive(&mut rng, 9, 3), 9);
        let _ = uniform_inclusive(&mut rng, 0, u64::MAX);
    }
}
