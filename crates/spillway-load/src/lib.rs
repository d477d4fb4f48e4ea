//! # spillway-load
//!
//! `spillway load`: the simulator's traffic sent for real. The counterpart of
//! `spillway emulate` (the simulator's providers as a server): together, and with
//! `spillway serve` between them, they measure how far `simulate`'s predictions are from the
//! same policy running over HTTP.
//!
//! ## The same traffic, not a lookalike
//! [`plan`] takes the arrivals from the simulator's own generator (`ArrivalStream`, merged
//! with leaked-key attackers as `run_policy` does), so the requests offered are the ones
//! `simulate` offers for the same scenario, seed and duration: times, users, classes, sizes.
//!
//! ## Time
//! A request due at simulated time `t` is sent at real time `t / scale` after the start, and
//! everything measured is multiplied back (`real × scale`), so outputs are in the scenario's
//! time base and compare directly with `simulate`'s. The one clock read is
//! `spillway_core::clock::RealClock`.
//!
//! ## What is measured, and written
//! [`observe`] fills the simulator's `PolicyMetrics` and `TimeseriesRow`s from HTTP outcomes
//! ([`outcome`]), so the report crate's writers produce the same files as `simulate`.
//!
//! ## Bounded
//! At most `max_in_flight` calls open; every call under a timeout; response bodies read up to
//! a cap; failure reasons from a small vocabulary. [`runner`] always ends.
//!
//! ## Layout
//! [`plan`] (what, when) · [`body`] (the HTTP request) · [`runner`] (the loop) ·
//! [`outcome`] (answer → outcome) · [`observe`] (outcome → metrics).

#![forbid(unsafe_code)]

pub mod body;
pub mod observe;
pub mod outcome;
pub mod plan;
pub mod runner;

pub use observe::{Observed, Observer};
pub use plan::{Plan, Planned};
pub use runner::{Ending, LoadConfig, Tick, run};
