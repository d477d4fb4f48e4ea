//! Exact decimal text → integers, by hand: `52.8` seconds is 52_800_000_000 ns exactly, with no
//! float rounding on the way (the crate keeps state in integers, and a float detour would turn
//! `0.3s` into 299_999_999 ns).
//!
//! Overflow rule: a syntactically valid number too large for its type **saturates** (`u64::MAX`
//! nanoseconds is 584 years: any wait that long means "not in this process's lifetime", and
//! keeping the value keeps the provider's intent visible). Only text that is not a number is an
//! error.

/// Fraction digits that can matter: 10^-19 of the largest unit (an hour, 3.6e12 ns) is < 1 ns.
const MAX_FRACTION_DIGITS: usize = 19;

/// A non-negative decimal `digits[.digits]` (either side may be empty, not both), as text.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct Decimal<'a> {
    int: &'a str,
    frac: &'a str,
}

impl<'a> Decimal<'a> {
    /// Splits `text` if it is exactly a non-negative decimal; no sign, exponent or spaces.
    pub(crate) fn parse(text: &'a str) -> Option<Self> {
        let (int, frac) = match text.split_once('.') {
            Some((int, frac)) => (int, frac),
            None => (text, ""),
        };
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if (int.is_empty() && frac.is_empty()) || !all_digits(int) || !all_digits(frac) {
            return None;
        }
        Some(Decimal { int, frac })
    }

    /// The longest prefix of `text` that is a decimal, and the rest (for `2m52.8s`).
    pub(crate) fn split_prefix(text: &'a str) -> Option<(Self, &'a str)> {
        let end = text
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(text.len());
        let (number, rest) = text.split_at(end);
        // A second '.' makes the prefix invalid: `1.2.3s` is not a duration.
        if number.bytes().filter(|&b| b == b'.').count() > 1 {
            return None;
        }
        Decimal::parse(number).map(|d| (d, rest))
    }

    /// The integer part, saturating at `u64::MAX`.
    pub(crate) fn int_saturating(self) -> u64 {
        self.int.bytes().fold(0u64, |acc, b| {
            acc.saturating_mul(10).saturating_add(u64::from(b - b'0'))
        })
    }

    /// Whether the value is exactly zero.
    pub(crate) fn is_zero(self) -> bool {
        self.int.bytes().chain(self.frac.bytes()).all(|b| b == b'0')
    }

    /// `value × unit`, truncated toward zero, saturating at `u64::MAX`. With `unit` = ns per
    /// second this turns seconds text into exact nanoseconds.
    pub(crate) fn scaled(self, unit: u64) -> u64 {
        let unit = u128::from(unit);
        // (2^64 - 1)^2 < 2^128, so neither product can overflow u128.
        let whole = u128::from(self.int_saturating()) * unit;
        let digits = &self.frac.as_bytes()[..self.frac.len().min(MAX_FRACTION_DIGITS)];
        let (numerator, denominator) = digits.iter().fold((0u128, 1u128), |(n, d), &b| {
            (n * 10 + u128::from(b - b'0'), d * 10)
        });
        // numerator < 10^19 < 2^64, so numerator * unit < 2^128; the sum is < 2^128 too.
        let fraction = numerator * unit / denominator;
        u64::try_from(whole + fraction).unwrap_or(u64::MAX)
    }
}

/// An optionally negative integer (`-27689`), saturating at the ends of `i64`.
pub(crate) fn parse_signed_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let magnitude = Decimal {
        int: digits,
        frac: "",
    }
    .int_saturating();
    let value = i64::try_from(magnitude).unwrap_or(i64::MAX);
    Some(if negative {
        // -(i64::MAX) - 1 = i64::MIN for magnitudes beyond i64::MAX.
        if magnitude > i64::MAX as u64 {
            i64::MIN
        } else {
            -value
        }
    } else {
        value
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NS: u64 = 1_000_000_000;

    fn secs(text: &str) -> u64 {
        Decimal::parse(text).expect(text).scaled(NS)
    }

    #[test]
    fn decimals_scale_exactly() {
        assert_eq!(secs("52.8"), 52_800_000_000);
        assert_eq!(secs("0.3"), 300_000_000);
        assert_eq!(secs("57.238747106"), 57_238_747_106);
        assert_eq!(
            secs("1.2036081251"),
            1_203_608_125,
            "sub-ns digits truncate"
        );
        assert_eq!(secs(".5"), 500_000_000);
        assert_eq!(secs("5."), 5 * NS);
        assert_eq!(secs("0"), 0);
        assert_eq!(
            Decimal::parse("0.042598363636363636")
                .unwrap()
                .scaled(1_000_000),
            42_598
        );
    }

    #[test]
    fn huge_numbers_saturate() {
        assert_eq!(secs("99999999999999999999"), u64::MAX);
        assert_eq!(secs("18446744073.709551615"), u64::MAX);
        assert_eq!(secs("18446744073.709551614"), u64::MAX - 1);
        let many = format!("1.{}", "9".repeat(500));
        assert_eq!(secs(&many), 2 * NS - 1);
    }

    #[test]
    fn non_decimals_are_rejected() {
        for bad in ["", ".", "1.2.3", "-1", "+1", "1e3", " 1", "1 ", "١"] {
            assert_eq!(Decimal::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn prefixes_split_at_the_first_non_number() {
        let (d, rest) = Decimal::split_prefix("52.8s").unwrap();
        assert_eq!((d.scaled(10), rest), (528, "s"));
        assert_eq!(Decimal::split_prefix("ms"), None);
        assert_eq!(Decimal::split_prefix("1.2.3s"), None);
    }

    #[test]
    fn signed_integers_saturate() {
        assert_eq!(parse_signed_int("-27689"), Some(-27689));
        assert_eq!(parse_signed_int("-1"), Some(-1));
        assert_eq!(parse_signed_int("96000"), Some(96000));
        assert_eq!(parse_signed_int("99999999999999999999"), Some(i64::MAX));
        assert_eq!(parse_signed_int("-99999999999999999999"), Some(i64::MIN));
        assert_eq!(parse_signed_int("-9223372036854775808"), Some(i64::MIN));
        for bad in ["", "-", "1.5", "--1", "+1", "1_000"] {
            assert_eq!(parse_signed_int(bad), None, "{bad:?}");
        }
    }
}
