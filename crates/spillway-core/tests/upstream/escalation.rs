//! Escalation: the alert fires exactly when the streak of 429s reaches the threshold, once per
//! streak, and a success resets it (checked against a reference counter).

use proptest::prelude::*;
use spillway_core::upstream::{Escalation, EscalationEvent};
use spillway_core::{Duration, Time};

use crate::{CASES, config};

proptest! {
    #![proptest_config(config("escalation", CASES))]

    #[test]
    fn alerts_exactly_at_the_threshold(
        threshold in 1u32..8,
        outcomes in prop::collection::vec(any::<bool>(), 0..300),
    ) {
        let mut e = Escalation::new(threshold, Duration::from_secs(60));
        let mut streak = 0u32;
        for (i, rate_limited) in outcomes.into_iter().enumerate() {
            let now = Time::from_secs(i as u64);
            if rate_limited {
                streak += 1;
                let event = e.on_rate_limited(now);
                if streak == threshold {
                    prop_assert_eq!(event, Some(EscalationEvent::Escalated { at: now, consecutive: threshold }));
                } else {
                    prop_assert_eq!(event, None, "429 number {} of a streak", streak);
                }
                prop_assert_eq!(e.wants_fallback(now), streak >= threshold);
            } else {
                let event = e.on_success(now);
                if streak >= threshold {
                    prop_assert_eq!(event, Some(EscalationEvent::Recovered { at: now, consecutive: streak }));
                } else {
                    prop_assert_eq!(event, None);
                }
                streak = 0;
                prop_assert!(!e.wants_fallback(now));
            }
            prop_assert_eq!(e.consecutive(), streak);
        }
    }
}

#[test]
fn default_threshold_is_three_and_fallback_expires() {
    let mut e = Escalation::default();
    assert_eq!(e.threshold(), 3);
    let t = Time::from_secs(5);
    assert!(e.on_rate_limited(t).is_none());
    assert!(e.on_rate_limited(t).is_none());
    assert!(e.on_rate_limited(t).is_some());
    assert!(e.wants_fallback(Time::from_secs(64)));
    assert!(
        !e.wants_fallback(Time::from_secs(65)),
        "primary is tried again after 60 s"
    );
}
