//! [`super`]'s tests: real captures, the reviews' failing cases, and the safety invariant.

use super::*;

fn report(provider: Provider, limit: u64, remaining: i64, reset: Duration) -> ResetReport {
    ResetReport {
        provider,
        limit,
        remaining,
        reset,
    }
}

const MINUTE: Duration = Duration::from_secs(60);

/// The shortest period `reset` fits in.
fn period_fitting(reset: Duration) -> Duration {
    PERIODS[period_index(reset)]
}

/// provider-semantics.md's captures: OpenAI's minute and Groq's day.
#[test]
fn continuous_resets_give_the_period() {
    let mut l = LengthLearner::default();
    let openai = report(Provider::OpenAi, 500, 499, Duration::from_millis(120));
    assert_eq!(l.observe(Time::ZERO, MINUTE, openai), MINUTE);
    let groq = report(Provider::OpenAi, 1_000, 998, Duration::from_millis(172_800));
    assert_eq!(
        l.observe(Time::ZERO, MINUTE, groq),
        Duration::from_secs(86_400)
    );
    let groq_tokens = report(Provider::OpenAi, 8_000, 7_927, Duration::from_millis(547));
    assert_eq!(l.observe(Time::ZERO, MINUTE, groq_tokens), MINUTE);
}

/// A reset too short to trust, or an estimate far from every period, changes nothing.
#[test]
fn untrustworthy_continuous_resets_keep_the_belief() {
    let mut l = LengthLearner::default();
    let rounded = report(Provider::OpenAi, 5_000, 4_999, Duration::from_millis(12));
    assert_eq!(l.observe(Time::ZERO, MINUTE, rounded), MINUTE);
    // 30 000 × 1 s / 1 000 = 30 s: between 10 s and a minute, near neither.
    let odd = report(Provider::OpenAi, 30_000, 29_000, Duration::from_secs(1));
    assert_eq!(l.observe(Time::ZERO, MINUTE, odd), MINUTE);
    // Short resets over an hour: a continuous window is not shortened by them.
    assert_eq!(l.observe(Time::from_secs(3_600), MINUTE, rounded), MINUTE);
}

/// Real captures and the documentation's inconsistent sample (16 tokens used, 6 minutes to
/// full: no period fits) do not move a continuous window between a minute and an hour.
#[test]
fn a_continuous_window_follows_the_formula_alone() {
    let mut l = LengthLearner::default();
    let answers = [
        report(Provider::OpenAi, 150_000, 149_984, Duration::from_secs(360)),
        report(Provider::OpenAi, 30_000, 29_968, Duration::from_millis(64)),
        report(Provider::OpenAi, 160_000, 159_976, Duration::from_millis(9)),
    ];
    for (i, answer) in answers.into_iter().enumerate() {
        assert_eq!(l.observe(Time::ZERO, MINUTE, answer), MINUTE, "answer {i}");
    }
}

/// A peer's extreme numbers are noise, not an overflow.
#[test]
fn extreme_headers_leave_the_window_alone() {
    let mut l = LengthLearner::default();
    for provider in [Provider::OpenAi, Provider::Azure, Provider::Generic] {
        let wild = report(provider, u64::MAX, i64::MIN, Duration::MAX);
        assert_eq!(l.observe(Time::MAX, MINUTE, wild), MINUTE);
    }
}

/// Azure's 10 s sub-window (limit 20): the first window's answers keep the minute; an
/// answer about the next boundary, 10 s later, shows the window.
#[test]
fn a_fixed_window_is_learned_from_the_gap_between_boundaries() {
    let mut l = LengthLearner::default();
    let mut window = MINUTE;
    let mut learned = Vec::new();
    for (second, remaining, reset) in [(1, 17, 9), (5, 10, 5), (11, 17, 9), (15, 10, 5)] {
        let answer = report(Provider::Azure, 20, remaining, Duration::from_secs(reset));
        window = l.observe(Time::from_secs(second), window, answer);
        learned.push(window.as_nanos() / 1_000_000_000);
    }
    assert_eq!(learned, [60, 60, 10, 10]);
}

/// Answers late in each minute with latencies that differ by over a second (review17):
/// the two answers about one boundary are not taken for two, and the minute stays.
#[test]
fn latency_jitter_keeps_the_minute() {
    let mut l = LengthLearner::default();
    let ms = Duration::from_millis;
    let mut learned = Vec::new();
    for (sent, latency) in [
        (55_000, 200),
        (57_000, 1_500),
        (115_000, 200),
        (117_000, 1_500),
    ] {
        let exchange = Exchange {
            sent: Time::ZERO.saturating_add(ms(sent)),
            received: Time::ZERO.saturating_add(ms(sent + latency)),
        };
        let reset = ms(60_000 - sent % 60_000);
        let answer = report(Provider::Azure, 20_000, 5_000, reset);
        learned.push(l.observe(exchange, MINUTE, answer).as_nanos() / 1_000_000_000);
    }
    assert_eq!(learned, [60, 60, 60, 60]);
}

/// Azure's 10 s window answered after 15 s (review18): consecutive answers' spans always
/// overlap, but an answer compared with one sent long enough before learns the 10 s (the
/// previous-answer rule kept the minute). The provider counts its reset halfway through.
#[test]
fn long_latencies_still_learn_a_ten_second_window() {
    let mut l = LengthLearner::default();
    let mut window = MINUTE;
    for i in 0..60u64 {
        let sent = i * 1_000 + 300;
        let counted = sent + 7_500;
        let boundary = (counted / 10_000 + 1) * 10_000;
        let reset = (boundary - counted).div_ceil(1_000) * 1_000;
        let exchange = Exchange {
            sent: Time::from_nanos(sent * 1_000_000),
            received: Time::from_nanos((sent + 15_000) * 1_000_000),
        };
        let answer = report(Provider::Azure, 100, 40, Duration::from_millis(reset));
        window = l.observe(exchange, window, answer);
    }
    assert_eq!(window, Duration::from_secs(10));
}

/// A job answered only late in each minute sees short resets, but its boundaries are a
/// minute apart: the window stays a minute, not the 10 s the resets alone suggest.
#[test]
fn answers_at_one_phase_of_a_minute_keep_the_minute() {
    let mut l = LengthLearner::default();
    for second in [55u64, 57, 115, 117] {
        let reset = Duration::from_secs(60 - second % 60);
        let answer = report(Provider::Azure, 20_000, 5_000, reset);
        assert_eq!(l.observe(Time::from_secs(second), MINUTE, answer), MINUTE);
    }
}

/// A reset longer than every period believed lengthens the window at once; one a second
/// over (skewed clocks), or one owed on a debt, does not.
#[test]
fn only_a_reset_clearly_past_the_window_lengthens_it() {
    let mut l = LengthLearner::default();
    let ten = Duration::from_secs(10);
    let skewed = report(Provider::Azure, 100, 3, Duration::from_secs(11));
    assert_eq!(l.observe(Time::ZERO, ten, skewed), ten);
    let minute_reset = report(Provider::Azure, 20_000, 0, Duration::from_secs(42));
    assert_eq!(l.observe(Time::ZERO, ten, minute_reset), MINUTE);
    let mut l = LengthLearner::default();
    let anthropic = report(Provider::Anthropic, 50, 0, Duration::from_secs(61));
    assert_eq!(l.observe(Time::ZERO, MINUTE, anthropic), MINUTE);
    let debt = report(Provider::Generic, 50, -200, Duration::from_secs(300));
    assert_eq!(l.observe(Time::ZERO, MINUTE, debt), MINUTE);
    let short = report(Provider::Anthropic, 50, 49, Duration::from_secs(2));
    assert_eq!(l.observe(Time::from_secs(600), MINUTE, short), MINUTE);
}

const HOUR: Duration = Duration::from_secs(3_600);
const DAY: Duration = Duration::from_secs(86_400);

/// The documented bound on a lone day-long reset's evidence, in seconds ([`EVIDENCE_WINDOWS`]
/// days), written out so that a change of the constant is a change of this test too.
const TWO_DAYS: u64 = 172_800;

/// The window learned after each of `answers` (seconds received, remaining, reset in seconds),
/// from a minute, sent and received at once.
fn learned(
    provider: Provider,
    answers: impl IntoIterator<Item = (u64, i64, u64)>,
) -> Vec<(u64, Duration)> {
    let mut l = LengthLearner::default();
    let mut window = MINUTE;
    answers
        .into_iter()
        .map(|(at, remaining, reset)| {
            let answer = report(provider, 100, remaining, Duration::from_secs(reset));
            window = l.observe(Time::from_secs(at), window, answer);
            (at, window)
        })
        .collect()
}

/// One wild reset with nothing owed (a glitch, a limit changed from per day to per minute)
/// lengthens the window at once (the safe side), then lapses two days later:
/// the ordinary answers after it bring the minute back, not a restart.
#[test]
fn a_lone_wild_reset_lapses_two_of_its_windows_later() {
    let bound = TWO_DAYS;
    let wild = std::iter::once((0, 50, 86_400));
    // A minute's resets (counted halfway through a little-used window), every 30 s for 3 days.
    let ordinary = (1..=8_640).map(|i| (i * 30, 90, 30));
    for provider in [Provider::Generic, Provider::Anthropic] {
        for (at, window) in learned(provider, wild.clone().chain(ordinary.clone())) {
            let expected = if at <= bound { DAY } else { MINUTE };
            assert_eq!(window, expected, "{provider:?} at {at} s");
        }
    }
}

/// Azure's 10 s window, learned from its boundaries, then one wild reset: the reset wins
/// over the boundaries' gap while it counts, and the 10 s comes back two days later.
#[test]
fn a_wild_reset_over_a_learned_fixed_window_lapses_too() {
    let bound = TWO_DAYS;
    let start = 999;
    let answers = (0..=200_000 / 3).map(|i| {
        let at = i * 3;
        let reset = if at == start { 86_400 } else { 10 - at % 10 };
        (at, 40, reset)
    });
    for (at, window) in learned(Provider::Azure, answers) {
        let expected = match at {
            0..12 => MINUTE,
            _ if (start..=start + bound).contains(&at) => DAY,
            _ => Duration::from_secs(10),
        };
        assert_eq!(window, expected, "at {at} s");
    }
}

/// A true hour window (unknown provider: its long resets come only with heavy use) reported
/// once every 100 minutes, short resets between: never learned a minute while its evidence is
/// renewed within two hours; two hours after the last one, the minute again.
#[test]
fn a_long_window_reported_every_other_window_is_kept() {
    let answers = (0..=600u64).map(|m| {
        let heavy = m % 100 == 0 && m <= 400;
        (m * 60, 40, if heavy { 1_800 } else { 5 })
    });
    for (at, window) in learned(Provider::Generic, answers) {
        let expected = if at <= 400 * 60 + 7_200 { HOUR } else { MINUTE };
        assert_eq!(window, expected, "at {at} s");
    }
}

#[test]
fn periods_snap_on_a_log_scale() {
    let s = |n: i128| n * 1_000_000_000;
    assert_eq!(nearest_period(s(3)), Duration::from_secs(1));
    assert_eq!(nearest_period(s(4)), Duration::from_secs(10));
    assert_eq!(nearest_period(s(24)), Duration::from_secs(10));
    assert_eq!(nearest_period(s(25)), MINUTE);
    assert_eq!(nearest_period(s(1_000_000)), Duration::from_secs(86_400));
    assert_eq!(
        period_fitting(Duration::from_secs(11)),
        Duration::from_secs(10)
    );
    assert_eq!(period_fitting(Duration::from_millis(11_001)), MINUTE);
    assert_eq!(period_fitting(Duration::from_secs(999_999)), PERIODS[4]);
    assert_eq!(
        longest_period_within(Duration::from_secs(10), MINUTE),
        MINUTE
    );
    assert_eq!(
        longest_period_within(MINUTE, Duration::from_secs(11)),
        MINUTE
    );
}

proptest::proptest! {
    /// The safety invariant: whatever the latencies and wherever between send and receipt
    /// the provider counts its whole-second reset, a fixed window is never learned shorter
    /// than it is (that would refill the model faster than the provider: 429s).
    #[test]
    fn a_fixed_window_is_never_learned_too_short(
        window_s in proptest::sample::select(vec![1u64, 10, 60]),
        start in 0u64..120_000,
        answers in proptest::collection::vec((0u64..2_000, 0u64..20_000, 0u64..=100), 1..40),
    ) {
        let mut l = LengthLearner::default();
        let mut believed = MINUTE;
        let mut sent = start;
        let w = window_s * 1_000;
        for (pause, latency, at_pct) in answers {
            sent += pause;
            let counted = sent + latency * at_pct / 100;
            let reset = ((counted / w + 1) * w - counted).div_ceil(1_000) * 1_000;
            let exchange = Exchange {
                sent: Time::from_nanos(sent * 1_000_000),
                received: Time::from_nanos((sent + latency) * 1_000_000),
            };
            let answer = report(Provider::Azure, 100, 10, Duration::from_millis(reset));
            believed = l.observe(exchange, believed, answer);
            proptest::prop_assert!(
                believed >= Duration::from_secs(window_s),
                "learned {believed:?} for a {window_s} s window"
            );
        }
    }
}
