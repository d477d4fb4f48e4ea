//! What a client sees of the provider's time: the provider runs on emulated time (real ×
//! scale), but every duration it *tells* the client is shown in real time, so a real client
//! that waits what the headers say waits the scaled time.

use crate::clock::TimeScale;
use spillway_core::upstream::headers::UnixNanos;
use spillway_sim::provider::{Answer, Outcome};

/// `answer` with its durations (resets, `retry-after`, body delays, the true wait) divided by
/// the scale and its `Date` set to the real instant `wall`. At scale 1 only `Date` may move,
/// and only by the clock's own rounding (both are the same instant).
pub fn to_real_time(answer: &Answer, scale: TimeScale, wall: UnixNanos) -> Answer {
    let mut a = answer.clone();
    a.wire.date = wall;
    for d in a.wire.dims.iter_mut().flatten() {
        d.reset_after = scale.to_real(d.reset_after);
    }
    a.wire.retry_after = a.wire.retry_after.map(|w| scale.to_real(w));
    a.body_retry_delay = a.body_retry_delay.map(|w| scale.to_real(w));
    if let Outcome::RateLimited { wait, .. } = &mut a.outcome {
        *wait = scale.to_real(*wait);
    }
    a
}
