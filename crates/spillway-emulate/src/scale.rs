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

#[cfg(test)]
mod tests {
    use super::*;
    use spillway_core::{Duration, Time};
    use spillway_sim::provider::{
        CallRequest, EmulatedProvider, KindSpec, LatencySpec, ProviderSpec,
    };

    #[test]
    fn waits_and_resets_are_divided_by_the_scale_and_the_date_is_real() {
        let spec = ProviderSpec {
            name: "t".into(),
            kind: KindSpec::OpenAi {
                rpm: 1,
                tpm: 1_000_000,
                rpd: None,
                retry_after_probability: 1.0,
                count_rejected: false,
            },
            concurrency: 10,
            latency: LatencySpec::Constant {
                mean: Duration::from_millis(1),
            },
            error_latency: Duration::ZERO,
            overload: None,
            outages: Vec::new(),
            shared_quota: Vec::new(),
            wall_clock_start: UnixNanos::EPOCH,
            price: Default::default(),
        };
        let mut p = EmulatedProvider::new(&spec, 1);
        let req = CallRequest::default();
        assert_eq!(p.call(Time::ZERO, &req).status, 200);
        let refused = p.call(Time::ZERO, &req);
        let scale = TimeScale::parse("10").expect("valid");
        let wall = UnixNanos::from_secs(1_800_000_000);
        let shown = to_real_time(&refused, scale, wall);
        assert_eq!(shown.wire.date, wall);
        assert_eq!(refused.wire.retry_after, Some(Duration::from_secs(60)));
        assert_eq!(shown.wire.retry_after, Some(Duration::from_secs(6)));
        assert_eq!(shown.body_retry_delay, Some(Duration::from_secs(6)));
        let reset = |a: &Answer| a.wire.dims[0].map(|d| d.reset_after);
        assert_eq!(reset(&shown), reset(&refused).map(|r| scale.to_real(r)));
        assert!(shown.header_text().contains("retry-after: 6\n"));
    }
}
