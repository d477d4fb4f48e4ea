//! The workspace's one duration parser: `6m0s`, `2m52.8s`, `250ms`, `9h15m`, `1h 30m`.
//!
//! Two grammars share one loop because their readers differ only at the edges:
//! - [`DurationGrammar::Go`] is Go's `time.Duration` text as OpenAI and Groq print it in
//!   rate-limit headers (and protobuf durations such as Gemini's `retryDelay`): no spaces,
//!   units up to `h`, and values past 584 years *saturate* (a provider's "never" stays visible).
//! - [`DurationGrammar::Human`] is what people write in scenario files and on the command line:
//!   the Go grammar plus days (`d`), `min`, and spaces between parts (`1h 30m`, `1.5 s`); a value
//!   past 584 years is an error, because a user typo should not silently become "forever".
//!
//! Why hand-written and not `jiff`'s friendly format (vetted in DEPENDENCIES.md): both grammars
//! would still need this file's edge rules on top of it (Go's bare `0` and saturation for
//! headers, an error on overflow for users), `jiff` parses into a signed seconds+nanos
//! `SignedDuration` that would then be converted, and it would add a dependency to the header
//! hot path. `Decimal` scaling already gives integer exactness (`0.3s` is exactly
//! 300_000_000 ns, no float on the way).

use crate::time::Duration;
use crate::upstream::headers::decimal::Decimal;

const NS_PER_S: u64 = 1_000_000_000;

/// Which reader's rules apply; see the module docs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DurationGrammar {
    /// Provider headers: Go `time.Duration` text, saturating.
    Go,
    /// Scenario files and the CLI: Go text plus `d`, `min` and spaces, overflow is an error.
    Human,
}

/// Why a duration text was refused.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum DurationTextError {
    /// Nothing but spaces or a sign.
    Empty,
    /// A number with no unit after it (`12`, `1s2`).
    MissingUnit,
    /// A unit the grammar does not know (`12d` in a header, `15x`).
    UnknownUnit,
    /// A unit with no number before it (`ms`, `1.2.3s`).
    ExpectedNumber,
    /// A negative span (`-1s`); a wait cannot be negative.
    Negative,
    /// More than 584 years, in the [`DurationGrammar::Human`] grammar.
    TooLarge,
}

impl DurationTextError {
    /// A short reason, in the user's words.
    pub fn reason(self) -> &'static str {
        match self {
            DurationTextError::Empty => "empty",
            DurationTextError::MissingUnit => "missing unit",
            DurationTextError::UnknownUnit => "unknown unit",
            DurationTextError::ExpectedNumber => "expected a number before each unit",
            DurationTextError::Negative => "negative",
            DurationTextError::TooLarge => "longer than 584 years",
        }
    }
}

/// What the human grammar accepts, for error messages.
pub const HUMAN_DURATION_FORMS: &str = "one or more `<number><unit>` parts with units ns, us, ms, s, \
     m (minutes), h, d, e.g. `250ms`, `1.5s`, `15m`, `9h15m` or `1h 30m`";

/// Nanoseconds per unit in `grammar`, or `None` for an unknown unit.
fn unit_nanos(unit: &str, grammar: DurationGrammar) -> Option<u64> {
    Some(match (unit, grammar) {
        ("ns", _) => 1,
        // Go accepts the micro sign U+00B5 and the Greek mu U+03BC.
        ("us" | "µs" | "μs", _) => 1_000,
        ("ms", _) => 1_000_000,
        ("s", _) => NS_PER_S,
        ("m", _) | ("min", DurationGrammar::Human) => 60 * NS_PER_S,
        ("h", _) => 3_600 * NS_PER_S,
        ("d", DurationGrammar::Human) => 86_400 * NS_PER_S,
        _ => return None,
    })
}

/// Parses one or more `<decimal><unit>` parts (or a bare `0`) into exact nanoseconds, digits
/// below a nanosecond truncated. A leading `+` is accepted and `-0s` is zero (Go does both).
pub fn parse_duration_text(
    value: &str,
    grammar: DurationGrammar,
) -> Result<Duration, DurationTextError> {
    let human = grammar == DurationGrammar::Human;
    let text = if human {
        value.trim()
    } else {
        value.trim_matches([' ', '\t'])
    };
    let (negative, body) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if body == "0" {
        return Ok(Duration::ZERO);
    }
    if body.is_empty() {
        return Err(DurationTextError::Empty);
    }
    let mut rest = body;
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let (number, after) =
            Decimal::split_prefix(rest).ok_or(DurationTextError::ExpectedNumber)?;
        let unit_end = after
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        let unit = if human { unit.trim() } else { unit };
        if unit.is_empty() {
            return Err(DurationTextError::MissingUnit);
        }
        let nanos = unit_nanos(unit, grammar).ok_or(DurationTextError::UnknownUnit)?;
        let part = number.scaled(nanos);
        total = match (total.checked_add(part), human) {
            // `scaled` saturates, so u64::MAX itself means "did not fit".
            (Some(sum), _) if part != u64::MAX => sum,
            (_, true) => return Err(DurationTextError::TooLarge),
            (_, false) => u64::MAX,
        };
        rest = next;
    }
    if negative && total != 0 {
        return Err(DurationTextError::Negative);
    }
    Ok(Duration::from_nanos(total))
}

/// `d` as a person writes it, in the [`DurationGrammar::Human`] grammar that reads it back
/// exactly: `0s`, `17ns`, `1.5us`, `250ms`, `2.5s`, `1h2m3.25s`, `3d4h`. For error messages
/// that talk about time (a raw nanosecond count means nothing to a user).
pub fn format_duration_text(d: Duration) -> String {
    let ns = d.as_nanos();
    let decimal = |whole: u64, frac: u64, digits: usize, unit: &str| {
        let frac = format!("{frac:0digits$}");
        let frac = frac.trim_end_matches('0');
        match frac.is_empty() {
            true => format!("{whole}{unit}"),
            false => format!("{whole}.{frac}{unit}"),
        }
    };
    match ns {
        0 => "0s".to_string(),
        1..1_000 => format!("{ns}ns"),
        1_000..1_000_000 => decimal(ns / 1_000, ns % 1_000, 3, "us"),
        1_000_000..NS_PER_S => decimal(ns / 1_000_000, ns % 1_000_000, 6, "ms"),
        _ => {
            let secs = ns / NS_PER_S;
            let parts = [
                (secs / 86_400, "d"),
                (secs / 3_600 % 24, "h"),
                (secs / 60 % 60, "m"),
            ];
            let mut out: String = parts
                .iter()
                .filter(|(n, _)| *n > 0)
                .map(|(n, unit)| format!("{n}{unit}"))
                .collect();
            if !secs.is_multiple_of(60) || !ns.is_multiple_of(NS_PER_S) {
                out.push_str(&decimal(secs % 60, ns % NS_PER_S, 9, "s"));
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use DurationGrammar::{Go, Human};

    #[test]
    fn formatted_durations_read_back_exactly() {
        let shown = |ns: u64| format_duration_text(Duration::from_nanos(ns));
        assert_eq!(shown(0), "0s");
        assert_eq!(shown(17), "17ns");
        assert_eq!(shown(1_500), "1.5us");
        assert_eq!(shown(250_000_000), "250ms");
        assert_eq!(shown(2_500_000_000), "2.5s");
        assert_eq!(shown(3_723_250_000_000), "1h2m3.25s");
        assert_eq!(shown(3 * 86_400 * NS_PER_S + 4 * 3_600 * NS_PER_S), "3d4h");
        // Round trips over every scale, including u64::MAX (584 years fit exactly).
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for shift in 0..64 {
            for _ in 0..50 {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let ns = x >> shift;
                assert_eq!(human(&shown(ns)), ns, "{}", shown(ns));
            }
        }
        assert_eq!(human(&shown(u64::MAX)), u64::MAX);
    }

    fn human(text: &str) -> u64 {
        parse_duration_text(text, Human)
            .unwrap_or_else(|e| panic!("{text:?}: {e:?}"))
            .as_nanos()
    }

    #[test]
    fn compound_human_durations_are_exact() {
        assert_eq!(human("9h15m"), (9 * 3600 + 15 * 60) * NS_PER_S);
        assert_eq!(human("1h 30m"), 5_400 * NS_PER_S);
        assert_eq!(human("1.5s"), 1_500_000_000);
        assert_eq!(human("1.5 s"), 1_500_000_000);
        assert_eq!(human("250ms"), 250_000_000);
        assert_eq!(human("0.1ms"), 100_000);
        assert_eq!(human("2d 3h"), (2 * 86_400 + 3 * 3_600) * NS_PER_S);
        assert_eq!(human("15min"), 900 * NS_PER_S);
        assert_eq!(human("0"), 0);
    }

    #[test]
    fn human_refusals_name_the_reason() {
        let err = |t: &str| parse_duration_text(t, Human).unwrap_err();
        assert_eq!(err("15"), DurationTextError::MissingUnit);
        assert_eq!(err("15x"), DurationTextError::UnknownUnit);
        assert_eq!(err("9h15"), DurationTextError::MissingUnit);
        assert_eq!(err("ms"), DurationTextError::ExpectedNumber);
        assert_eq!(err("1.2.3s"), DurationTextError::ExpectedNumber);
        assert_eq!(err("-5s"), DurationTextError::Negative);
        assert_eq!(err("99999999999999999999d"), DurationTextError::TooLarge);
        assert_eq!(err("400000d 400000d"), DurationTextError::TooLarge);
        assert_eq!(err("  "), DurationTextError::Empty);
    }

    #[test]
    fn go_grammar_keeps_header_rules() {
        let go = |t: &str| parse_duration_text(t, Go);
        assert_eq!(go("6m0s").unwrap().as_nanos(), 360 * NS_PER_S);
        assert_eq!(go("12d"), Err(DurationTextError::UnknownUnit));
        assert_eq!(go("12 ms"), Err(DurationTextError::UnknownUnit));
        assert_eq!(go("1h 30m"), Err(DurationTextError::UnknownUnit));
        assert_eq!(go("99999999999999999999h").unwrap(), Duration::MAX);
    }
}
