//! The script call as data (keys and arguments), time as (seconds, nanoseconds) pairs, and the
//! parsed reply.

use crate::error::RedisLimitError;
use spillway_core::{Duration, Time};

const E9: u64 = 1_000_000_000;

/// One argument of the script.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Arg {
    Num(u64),
    Text(&'static str),
    /// A request id (see [`crate::store`]): the only argument not known when the call is built.
    Owned(String),
}

/// What the script operation is.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// Check every layer; commit all if all admit.
    Acquire,
    /// Check every layer; change nothing.
    Check,
    /// Commit or refund per layer, unconditionally.
    Apply,
}

/// Position of the request id in the arguments (ARGV[8] in the script).
pub(crate) const RID_ARG: usize = 7;

/// A script invocation: keys and arguments, built once, sent alone or in a pipeline.
#[derive(Clone, Debug, Default)]
pub(crate) struct Call {
    pub(crate) keys: Vec<String>,
    pub(crate) args: Vec<Arg>,
}

impl Call {
    /// The header: operation, time source and `now`, expiry grace, log pruning, layer count.
    pub(crate) fn new(
        op: Op,
        server_time: bool,
        now: Time,
        grace: Duration,
        prune_first: bool,
        layers: usize,
    ) -> Self {
        let mut call = Call::default();
        let (s, ns) = split_ns(u128::from(now.as_nanos()), u64::MAX);
        call.text(match op {
            Op::Acquire => "acquire",
            Op::Check => "check",
            Op::Apply => "apply",
        });
        call.text(if server_time { "r" } else { "c" });
        call.num(s).num(ns);
        call.num(grace.as_nanos().div_ceil(1_000_000));
        call.text(if prune_first { "1" } else { "0" });
        call.num(u64::try_from(layers).unwrap_or(u64::MAX));
        // Request id and the dedupe record's lifetime: none until the store tags an acquire.
        call.text("");
        call.num(1);
        call
    }

    /// Whether this call charges on admission (and so needs a request id).
    pub(crate) fn is_acquire(&self) -> bool {
        self.args.first() == Some(&Arg::Text("acquire"))
    }

    /// This acquire tagged with request id `rid`, remembered by Redis for `ttl_ms`.
    pub(crate) fn with_rid(&self, rid: String, ttl_ms: u64) -> Call {
        let mut call = self.clone();
        call.args[RID_ARG] = Arg::Owned(rid);
        call.args[RID_ARG + 1] = Arg::Num(ttl_ms.max(1));
        call
    }

    /// The cancellation of this tagged acquire (its reply was lost: timeout, dropped connection):
    /// same keys, layers and costs; refunds it if it was charged, and makes sure it is never
    /// charged if it has not run yet.
    pub(crate) fn cancel(&self) -> Call {
        let mut call = self.clone();
        call.args[0] = Arg::Text("cancel");
        call
    }
    pub(crate) fn key(&mut self, key: String) -> &mut Self {
        self.keys.push(key);
        self
    }
    pub(crate) fn num(&mut self, n: u64) -> &mut Self {
        self.args.push(Arg::Num(n));
        self
    }
    pub(crate) fn text(&mut self, t: &'static str) -> &mut Self {
        self.args.push(Arg::Text(t));
        self
    }
}

/// `ns` as (whole seconds capped at `max_seconds`, nanoseconds).
pub(crate) fn split_ns(ns: u128, max_seconds: u64) -> (u64, u64) {
    let e9 = u128::from(E9);
    let s = u64::try_from(ns / e9).unwrap_or(u64::MAX).min(max_seconds);
    // The remainder is below 1e9.
    let rest = u64::try_from(ns % e9).unwrap_or(0);
    (s, rest)
}

/// A (seconds, ns) pair as a [`Time`], saturating at [`Time::MAX`].
pub(crate) fn time_from_pair(s: u64, ns: u64) -> Time {
    Time::from_nanos(s.saturating_mul(E9).saturating_add(ns))
}

/// A parsed script reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Reply {
    /// Whether every layer admitted (always true for `Apply`).
    pub(crate) allowed: bool,
    /// The instant the script used.
    pub(crate) now: Time,
    /// Per blocking layer: its position in the call and its snapshot (see the script).
    pub(crate) rest: Vec<u64>,
}

impl Reply {
    pub(crate) fn parse(raw: &[i64]) -> Result<Self, RedisLimitError> {
        let bad = |detail: String| RedisLimitError::Reply { detail };
        let values: Vec<u64> = raw
            .iter()
            .map(|&v| u64::try_from(v).map_err(|_| bad(format!("negative value {v} in {raw:?}"))))
            .collect::<Result<_, _>>()?;
        match values.as_slice() {
            [flag @ (0 | 1), s, ns, rest @ ..] => Ok(Reply {
                allowed: *flag == 1,
                now: time_from_pair(*s, *ns),
                rest: rest.to_vec(),
            }),
            _ => Err(bad(format!(
                "expected [flag, now_s, now_ns, ..], got {raw:?}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pairs_round_trip_every_u64() {
        for t in [0, 1, 999_999_999, 1_000_000_000, u64::MAX] {
            let (s, ns) = split_ns(u128::from(t), u64::MAX);
            assert_eq!(time_from_pair(s, ns), Time::from_nanos(t));
        }
    }

    #[test]
    fn malformed_replies_are_errors() {
        assert!(Reply::parse(&[]).is_err());
        assert!(Reply::parse(&[2, 0, 0]).is_err());
        assert!(Reply::parse(&[1, -1, 0]).is_err());
        assert_eq!(
            Reply::parse(&[0, 5, 7, 1, 2]).unwrap(),
            Reply {
                allowed: false,
                now: Time::from_nanos(5_000_000_007),
                rest: vec![1, 2]
            }
        );
    }
}
