//! How many request ids a sliding log holds (state format 5): one per tagged admission whose
//! entry is still in the log, not at most `limit`. A settle's refund (an untagged apply) takes
//! cost from the entry charged at its acquire's instant without knowing whose ids it holds, so
//! an entry that merges acquire after acquire, each refunded by its settle, keeps every id
//! while its cost stays: the bound the crate docs state (and why no id is dropped: a
//! cancellation must still find it).

use crate::cancel::{Raw, WINDOW_S, admitted, setup};

const LOG: &str = "spillway:{ids}:tpm:1";
const MARKS: &str = "spillway:{ids}:tpm:1|marks";
const LIMIT: u64 = 10;
/// An entry's bytes before its ids (hot.lua: the head, the meta and the format byte).
const HEAD_LEN: usize = 54;
/// A packed request id.
const RID_LEN: usize = 14;

/// The byte length of every entry of `LOG`, oldest first.
fn entry_lengths(raw: &mut Raw) -> Vec<usize> {
    raw.bytes_of(LOG).iter().map(Vec::len).collect()
}

#[test]
fn refunded_merges_keep_their_ids_beyond_the_limit() {
    let Some((_server, _rt, _redis, mut raw)) = setup() else {
        return;
    };
    let layer = |cost| [LIMIT, WINDOW_S * 1_000_000_000, cost];
    assert!(admitted(&raw.fcall(
        &[LOG, MARKS],
        "Al?",
        1000,
        1,
        &layer(2),
        1
    )));
    // Reserve 5 at the same instant (merged into the one entry), settle it at 0: refund 5.
    let merges: u8 = 12;
    for id in 2..2 + merges {
        assert!(admitted(&raw.fcall(
            &[LOG, MARKS],
            "Al?",
            1000,
            1,
            &layer(5),
            id
        )));
        // Out of the charge made at 1 s (the refund's charged instant: 1 s, 0 ns).
        let refund = [LIMIT, WINDOW_S * 1_000_000_000, 5, 1, 0];
        raw.untagged(&[LOG], "Pl-", 1000, &refund);
    }
    assert_eq!(raw.entries_of(LOG), [(1000, 2)], "the cost stays");
    let ids = 1 + usize::from(merges);
    assert!(ids > LIMIT as usize);
    assert_eq!(entry_lengths(&mut raw), [HEAD_LEN + RID_LEN * ids]);
    // The first acquire's cancellation still finds its id and refunds its 2.
    let reply = raw.fcall(&[LOG, MARKS], "Xl?", 1000, 1, &layer(2), 1);
    assert!(matches!(&reply, redis::Value::Array(v) if v[3] == redis::Value::Int(1)));
    assert_eq!(raw.entries_of(LOG), []);
}
