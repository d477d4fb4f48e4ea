//! The limiter as a Redis Functions library (Redis ≥ 7.0): loaded once with `FUNCTION LOAD`,
//! run with `FCALL`. An `EVAL` script's body runs on every call, re-creating every helper
//! function it reaches; a library's body runs once at load, so a call pays only for its own
//! work (`reports/perf-redis.md` has the figures).
//!
//! The library and its function are named after a hash of the source, so two Spillway versions
//! sharing a Redis (a rolling upgrade) each call their own code, and a reload is idempotent.

use crate::wire::Call;
use redis::{Cmd, RedisError};

/// The library body: hot paths, then the general path and the entry point `spillway`.
const BODY: &str = concat!(include_str!("lua/hot.lua"), include_str!("lua/general.lua"));

/// FNV-1a, 64 bits: a stable name for the source (no dependency, same on every build).
const fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    h
}

/// The function's name: `spillway_<hash of the source>`.
pub(crate) fn name() -> String {
    format!("spillway_{:016x}", fnv1a(BODY.as_bytes()))
}

/// `FUNCTION LOAD REPLACE <library>`: idempotent (same name, same code).
pub(crate) fn load_cmd() -> Cmd {
    let name = name();
    let source =
        format!("#!lua name={name}\n{BODY}\nredis.register_function('{name}', spillway)\n");
    let mut cmd = redis::cmd("FUNCTION");
    cmd.arg("LOAD").arg("REPLACE").arg(source);
    cmd
}

/// Whether Redis answered that the function is not loaded (a restart without persistence, a
/// `FUNCTION FLUSH`): the call did not run, so loading and sending it again is safe.
pub(crate) fn is_missing(e: &RedisError) -> bool {
    e.to_string().contains("Function not found")
}

/// `FCALL <name> <number of keys> <keys..> <mode> <numbers> [<record lifetime> <request id>]`.
pub(crate) fn fcall(name: &str, call: &Call) -> Cmd {
    let mut cmd = redis::cmd("FCALL");
    cmd.arg(name).arg(call.keys.len());
    for k in &call.keys {
        cmd.arg(k);
    }
    let (mode, numbers, tag) = call.args();
    cmd.arg(mode).arg(numbers);
    if let Some((ttl, rid)) = tag {
        cmd.arg(ttl).arg(rid);
    }
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_follows_the_source() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_ne!(fnv1a(b"a"), fnv1a(b"b"));
        assert!(name().starts_with("spillway_") && name().len() == 25);
    }
}
