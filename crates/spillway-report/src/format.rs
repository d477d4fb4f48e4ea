//! Exact decimal formatting of integer quantities (no float rounding surprises in CSVs).

use spillway_core::Duration;

/// Milliseconds with three decimals, exact to the microsecond: `1234.567`.
pub fn ms(d: Duration) -> String {
    let micros = d.as_nanos() / 1_000;
    format!("{}.{:03}", micros / 1_000, micros % 1_000)
}

/// US dollars with six decimals from nano-USD, truncated: `12.345678`.
pub fn usd(nano_usd: u64) -> String {
    let micro = nano_usd / 1_000;
    format!("{}.{:06}", micro / 1_000_000, micro % 1_000_000)
}

/// US dollars with nine decimals, exact: `0.000150000`.
pub fn usd_exact(nano_usd: u64) -> String {
    let mut text = Vec::with_capacity(24);
    push_usd_exact(&mut text, nano_usd);
    String::from_utf8(text).unwrap_or_default()
}

/// Append [`usd_exact`]'s text to `out` (no allocation once `out` has room: the time series
/// writes one per row).
pub fn push_usd_exact(out: &mut Vec<u8>, nano_usd: u64) {
    push_decimal(out, nano_usd / 1_000_000_000);
    out.push(b'.');
    // Nine digits, zero-padded, written in place (no insertion shifting the buffer).
    let mut nanos = nano_usd % 1_000_000_000;
    let mut digits = [b'0'; 9];
    for d in digits.iter_mut().rev() {
        *d = b'0' + (nanos % 10) as u8;
        nanos /= 10;
    }
    out.extend_from_slice(&digits);
}

/// Append `value` in decimal to `out`: what `to_string` writes, without the formatting
/// machinery or an allocation per number. Most time-series fields are single digits (often
/// 0): they take one push.
pub fn push_decimal(out: &mut Vec<u8>, mut value: u64) {
    if value < 10 {
        out.push(b'0' + value as u8);
        return;
    }
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (value % 10) as u8;
        value /= 10;
        if value == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[start..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_match_the_standard_formatting() {
        for v in [0, 1, 9, 10, 99, 100, 123_456_789, 1_000_000_000, u64::MAX] {
            let mut out = b"x".to_vec();
            push_decimal(&mut out, v);
            assert_eq!(out, format!("x{v}").into_bytes());
            let expected = format!("{}.{:09}", v / 1_000_000_000, v % 1_000_000_000);
            assert_eq!(usd_exact(v), expected);
        }
    }

    #[test]
    fn formats_are_exact() {
        assert_eq!(ms(Duration::from_micros(1_234_567)), "1234.567");
        assert_eq!(ms(Duration::ZERO), "0.000");
        assert_eq!(usd(12_345_678_999), "12.345678");
        assert_eq!(usd_exact(150_000), "0.000150000");
    }
}
