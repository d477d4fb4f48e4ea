//! # spillway-gateway
//!
//! The runtime that serves a policy for real: spillway-core's sans-IO [`Engine`] driven on
//! tokio with a wall clock (ns since the Unix epoch, so replicas, budget periods and Redis
//! agree on instants).
//!
//! - [`Runtime`]: the engine behind a short-held mutex, a timer task that sleeps until
//!   [`Engine::poll_timeout`], and [`Runtime::admit`] → a [`Call`] that waits for its turn in
//!   the priority queue (the queue really waits: interactive first, deadlines enforced).
//! - [`Call`]: one admitted request; its drop guard calls `on_cancel`, so a client that goes
//!   away (or a handler that errors) never leaks a reservation.
//! - [`GatewayLayer`]: the same as a tower `Layer` for any axum/hyper service. The service
//!   **must** read the [`Dispatched`] the layer puts in each request's extensions and call the
//!   provider, model and upstream key it names (or, for [`Upstream::Cache`], no provider):
//!   the engine books the budget at that model's price on that key and feeds that provider's
//!   breaker with the answer.
//! - [`ServeLayers`]: the policy's layers in this process, or in Redis shared by replicas.
//! - [`Metrics`]: counters from the engine's events, rendered as Prometheus text.
//! - [`headers`]: `x-ratelimit-*` for the caller's tightest layer, and the 429 body.
//! - [`RelayBody`]: a relayed upstream stream that aborts the client's connection when the
//!   upstream's stream was cut, rather than ending it as if complete.
//! - [`settler`]: the retrying queue of settlements to a shared store, flushed at shutdown.
//!
//! The budget is a [`spillway_core::engine::Spend`]; `spillway serve` runs an
//! `Option<ServeGate>` (core's `SpendGate` on the wall clock, its spend in Redis under
//! `--redis`; `None` without a `budget:`), tests and embedders may run
//! [`spillway_core::engine::NoSpend`].
//!
//! [`Engine`]: spillway_core::engine::Engine
//! [`Engine::poll_timeout`]: spillway_core::engine::Engine::poll_timeout

#![forbid(unsafe_code)]

mod call;
mod dispatched;
pub mod headers;
mod layer;
mod layers;
mod metrics;
mod relay_body;
mod resend;
mod runtime;
pub mod settler;
mod settling;

pub use call::{Call, Step};
pub use dispatched::{Dispatched, Upstream};
pub use layer::{GatewayLayer, GatewayService};
pub use layers::{
    Prepaid, STORE_UNAVAILABLE, ServeLayers, SharedLayers, SharedStore, is_store_outage,
};
pub use metrics::{CLASSES, Gauges, Metrics, family};
pub use relay_body::{ClientGone, RelayBody, RelaySender, StreamCut, relay_body};
pub use runtime::{Refusal, Runtime, State};
