//! [`parse_header_lines`]: header text (`name: value` per line) → pairs for [`super::parse_headers`],
//! for `spillway inspect-headers`, which reads headers pasted or piped on stdin.
//!
//! Accepted, so that both `curl -i` output and annotated files like `provider-headers.txt`
//! work: blank lines; `#` comment lines; a trailing `# comment` after whitespace (so a value
//! cannot begin with `#` or contain ` #`; rate-limit values never do); `HTTP/…` status lines
//! (several, for redirects); `\r\n` line ends. Rejected with the line number: a line without
//! `:`, an empty or non-token name, and an indented continuation line (obsolete line folding,
//! RFC 9112 §5.2), which would otherwise be silently misread.

use super::error::{HeaderError, excerpt};

/// Most lines read (one response's headers are far fewer); bounds work on endless input.
pub const MAX_LINES: usize = 65_536;

/// Splits header text into `(name, value)` pairs, names as written, values trimmed of spaces
/// and tabs. Fails on the first malformed line, naming it (1-based).
pub fn parse_header_lines(text: &str) -> Result<Vec<(String, Vec<u8>)>, HeaderError> {
    let mut pairs = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let fail = |reason| HeaderError::InvalidLine {
            line,
            text: shown(raw),
            reason,
        };
        if line > MAX_LINES {
            return Err(fail("too many lines"));
        }
        let content = strip_comment(raw);
        if content.trim().is_empty() || content.starts_with("HTTP/") {
            continue;
        }
        if content.starts_with([' ', '\t']) {
            return Err(fail(
                "continuation lines (obsolete line folding) are not supported",
            ));
        }
        let (name, value) = content
            .split_once(':')
            .ok_or_else(|| fail("expected `name: value`"))?;
        if name.is_empty() {
            return Err(fail("empty header name"));
        }
        if !name.bytes().all(is_tchar) {
            return Err(fail(
                "header name has characters not allowed in HTTP field names",
            ));
        }
        let value = value.trim_matches([' ', '\t']);
        pairs.push((name.to_owned(), value.as_bytes().to_vec()));
    }
    Ok(pairs)
}

/// What an error quotes of a malformed line: the part before its first `:`, the rest withheld
/// (`…`), and nothing of a line without one. Why: text pasted from `curl -v` carries request
/// lines such as `> authorization: Bearer sk-…`, and a key must never reach an error message;
/// the part before the colon is a header name (or the garbage in front of one), which is what
/// the user needs to find the line.
fn shown(raw: &str) -> String {
    match raw.split_once(':') {
        Some((before, _)) => format!("{}: …", excerpt(before)),
        None => "…".to_owned(),
    }
}

/// The line without a whole-line `#` comment or a trailing ` # comment`.
fn strip_comment(line: &str) -> &str {
    if line.trim_start().starts_with('#') {
        return "";
    }
    let bytes = line.as_bytes();
    let cut = (1..bytes.len()).find(|&i| bytes[i] == b'#' && matches!(bytes[i - 1], b' ' | b'\t'));
    match cut {
        Some(i) => &line[..i],
        None => line,
    }
}

/// RFC 9110 `tchar`: the bytes allowed in a field name.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(text: &str) -> Vec<(String, String)> {
        parse_header_lines(text)
            .unwrap_or_else(|e| panic!("{text:?}: {e}"))
            .into_iter()
            .map(|(n, v)| (n, String::from_utf8(v).unwrap()))
            .collect()
    }

    fn reason(text: &str) -> (usize, &'static str) {
        match parse_header_lines(text) {
            Err(HeaderError::InvalidLine { line, reason, .. }) => (line, reason),
            other => panic!("{text:?}: expected InvalidLine, got {other:?}"),
        }
    }

    #[test]
    fn comments_blanks_and_status_lines_are_skipped() {
        let text = "HTTP/1.1 429 Too Many Requests\r\n# a comment\r\n\r\n\
                    x-ratelimit-reset-requests: 2m52.8s          # Groq, per-day\r\n\
                    retry-after:5\n  \t\nDate: Fri, 29 Sep 2023 16:26:27 GMT\n";
        assert_eq!(
            pairs(text),
            [
                ("x-ratelimit-reset-requests".into(), "2m52.8s".into()),
                ("retry-after".into(), "5".into()),
                ("Date".into(), "Fri, 29 Sep 2023 16:26:27 GMT".into()),
            ]
        );
    }

    #[test]
    fn hashes_inside_values_and_empty_values_are_kept() {
        assert_eq!(pairs("etag: a#b"), [("etag".into(), "a#b".into())]);
        assert_eq!(pairs("x-empty:"), [("x-empty".into(), String::new())]);
        assert_eq!(
            pairs("x-empty: # nothing"),
            [("x-empty".into(), String::new())]
        );
    }

    #[test]
    fn malformed_lines_are_located() {
        assert_eq!(reason("a: 1\nno colon here"), (2, "expected `name: value`"));
        assert_eq!(reason(": 5"), (1, "empty header name"));
        assert_eq!(
            reason("retry after: 5"),
            (
                1,
                "header name has characters not allowed in HTTP field names"
            )
        );
        assert_eq!(
            reason("a: 1\n  folded"),
            (
                2,
                "continuation lines (obsolete line folding) are not supported"
            )
        );
    }

    /// A malformed line is quoted up to its colon only: a pasted `curl -v` request line carries
    /// the bearer token after it, and a line without a colon may be a bare key.
    #[test]
    fn errors_quote_a_line_only_up_to_its_colon() {
        let shown = |text: &str| parse_header_lines(text).unwrap_err().to_string();
        assert_eq!(
            shown("> authorization: Bearer sk-proj-AbCdEf0123456789"),
            "line 1: header name has characters not allowed in HTTP field names: \"> authorization: …\""
        );
        assert_eq!(
            shown("sk-proj-AbCdEf0123456789"),
            "line 1: expected `name: value`: \"…\""
        );
    }
}
