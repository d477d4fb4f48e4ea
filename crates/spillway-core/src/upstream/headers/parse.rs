//! [`parse_headers`]: one pass over a response's headers into a [`RateLimitSnapshot`].
//!
//! **Lenient by default, strict on request.** A gateway must keep working when one header is
//! garbage, and a person debugging wants to see *every* bad header at once, so
//! [`parse_headers`] never fails: it keeps every value it can read and lists each problem in
//! [`RateLimitSnapshot::errors`] (in input order). [`parse_headers_strict`] is the same pass
//! that fails with the first error, for tests and validation tools.
//!
//! Steps: classify every name (case-insensitive) → infer the provider if asked → read `Date`
//! (falling back to the caller's date) → read every rate-limit value, converting absolute resets
//! to waits against that date → pick the wait hint (`retry-after-ms` over `retry-after`) →
//! drop Azure's placeholder reset of a dimension whose limit is unknown.

use std::collections::BTreeSet;

use super::counts::{parse_limit, parse_remaining, parse_utilization_ppm};
use super::decimal::Decimal;
use super::dimension::Dimension;
use super::error::{HeaderError, ValueError, excerpt, excerpt_bytes};
use super::http_date::parse_http_date;
use super::names::{Class, Field, classify};
use super::provider::Provider;
use super::reset::{Reset, parse_reset};
use super::retry_after::{RetryAfter, parse_retry_after, parse_retry_after_ms};
use super::snapshot::RateLimitSnapshot;
use super::unix_nanos::UnixNanos;
use crate::time::Duration;

/// Most headers read from one response (real ones carry well under 100); the rest are not
/// read and [`HeaderError::TooManyHeaders`] says so. Bounds work and memory on hostile input.
pub const MAX_HEADERS: usize = 1024;

/// One input header, classified.
struct Entry {
    index: usize,
    /// The name as given (cut to an excerpt), for error messages.
    name: String,
    class: Class,
    /// The trimmed value; only decoded for rate-limit headers.
    value: Result<String, ValueError>,
}

/// Reads the rate-limit information in one response's headers; never fails (see the module
/// docs), never panics, whatever the bytes.
///
/// - `headers`: name/value pairs in any string/byte form (`(&str, &[u8])`, `(String, Vec<u8>)`,
///   `(&str, &str)`); names are case-insensitive, values are trimmed of spaces and tabs.
/// - `provider`: a label, or [`Provider::Auto`] to infer one from the names; it never changes
///   how a value is read.
/// - `fallback_date`: the receiver's wall clock when the response arrived, used to measure
///   absolute resets only when the response has no valid `Date` (the provider's own `Date` is
///   preferred because the provider computed its resets with the same clock).
pub fn parse_headers<I, N, V>(
    headers: I,
    provider: Provider,
    fallback_date: Option<UnixNanos>,
) -> RateLimitSnapshot
where
    I: IntoIterator<Item = (N, V)>,
    N: AsRef<str>,
    V: AsRef<[u8]>,
{
    let mut errors = Vec::new();
    let entries = classify_all(headers, &mut errors);
    let provider = match provider {
        Provider::Auto => infer(&entries),
        hint => hint,
    };
    let mut builder = Builder {
        snap: RateLimitSnapshot::new(provider),
        errors,
        seen: BTreeSet::new(),
        unknown_limit: BTreeSet::new(),
        retry_after: None,
        retry_after_ms: None,
    };
    builder.snap.date = builder.read_date(&entries).or(fallback_date);
    for entry in &entries {
        builder.apply(entry);
    }
    builder.finish()
}

/// [`parse_headers`], failing with the first error (in input order) if there is any.
pub fn parse_headers_strict<I, N, V>(
    headers: I,
    provider: Provider,
    fallback_date: Option<UnixNanos>,
) -> Result<RateLimitSnapshot, HeaderError>
where
    I: IntoIterator<Item = (N, V)>,
    N: AsRef<str>,
    V: AsRef<[u8]>,
{
    let snap = parse_headers(headers, provider, fallback_date);
    match snap.errors.first() {
        Some(first) => Err(first.clone()),
        None => Ok(snap),
    }
}

fn classify_all<I, N, V>(headers: I, errors: &mut Vec<(usize, HeaderError)>) -> Vec<Entry>
where
    I: IntoIterator<Item = (N, V)>,
    N: AsRef<str>,
    V: AsRef<[u8]>,
{
    let mut entries = Vec::new();
    for (index, (name, value)) in headers.into_iter().enumerate() {
        if index == MAX_HEADERS {
            let limit = MAX_HEADERS;
            errors.push((index, HeaderError::TooManyHeaders { limit }));
            break;
        }
        let name = name.as_ref();
        let class = classify(&name.to_ascii_lowercase());
        let value = match class {
            Class::Other { .. } => Ok(String::new()),
            _ => decode(value.as_ref()),
        };
        let name = excerpt(name);
        entries.push(Entry {
            index,
            name,
            class,
            value,
        });
    }
    entries
}

/// A value with HTTP's optional whitespace (spaces, tabs) trimmed, as UTF-8.
fn decode(bytes: &[u8]) -> Result<String, ValueError> {
    let ows = |b: &u8| *b == b' ' || *b == b'\t';
    let start = bytes.iter().position(|b| !ows(b)).unwrap_or(bytes.len());
    let end = bytes.iter().rposition(|b| !ows(b)).map_or(start, |i| i + 1);
    let trimmed = &bytes[start..end];
    std::str::from_utf8(trimmed)
        .map(str::to_owned)
        .map_err(|_| ValueError::NotUtf8 {
            value: excerpt_bytes(trimmed),
        })
}

/// The provider the names point to: specific markers beat the shared `x-ratelimit-*` layout,
/// and a bare-number `x-ratelimit-reset-*` (integer seconds) is Azure's, not OpenAI's. The
/// reset's syntax beats a marker: a Go-duration reset (`12ms`) is OpenAI's (or Groq's) even
/// beside an `apim-request-id` that an API-management proxy in front added, because the
/// headroom model reads it as a continuous refill, and an Azure label would make it a fixed
/// window that a 12 ms reset shrinks to a second.
fn infer(entries: &[Entry]) -> Provider {
    let mut found = BTreeSet::new();
    let mut go_reset = false;
    for entry in entries {
        match &entry.class {
            Class::Field { family, field, .. } => {
                let value = entry.value.as_deref();
                let bare_number = value.is_ok_and(|v| Decimal::parse(v).is_some());
                let openai_reset = *family == Provider::OpenAi && *field == Field::Reset;
                go_reset |= openai_reset && !bare_number && value.is_ok_and(is_go_duration);
                let azure = openai_reset && bare_number;
                found.insert(if azure { Provider::Azure } else { *family });
            }
            Class::Other { marker: Some(p) } => {
                found.insert(*p);
            }
            _ => {}
        }
    }
    if go_reset && !found.contains(&Provider::Anthropic) {
        return Provider::OpenAi;
    }
    [
        Provider::Anthropic,
        Provider::Azure,
        Provider::Mistral,
        Provider::OpenAi,
    ]
    .into_iter()
    .find(|p| found.contains(p))
    .unwrap_or(Provider::Generic)
}

/// Whether `value` is a Go duration with a unit (`12ms`, `6m0s`), as OpenAI writes resets.
fn is_go_duration(value: &str) -> bool {
    super::duration::parse_go_duration(value).is_ok()
}

/// One field's parsed value.
enum FieldValue {
    Limit(Option<u64>),
    Remaining(Option<i64>),
    Utilization(Option<u64>),
    Reset(Reset),
}

/// The state of one pass.
struct Builder {
    snap: RateLimitSnapshot,
    /// Errors with the input index they belong to, sorted at the end.
    errors: Vec<(usize, HeaderError)>,
    /// Fields already read, to report duplicates.
    seen: BTreeSet<(Dimension, Field)>,
    /// Dimensions whose limit was reported as unknown (negative).
    unknown_limit: BTreeSet<Dimension>,
    retry_after: Option<RetryAfter>,
    retry_after_ms: Option<Duration>,
}

impl Builder {
    fn error(&mut self, entry: &Entry, error: ValueError) {
        let header = entry.name.clone();
        self.errors
            .push((entry.index, HeaderError::Value { header, error }));
    }

    fn duplicate(&mut self, entry: &Entry, value: &str) {
        let (header, value) = (entry.name.clone(), excerpt(value));
        self.errors
            .push((entry.index, HeaderError::Duplicate { header, value }));
    }

    fn missing_date(&mut self, entry: &Entry, value: &str) {
        let (header, value) = (entry.name.clone(), excerpt(value));
        self.errors
            .push((entry.index, HeaderError::MissingDate { header, value }));
    }

    /// The first valid `Date`; errors for invalid or repeated ones.
    fn read_date(&mut self, entries: &[Entry]) -> Option<UnixNanos> {
        let mut date = None;
        for entry in entries.iter().filter(|e| e.class == Class::Date) {
            match (&entry.value, date) {
                (Err(e), _) => self.error(entry, e.clone()),
                (Ok(v), Some(_)) => self.duplicate(entry, v),
                (Ok(v), None) => match parse_http_date(v) {
                    Ok(t) => date = Some(t),
                    Err(e) => self.error(entry, e),
                },
            }
        }
        date
    }

    fn apply(&mut self, entry: &Entry) {
        let value = match (&entry.class, &entry.value) {
            (Class::Other { .. }, _) => {
                let name = excerpt(&entry.name.to_ascii_lowercase());
                self.snap.ignored.push(name);
                return;
            }
            (Class::Date, _) => return,
            (_, Err(e)) => return self.error(entry, e.clone()),
            (_, Ok(v)) => v.as_str(),
        };
        match &entry.class {
            Class::RetryAfter => self.apply_retry_after(entry, value),
            Class::RetryAfterMs => self.apply_retry_after_ms(entry, value),
            Class::ShouldRetry => self.apply_should_retry(entry, value),
            Class::Field { dim, field, .. } => self.apply_field(entry, dim, *field, value),
            Class::Date | Class::Other { .. } => {}
        }
    }

    fn apply_retry_after(&mut self, entry: &Entry, value: &str) {
        if self.retry_after.is_some() {
            return self.duplicate(entry, value);
        }
        match parse_retry_after(value) {
            Ok(hint) => {
                if matches!(hint, RetryAfter::At(_)) && self.snap.date.is_none() {
                    self.missing_date(entry, value);
                }
                self.retry_after = Some(hint);
            }
            Err(e) => self.error(entry, e),
        }
    }

    fn apply_retry_after_ms(&mut self, entry: &Entry, value: &str) {
        if self.retry_after_ms.is_some() {
            return self.duplicate(entry, value);
        }
        match parse_retry_after_ms(value) {
            Ok(wait) => self.retry_after_ms = Some(wait),
            Err(e) => self.error(entry, e),
        }
    }

    /// `x-should-retry`: exactly `true` or `false`, as openai-python compares it.
    fn apply_should_retry(&mut self, entry: &Entry, value: &str) {
        if self.snap.should_retry.is_some() {
            return self.duplicate(entry, value);
        }
        match value.trim() {
            "true" => self.snap.should_retry = Some(true),
            "false" => self.snap.should_retry = Some(false),
            _ => self.error(
                entry,
                ValueError::InvalidFlag {
                    value: excerpt(value),
                },
            ),
        }
    }

    fn apply_field(&mut self, entry: &Entry, dim: &Dimension, field: Field, value: &str) {
        if self.seen.contains(&(dim.clone(), field)) {
            return self.duplicate(entry, value);
        }
        let parsed = match field {
            Field::Limit => parse_limit(value).map(FieldValue::Limit),
            Field::Remaining => parse_remaining(value).map(FieldValue::Remaining),
            Field::Utilization => parse_utilization_ppm(value).map(FieldValue::Utilization),
            Field::Reset => parse_reset(value).map(FieldValue::Reset),
        };
        let parsed = match parsed {
            Ok(parsed) => parsed,
            Err(e) => return self.error(entry, e),
        };
        self.seen.insert((dim.clone(), field));
        let date = self.snap.date;
        let state = self.snap.dims.entry(dim.clone()).or_default();
        match parsed {
            FieldValue::Limit(limit) => {
                state.limit = limit;
                if limit.is_none() {
                    self.unknown_limit.insert(dim.clone());
                }
            }
            FieldValue::Remaining(remaining) => state.remaining = remaining,
            FieldValue::Utilization(ppm) => state.utilization_ppm = ppm,
            FieldValue::Reset(reset) => {
                state.reset_after = reset.after(date);
                if let Reset::At(at) = reset {
                    state.reset_at = Some(at);
                    if date.is_none() {
                        self.missing_date(entry, value);
                    }
                }
            }
        }
    }

    fn finish(mut self) -> RateLimitSnapshot {
        match (self.retry_after_ms, self.retry_after) {
            (Some(ms), _) => self.snap.retry_after = Some(ms),
            (None, Some(RetryAfter::Delay(d))) => self.snap.retry_after = Some(d),
            (None, Some(RetryAfter::At(at))) => {
                self.snap.retry_at = Some(at);
                self.snap.retry_after = self.snap.date.map(|date| at.saturating_since(date));
            }
            (None, None) => {}
        }
        for dim in &self.unknown_limit {
            if let Some(state) = self.snap.dims.get_mut(dim) {
                // Azure's limit -1 / remaining -1 / reset 0: the zero is a placeholder too.
                if state.reset_after == Some(Duration::ZERO) && state.reset_at.is_none() {
                    state.reset_after = None;
                }
            }
        }
        self.errors.sort_by_key(|(index, _)| *index);
        self.snap.errors = self.errors.into_iter().map(|(_, e)| e).collect();
        self.snap
    }
}
