//! A cancellation of a call that is not all sliding logs (a request-id record, not ids in the
//! entries) refunds out of its acquire's own charge: the record keeps the instant the acquire
//! charged at, which on Redis time is earlier than the cancellation's own. Sent raw, with
//! chosen ids, as `cancel.rs` does.

use crate::cancel::{Raw, WINDOW_S, setup};

const LOG: &str = "spillway:{mix}:tpm:1";
const BUCKET_KEY: &str = "spillway:{mix}:user:1";
const W: u64 = WINDOW_S * 1_000_000_000;
/// A token bucket layer's numbers: rate, cost·T (1 ms), slack (1 s): it admits here.
const BUCKET: [u64; 7] = [1, 0, 1_000_000, 0, 1, 0, 0];

fn record(id: u8) -> String {
    format!("{LOG}|rid|{id}")
}

/// Log + bucket on Redis time: three acquires 2 ms apart (three log entries), then the first
/// one's cancellation. It refunds the first entry, its own, not the newest (someone else's).
#[test]
fn on_redis_time_a_mixed_cancellation_refunds_its_own_log_entry() {
    let Some((_server, _rt, _redis, mut raw)) = setup() else {
        return;
    };
    raw.clock = 1;
    let numbers: Vec<u64> = [1000, W, 1].into_iter().chain(BUCKET).collect();
    let call = |raw: &mut Raw, op: &str, id: u8| {
        let reply = raw.fcall(&[LOG, BUCKET_KEY, &record(id)], op, 0, 0, &numbers, id);
        assert!(
            matches!(&reply, redis::Value::Array(v) if v[0] == redis::Value::Int(1)),
            "{op} {id}: {reply:?}"
        );
    };
    for id in 1..=3 {
        call(&mut raw, "Al?g?", id);
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let before = raw.entries_of(LOG);
    assert_eq!(before.len(), 3, "three instants: {before:?}");
    call(&mut raw, "Xl?g?", 1);
    assert_eq!(raw.entries_of(LOG), before[1..], "the first entry refunded");
}
