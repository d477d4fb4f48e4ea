//! Every format round-trips exactly, checked against independent integer references: Go
//! durations (as Go prints them and as arbitrary segment sums), decimal seconds, RFC 3339 with
//! offsets, all three HTTP-date layouts, the epoch-vs-delta rule, the clamp against `Date`, and
//! header lines.

use proptest::prelude::*;
use spillway_core::Duration;
use spillway_core::upstream::headers::{
    Dimension, Provider, Reset, UnixNanos, parse_go_duration, parse_header_lines, parse_headers,
    parse_http_date, parse_reset, parse_rfc3339, parse_seconds,
};

use crate::{CASES, config};

const NS_PER_S: u64 = 1_000_000_000;
const UNITS: [(&str, u64); 8] = [
    ("ns", 1),
    ("us", 1_000),
    ("µs", 1_000),
    ("μs", 1_000),
    ("ms", 1_000_000),
    ("s", NS_PER_S),
    ("m", 60 * NS_PER_S),
    ("h", 3_600 * NS_PER_S),
];
const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const LONG_DAYS: [&str; 7] = [
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// `ns` as Go's `time.Duration.String` prints it (`2m52.8s`, `1h0m0s`, `12ms`, `1.5µs`).
fn go_string(ns: u64) -> String {
    let with_fraction = |whole: u64, frac: u64, digits: usize, unit: &str| {
        let frac = format!("{frac:0digits$}");
        let frac = frac.trim_end_matches('0');
        if frac.is_empty() {
            format!("{whole}{unit}")
        } else {
            format!("{whole}.{frac}{unit}")
        }
    };
    match ns {
        0 => "0s".to_owned(),
        1..1_000 => format!("{ns}ns"),
        1_000..1_000_000 => with_fraction(ns / 1_000, ns % 1_000, 3, "µs"),
        1_000_000..NS_PER_S => with_fraction(ns / 1_000_000, ns % 1_000_000, 6, "ms"),
        _ => {
            let secs = with_fraction(ns / NS_PER_S % 60, ns % NS_PER_S, 9, "s");
            let (minutes, hours) = (ns / NS_PER_S / 60 % 60, ns / NS_PER_S / 3_600);
            match (hours, minutes) {
                (0, 0) => secs,
                (0, m) => format!("{m}m{secs}"),
                (h, m) => format!("{h}h{m}m{secs}"),
            }
        }
    }
}

/// `digits` (a string of decimal digits) as a fraction, times `unit`, truncated.
fn fraction_of(digits: &str, unit: u64) -> u128 {
    let numerator: u128 = digits.parse().unwrap_or(0);
    numerator * u128::from(unit) / 10u128.pow(digits.len() as u32)
}

/// Seconds since the epoch → (year, month, day, hour, minute, second, weekday 0 = Monday),
/// by walking whole years and months: slow, but independent of the parser's arithmetic.
fn civil(secs: i64) -> (i64, usize, i64, i64, i64, i64, usize) {
    let leap = |y: i64| y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
    let (mut days, sod) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let weekday = (days + 3).rem_euclid(7) as usize;
    let mut year = 1970;
    while days < 0 {
        year -= 1;
        days += if leap(year) { 366 } else { 365 };
    }
    while days >= if leap(year) { 366 } else { 365 } {
        days -= if leap(year) { 366 } else { 365 };
        year += 1;
    }
    let lengths = [
        31,
        if leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut month = 0;
    while days >= lengths[month] {
        days -= lengths[month];
        month += 1;
    }
    (
        year,
        month,
        days + 1,
        sod / 3_600,
        sod / 60 % 60,
        sod % 60,
        weekday,
    )
}

proptest! {
    #![proptest_config(config("formats", CASES))]

    #[test]
    fn go_printed_durations_parse_back_exactly(ns in prop_oneof![0u64..10_000_000_000, any::<u64>()]) {
        let text = go_string(ns);
        prop_assert_eq!(parse_go_duration(&text), Ok(Duration::from_nanos(ns)), "{}", text);
    }

    #[test]
    fn go_segments_sum_exactly(
        segments in prop::collection::vec((0u32..100_000, "[0-9]{0,12}", 0usize..UNITS.len()), 1..5)
    ) {
        let mut text = String::new();
        let mut expected: u128 = 0;
        for (whole, frac, unit) in &segments {
            let (name, nanos) = UNITS[*unit];
            text += &if frac.is_empty() { format!("{whole}{name}") } else { format!("{whole}.{frac}{name}") };
            expected += u128::from(*whole) * u128::from(nanos) + fraction_of(frac, nanos);
        }
        let expected = Duration::from_nanos(u64::try_from(expected).unwrap_or(u64::MAX));
        prop_assert_eq!(parse_go_duration(&text), Ok(expected), "{}", text);
    }

    #[test]
    fn decimal_seconds_are_exact_and_saturate(whole in 0u64..100_000_000_000, frac in "[0-9]{0,15}") {
        let text = if frac.is_empty() { whole.to_string() } else { format!("{whole}.{frac}") };
        let expected = u128::from(whole) * u128::from(NS_PER_S) + fraction_of(&frac, NS_PER_S);
        let expected = Duration::from_nanos(u64::try_from(expected).unwrap_or(u64::MAX));
        prop_assert_eq!(parse_seconds(&text), Ok(expected));
    }

    #[test]
    fn rfc3339_round_trips(ns in any::<i64>()) {
        let t = UnixNanos::from_nanos(ns);
        prop_assert_eq!(parse_rfc3339(&t.to_string()), Ok(t), "{}", t);
    }

    #[test]
    fn rfc3339_offsets_name_the_same_instant(
        ns in -5_000_000_000_000_000_000i64..5_000_000_000_000_000_000,
        offset_min in -1_439i64..=1_439,
    ) {
        let t = UnixNanos::from_nanos(ns);
        let local = UnixNanos::from_nanos(ns + offset_min * 60 * NS_PER_S as i64).to_string();
        let sign = if offset_min < 0 { '-' } else { '+' };
        let text = format!(
            "{}{sign}{:02}:{:02}",
            local.trim_end_matches('Z'),
            offset_min.abs() / 60,
            offset_min.abs() % 60
        );
        prop_assert_eq!(parse_rfc3339(&text), Ok(t), "{}", text);
    }

    #[test]
    fn http_dates_round_trip_in_all_layouts(secs in -5_000_000_000i64..9_000_000_000) {
        let (y, mo, d, h, mi, s, wd) = civil(secs);
        let expected = UnixNanos::from_secs(secs);
        let imf = format!("{}, {d:02} {} {y:04} {h:02}:{mi:02}:{s:02} GMT", DAYS[wd], MONTHS[mo]);
        prop_assert_eq!(parse_http_date(&imf), Ok(expected), "{}", imf);
        let asctime = format!("{} {} {d:>2} {h:02}:{mi:02}:{s:02} {y:04}", DAYS[wd], MONTHS[mo]);
        prop_assert_eq!(parse_http_date(&asctime), Ok(expected), "{}", asctime);
        if (1970..2070).contains(&y) {
            let rfc850 = format!(
                "{}, {d:02}-{}-{:02} {h:02}:{mi:02}:{s:02} GMT",
                LONG_DAYS[wd], MONTHS[mo], y % 100
            );
            prop_assert_eq!(parse_http_date(&rfc850), Ok(expected), "{}", rfc850);
        }
        let wrong_day = imf.replacen(DAYS[wd], DAYS[(wd + 1) % 7], 1);
        prop_assert!(parse_http_date(&wrong_day).is_err(), "{}", wrong_day);
    }

    #[test]
    fn bare_numbers_above_1e9_are_unix_times(n in prop_oneof![0u64..4_000_000_000, 999_999_990u64..1_000_000_010]) {
        let expected = if n > 1_000_000_000 {
            Reset::At(UnixNanos::from_secs(n as i64))
        } else {
            Reset::After(Duration::from_secs(n))
        };
        prop_assert_eq!(parse_reset(&n.to_string()), Ok(expected));
    }

    #[test]
    fn absolute_resets_are_measured_against_date_and_clamped(
        reset in 0i64..4_000_000_000_000_000_000,
        date in 0i64..4_000_000_000_000_000_000,
    ) {
        let (reset, date) = (UnixNanos::from_nanos(reset), UnixNanos::from_nanos(date));
        let value = reset.to_string();
        let headers = [("anthropic-ratelimit-output-tokens-reset", value.as_str())];
        let snap = parse_headers(headers, Provider::Auto, Some(date));
        let state = &snap.dims[&Dimension::OutputTokens];
        let expected = u64::try_from(reset.as_nanos() - date.as_nanos()).unwrap_or(0);
        prop_assert_eq!(state.reset_after, Some(Duration::from_nanos(expected)));
        prop_assert_eq!(state.reset_at, Some(reset));
    }

    #[test]
    fn header_lines_round_trip(
        pairs in prop::collection::vec(("[A-Za-z0-9!#$%&'*+.^_`|~-]{1,20}", "([!-~]([ -~]{0,20}[!-~])?)?"), 0..12),
        noise in prop::collection::vec(0u8..4, 12),
    ) {
        let pairs: Vec<(String, String)> =
            pairs.into_iter().filter(|(n, v)| !n.starts_with('#') && !v.starts_with('#') && !v.contains(" #")).collect();
        let mut text = String::new();
        for (i, (name, value)) in pairs.iter().enumerate() {
            match noise[i] {
                0 => text += "\n",
                1 => text += "# a comment: with a colon\r\n",
                2 => text += "   \t\n",
                _ => {}
            }
            let comment = if noise[i] % 2 == 0 { "  # why" } else { "" };
            text += &format!("{name}:{}{value}{comment}\n", if noise[i] == 3 { "" } else { " " });
        }
        let parsed = parse_header_lines(&text).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let parsed: Vec<(String, String)> = parsed
            .into_iter()
            .map(|(n, v)| (n, String::from_utf8(v).unwrap()))
            .collect();
        prop_assert_eq!(parsed, pairs, "{}", text);
    }
}

#[test]
fn go_string_matches_go_for_known_values() {
    assert_eq!(go_string(172_800_000_000), "2m52.8s");
    assert_eq!(go_string(360 * NS_PER_S), "6m0s");
    assert_eq!(go_string(3_723_500_000_000), "1h2m3.5s");
    assert_eq!(go_string(12_000_000), "12ms");
    assert_eq!(go_string(1_500), "1.5µs");
    assert_eq!(civil(1_696_004_817), (2023, 8, 29, 16, 26, 57, 4));
    assert_eq!(civil(-1), (1969, 11, 31, 23, 59, 59, 2));
}
