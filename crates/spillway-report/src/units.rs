//! Numbers for people: latencies in ms or s, money in $, counts with thousands separators.
//! The CSVs keep exact decimals; only what a reader looks at is rounded here.

/// `value` of summary column `metric`, in the unit a reader expects.
pub fn human(metric: &str, value: f64) -> String {
    if metric.ends_with("_ms") {
        duration_ms(value)
    } else if metric.ends_with("_usd") {
        dollars(value)
    } else if metric.ends_with("_pct") {
        format!("{value:.2} %")
    } else if metric.ends_with("_share") {
        // A fraction of 1: read as a percentage (0.413: 41.3 % answered by the model asked for).
        format!("{:.1} %", value * 100.0)
    } else if value.fract() == 0.0 && value.abs() < 1e15 {
        thousands(value as i64)
    } else {
        format!("{value:.4}")
    }
}

/// `850 ms`, `12.3 ms`, `4.21 s`, `119 s`.
pub fn duration_ms(ms: f64) -> String {
    match ms {
        0.0 => "0 ms".to_string(),
        m if m < 10.0 => format!("{m:.2} ms"),
        m if m < 1_000.0 => format!("{m:.0} ms"),
        m if m < 100_000.0 => format!("{:.2} s", m / 1_000.0),
        m => format!("{} s", thousands((m / 1_000.0).round() as i64)),
    }
}

/// `$0.82`, `$0.0031`, `$1,234.50`.
pub fn dollars(usd: f64) -> String {
    if usd != 0.0 && usd.abs() < 0.01 {
        format!("${usd:.4}")
    } else {
        let cents = (usd * 100.0).round() as i64;
        format!("${}.{:02}", thousands(cents / 100), (cents % 100).abs())
    }
}

/// `12,345`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_read_naturally() {
        assert_eq!(human("p99_ms", 119_144.447), "119 s");
        assert_eq!(human("p99_ms", 3_674.1), "3.67 s");
        assert_eq!(human("p50_ms", 250.4), "250 ms");
        assert_eq!(human("p99_wait_ms", 0.0), "0 ms");
        assert_eq!(human("cost_usd", 1234.5), "$1,234.50");
        assert_eq!(human("cost_usd", 0.0031), "$0.0031");
        assert_eq!(human("abandoned", 2321.0), "2,321");
        assert_eq!(human("fairness_jain", 0.87021), "0.8702");
        assert_eq!(human("quota_error_pct", 1.5), "1.50 %");
        assert_eq!(human("best_model_share", 0.413), "41.3 %");
        assert_eq!(human("best_model_share", 1.0), "100.0 %");
    }
}
