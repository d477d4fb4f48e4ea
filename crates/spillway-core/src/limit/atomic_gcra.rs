//! A token bucket shared across threads without a lock: the GCRA's TAT in one `AtomicU64`,
//! updated by compare-and-swap.
//!
//! Why lock-free: a gateway checks one global or per-upstream limit on every request from every
//! worker; a `Mutex<Gcra>` serialises them and costs two atomic operations even uncontended.
//! Here a denial is one load and an admission one load plus one CAS (retried only when another
//! thread admitted in between, which means progress was made). Time is still a value: the
//! caller passes `now`; decisions equal [`Gcra`](super::Gcra)'s on the same sequence up to the
//! [horizon](AtomicGcra::horizon).

use super::compact::{CompactGcra, Step};
use super::{Charge, Decision, LimitError};
use crate::time::{Duration, Time};
use std::sync::atomic::{AtomicU64, Ordering};

/// A token bucket of `capacity` refilling `rate` tokens per `period`, shareable by `&self`.
#[derive(Debug)]
pub struct AtomicGcra {
    gcra: CompactGcra,
    tat: OwnLine,
}

/// The TAT, alone on its cache line.
///
/// Why: every acquire reads the configuration (`gcra`) as well as the TAT. Sharing the TAT's
/// line, the configuration had to be fetched back from whichever thread last swapped the TAT,
/// an extra transfer per call under contention; apart, it stays cached on every core and only
/// the TAT's line moves. 128 bytes, not 64: x86 prefetches lines in pairs (crossbeam's
/// `CachePadded` pads the same for the same reason). Two threads on this bench machine:
/// 35–42 → 18–36 ns a call (`benches/threaded.rs`).
#[derive(Debug)]
#[repr(align(128))]
struct OwnLine(AtomicU64);

impl AtomicGcra {
    /// A full bucket. `None` if any argument is zero or the bucket does not fit one word
    /// (`capacity · period / gcd(rate, period) > u64::MAX`).
    pub fn new(capacity: u64, rate: u64, period: Duration) -> Option<Self> {
        Some(AtomicGcra {
            gcra: CompactGcra::new(capacity, rate, period)?,
            tat: OwnLine(AtomicU64::new(0)),
        })
    }
    super::compact::compact_config!();
    /// Would `cost` be admitted at `now`? Changes nothing (and may be stale by the time it
    /// returns if other threads acquire).
    pub fn check(&self, now: Time, cost: u64) -> Result<Decision, LimitError> {
        self.gcra
            .check(self.tat.0.load(Ordering::Acquire), now, cost)
    }
    /// Check and commit atomically: exactly the admissions a `&mut Gcra` would make if the
    /// calls were applied one after another in the order their CASes succeeded.
    #[inline]
    pub fn acquire(&self, now: Time, cost: u64) -> Result<Decision, LimitError> {
        let mut tat = self.tat.0.load(Ordering::Acquire);
        loop {
            let new_tat = match self.gcra.step(tat, now, cost)? {
                Step::Admit(new_tat) => new_tat,
                Step::Deny(decision) => return Ok(decision),
            };
            match self.tat.0.compare_exchange_weak(
                tat,
                new_tat,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return Ok(Decision::Allowed),
                Err(current) => tat = current,
            }
        }
    }
    /// Give back `cost` of `charge` (an over-estimate settled): [`Gcra`](super::Gcra)'s rule.
    pub fn refund(&self, now: Time, charge: Charge, cost: u64) {
        // The closure always returns Some, so fetch_update cannot fail.
        let _ = self
            .tat
            .0
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |tat| {
                Some(self.gcra.refunded(tat, now, charge, cost))
            });
    }
    /// Whole tokens available at `now`.
    pub fn available(&self, now: Time) -> u64 {
        self.gcra.available(self.tat.0.load(Ordering::Acquire), now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limit::{Gcra, Limiter};
    use proptest::prelude::*;
    use std::sync::atomic::AtomicUsize;

    proptest! {
        /// Differential: on any single-threaded sequence the atomic bucket decides exactly as
        /// the `&mut self` Gcra (same admissions, same retry_at, same errors).
        #[test]
        fn agrees_exactly_with_gcra(
            capacity in 1u64..50,
            rate in 1u64..2_000,
            period_ms in 1u64..5_000,
            steps in proptest::collection::vec((0u64..50_000_000, 0u64..60), 1..200),
        ) {
            let period = Duration::from_millis(period_ms);
            let atomic = AtomicGcra::new(capacity, rate, period).unwrap();
            let mut reference = Gcra::new(capacity, rate, period).unwrap();
            let mut now = 0u64;
            for (dt, cost) in steps {
                now += dt;
                let t = Time::from_nanos(now);
                prop_assert_eq!(atomic.check(t, cost), reference.check(t, cost));
                prop_assert_eq!(atomic.acquire(t, cost), reference.acquire(t, cost));
                prop_assert_eq!(atomic.available(t), reference.available(t));
            }
        }
    }

    /// The TAT shares no cache line with the configuration read beside it (see [`OwnLine`]).
    #[test]
    fn the_tat_has_a_cache_line_of_its_own() {
        let bucket = AtomicGcra::new(1, 1, Duration::from_secs(1)).unwrap();
        let tat = std::ptr::from_ref(&bucket.tat.0) as usize;
        let config = std::ptr::from_ref(&bucket.gcra) as usize;
        assert_eq!(tat % 128, 0);
        assert!(config + std::mem::size_of::<CompactGcra>() <= tat || tat + 128 <= config);
        let last_config_byte = config + std::mem::size_of::<CompactGcra>() - 1;
        assert_ne!(
            config / 64,
            tat / 64,
            "the configuration starts on the TAT's line"
        );
        assert_ne!(
            last_config_byte / 64,
            tat / 64,
            "the configuration ends on it"
        );
    }

    /// Threads racing at one instant: exactly `capacity` admissions, however they interleave.
    #[test]
    fn threads_never_admit_more_than_the_bucket_holds() {
        let bucket = AtomicGcra::new(1_000, 1, Duration::from_secs(3_600)).unwrap();
        let admitted = AtomicUsize::new(0);
        let now = Time::from_secs(7);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    for _ in 0..2_000 {
                        if bucket.acquire(now, 1).unwrap().is_allowed() {
                            admitted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        assert_eq!(admitted.load(Ordering::Relaxed), 1_000);
    }

    /// With time moving, the count admitted over [0, T] never exceeds capacity + T·rate.
    #[test]
    fn threads_with_moving_time_stay_within_capacity_plus_refill() {
        let bucket = AtomicGcra::new(10, 1_000, Duration::from_secs(1)).unwrap();
        let admitted = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for thread in 0..4u64 {
                let (bucket, admitted) = (&bucket, &admitted);
                s.spawn(move || {
                    for i in 0..50_000u64 {
                        // Each thread walks 0..=100 ms; 1 token per ms refills 100.
                        let now = Time::from_nanos((i * 2_000 + thread * 7) % 100_000_001);
                        if bucket.acquire(now, 1).unwrap().is_allowed() {
                            admitted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        });
        let admitted = admitted.load(Ordering::Relaxed);
        assert!(admitted <= 10 + 100, "admitted {admitted}");
        assert!(admitted >= 10, "admitted {admitted}");
    }
}
