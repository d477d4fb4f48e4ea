//! Header value formats as the real providers write them: Go durations (OpenAI), whole seconds
//! rounded up (Azure, `retry-after`), milliseconds (`retry-after-ms`), Anthropic's rounding of
//! token counts.

use spillway_core::Duration;

const NS_PER_MS: u64 = 1_000_000;
const MS_PER_S: u64 = 1_000;

/// Whole seconds, rounded up (a client that waits this long is never early).
pub fn ceil_secs(d: Duration) -> u64 {
    d.as_nanos().div_ceil(1_000_000_000)
}

/// Whole milliseconds, rounded up.
pub fn ceil_millis(d: Duration) -> u64 {
    d.as_nanos().div_ceil(NS_PER_MS)
}

/// Go's `time.Duration.String()` of `d` rounded up to whole milliseconds, as OpenAI sends it:
/// `0s`, `12ms`, `1s`, `1.146s`, `6m0s`, `2m52.8s`, `1h0m0s`.
pub fn go_duration(d: Duration) -> String {
    let ms = ceil_millis(d);
    if ms == 0 {
        return "0s".to_string();
    }
    if ms < MS_PER_S {
        return format!("{ms}ms");
    }
    let (secs, frac_ms) = (ms / MS_PER_S, ms % MS_PER_S);
    let (h, m, s) = (secs / 3600, secs % 3600 / 60, secs % 60);
    let mut out = String::with_capacity(16);
    if h > 0 {
        out.push_str(&format!("{h}h{m}m"));
    } else if m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&s.to_string());
    if frac_ms > 0 {
        let frac = format!("{frac_ms:03}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('s');
    out
}

/// Anthropic's token `remaining`: "rounded to the nearest thousand" (half up).
pub fn nearest_thousand(n: i64) -> i64 {
    n.saturating_add(500).div_euclid(1000).saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use spillway_core::upstream::headers::parse_go_duration;

    #[test]
    fn go_durations_match_real_captures() {
        let cases = [
            (Duration::ZERO, "0s"),
            (Duration::from_millis(12), "12ms"),
            (Duration::from_nanos(8_000_001), "9ms"),
            (Duration::from_secs(1), "1s"),
            (Duration::from_millis(1146), "1.146s"),
            (Duration::from_secs(360), "6m0s"),
            (Duration::from_millis(172_800), "2m52.8s"),
            (Duration::from_secs(3600), "1h0m0s"),
            (Duration::from_millis(3_723_500), "1h2m3.5s"),
        ];
        for (d, text) in cases {
            assert_eq!(go_duration(d), text);
            assert_eq!(
                parse_go_duration(text),
                Ok(Duration::from_millis(ceil_millis(d)))
            );
        }
    }

    #[test]
    fn rounding_is_upwards_and_to_thousands() {
        assert_eq!(ceil_secs(Duration::from_millis(1001)), 2);
        assert_eq!(ceil_secs(Duration::ZERO), 0);
        assert_eq!(ceil_millis(Duration::from_nanos(1)), 1);
        assert_eq!(nearest_thousand(29_499), 29_000);
        assert_eq!(nearest_thousand(29_500), 30_000);
        assert_eq!(nearest_thousand(-400), 0);
        assert_eq!(nearest_thousand(i64::MAX), i64::MAX.div_euclid(1000) * 1000);
    }
}
