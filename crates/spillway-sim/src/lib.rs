//! # spillway-sim
//!
//! A deterministic discrete-event simulator for comparing LLM gateway policies before they
//! meet production: the same bursty traffic is replayed against each policy (common random
//! numbers), through an emulated provider that answers 429 like a real one, and every request
//! is measured end to end.
//!
//! ## Determinism
//! - Virtual time only ([`spillway_core::Time`]); one event heap ordered by (time, sequence).
//! - One seeded ChaCha8 stream per concern ([`rng`]); traffic is generated independently of the
//!   policy, so policies see identical arrivals.
//! - Every map whose order reaches output is a `BTreeMap` or sorted.
//!
//! ## Layout
//! [`scenario`] (YAML → validated model) · [`traffic`] (arrivals, sizes) · [`provider`]
//! (emulated upstream) · [`gateway`] (queue, requests) · [`distributed`] (gateway instances and
//! how they share limits) · [`metrics`] · [`run_policy`] (the loop).

#![forbid(unsafe_code)]

pub mod distributed;
pub mod engine;
pub mod fidelity;
pub mod gateway;
pub mod metrics;
pub mod provider;
pub mod rng;
mod run;
pub mod scenario;
pub mod traffic;

pub use run::{PolicyError, PolicyProblem, RunOptions, run_policies, run_policy};
