//! The `traffic.trace` block: raw YAML shape and its validation into a
//! [`TraceSpec`](crate::traffic::trace::TraceSpec).
//!
//! ```yaml
//! traffic:
//!   trace:
//!     path: ../../shared/traces/azure_llm_2023_code.csv  # relative to this file; --trace overrides
//!     format: azure              # azure | burstgpt | servegen | csv
//!     get_from: https://…         # printed when the file is missing
//!     start: 0s                  # window, from the trace's first timestamp
//!     end: 20m
//!     speedup: 1                 # trace seconds per simulated second
//!     loop: false
//!     rate_scale: 1              # <1 thins, >1 superposes shifted copies
//!     copy_offset: 1s            # shift of copy c is c × copy_offset
//!     on_error: stop             # or skip (malformed rows are counted)
//!     reorder_window: 1s         # disorder repaired up to this much
//!     users: { count: 1000, zipf: 1.0 }
//!     mix:                       # default: one `standard` entry, feature `trace`
//!       - { class: interactive, feature: code, weight: 3, output_estimate: 64 }
//!     # csv only:
//!     columns: { time: ts, input_tokens: in, output_tokens: out, user: uid }
//!     time_unit: ms              # s | ms | us | ns | a date-time format like `%Y-%m-%d %H:%M:%S%.f`
//!     # servegen only:
//!     tokens: { input: { median: 800, sigma: 1 }, output: { median: 200, sigma: 0.8 } }
//! ```

use super::model::GroupSpec;
use super::raw::{RawTraffic, S};
use super::validate::size;
use crate::traffic::trace::time::{DATETIME_FORMS, DateTimeFormat};
use crate::traffic::trace::{
    CsvMapping, DrawnSizes, OnError, RateScale, Speedup, TimeUnit, TimeWindow, TraceFormat,
    TraceSpec, UserRule, WrittenAt,
};
use spillway_core::Duration;
use spillway_core::policy::Reporter;

mod mix;
mod raw;
pub use raw::{RawColumns, RawMixEntry, RawTrace, RawTraceTokens, RawTraceUsers};

const FORMATS: &str = "`azure`, `burstgpt`, `servegen` or `csv`";
const TIME_UNITS: &str = "`s`, `ms`, `us`, `ns`, or a date-time format";
/// Zipf users are held as a table: bound it.
const MAX_TRACE_USERS: u64 = 10_000_000;

/// Validate `traffic.trace` (if any) and append its mix's groups to the validated `groups`.
/// The outer `Option` is `None` when something is invalid (already reported).
pub(crate) fn attach(
    traffic: &RawTraffic,
    groups: Option<Vec<GroupSpec>>,
    r: &mut Reporter<'_>,
) -> (Option<Vec<GroupSpec>>, Option<Option<TraceSpec>>) {
    let Some(raw) = &traffic.trace else {
        return (groups, Some(None));
    };
    let users = traffic
        .groups
        .iter()
        .map(|g| g.users.value)
        .fold(0, u64::saturating_add);
    match (groups, validate_trace(raw, traffic.groups.len(), users, r)) {
        (Some(mut groups), Some((spec, mix_groups))) => {
            groups.extend(mix_groups);
            (Some(groups), Some(Some(spec)))
        }
        (groups, _) => (groups, None),
    }
}

/// Validate `raw`; the mix's groups are numbered from `first_group`, its users from
/// `first_user`. Returns the spec and one group per mix entry.
fn validate_trace(
    raw: &RawTrace,
    first_group: usize,
    first_user: u64,
    r: &mut Reporter<'_>,
) -> Option<(TraceSpec, Vec<GroupSpec>)> {
    let dir = r
        .file()
        .parent()
        .map(|d| d.to_path_buf())
        .unwrap_or_default();
    let format = format(raw, r);
    let window = window(raw, r);
    let speedup = positive_f64(raw.speedup.as_ref(), 1.0, "speedup", r).map(|f| Speedup {
        ppm: (f * 1e6).round().max(1.0) as u64,
    });
    let factor = positive_f64(raw.rate_scale.as_ref(), 1.0, "rate_scale", r).filter(|&f| {
        f <= 1000.0
            || r_bad(
                r,
                raw.rate_scale.as_ref(),
                "rate_scale must be at most 1000",
            )
    });
    let copy_offset = duration_or(raw.copy_offset.as_ref(), Duration::from_secs(1), r);
    let reorder = duration_or(raw.reorder_window.as_ref(), Duration::from_secs(1), r);
    let on_error = on_error(raw, r);
    let users = users(raw.users.as_ref(), r);
    let mix = mix::mix(raw.mix.as_deref(), r);
    let sizes = sizes(raw, format.as_ref(), r);
    let (mix, groups) = mix?;
    let spec = TraceSpec {
        path: dir.join(&raw.path.value),
        path_at: Some(WrittenAt {
            file: r.file().to_path_buf(),
            line: raw.path.referenced.line() as usize,
            column: raw.path.referenced.column() as usize,
        }),
        format: format?,
        get_from: raw.get_from.clone(),
        window: window?,
        speedup: speedup?,
        looped: raw.looped.unwrap_or(false),
        rate_scale: RateScale {
            factor: factor?,
            copy_offset: copy_offset?,
        },
        on_error: on_error?,
        reorder_window: reorder?,
        users: users?,
        mix,
        first_group,
        first_user,
        sizes: sizes?,
    };
    Some((spec, groups))
}

fn on_error(raw: &RawTrace, r: &mut Reporter<'_>) -> Option<OnError> {
    let Some(v) = raw.on_error.as_ref() else {
        return Some(OnError::Stop);
    };
    match v.value.as_str() {
        "stop" => Some(OnError::Stop),
        "skip" => Some(OnError::Skip),
        other => {
            r.bad(
                v,
                format!("unknown on_error `{other}`; expected `stop` or `skip`"),
            );
            None
        }
    }
}

fn window(raw: &RawTrace, r: &mut Reporter<'_>) -> Option<TimeWindow> {
    let start = raw
        .start
        .as_ref()
        .map_or(Some(Duration::ZERO), |s| r.duration(s));
    let end = raw.end.as_ref().map(|e| r.positive_duration(e));
    match (start, end) {
        (Some(start), None) => Some(TimeWindow { start, end: None }),
        (Some(start), Some(Some(end))) if end > start => Some(TimeWindow {
            start,
            end: Some(end),
        }),
        (Some(_), Some(Some(_))) => {
            r_bad(r, raw.end.as_ref(), "end must be after start");
            None
        }
        _ => None,
    }
}

/// `Some(None)`: the rows carry their tokens; `None`: invalid (reported).
fn sizes(
    raw: &RawTrace,
    format: Option<&TraceFormat>,
    r: &mut Reporter<'_>,
) -> Option<Option<DrawnSizes>> {
    match (&raw.tokens, format) {
        (Some(_), Some(f)) if !matches!(f, TraceFormat::ServeGen { .. }) => {
            r.bad(
                &raw.format,
                "`tokens` applies only to the `servegen` format (the others carry token counts)",
            );
            None
        }
        (Some(t), _) => match (size(&t.input, r), size(&t.output, r)) {
            (Some(input), Some(output)) => Some(Some(DrawnSizes { input, output })),
            _ => None,
        },
        (None, Some(TraceFormat::ServeGen { .. })) => {
            r.bad(&raw.format, "the `servegen` format has no token counts: add `tokens: { input: { median, sigma }, output: { median, sigma } }`");
            None
        }
        (None, _) => Some(None),
    }
}

/// Report `message` at `value` (if any) and return `false`, for use in filters.
fn r_bad<T>(r: &mut Reporter<'_>, value: Option<&S<T>>, message: &str) -> bool {
    match value {
        Some(v) => r.bad(v, message),
        None => r.whole("traffic.trace", message),
    }
    false
}

fn positive_f64(v: Option<&S<f64>>, default: f64, what: &str, r: &mut Reporter<'_>) -> Option<f64> {
    match v {
        None => Some(default),
        Some(v) if v.value.is_finite() && v.value > 0.0 => Some(v.value),
        Some(v) => {
            r.bad(
                v,
                format!("{what} must be a number greater than 0, got {}", v.value),
            );
            None
        }
    }
}

fn duration_or(v: Option<&S<String>>, default: Duration, r: &mut Reporter<'_>) -> Option<Duration> {
    v.map_or(Some(default), |v| r.duration(v))
}

fn format(raw: &RawTrace, r: &mut Reporter<'_>) -> Option<TraceFormat> {
    let known_non_csv = ["azure", "burstgpt", "servegen"].contains(&raw.format.value.as_str());
    if known_non_csv {
        for (present, field) in [
            (raw.columns.is_some(), "columns"),
            (raw.time_unit.is_some(), "time_unit"),
            (raw.delimiter.is_some(), "delimiter"),
        ] {
            if present {
                r.bad(
                    &raw.format,
                    format!("`{field}` applies only to the `csv` format"),
                );
            }
        }
    }
    match raw.format.value.as_str() {
        "azure" => Some(TraceFormat::Azure),
        "burstgpt" => Some(TraceFormat::BurstGpt),
        "servegen" => {
            let window = duration_or(raw.servegen_window.as_ref(), Duration::from_secs(600), r)?;
            Some(TraceFormat::ServeGen { window })
        }
        "csv" => csv_mapping(raw, r).map(|m| TraceFormat::Csv(Box::new(m))),
        other => {
            r.bad(
                &raw.format,
                format!("unknown trace format `{other}`; expected {FORMATS}"),
            );
            None
        }
    }
}

fn csv_mapping(raw: &RawTrace, r: &mut Reporter<'_>) -> Option<CsvMapping> {
    let Some(columns) = &raw.columns else {
        r.bad(&raw.format, "the `csv` format needs `columns: { time, input_tokens, output_tokens }` (header names)");
        return None;
    };
    let time_unit = match &raw.time_unit {
        None => {
            r.bad(
                &raw.format,
                format!("the `csv` format needs `time_unit`: {TIME_UNITS}"),
            );
            None
        }
        Some(u) => time_unit(u, r),
    };
    let delimiter = match &raw.delimiter {
        None => Some(b','),
        Some(d) if d.value.len() == 1 && d.value.is_ascii() => Some(d.value.as_bytes()[0]),
        Some(d) if d.value == "\\t" || d.value == "\t" => Some(b'\t'),
        Some(d) => {
            r.bad(
                d,
                format!("delimiter must be one ASCII character, got `{}`", d.value),
            );
            None
        }
    };
    let c = &columns.value;
    Some(CsvMapping {
        time: c.time.clone(),
        input_tokens: c.input_tokens.clone(),
        output_tokens: c.output_tokens.clone(),
        user: c.user.clone(),
        session: c.session.clone(),
        class: c.class.clone(),
        feature: c.feature.clone(),
        model: c.model.clone(),
        time_unit: time_unit?,
        delimiter: delimiter?,
    })
}

fn time_unit(u: &S<String>, r: &mut Reporter<'_>) -> Option<TimeUnit> {
    let unit_ns = match u.value.as_str() {
        "s" => 1_000_000_000,
        "ms" => 1_000_000,
        "us" | "µs" => 1_000,
        "ns" => 1,
        text if text.contains('%') => {
            return DateTimeFormat::new(text)
                .map(TimeUnit::DateTime)
                .map_err(|e| r.bad(u, e))
                .ok();
        }
        other => {
            r.bad(
                u,
                format!(
                    "unknown time unit `{other}`; expected {TIME_UNITS} using {DATETIME_FORMS}"
                ),
            );
            return None;
        }
    };
    Some(TimeUnit::Decimal { unit_ns })
}

fn users(raw: Option<&RawTraceUsers>, r: &mut Reporter<'_>) -> Option<UserRule> {
    let Some(raw) = raw else {
        return Some(UserRule {
            count: 1000,
            exponent: 1.0,
        });
    };
    let count = r.positive(&raw.count, "users.count").filter(|&c| {
        c <= MAX_TRACE_USERS
            || r_bad(
                r,
                Some(&raw.count),
                &format!("at most {MAX_TRACE_USERS} trace users"),
            )
    });
    let exponent = match &raw.zipf {
        None => Some(1.0),
        Some(z) if z.value.is_finite() && (0.0..=10.0).contains(&z.value) => Some(z.value),
        Some(z) => {
            r.bad(
                z,
                format!(
                    "zipf exponent must be between 0 (uniform) and 10, got {}",
                    z.value
                ),
            );
            None
        }
    };
    Some(UserRule {
        count: count?,
        exponent: exponent?,
    })
}
