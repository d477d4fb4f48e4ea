//! Restart detection: a state epoch key.
//!
//! Redis restarted without persistence (or flushed, or failed over to a replica that had not
//! seen the writes) forgets every window: a fresh state admits a whole limit again. Fresh state
//! looks like expired state, so the loss cannot be seen in the limiter keys; it is seen in
//! `<prefix>:epoch`, a key without expiry that every instance creates (`SET NX`) with a random
//! value and remembers. The key gone, or a value other than the one remembered, means the data
//! set was lost since this instance last looked: the loss is counted
//! ([`StoreStats::lost_epochs`](crate::StoreStats)) and a new epoch adopted.
//!
//! When it is checked: at connect, and before the first call after any fault (a restart drops
//! the connection, so the next call fails and the one after it checks). A `FLUSHALL` with no
//! fault in between is seen at the next fault only.
//!
//! Over-admission bound (documented in the crate docs): each lost data set lets the fleet admit
//! at most one more `limit` per key in the windows that were live when it was lost (the state
//! restarts empty); windows that start after the loss are exact again.

use redis::RedisError;
use redis::aio::ConnectionManager;
use std::sync::Mutex;

/// The epoch this instance last saw.
#[derive(Debug)]
pub(crate) struct Epoch {
    key: String,
    seen: Mutex<Option<String>>,
}

impl Epoch {
    pub(crate) fn new(prefix: &str) -> Self {
        Epoch {
            key: format!("{prefix}:epoch"),
            seen: Mutex::new(None),
        }
    }

    /// Look at the epoch key (creating it if absent); `true` when the data set was lost since
    /// the last look.
    pub(crate) async fn check(&self, conn: &mut ConnectionManager) -> Result<bool, RedisError> {
        let fresh = format!("{:016x}", crate::store::random_u64());
        let _: Option<String> = redis::cmd("SET")
            .arg(&self.key)
            .arg(&fresh)
            .arg("NX")
            .query_async(conn)
            .await?;
        let current: Option<String> = redis::cmd("GET").arg(&self.key).query_async(conn).await?;
        let mut seen = self
            .seen
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let lost = seen.is_some() && *seen != current;
        *seen = current;
        Ok(lost)
    }
}
