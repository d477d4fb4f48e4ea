//! # spillway-core
//!
//! The parts of an LLM gateway that decide *whether* and *when* a request may go upstream:
//! rate limiters ([`limit`]), and (in later modules) the priority scheduler, budgets, upstream
//! header handling and key management.
//!
//! ## Design decisions
//! - **Time is a value.** Nothing here reads a clock: every call takes `now: Time`
//!   (nanoseconds since an origin the caller chooses). The simulator passes virtual time; a
//!   service passes [`clock::RealClock`]'s reading. This makes every decision reproducible and
//!   every test exact.
//! - **Integers for state.** Limiter state is integer nanoseconds and integer costs, so a
//!   denial's `retry_at` is exact: retrying at that instant is admitted if nothing else happened.
//!   Floats appear only in reports.
//! - **A denial says when.** [`limit::Decision::Denied`] carries `retry_at`; a cost that can never
//!   fit is a separate error ([`limit::LimitError::CostExceedsCapacity`]), decided up front.
//! - **`&mut self` core.** Types here are single-threaded; callers who share them wrap them.

pub mod budget;
pub mod clock;
pub mod engine;
pub mod input_file;
pub mod keys;
pub mod limit;
#[cfg(feature = "serde")]
pub mod policy;
pub mod schedule;
pub mod time;
pub mod upstream;

pub use time::{Duration, Time};
