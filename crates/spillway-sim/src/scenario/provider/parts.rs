//! Validation of the provider's parts that every kind shares: latency, overload, outages,
//! shared quota, price, wall clock; plus the located-error helpers the provider checks use.

use super::super::model::Price;
use super::super::raw::S;
use super::super::units::{DURATION_FORMS, parse_duration};
use super::{RawOutage, RawOverload, RawPrice, RawSharedQuota};
use crate::provider::{DEFAULT_WALL_CLOCK_START, OutageSpec, OverloadSpec, SharedQuotaSpec};
use spillway_core::policy::Reporter;
use spillway_core::policy::models::usd_per_mtok;
use spillway_core::upstream::headers::{UnixNanos, parse_rfc3339};
use spillway_core::{Duration, Time};

/// Largest limit accepted: far above any real tier, and small enough that the arithmetic of
/// shared quotas (ns × limit × ppm in u128) cannot overflow.
pub(crate) const MAX_LIMIT: i64 = 1_000_000_000_000;

pub(crate) fn at<T>(r: &mut Reporter<'_>, value: &S<T>, message: impl Into<String>) {
    let l = &value.referenced;
    r.at(l.line() as usize, l.column() as usize, message);
}

/// A whole number in `[1, max]`, or an error saying so.
pub(crate) fn count(r: &mut Reporter<'_>, value: &S<i64>, field: &str, max: i64) -> Option<u64> {
    if (1..=max).contains(&value.value) {
        u64::try_from(value.value).ok()
    } else {
        at(
            r,
            value,
            format!(
                "`{field}` must be a whole number greater than 0 (at most {max}), got {}",
                value.value
            ),
        );
        None
    }
}

pub(crate) fn duration(r: &mut Reporter<'_>, value: &S<String>) -> Option<Duration> {
    parse_duration(&value.value)
        .map_err(|e| at(r, value, e))
        .ok()
}

pub(crate) fn positive_duration(
    r: &mut Reporter<'_>,
    value: &S<String>,
    field: &str,
) -> Option<Duration> {
    let d = duration(r, value)?;
    if d.is_zero() {
        at(
            r,
            value,
            format!("`{field}` must be longer than 0; expected {DURATION_FORMS}"),
        );
        return None;
    }
    Some(d)
}

/// A float in `range`, or an error naming the range.
pub(crate) fn within(
    r: &mut Reporter<'_>,
    value: &S<f64>,
    field: &str,
    range: std::ops::RangeInclusive<f64>,
    allowed: &str,
) -> Option<f64> {
    if value.value.is_finite() && range.contains(&value.value) {
        Some(value.value)
    } else {
        at(
            r,
            value,
            format!("`{field}` must be {allowed}, got {}", value.value),
        );
        None
    }
}

pub(crate) fn overload(r: &mut Reporter<'_>, o: &RawOverload) -> Option<OverloadSpec> {
    let from = within(r, &o.from, "from", 0.0..=0.999, "a utilisation in [0, 1)");
    let p = within(
        r,
        &o.max_probability,
        "max_probability",
        0.0..=1.0,
        "a probability in [0, 1]",
    );
    Some(OverloadSpec {
        from: from?,
        max_probability: p?,
    })
}

/// `[start, start + duration)` as simulated instants.
fn span(r: &mut Reporter<'_>, start: &S<String>, len: &S<String>) -> Option<(Time, Time)> {
    let from = duration(r, start);
    let len = positive_duration(r, len, "duration");
    let from = Time::ZERO.saturating_add(from?);
    Some((from, from.saturating_add(len?)))
}

pub(crate) fn outages(r: &mut Reporter<'_>, raw: &[RawOutage]) -> Option<Vec<OutageSpec>> {
    let mut out = Some(Vec::new());
    for o in raw {
        let window = span(r, &o.start, &o.duration);
        let status = match &o.status {
            Some(s) if (500..=599).contains(&s.value) => u16::try_from(s.value).ok(),
            Some(s) => {
                at(
                    r,
                    s,
                    format!(
                        "outage `status` must be an HTTP server error 500-599, got {}",
                        s.value
                    ),
                );
                None
            }
            None => Some(503),
        };
        match (window, status, out.as_mut()) {
            (Some((start, end)), Some(status), Some(v)) => {
                v.push(OutageSpec { start, end, status })
            }
            _ => out = None,
        }
    }
    out
}

pub(crate) fn shared(r: &mut Reporter<'_>, raw: &[RawSharedQuota]) -> Option<Vec<SharedQuotaSpec>> {
    let mut out = Some(Vec::new());
    for s in raw {
        let window = span(r, &s.start, &s.duration);
        let fraction = within(
            r,
            &s.fraction,
            "fraction",
            0.000_001..=1.0,
            "a fraction in (0, 1]",
        );
        match (window, fraction, out.as_mut()) {
            (Some((start, end)), Some(f), Some(v)) => v.push(SharedQuotaSpec {
                start,
                end,
                fraction_ppm: (f * 1e6).round().max(1.0) as u64,
            }),
            _ => out = None,
        }
    }
    out
}

pub(crate) fn price(r: &mut Reporter<'_>, p: Option<&RawPrice>) -> Option<Price> {
    let Some(p) = p else {
        return Some(Price::default());
    };
    let input = usd_per_mtok(&p.input_usd_per_mtok, r);
    let output = usd_per_mtok(&p.output_usd_per_mtok, r);
    Some(Price {
        input_nano_usd_per_mtok: input?,
        output_nano_usd_per_mtok: output?,
    })
}

pub(crate) fn wall_clock(r: &mut Reporter<'_>, value: Option<&S<String>>) -> Option<UnixNanos> {
    match value {
        None => Some(DEFAULT_WALL_CLOCK_START),
        Some(v) => match parse_rfc3339(&v.value) {
            Ok(t) if t >= UnixNanos::EPOCH => Some(t),
            _ => {
                at(
                    r,
                    v,
                    format!(
                        "`wall_clock_start` must be an RFC 3339 instant after 1970, like `2026-01-15T16:00:00Z`, got `{}`",
                        v.value
                    ),
                );
                None
            }
        },
    }
}
