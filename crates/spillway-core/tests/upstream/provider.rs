//! Proactive throttling against an emulated provider: the provider is the crate's GCRA token
//! bucket (an independent implementation of the same linear refill), responses arrive after a
//! random latency with headers computed when the request was admitted, and the gateway sends
//! only when [`Headroom`] says so. With replay of in-flight sends the model never believes in
//! more quota than the provider has, so the provider never refuses a send.

use proptest::prelude::*;
use spillway_core::limit::{Decision, Gcra, Limiter};
use spillway_core::upstream::headers::{Provider, parse_headers};
use spillway_core::upstream::{Headroom, HeadroomConfig, SendCost};
use spillway_core::{Duration, Time};

use crate::{CASES, config};

/// A response in flight: arrives at `.0`, describes the provider at `.1`.
type Pending = (Time, Time, u64, u64);

struct Run {
    headroom: Headroom,
    requests: Gcra,
    tokens: Gcra,
    pending: Vec<Pending>,
    rpm: u64,
    tpm: u64,
}

impl Run {
    /// Delivers the earliest pending response and checks the model against the provider.
    fn deliver_next(&mut self) -> Result<(), TestCaseError> {
        let i = (0..self.pending.len())
            .min_by_key(|&i| self.pending[i].0)
            .expect("something pending");
        let (arrival, as_of, rem_r, rem_t) = self.pending.swap_remove(i);
        let headers = [
            ("x-ratelimit-limit-requests", self.rpm.to_string()),
            ("x-ratelimit-remaining-requests", rem_r.to_string()),
            ("x-ratelimit-limit-tokens", self.tpm.to_string()),
            ("x-ratelimit-remaining-tokens", rem_t.to_string()),
        ];
        let snap = parse_headers(headers, Provider::OpenAi, None);
        self.headroom.observe_as_of(arrival, as_of, &snap);
        let est = self.headroom.estimates(arrival);
        let truth = [
            self.requests.available(arrival),
            self.tokens.available(arrival),
        ];
        for (e, t) in est.iter().zip(truth) {
            let believed = e.remaining.expect("limits known");
            prop_assert!(
                believed <= t as i64,
                "model believes {believed} left, provider has {t}"
            );
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(config("provider", CASES))]

    #[test]
    fn headroom_never_sends_what_the_provider_would_refuse(
        rpm in 1u64..60,
        tpm in 100u64..20_000,
        window_s in 1u64..90,
        sends in prop::collection::vec((0u64..3_000_000_000, 0.0f64..0.5, 0.0f64..0.5, 0u64..20_000_000_000), 1..150),
    ) {
        let window = Duration::from_secs(window_s);
        let mut config = HeadroomConfig::per_minute(Some(rpm), Some(tpm));
        config.margin_ppm = 0;
        for w in &mut config.windows {
            w.window = window;
        }
        let mut run = Run {
            headroom: Headroom::new(config).expect("valid"),
            requests: Gcra::new(rpm, rpm, window).expect("valid"),
            tokens: Gcra::new(tpm, tpm, window).expect("valid"),
            pending: Vec::new(),
            rpm,
            tpm,
        };
        let mut wanted = Time::ZERO;
        for (gap, input, output, latency) in sends {
            wanted = wanted.saturating_add(Duration::from_nanos(gap));
            let cost = SendCost::request((input * tpm as f64) as u64, (output * tpm as f64) as u64);
            // Event order: a response that arrives before the send would go is seen first.
            let at = loop {
                let at = run.headroom.earliest_send(wanted, &cost).expect("fits");
                match run.pending.iter().map(|p| p.0).min() {
                    Some(arrival) if arrival <= at => {
                        run.deliver_next()?;
                        // Time moves on to the response: the send cannot go earlier.
                        wanted = wanted.max(arrival);
                    }
                    _ => break at,
                }
            };
            let tokens = cost.input_tokens + cost.output_tokens;
            prop_assert_eq!(run.requests.check(at, 1), Ok(Decision::Allowed), "429 on requests");
            prop_assert_eq!(run.tokens.check(at, tokens), Ok(Decision::Allowed), "429 on tokens");
            run.requests.commit(at, 1);
            run.tokens.commit(at, tokens);
            run.headroom.on_send(at, &cost);
            let remaining = (run.requests.available(at), run.tokens.available(at));
            let arrival = at.saturating_add(Duration::from_nanos(latency));
            run.pending.push((arrival, at, remaining.0, remaining.1));
            wanted = at;
        }
        while !run.pending.is_empty() {
            run.deliver_next()?;
        }
    }
}
