//! Test-only helpers shared by Spillway's test suites.
//!
//! The rule (README, "Tests that cannot run"): a test that cannot run because something outside
//! the repository is missing (redis-server, chromium, the `../shared` folder) must never pass
//! silently. It says `SKIPPED: <reason>` where a human and CI can see it, and when the matching
//! `SPILLWAY_REQUIRE_*` variable is set (CI sets them all) it fails instead.

#![forbid(unsafe_code)]

use std::io::Write;

pub mod mutate;
pub mod redis_server;

/// Skip loudly, or fail when `env_var` is set to anything but `0` or the empty string.
///
/// Call it, then `return` from the test. The notice goes to the process's real stdout with
/// `write_all`, because libtest captures only the `print!`/`println!`/`eprint!` macros of a
/// passing test: a `println!` skip notice would be swallowed and the test reported `ok`.
///
/// # Panics
/// When `env_var` requires the missing thing (that is the point: CI fails on it).
pub fn skip_or_fail(env_var: &str, reason: &str) {
    if required(std::env::var(env_var).ok().as_deref()) {
        panic!("{env_var} is set, so this test may not skip: {reason}");
    }
    let notice = format!("SKIPPED: {reason} (set {env_var}=1 to make this a failure)\n");
    let mut out = std::io::stdout().lock();
    // Nothing sensible to do if stdout itself is gone; the test still returns.
    let _ = out.write_all(notice.as_bytes()).and_then(|()| out.flush());
}

/// Whether the value of a `SPILLWAY_REQUIRE_*` variable demands the dependency.
fn required(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_set_non_zero_variable_requires() {
        assert!(!required(None));
        assert!(!required(Some("")));
        assert!(!required(Some("0")));
        assert!(required(Some("1")));
        assert!(required(Some("yes")));
    }

    #[test]
    #[should_panic(expected = "may not skip: the thing is missing")]
    fn a_required_dependency_fails_instead_of_skipping() {
        // PATH is always set, so it stands in for a SPILLWAY_REQUIRE_* set by CI.
        skip_or_fail("PATH", "the thing is missing");
    }
}
