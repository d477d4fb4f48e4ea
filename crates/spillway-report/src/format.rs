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
    format!(
        "{}.{:09}",
        nano_usd / 1_000_000_000,
        nano_usd % 1_000_000_000
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_are_exact() {
        assert_eq!(ms(Duration::from_micros(1_234_567)), "1234.567");
        assert_eq!(ms(Duration::ZERO), "0.000");
        assert_eq!(usd(12_345_678_999), "12.345678");
        assert_eq!(usd_exact(150_000), "0.000150000");
    }
}
