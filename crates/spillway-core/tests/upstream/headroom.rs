//! Headroom: never permits a send the modelled remaining quota (minus the margin) cannot
//! cover, never before a Retry-After (bounded by `DEFAULT_MAX_RETRY_AFTER`: an absurd hint
//! does not close the gate for good), and the earliest instant it names is exact (one
//! nanosecond earlier is refused). Snapshots are real parsed headers.

use proptest::prelude::*;
use spillway_core::upstream::headers::{Dimension, Provider, parse_headers};
use spillway_core::upstream::{
    CostUnit, DEFAULT_MAX_RETRY_AFTER, Headroom, HeadroomConfig, HeadroomError, SendCost,
    WindowSpec,
};
use spillway_core::{Duration, Time};

use crate::{CASES, config};

#[derive(Clone, Debug)]
enum Op {
    Send {
        input: u64,
        output: u64,
    },
    Settle {
        input: u64,
        output: u64,
    },
    Observe {
        requests: i64,
        tokens: i64,
        retry_after_ms: Option<u64>,
    },
    Wait(u64),
}

fn op(token_limit: u64) -> impl Strategy<Value = Op> {
    let t = token_limit as i64;
    prop_oneof![
        4 => (0..token_limit, 0..token_limit / 2 + 1).prop_map(|(input, output)| Op::Send { input, output }),
        1 => (0..token_limit, 0..token_limit / 2 + 1).prop_map(|(input, output)| Op::Settle { input, output }),
        2 => (-50i64..300, -t..t + 10, prop::option::of(prop_oneof![0u64..120_000, 120_000u64..u64::MAX / 2_000_000]))
            .prop_map(|(requests, tokens, retry_after_ms)| Op::Observe { requests, tokens, retry_after_ms }),
        1 => (0u64..30_000_000_000).prop_map(Op::Wait),
    ]
}

fn scenario() -> impl Strategy<Value = (u64, u64, u64, u64, Vec<Op>)> {
    (1u64..300, 100u64..50_000, 1u64..120, 0u64..300_000).prop_flat_map(
        |(rpm, tpm, win, margin)| {
            let ops = prop::collection::vec(op(tpm), 1..120);
            (Just(rpm), Just(tpm), Just(win), Just(margin), ops)
        },
    )
}

fn model(rpm: u64, tpm: u64, window_s: u64, margin_ppm: u64) -> Headroom {
    let w = Duration::from_secs(window_s);
    let windows = vec![
        WindowSpec::new(CostUnit::Requests, w, Some(Dimension::Requests), Some(rpm)),
        WindowSpec::new(CostUnit::Tokens, w, Some(Dimension::Tokens), Some(tpm)),
        // A daily request window no header reports: only our sends count.
        WindowSpec::new(
            CostUnit::Requests,
            Duration::from_secs(86_400),
            None,
            Some(rpm * 50),
        ),
    ];
    Headroom::new(HeadroomConfig {
        windows,
        margin_ppm,
    })
    .expect("valid")
}

/// The units a send of `cost` must find: cost plus margin (rounded up), at most the limit.
fn need(cost: u64, limit: u64, margin_ppm: u64) -> i64 {
    let margin = (u128::from(limit) * u128::from(margin_ppm)).div_ceil(1_000_000) as u64;
    cost.saturating_add(margin).min(limit) as i64
}

proptest! {
    #![proptest_config(config("headroom", CASES))]

    #[test]
    fn never_permits_what_the_model_cannot_cover(
        (rpm, tpm, window_s, margin_ppm, ops) in scenario(),
    ) {
        let mut h = model(rpm, tpm, window_s, margin_ppm);
        let mut now = Time::from_secs(1);
        let mut gate = Time::ZERO;
        let mut last_sent = SendCost::default();
        for op in ops {
            match op {
                Op::Send { input, output } => {
                    let cost = SendCost::request(input, output);
                    let at = match h.earliest_send(now, &cost) {
                        Ok(at) => at,
                        Err(HeadroomError::NeverFits { cost: c, limit, .. }) => {
                            prop_assert!(c > limit);
                            prop_assert!(input + output > tpm, "only tokens can exceed a limit here");
                            continue;
                        }
                        Err(e) => return Err(TestCaseError::fail(format!("{e}"))),
                    };
                    prop_assert!(at >= now && at >= gate, "before Retry-After: {at} < {gate}");
                    prop_assert!(h.permits(at, &cost).expect("fits"));
                    for est in h.estimates(at) {
                        let (Some(limit), Some(remaining)) = (est.limit, est.remaining) else { continue };
                        let amount = cost.of(est.unit);
                        if amount > 0 {
                            prop_assert!(remaining >= need(amount, limit, margin_ppm),
                                "{:?}: remaining {} < need for {} (limit {})", est.unit, remaining, amount, limit);
                        }
                    }
                    if at > now {
                        let just_before = Time::from_nanos(at.as_nanos() - 1);
                        prop_assert!(!h.permits(just_before, &cost).expect("fits"), "not the earliest");
                    }
                    now = at;
                    h.on_send(now, &cost);
                    last_sent = cost;
                }
                Op::Settle { input, output } => {
                    h.on_settle(now, &last_sent, &SendCost::request(input, output));
                }
                Op::Observe { requests, tokens, retry_after_ms } => {
                    let mut headers = vec![
                        ("x-ratelimit-limit-requests", rpm.to_string()),
                        ("x-ratelimit-remaining-requests", requests.to_string()),
                        ("x-ratelimit-limit-tokens", tpm.to_string()),
                        ("x-ratelimit-remaining-tokens", tokens.to_string()),
                    ];
                    if let Some(ms) = retry_after_ms {
                        headers.push(("retry-after-ms", ms.to_string()));
                        let wait = Duration::from_millis(ms).min(DEFAULT_MAX_RETRY_AFTER);
                        gate = gate.max(now.saturating_add(wait));
                    }
                    let snap = parse_headers(headers, Provider::OpenAi, None);
                    h.observe(now, &snap);
                    let est = h.estimates(now);
                    // -1 is the providers' "unknown": the model keeps its own belief.
                    if requests != -1 {
                        prop_assert_eq!(est[0].remaining, Some(requests.min(rpm as i64)));
                    }
                    if tokens != -1 {
                        prop_assert_eq!(est[1].remaining, Some(tokens.min(tpm as i64)));
                    }
                    prop_assert_eq!(h.gate().not_before(), gate);
                }
                Op::Wait(ns) => now = now.saturating_add(Duration::from_nanos(ns)),
            }
        }
    }
}

#[test]
fn openai_headers_calibrate_the_model_exactly() {
    // 5000 RPM with 4999 left refills in 12 ms; 30000 TPM with 29968 left in 64 ms.
    let mut h = model(1, 1, 60, 0);
    let headers = [
        ("x-ratelimit-limit-requests", "5000"),
        ("x-ratelimit-remaining-requests", "4999"),
        ("x-ratelimit-limit-tokens", "30000"),
        ("x-ratelimit-remaining-tokens", "29968"),
    ];
    let now = Time::from_secs(7);
    h.observe(now, &parse_headers(headers, Provider::Auto, None));
    let est = h.estimates(now);
    assert_eq!(est[0].limit, Some(5000));
    assert_eq!(est[0].full_in, Some(Duration::from_millis(12)));
    assert_eq!(est[1].remaining, Some(29_968));
    assert_eq!(est[1].full_in, Some(Duration::from_millis(64)));
    assert_eq!(est[2].source, None, "the daily window is ours alone");
}

#[test]
fn proactive_throttling_spaces_sends_by_the_refill_rate() {
    // 60 RPM, no margin: after the burst of 60, one send per second.
    let mut h = model(60, 1_000_000, 60, 0);
    let cost = SendCost::request(10, 10);
    let mut now = Time::ZERO;
    let mut sent_at = Vec::new();
    for _ in 0..63 {
        now = h.earliest_send(now, &cost).expect("fits");
        h.on_send(now, &cost);
        sent_at.push(now);
    }
    assert!(sent_at[..60].iter().all(|&t| t == Time::ZERO));
    assert_eq!(
        &sent_at[60..],
        &[Time::from_secs(1), Time::from_secs(2), Time::from_secs(3)]
    );
}

#[test]
fn the_margin_holds_back_a_share_of_every_limit() {
    // 10 % of 100 RPM held back: 90 sends pass at once, the 91st waits.
    let mut h = model(100, 1_000_000, 60, 100_000);
    let cost = SendCost::request(1, 1);
    for _ in 0..90 {
        assert!(h.permits(Time::ZERO, &cost).expect("fits"));
        h.on_send(Time::ZERO, &cost);
    }
    assert!(!h.permits(Time::ZERO, &cost).expect("fits"));
    assert_eq!(h.estimates(Time::ZERO)[0].remaining, Some(10));
}

#[test]
fn bad_configs_and_impossible_sends_are_errors() {
    let too_much = HeadroomConfig {
        windows: vec![],
        margin_ppm: 1_000_001,
    };
    assert!(matches!(
        Headroom::new(too_much),
        Err(HeadroomError::MarginTooLarge { .. })
    ));
    let zero = HeadroomConfig {
        windows: vec![WindowSpec::new(
            CostUnit::Tokens,
            Duration::ZERO,
            None,
            Some(5),
        )],
        margin_ppm: 0,
    };
    assert_eq!(
        Headroom::new(zero),
        Err(HeadroomError::ZeroWindow { index: 0 })
    );
    let h = model(10, 1000, 60, 0);
    assert_eq!(
        h.earliest_send(Time::ZERO, &SendCost::request(900, 101)),
        Err(HeadroomError::NeverFits {
            index: 1,
            cost: 1001,
            limit: 1000
        })
    );
}

/// An absurd Retry-After (it saturates) closes the standalone model's gate for the default
/// bound, not for ever.
#[test]
fn an_absurd_retry_after_closes_the_gate_for_the_bound_only() {
    let mut h = model(1, 1, 60, 0);
    let now = Time::from_secs(7);
    let headers = [("retry-after", "99999999999999999999")];
    h.observe(now, &parse_headers(headers, Provider::OpenAi, None));
    assert_eq!(
        h.gate().not_before(),
        now.saturating_add(DEFAULT_MAX_RETRY_AFTER)
    );
}
