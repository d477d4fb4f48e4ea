//! # spillway-emulate
//!
//! `spillway emulate`: an HTTP server that impersonates a provider of the provider library,
//! for gateways and SDKs to be tested against a provider that misbehaves on demand.
//!
//! ## One implementation, two drivers
//! The provider *is* the simulator's [`spillway_sim::provider::EmulatedProvider`] (limits,
//! headers, 429 bodies, latency, overload, outages, shared quota); this crate only drives it
//! with a real clock ([`clock`]) and speaks HTTP: OpenAI `POST /v1/chat/completions`,
//! `/v1/completions`, `/v1/embeddings`, Anthropic `POST /v1/messages`, `GET /v1/models`.
//!
//! ## Time scale
//! With `--time-scale X` the provider's clock runs X× real time: windows, refill and latency
//! all shrink together, and every duration the server *tells* the client (`retry-after`,
//! resets, body delays) is shown in real time ([`scale`]), so a client that waits what it is
//! told waits the scaled time.
//!
//! ## Layout
//! [`profile`] (`--profile` → spec) · [`request`] (body → tokens) · [`server`] (routes,
//! limits, the handler) · [`reply`] / [`stream`] (bodies, SSE) · [`log`] (what the server
//! saw) · [`listener`] (connection cap).

#![forbid(unsafe_code)]

pub mod clock;
pub mod connections;
pub mod listener;
pub mod log;
pub mod profile;
pub mod reply;
pub mod request;
pub mod scale;
pub mod server;
pub mod stream;

pub use clock::TimeScale;
pub use server::{Config, Running, serve, start};
