//! Upstream base URLs (`serve.upstream`, `serve.fallback`, `spillway serve --upstream`): one
//! rule for the file and the flag, so a value the file refuses is not served from the command
//! line as a gateway that answers 502 to everything, and one way to show a URL.

use std::borrow::Cow;
use std::ops::Range;

/// `text` without a trailing `/` or `/v1` if it is an `http://` or `https://` base URL with a
/// host, when given a port from 1 to 65535, no credentials, no query and no fragment; else what
/// is wrong (showing the URL as [`shown`] does). Why no credentials: a `user:password@` would be
/// shown wherever the URL is (502 bodies, the start-up line), so the upstream's secret goes in
/// `keys:` and `upstream_key:` instead. Why no query or fragment: the request path is appended
/// to the base, after them (`/?key=K/v1/chat/completions`), and a query often holds a key. Why
/// `/v1` is dropped: providers document their base URL with it (`https://api.openai.com/v1`),
/// and the `/v1/...` path is appended, as `load --target` reads one too.
pub fn check(text: &str) -> Result<String, String> {
    let url = text.trim_end_matches('/');
    if userinfo(url).is_some() {
        return Err(format!(
            "`{}` carries credentials before its host; put the upstream's secret in a `keys:` entry (`secret: {{ env: VAR }}` or `{{ file: PATH }}`) named by `upstream_key:` (sent as `Authorization: Bearer`), never in the URL",
            shown(url)
        ));
    }
    let expected =
        "expected `http://HOST[:PORT][/PATH]` or `https://…` (the `/v1/...` path is appended)";
    if let Some(at) = url.find(['?', '#']) {
        let what = if url[at..].starts_with('?') {
            "a query (`?…`, not shown)"
        } else {
            "a fragment (`#…`, not shown)"
        };
        return Err(format!(
            "`{}…` has {what}: the request path is appended to the base URL, so it would land \
             after it; a key goes in `keys:` named by `upstream_key:`, never in the URL; \
             {expected}",
            quoted(&url[..at])
        ));
    }
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let Some(rest) = rest.filter(|r| !r.contains(char::is_whitespace)) else {
        return Err(format!("`{}` is not a base URL; {expected}", quoted(text)));
    };
    let host_port = rest.split(['/', '?', '#']).next().unwrap_or("");
    // `[::1]:8080`: the port follows the bracket; otherwise the last `:`.
    let port = match host_port.rfind(']') {
        Some(close) => host_port[close + 1..].strip_prefix(':'),
        None => host_port.rsplit_once(':').map(|(_, p)| p),
    };
    let host = port.map_or(host_port, |p| &host_port[..host_port.len() - p.len() - 1]);
    if host.is_empty() {
        return Err(format!("`{}` has no host; {expected}", quoted(text)));
    }
    if let Some(port) = port
        && !port.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return Err(format!(
            "`{}`: `{}` is not a port (1 to 65535); {expected}",
            quoted(text),
            if text.contains('@') { "…" } else { port }
        ));
    }
    let base = url
        .strip_suffix("/v1")
        .filter(|b| b.len() > rest_start(url));
    Ok(base.unwrap_or(url).to_string())
}

/// Where the part after `scheme://` starts: a `/v1` is only a path when it comes after it.
fn rest_start(url: &str) -> usize {
    url.find("://").map_or(0, |i| i + 3)
}

/// `url` for printing, its credentials (if any) shown as `***`: a password in an upstream URL
/// is never shown.
pub fn shown(url: &str) -> Cow<'_, str> {
    match userinfo(url) {
        Some(span) => format!("{}***{}", &url[..span.start], &url[span.end..]).into(),
        None => url.into(),
    }
}

/// `text` as an error about it may quote it: whole, unless it has an `@` anywhere, which a
/// malformed URL may carry after a password that [`userinfo`] cannot delimit
/// (`http://admin:pa/ss@host`): then only its scheme is shown.
fn quoted(text: &str) -> Cow<'_, str> {
    if !text.contains('@') {
        return text.into();
    }
    let scheme = text.find("://").map_or("", |i| &text[..i + 3]);
    format!("{scheme}…").into()
}

/// Where the credentials of `url` are (`user[:password]`, before the host's `@`), if any.
fn userinfo(url: &str) -> Option<Range<usize>> {
    let start = url.find("://")? + 3;
    let authority = &url[start..];
    let end = authority.find(['/', '?', '#']).unwrap_or(authority.len());
    let at = authority[..end].rfind('@')?;
    Some(start..start + at)
}

#[cfg(test)]
mod tests {
    use super::{check, shown};

    #[test]
    fn credentials_are_hidden_for_printing_and_refused() {
        assert_eq!(
            shown("http://u:pw@127.0.0.1:1/v"),
            "http://***@127.0.0.1:1/v"
        );
        assert_eq!(shown("https://pw@h"), "https://***@h");
        assert_eq!(shown("http://h/a@b"), "http://h/a@b");
        for url in [
            "http://u:hunter2@h",
            "http://admin:hunter2/x@host",
            "http://u:hunter2 x@h",
            "http://:hunter2@",
        ] {
            let e = check(url).unwrap_err();
            assert!(!e.contains("hunter2"), "{url}: {e}");
        }
    }

    #[test]
    fn base_urls_with_a_host_and_a_real_port_pass() {
        for url in [
            "http://127.0.0.1:9000/",
            "https://api.openai.com",
            "http://host/prefix",
        ] {
            assert_eq!(check(url), Ok(url.trim_end_matches('/').to_string()));
        }
    }

    #[test]
    fn a_trailing_v1_is_dropped_since_the_v1_path_is_appended() {
        assert_eq!(
            check("http://[::1]:8080/v1").as_deref(),
            Ok("http://[::1]:8080")
        );
        assert_eq!(check("https://h/api/v1/").as_deref(), Ok("https://h/api"));
        assert_eq!(check("http://v1").as_deref(), Ok("http://v1"));
    }

    #[test]
    fn queries_and_fragments_are_refused_without_showing_them() {
        for url in ["http://h/?key=QK", "http://h?key=QK", "http://h:9/x#QK"] {
            let e = check(url).unwrap_err();
            assert!(e.contains("query") || e.contains("fragment"), "{url}: {e}");
            assert!(!e.contains("QK"), "{url}: {e}");
        }
    }

    #[test]
    fn spaces_missing_hosts_and_impossible_ports_fail() {
        for (url, needle) in [
            ("http://a b c", "not a base URL"),
            ("ftp://host", "not a base URL"),
            ("http://", "not a base URL"),
            ("http://:80", "no host"),
            ("http://127.0.0.1:99999", "`99999` is not a port"),
            ("http://host:0", "`0` is not a port"),
            ("http://host:x", "`x` is not a port"),
        ] {
            let e = check(url).unwrap_err();
            assert!(e.contains(needle), "{url}: {e}");
        }
    }
}
