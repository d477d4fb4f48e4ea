//! Cancellation marks of sliding logs (state format 5): an acquire whose cancellation came
//! first charges nothing, whichever call created or rewrote its log in between (a layered call
//! where the log is not first, a mixed call, an apply), and a mark never cuts short the lifetime
//! of the marks left before it. Calls are sent raw (as the store sends them) with chosen ids.

use crate::cancel::{Raw, WINDOW_S, admitted, setup};

/// A requests-per-window log and a tokens-per-window log of one layered limiter; each log's
/// marks live in the hash named after it (used when the log is a call's first key).
const RPM: &str = "spillway:{lay}:rpm:1";
const TPM: &str = "spillway:{lay}:tpm:1";
const RPM_MARKS: &str = "spillway:{lay}:rpm:1|marks";
const TPM_MARKS: &str = "spillway:{lay}:tpm:1|marks";
const W: u64 = WINDOW_S * 1_000_000_000;

/// A token bucket layer's numbers: rate, cost·T (1 ms), slack (1 s): it admits here.
const BUCKET: [u64; 7] = [1, 0, 1_000_000, 0, 1, 0, 0];

/// Acquire A {requests 0, tokens 500}: `RedisLayered` drops the zero-cost layer, so its only log
/// (and its marks' hash) is the tokens log. Its reply is lost and its cancellation lands first;
/// then `between` creates the tokens log in a call where it is not the first key; then A lands
/// (on the single-log hot path when `hot`). A must charge nothing: the log holds `between`'s
/// 200 tokens only.
fn phantom_after(raw: &mut Raw, between: impl FnOnce(&mut Raw), hot: bool) {
    let a = [1000, W, 500];
    let cancel = raw.fcall(&[TPM, TPM_MARKS], "Xl?", 1000, 0, &a, 1);
    assert!(matches!(&cancel, redis::Value::Array(v) if v[3] == redis::Value::Int(0)));
    assert!(
        raw.marked_in(TPM_MARKS, 1),
        "A's cancellation marks the tokens log's hash"
    );
    between(raw);
    assert_eq!(
        raw.entries_of(TPM),
        [(1000, 200)],
        "the tokens log was created"
    );
    let landed = raw.fcall(&[TPM, TPM_MARKS], "Al?", 1000, u64::from(hot), &a, 1);
    assert!(
        admitted(&landed),
        "A is admitted (its reply is lost anyway)"
    );
    assert_eq!(raw.entries_of(TPM), [(1000, 200)], "A charged nothing");
}

/// B {requests 1, tokens 200}: both logs, the requests log first (its hash is the call's).
fn layered_b(raw: &mut Raw) {
    let b = [100, W, 1, 1000, W, 200];
    let reply = raw.fcall(&[RPM, TPM, RPM_MARKS], "Al?l?", 1000, 0, &b, 2);
    assert!(admitted(&reply));
}

#[test]
fn a_log_created_as_a_later_layer_still_sees_its_marks() {
    for hot in [false, true] {
        let Some((_server, _rt, _redis, mut raw)) = setup() else {
            return;
        };
        phantom_after(&mut raw, layered_b, hot);
    }
}

#[test]
fn a_log_created_by_an_apply_of_logs_still_sees_its_marks() {
    let Some((_server, _rt, _redis, mut raw)) = setup() else {
        return;
    };
    // An apply (a settle's commit) of both logs, as the store sends it: untagged, so it names
    // no marks' hash and creates the tokens log without reading the hash.
    let apply = |raw: &mut Raw| {
        let nums = [100, W, 1, 1000, W, 200];
        raw.untagged(&[RPM, TPM], "Pl+l+", 1000, &nums);
    };
    phantom_after(&mut raw, apply, true);
}

/// [requests log, tokens bucket]: an acquire with tokens 0 is a logs-only call (its id kept in
/// the requests log, marks in its hash); one with tokens is mixed (a record key) and creates the
/// requests log too.
#[test]
fn a_log_created_by_a_mixed_call_still_sees_its_marks() {
    let Some((_server, _rt, _redis, mut raw)) = setup() else {
        return;
    };
    let bucket = "spillway:{lay}:bucket:1";
    let a = [100, W, 1];
    let cancel = raw.fcall(&[RPM, RPM_MARKS], "Xl?", 1000, 0, &a, 1);
    assert!(matches!(&cancel, redis::Value::Array(v) if v[3] == redis::Value::Int(0)));
    let mut b = vec![100, W, 1];
    b.extend(BUCKET);
    let record = format!("{RPM}|rid|b");
    let reply = raw.fcall(&[RPM, bucket, &record], "Al?g?", 1000, 0, &b, 2);
    assert!(admitted(&reply));
    assert_eq!(raw.entries_of(RPM), [(1000, 1)]);
    assert!(admitted(&raw.fcall(
        &[RPM, RPM_MARKS],
        "Al?",
        1000,
        0,
        &a,
        1
    )));
    assert_eq!(raw.entries_of(RPM), [(1000, 1)], "A charged nothing");
}

/// Marks with different lifetimes (`dedupe_ttl` differs between stores): a short-lived mark
/// after a long-lived one must not shorten the hash's expiry.
#[test]
fn a_mark_never_shortens_the_marks_lifetime() {
    let Some((_server, _rt, _redis, mut raw)) = setup() else {
        return;
    };
    let a = [1000, W, 5];
    raw.fcall(&[TPM, TPM_MARKS], "Xl?", 1000, 1, &a, 1);
    raw.ttl_ms = 50;
    raw.fcall(&[TPM, TPM_MARKS], "Xl?", 1000, 1, &a, 2);
    let ttl: i64 = redis::cmd("PTTL")
        .arg(TPM_MARKS)
        .query(&mut raw.admin)
        .unwrap();
    assert!(ttl > 50_000, "the first mark's lifetime is kept: {ttl} ms");
}

/// A cancellation reads the log newest first only down to its acquire's `now` (on the caller's
/// time it carries the same): the acquire's entry is never older. An id not found there is
/// marked, even when an older entry holds it (which only a wrong `now` could make happen).
#[test]
fn a_cancellation_reads_no_entry_older_than_its_acquire() {
    let Some((_server, _rt, _redis, mut raw)) = setup() else {
        return;
    };
    let one = [1000, W, 1];
    for (id, at) in [(1, 1000), (2, 2000), (3, 3000)] {
        assert!(admitted(&raw.fcall(
            &[TPM, TPM_MARKS],
            "Al?",
            at,
            1,
            &one,
            id
        )));
    }
    let cancel = raw.fcall(&[TPM, TPM_MARKS], "Xl?", 2500, 0, &one, 1);
    assert!(matches!(&cancel, redis::Value::Array(v) if v[3] == redis::Value::Int(0)));
    assert!(raw.marked_in(TPM_MARKS, 1), "a miss marks");
    assert_eq!(raw.entries_of(TPM), [(1000, 1), (2000, 1), (3000, 1)]);
    // At its acquire's `now` the same entry is found (the newest-first read reaches it).
    let cancel = raw.fcall(&[TPM, TPM_MARKS], "Xl?", 2000, 0, &one, 2);
    assert!(matches!(&cancel, redis::Value::Array(v) if v[3] == redis::Value::Int(1)));
    assert_eq!(raw.entries_of(TPM), [(1000, 1), (3000, 1)]);
}

/// On Redis time a cancellation's `now` is later than its acquire's: it reads the whole log.
#[test]
fn on_redis_time_a_cancellation_reads_the_whole_log() {
    let Some((_server, _rt, _redis, mut raw)) = setup() else {
        return;
    };
    raw.clock = 1;
    let one = [1000, W, 1];
    for id in 1..=3 {
        assert!(matches!(
            &raw.fcall(&[TPM, TPM_MARKS], "Al?", 0, 1, &one, id),
            redis::Value::Array(v) if v[0] == redis::Value::Int(1)
        ));
    }
    let cancel = raw.fcall(&[TPM, TPM_MARKS], "Xl?", 0, 0, &one, 1);
    assert!(matches!(&cancel, redis::Value::Array(v) if v[3] == redis::Value::Int(1)));
    assert!(!raw.marked_in(TPM_MARKS, 1));
    let left: u64 = raw.entries_of(TPM).iter().map(|&(_, cost)| cost).sum();
    assert_eq!(left, 2, "its charge refunded");
}

/// Each mark expires on its own: a new mark drops expired ones (drawn at random) and never a
/// live one, so a long flaky period does not grow the hash by every mark it left.
#[test]
fn new_marks_drop_expired_ones() {
    let Some((_server, _rt, _redis, mut raw)) = setup() else {
        return;
    };
    let a = [1000, W, 1];
    let mark = |raw: &mut Raw, ttl_ms: u64, ids: std::ops::Range<u8>| {
        raw.ttl_ms = ttl_ms;
        for id in ids {
            raw.fcall(&[TPM, TPM_MARKS], "Xl?", 1000, 1, &a, id);
        }
    };
    mark(&mut raw, 60_000, 1..2);
    mark(&mut raw, 1, 10..50);
    std::thread::sleep(std::time::Duration::from_millis(20));
    mark(&mut raw, 60_000, 50..90);
    let len: usize = redis::cmd("HLEN")
        .arg(TPM_MARKS)
        .query(&mut raw.admin)
        .unwrap();
    // 81 marks and `until` without the sweep; each of 40 draws of 4 finds ~4 expired at first.
    assert!(len <= 62, "expired marks dropped: {len} fields left");
    for id in (1..2).chain(50..90) {
        assert!(raw.marked_in(TPM_MARKS, id), "live mark {id} kept");
    }
}
