//! Exact timestamps: trace time text → integer nanoseconds, with no float on the way.
//!
//! Azure writes `2023-11-16 18:17:03.9799600` (7 fractional digits), BurstGPT `19440110.0`;
//! parsing through `f64` would round both by up to hundreds of nanoseconds and drift over
//! millions of rows, so digits are scaled as integers.

use spillway_core::time::civil::{days_from_civil, days_in_month};

/// `text × unit_ns` for a plain non-negative decimal (`12`, `0.5`, `19440110.0`), exactly,
/// truncating below 1 ns.
pub fn decimal_to_ns(text: &str, unit_ns: u64) -> Result<u64, String> {
    let text = text.trim();
    let (whole, frac) = text.split_once('.').unwrap_or((text, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (whole.is_empty() && frac.is_empty()) || !digits(whole) || !digits(frac) {
        return Err(format!(
            "`{text}` is not a non-negative decimal number of time units"
        ));
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| format!("`{text}` is too large"))?
    };
    let mut total = whole
        .checked_mul(unit_ns)
        .ok_or_else(|| format!("`{text}` is too large"))?;
    let mut place = unit_ns;
    for digit in frac.bytes() {
        place /= 10;
        if place == 0 {
            break;
        }
        total = total
            .checked_add(u64::from(digit - b'0') * place)
            .ok_or_else(|| format!("`{text}` is too large"))?;
    }
    Ok(total)
}

/// One piece of a date-time format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    /// `.` followed by 0–9 or more digits (optional as a whole).
    Fraction,
    Literal(u8),
}

/// A strftime-like civil date-time format: `%Y %m %d %H %M %S`, `%.f` (optional fraction,
/// any number of digits), `%%`, and literal ASCII. No time zone: the trace's clock is used as
/// is, since replay only needs differences.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateTimeFormat {
    items: Vec<Item>,
    text: String,
}

/// What a date-time format may contain, for error messages.
pub const DATETIME_FORMS: &str = "`%Y`, `%m`, `%d`, `%H`, `%M`, `%S`, `%.f` (fraction), `%%` and literal ASCII, e.g. `%Y-%m-%d %H:%M:%S%.f`";

impl DateTimeFormat {
    /// Compile a format; errors name the offending directive.
    pub fn new(text: &str) -> Result<Self, String> {
        let mut items = Vec::new();
        let mut bytes = text.bytes();
        while let Some(b) = bytes.next() {
            if !b.is_ascii() {
                return Err(format!(
                    "`{text}`: only ASCII is allowed; expected {DATETIME_FORMS}"
                ));
            }
            if b != b'%' {
                items.push(Item::Literal(b));
                continue;
            }
            let item = match bytes.next() {
                Some(b'Y') => Item::Year,
                Some(b'm') => Item::Month,
                Some(b'd') => Item::Day,
                Some(b'H') => Item::Hour,
                Some(b'M') => Item::Minute,
                Some(b'S') => Item::Second,
                Some(b'%') => Item::Literal(b'%'),
                Some(b'.') if bytes.next() == Some(b'f') => Item::Fraction,
                other => {
                    let shown = other.map(|c| (c as char).to_string()).unwrap_or_default();
                    return Err(format!(
                        "unknown directive `%{shown}` in `{text}`; expected {DATETIME_FORMS}"
                    ));
                }
            };
            items.push(item);
        }
        let has = |i: Item| items.contains(&i);
        if !(has(Item::Year) && has(Item::Month) && has(Item::Day)) {
            return Err(format!("`{text}` needs at least `%Y`, `%m` and `%d`"));
        }
        Ok(DateTimeFormat {
            items,
            text: text.to_string(),
        })
    }

    /// The format as written.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Nanoseconds since 1970-01-01 00:00:00 of the trace's clock.
    pub fn parse_ns(&self, value: &str) -> Result<u64, String> {
        let bad = || format!("`{value}` does not match the time format `{}`", self.text);
        let mut rest = value.trim().as_bytes();
        let mut f = [0u64; 6]; // Y m d H M S
        let mut frac_ns = 0u64;
        for item in &self.items {
            let (slot, width) = match item {
                Item::Year => (0, 4),
                Item::Month => (1, 2),
                Item::Day => (2, 2),
                Item::Hour => (3, 2),
                Item::Minute => (4, 2),
                Item::Second => (5, 2),
                Item::Literal(c) => {
                    rest = rest.strip_prefix(&[*c][..]).ok_or_else(bad)?;
                    continue;
                }
                Item::Fraction => {
                    if let Some(after) = rest.strip_prefix(b".") {
                        let n = after.iter().take_while(|b| b.is_ascii_digit()).count();
                        let mut place = 1_000_000_000u64;
                        for &d in &after[..n] {
                            place /= 10;
                            frac_ns += u64::from(d - b'0') * place;
                        }
                        rest = &after[n..];
                    }
                    continue;
                }
            };
            let n = rest
                .iter()
                .take(width)
                .take_while(|b| b.is_ascii_digit())
                .count();
            if n != width {
                return Err(bad());
            }
            f[slot] = rest[..n]
                .iter()
                .fold(0, |acc, &b| acc * 10 + u64::from(b - b'0'));
            rest = &rest[n..];
        }
        if !rest.is_empty() {
            return Err(bad());
        }
        let [year, month, day, hour, minute, second] = f;
        if !(1970..=2500).contains(&year)
            || !(1..=12).contains(&month)
            || day < 1
            || day > u64::from(days_in_month(year as i64, month as u32))
            || hour > 23
            || minute > 59
            || second > 60
        {
            return Err(format!(
                "`{value}` is not a valid date and time (1970–2500)"
            ));
        }
        // Validated above: 1970–2500, so the day number is non-negative and the casts exact.
        let days = days_from_civil(year as i64, month as u32, day as u32) as u64;
        let secs = days * 86_400 + hour * 3_600 + minute * 60 + second;
        Ok(secs * 1_000_000_000 + frac_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_exact() {
        assert_eq!(
            decimal_to_ns("19440110.0", 1_000_000_000),
            Ok(19_440_110_000_000_000)
        );
        assert_eq!(decimal_to_ns("0.0000001", 1_000_000_000), Ok(100));
        assert_eq!(decimal_to_ns("1.5", 1_000_000), Ok(1_500_000));
        assert!(decimal_to_ns("-1", 1).is_err());
        assert!(decimal_to_ns("1e3", 1).is_err());
        assert!(decimal_to_ns("", 1).is_err());
    }

    #[test]
    fn azure_timestamps_keep_every_100ns() {
        let f = DateTimeFormat::new("%Y-%m-%d %H:%M:%S%.f").unwrap();
        let a = f.parse_ns("2023-11-16 18:17:03.9799600").unwrap();
        let b = f.parse_ns("2023-11-16 18:17:04.0319600").unwrap();
        assert_eq!(b - a, 52_000_000);
        assert_eq!(
            f.parse_ns("1970-01-02 00:00:00").unwrap(),
            86_400_000_000_000
        );
        // 2023-11-16 is day 19677 since the epoch.
        assert_eq!(
            f.parse_ns("2023-11-16 00:00:00").unwrap(),
            19_677 * 86_400_000_000_000
        );
        assert!(f.parse_ns("2023-02-29 00:00:00").is_err());
        assert!(f.parse_ns("2023-11-16T00:00:00").is_err());
    }

    #[test]
    fn bad_formats_name_the_directive() {
        let e = DateTimeFormat::new("%Y-%q").unwrap_err();
        assert!(e.contains("%q"), "{e}");
        assert!(DateTimeFormat::new("%H:%M").is_err());
    }
}
