//! The script call as data (keys and arguments), time as (seconds, nanoseconds) pairs, and the
//! parsed reply.

use crate::error::RedisLimitError;
use spillway_core::{Duration, Time};

const E9: u64 = 1_000_000_000;

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

/// A script invocation: keys and arguments, built once, sent alone or in a pipeline.
///
/// Arguments (see `lua/hot.lua`): the mode (an operation letter, then a kind and an action
/// letter per layer: `"Ag?"`, `"Cc?g?l?"`...), every number of the call packed as
/// little-endian `f64`s, and for a tagged acquire (or its cancellation) the request-id record's
/// lifetime in ms, that record's key being the last key, then the request id packed in
/// [`RID_LEN`] bytes (a sliding log keeps it in the admitted entry: see `lua/hot.lua`).
/// Packing saves the script a `tonumber` per argument, and the record's key sent whole saves it
/// a string concatenation: together as much server CPU as one of its Redis calls. Every number is below 2^53 (checked when a
/// limiter is built), so the doubles are exact.
#[derive(Clone, Debug, Default)]
pub(crate) struct Call {
    pub(crate) keys: Vec<String>,
    mode: String,
    numbers: Vec<u8>,
    /// The request-id record's lifetime, for a tagged call (its key is the last key).
    rid_ttl_ms: Option<u64>,
    /// The request id packed ([`RID_LEN`] bytes), for a tagged call.
    rid: Vec<u8>,
}

/// A packed request id: the instance (8 bytes, big-endian), then the low 48 bits of its
/// sequence. A log entry carries it, so it is kept short; ids repeat only after 2^48 calls of
/// one instance, far beyond any window.
pub(crate) const RID_LEN: usize = 14;

/// A tagged call's last arguments: the request-id record's lifetime (ms) and the packed id.
pub(crate) type Tag<'a> = (u64, &'a [u8]);

/// Numbers sent to the script are exact integers in an `f64` up to here.
const EXACT: u64 = 1 << 53;

/// Where the header's room flag is in the packed numbers (the sixth double).
const ROOM_AT: usize = 5 * 8;

impl Call {
    /// The header: operation, time source and `now`, expiry grace, log pruning, and whether to
    /// reply with the layers' room (no: [`Call::with_room`] turns it on).
    pub(crate) fn new(
        op: Op,
        server_time: bool,
        now: Time,
        grace: Duration,
        prune_first: bool,
    ) -> Self {
        let mut call = Call {
            mode: match op {
                Op::Acquire => "A",
                Op::Check => "C",
                Op::Apply => "P",
            }
            .to_owned(),
            ..Call::default()
        };
        let (s, ns) = split_ns(u128::from(now.as_nanos()), u64::MAX);
        call.num(u64::from(server_time)).num(s).num(ns);
        call.num(grace.as_nanos().div_ceil(1_000_000));
        call.num(u64::from(prune_first));
        call.num(0);
        call
    }

    /// Ask the reply for every layer's state after the call (its room), after the header.
    pub(crate) fn with_room(&mut self) -> &mut Self {
        self.numbers[ROOM_AT..ROOM_AT + 8].copy_from_slice(&1f64.to_le_bytes());
        self
    }

    /// Whether this call charges on admission (and so needs a request id).
    pub(crate) fn is_acquire(&self) -> bool {
        self.mode.starts_with('A')
    }

    /// This acquire tagged with the request id (`instance`, `sequence`), remembered for
    /// `ttl_ms` (the first key's hash tag: one cluster slot): its record (or a cancellation's
    /// mark) `<first key>|rid|<instance hex>.<sequence hex>`, or when every layer is a sliding log
    /// (whose entries keep the ids) the hash of the marks `<first key>|marks`. The packed id
    /// travels as the last argument.
    pub(crate) fn with_rid(&self, instance: u64, sequence: u64, ttl_ms: u64) -> Call {
        let mut call = self.clone();
        let first = self.keys.first().map_or("", String::as_str);
        call.keys.push(if self.every_layer_a_log() {
            format!("{first}|marks")
        } else {
            format!("{first}|rid|{instance:x}.{sequence:x}")
        });
        call.rid_ttl_ms = Some(ttl_ms.max(1));
        call.rid = instance.to_be_bytes().to_vec();
        call.rid
            .extend_from_slice(&sequence.to_be_bytes()[8 - (RID_LEN - 8)..]);
        call
    }

    /// Whether every layer is a sliding log (kind letters at the mode's even positions).
    fn every_layer_a_log(&self) -> bool {
        self.mode
            .bytes()
            .skip(1)
            .step_by(2)
            .all(|kind| kind == b'l')
    }

    /// The cancellation of this tagged acquire (its reply was lost: timeout, dropped connection):
    /// same keys, layers and costs; refunds it if it was charged, and makes sure it is never
    /// charged if it has not run yet.
    pub(crate) fn cancel(&self) -> Call {
        let mut call = self.clone();
        call.mode.replace_range(..1, "X");
        call
    }

    /// The script's arguments after the keys: mode, numbers, and if tagged the record's
    /// lifetime and the packed request id.
    pub(crate) fn args(&self) -> (&str, &[u8], Option<Tag<'_>>) {
        let tag = self.rid_ttl_ms.map(|ttl| (ttl, self.rid.as_slice()));
        (&self.mode, &self.numbers, tag)
    }

    pub(crate) fn key(&mut self, key: String) -> &mut Self {
        self.keys.push(key);
        self
    }
    /// Start a layer: its kind letter and action letter.
    pub(crate) fn layer(&mut self, kind: char, act: char) -> &mut Self {
        self.mode.push(kind);
        self.mode.push(act);
        self
    }
    /// Append a number (saturating at 2^53, which no validated parameter reaches).
    pub(crate) fn num(&mut self, n: u64) -> &mut Self {
        #[allow(clippy::cast_precision_loss)] // exact: n <= 2^53
        let x = n.min(EXACT) as f64;
        self.numbers.extend_from_slice(&x.to_le_bytes());
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
    /// `caller_now` is the call's instant when it ran on the caller's time (`None` on Redis
    /// time): an admission without room is then answered `[1]` alone, the client knowing its
    /// own instant (a reply table costs the server ~0.6 µs more per call).
    pub(crate) fn parse(raw: &[i64], caller_now: Option<Time>) -> Result<Self, RedisLimitError> {
        let bad = |detail: String| RedisLimitError::Reply { detail };
        let values: Vec<u64> = raw
            .iter()
            .map(|&v| u64::try_from(v).map_err(|_| bad(format!("negative value {v} in {raw:?}"))))
            .collect::<Result<_, _>>()?;
        match (values.as_slice(), caller_now) {
            ([1], Some(now)) => Ok(Reply {
                allowed: true,
                now,
                rest: Vec::new(),
            }),
            ([flag @ (0 | 1), s, ns, rest @ ..], _) => Ok(Reply {
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
    fn a_call_packs_its_numbers_exactly_and_its_cancel_keeps_the_record() {
        let now = Time::from_nanos(1_800_000_000_123_456_789);
        let mut call = Call::new(Op::Acquire, false, now, Duration::from_millis(5), true);
        call.key("k".into()).layer('g', '?').num((1 << 53) - 1);
        let tagged = call.with_rid(0xab, 0x0102_0304_0506_0708, 0);
        let (mode, numbers, tag) = tagged.args();
        let rid = [0, 0, 0, 0, 0, 0, 0, 0xab, 3, 4, 5, 6, 7, 8];
        assert_eq!((mode, tag), ("Ag?", Some((1, &rid[..]))));
        let values: Vec<f64> = numbers
            .chunks(8)
            .map(|b| f64::from_le_bytes(b.try_into().unwrap()))
            .collect();
        let exact = [
            0.0,
            1_800_000_000.0,
            123_456_789.0,
            5.0,
            1.0,
            0.0,
            9_007_199_254_740_991.0,
        ];
        assert_eq!(values, exact);
        assert_eq!(tagged.keys, ["k", "k|rid|ab.102030405060708"]);
        let cancel = tagged.cancel();
        assert_eq!(cancel.args().0, "Xg?");
        assert_eq!(cancel.keys, tagged.keys);
        assert!(tagged.is_acquire() && !cancel.is_acquire());
        // Logs only: their entries keep the ids, the marks share one hash.
        let mut logs = Call::new(Op::Acquire, false, now, Duration::from_millis(5), true);
        logs.key("a".into())
            .layer('l', '?')
            .key("b".into())
            .layer('l', '?');
        assert_eq!(logs.with_rid(1, 2, 3).keys, ["a", "b", "a|marks"]);
        logs.key("c".into()).layer('g', '?');
        assert_eq!(logs.with_rid(1, 2, 3).keys, ["a", "b", "c", "a|rid|1.2"]);
    }

    #[test]
    fn malformed_replies_are_errors() {
        let now = Some(Time::from_nanos(9));
        assert!(Reply::parse(&[], now).is_err());
        assert!(Reply::parse(&[2, 0, 0], now).is_err());
        assert!(Reply::parse(&[1, -1, 0], now).is_err());
        assert!(Reply::parse(&[0], now).is_err());
        // A bare admission only on the caller's time (on Redis time the script sends its now).
        assert!(Reply::parse(&[1], None).is_err());
        assert_eq!(
            Reply::parse(&[1], now).unwrap(),
            Reply {
                allowed: true,
                now: Time::from_nanos(9),
                rest: Vec::new()
            }
        );
        assert_eq!(
            Reply::parse(&[0, 5, 7, 1, 2], now).unwrap(),
            Reply {
                allowed: false,
                now: Time::from_nanos(5_000_000_007),
                rest: vec![1, 2]
            }
        );
    }
}
