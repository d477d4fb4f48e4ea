//! Traffic: who sends what, when. Exogenous to the policy under test: the same scenario and
//! seed yield the same [`Arrival`]s whatever the gateway does with them.

mod arrivals;
mod exact_time;
mod leak;
mod rate_schedule;
mod sizes;
pub mod trace;

pub use arrivals::{Arrival, ArrivalStream};
pub use exact_time::ExactTime;
pub use leak::WithLeaks;
pub use rate_schedule::RateSchedule;
pub use sizes::TokenSizes;

use rand_core::Rng;

/// A uniform draw in [0, 1) with 53 bits, from any RNG (portable: no float tricks).
pub(crate) fn unit_f64<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// An Exp(1) draw: the "operational time" until the next event of a unit-rate Poisson process.
pub(crate) fn exp1<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    -(1.0 - unit_f64(rng)).ln()
}

/// A standard normal draw by Box–Muller, always exactly two uniforms (so the stream's position
/// after a draw never depends on the value drawn, which keeps runs comparable across models).
pub(crate) fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1 = 1.0 - unit_f64(rng);
    let u2 = unit_f64(rng);
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Seconds as a float → whole nanoseconds, saturating (traffic generation only).
pub(crate) fn secs_to_nanos(secs: f64) -> u64 {
    nanos_from_f64(secs * 1e9)
}

/// Nanoseconds as a float → whole nanoseconds, truncating; negative or NaN give zero, huge
/// values saturate at `u64::MAX`.
pub(crate) fn nanos_from_f64(ns: f64) -> u64 {
    if ns >= u64::MAX as f64 {
        u64::MAX
    } else if ns > 0.0 {
        ns as u64
    } else {
        0
    }
}
