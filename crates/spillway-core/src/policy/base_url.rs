//! Upstream base URLs (`serve.upstream`, `serve.fallback`, `spillway serve --upstream`): one
//! rule for the file and the flag, so a value the file refuses is not served from the command
//! line as a gateway that answers 502 to everything.

/// `text` without a trailing `/` if it is an `http://` or `https://` base URL with a host
/// and, when given, a port from 1 to 65535; else what is wrong.
pub fn check(text: &str) -> Result<String, String> {
    let url = text.trim_end_matches('/');
    let expected =
        "expected `http://HOST[:PORT][/PATH]` or `https://…` (the `/v1/...` path is appended)";
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    let Some(rest) = rest.filter(|r| !r.contains(char::is_whitespace)) else {
        return Err(format!("`{text}` is not a base URL; {expected}"));
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    // `[::1]:8080`: the port follows the bracket; otherwise the last `:`.
    let port = match host_port.rfind(']') {
        Some(close) => host_port[close + 1..].strip_prefix(':'),
        None => host_port.rsplit_once(':').map(|(_, p)| p),
    };
    let host = port.map_or(host_port, |p| &host_port[..host_port.len() - p.len() - 1]);
    if host.is_empty() {
        return Err(format!("`{text}` has no host; {expected}"));
    }
    if let Some(port) = port
        && !port.parse::<u16>().is_ok_and(|p| p > 0)
    {
        return Err(format!(
            "`{text}`: `{port}` is not a port (1 to 65535); {expected}"
        ));
    }
    Ok(url.to_string())
}

/// `url` without its userinfo (`http://user:secret@host` → `http://host`), for printing: a
/// password in an upstream URL is never shown.
pub fn without_userinfo(url: &str) -> String {
    let Some(start) = url.find("://").map(|i| i + 3) else {
        return url.to_string();
    };
    let end = url[start..]
        .find(['/', '?', '#'])
        .map_or(url.len(), |i| start + i);
    match url[start..end].rfind('@') {
        Some(at) => format!("{}{}", &url[..start], &url[start + at + 1..]),
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::{check, without_userinfo};

    #[test]
    fn userinfo_is_dropped_for_printing() {
        assert_eq!(
            without_userinfo("http://u:pw@127.0.0.1:1/v"),
            "http://127.0.0.1:1/v"
        );
        assert_eq!(without_userinfo("https://pw@h"), "https://h");
        assert_eq!(without_userinfo("http://h/a@b"), "http://h/a@b");
    }

    #[test]
    fn base_urls_with_a_host_and_a_real_port_pass() {
        for url in [
            "http://127.0.0.1:9000/",
            "https://api.openai.com",
            "http://[::1]:8080/v1",
            "http://host/prefix",
        ] {
            assert_eq!(check(url), Ok(url.trim_end_matches('/').to_string()));
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
