//! Errors: [`ValueError`] says what is wrong with one value; [`HeaderError`] adds which header
//! (or which input line) carried it.
//!
//! Why two types: the value helpers ([`super::parse_go_duration`] and friends) never see a
//! header name, and an error type whose `header` field is sometimes an empty string would lie.
//! Every error carries the offending text (lossy UTF-8, cut to [`EXCERPT_CHARS`]) so a person
//! debugging a gateway sees exactly what the provider sent, and what was expected instead.

/// Longest excerpt of a header name, value or line kept in an error, in characters: enough to
/// recognise any real rate-limit value, short enough that hostile input cannot bloat logs.
pub const EXCERPT_CHARS: usize = 80;

/// What is wrong with one header value, independent of the header that carried it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ValueError {
    /// The bytes are not UTF-8 (rate-limit values are ASCII, so this is never a real value).
    #[error("value is not UTF-8: {value:?}")]
    NotUtf8 {
        /// The value, lossily decoded.
        value: String,
    },
    /// Not a decimal number of the expected shape.
    #[error("expected {expected}, got {value:?}")]
    InvalidNumber {
        /// The offending text.
        value: String,
        /// What would have been accepted, e.g. "an integer".
        expected: &'static str,
    },
    /// Not a Go-style duration such as `6m0s`, `12ms` or `2m52.8s`.
    #[error("expected a duration like `6m0s` or `12ms` ({reason}), got {value:?}")]
    InvalidDuration {
        /// The offending text.
        value: String,
        /// Why it was rejected, e.g. "unknown unit".
        reason: &'static str,
    },
    /// Not a date in the expected format (RFC 3339 or an HTTP-date).
    #[error("expected {expected} ({reason}), got {value:?}")]
    InvalidDate {
        /// The offending text.
        value: String,
        /// The format(s) tried.
        expected: &'static str,
        /// Why it was rejected, e.g. "invalid weekday".
        reason: &'static str,
    },
    /// A reset value in none of the reset formats (duration, seconds, Unix time, date).
    #[error(
        "expected a reset as a duration (`6m0s`), seconds (`55`), a Unix time or a date, \
         got {value:?}"
    )]
    InvalidReset {
        /// The offending text.
        value: String,
    },
    /// An `x-should-retry` that is neither `true` nor `false` (the SDKs compare exactly).
    #[error("expected `true` or `false`, got {value:?}")]
    InvalidFlag {
        /// The offending text.
        value: String,
    },
    /// A retry hint below zero: "wait minus ten seconds" has no meaning, so it is not clamped.
    #[error("negative retry hint {value:?}: a wait must be zero or more")]
    NegativeRetryAfter {
        /// The offending text.
        value: String,
    },
}

/// A header (or header line) that could not be used; see [`ValueError`] for value problems.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// A rate-limit header whose value could not be interpreted.
    #[error("{header}: {error}")]
    Value {
        /// The header name as given.
        header: String,
        /// What is wrong with the value.
        error: ValueError,
    },
    /// An absolute time (date or Unix time) with no `Date` header and no fallback date to
    /// measure it from; the absolute time is still reported, the relative wait is not.
    #[error("{header}: absolute time {value:?} but no Date header and no fallback date")]
    MissingDate {
        /// The header name as given.
        header: String,
        /// The value.
        value: String,
    },
    /// The same field arrived twice; the first value was kept (which one a proxy meant is
    /// unknowable, and keeping the first makes the result independent of later garbage).
    #[error("{header}: duplicate value {value:?} ignored (the first one is kept)")]
    Duplicate {
        /// The header name as given.
        header: String,
        /// The value that was dropped.
        value: String,
    },
    /// More headers than any real response carries; the rest were not read.
    #[error("more than {limit} headers: the rest were not read")]
    TooManyHeaders {
        /// How many were read.
        limit: usize,
    },
    /// A line of header text that is not `name: value` (from [`super::parse_header_lines`]).
    #[error("line {line}: {reason}: {text:?}")]
    InvalidLine {
        /// 1-based line number.
        line: usize,
        /// The line up to its first `:`, the rest withheld (it may carry a credential).
        text: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl HeaderError {
    /// The header name the error is about, if it is about one header.
    pub fn header(&self) -> Option<&str> {
        match self {
            HeaderError::Value { header, .. }
            | HeaderError::MissingDate { header, .. }
            | HeaderError::Duplicate { header, .. } => Some(header),
            HeaderError::TooManyHeaders { .. } | HeaderError::InvalidLine { .. } => None,
        }
    }

    /// The value-level error, if this is one.
    pub fn value_error(&self) -> Option<&ValueError> {
        match self {
            HeaderError::Value { error, .. } => Some(error),
            _ => None,
        }
    }
}

/// `text` cut to [`EXCERPT_CHARS`] characters, with `…` marking a cut.
pub(crate) fn excerpt(text: &str) -> String {
    match text.char_indices().nth(EXCERPT_CHARS) {
        None => text.to_owned(),
        Some((end, _)) => format!("{}…", &text[..end]),
    }
}

/// `bytes` decoded lossily, then cut like [`excerpt`].
pub(crate) fn excerpt_bytes(bytes: &[u8]) -> String {
    excerpt(&String::from_utf8_lossy(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_cut_on_character_boundaries() {
        assert_eq!(excerpt("12ms"), "12ms");
        let long = "µ".repeat(200);
        let cut = excerpt(&long);
        assert_eq!(cut.chars().count(), EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(excerpt_bytes(&[0xff, b'1']), "\u{fffd}1");
    }

    #[test]
    fn messages_name_the_header_and_the_value() {
        let e = HeaderError::Value {
            header: "retry-after".into(),
            error: ValueError::NegativeRetryAfter {
                value: "-10".into(),
            },
        };
        assert_eq!(
            e.to_string(),
            "retry-after: negative retry hint \"-10\": a wait must be zero or more"
        );
        assert_eq!(e.header(), Some("retry-after"));
        assert!(matches!(
            e.value_error(),
            Some(ValueError::NegativeRetryAfter { .. })
        ));
    }
}
