//! What the server saw: one record per call that reached the provider, with the server's own
//! timestamps, so a test can check a real client's behaviour (did it wait what the headers
//! said?) without trusting the client's account. Bounded: after [`MAX_RECORDS`] calls the log
//! stops growing (the count keeps going).

use crate::clock::Reading;
use crate::request::Shape;
use spillway_core::{Duration, Time};
use spillway_sim::provider::Answer;
use std::sync::Mutex;

/// Most calls remembered.
pub const MAX_RECORDS: usize = 100_000;

/// One call as the server saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CallRecord {
    /// Real time since the server started, at arrival.
    pub real: Time,
    /// The provider's (scaled) time at arrival.
    pub emulated: Time,
    /// Which API shape.
    pub shape: Shape,
    /// The status answered.
    pub status: u16,
    /// The client's `x-stainless-retry-count` (the official SDKs send it), if any.
    pub retry_count: Option<u32>,
    /// The wait the headers told the client, at header precision, in real time.
    pub retry_after: Option<Duration>,
    /// The response headers as `name: value` lines.
    pub header_text: String,
}

impl CallRecord {
    /// The record of `shown` (the answer as sent, in real time) to a call at `now`.
    pub fn new(now: Reading, shape: Shape, retry_count: Option<u32>, shown: &Answer) -> Self {
        CallRecord {
            real: now.real,
            emulated: now.emulated,
            shape,
            status: shown.status,
            retry_count,
            retry_after: shown.retry_after(),
            header_text: shown.header_text(),
        }
    }
}

/// The log (shared by all handlers).
#[derive(Debug, Default)]
pub struct CallLog {
    records: Mutex<Vec<CallRecord>>,
}

impl CallLog {
    /// Remember `record` (dropped beyond [`MAX_RECORDS`]).
    pub fn push(&self, record: CallRecord) {
        let mut r = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if r.len() < MAX_RECORDS {
            r.push(record);
        }
    }

    /// A copy of every record so far.
    pub fn snapshot(&self) -> Vec<CallRecord> {
        self.records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}
