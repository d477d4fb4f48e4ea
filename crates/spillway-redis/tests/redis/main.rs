//! Tests against a real `redis-server` that each test starts on a free loopback port (and kills
//! at the end). Without the binary a test prints `SKIPPED: redis-server not found` on stdout and passes,
//! unless `SPILLWAY_REQUIRE_REDIS=1`, in which case it fails.

mod bad_input;
mod budget;
mod budget_faults;
mod cancel;
mod cancel_record;
mod chunked_cancel;
mod concurrency;
mod differential;
mod expiry;
mod faults;
mod ids;
mod log_retry;
mod long_windows;
mod marks;
mod outage;
mod outage_deadline;
mod outage_share;
mod proxy;
mod quiet_cancel;
mod refused_cancel;
mod saturated;
mod server;
mod settle;
mod settle_outage;
mod settle_window;
