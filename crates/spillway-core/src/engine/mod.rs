//! # The gateway engine
//!
//! One sans-IO state machine composes the core parts into a gateway: limiter layers →
//! API key → budget → priority queue → dispatch → upstream feedback (Retry-After gate,
//! headroom, backoff, retry budget, breaker, escalation, failover, cache). The simulator
//! drives it with virtual time; a server drives it with a clock and sockets. Neither owns
//! policy logic.
//!
//! ## Driving it (quinn-proto style)
//! Input calls take `now` and never block:
//! [`Engine::on_request`] → [`Admission`], [`Engine::on_response`] (status and headers of a
//! dispatched call), [`Engine::on_progress`] (tokens an accepted call used so far),
//! [`Engine::on_complete`] (the call's usage), [`Engine::on_cancel`] (the client went away;
//! [`Engine::on_cancel_sent`] when a server cannot tell whether its sent call will be billed),
//! [`Engine::handle_timeout`]. After each, the driver drains
//! [`Engine::poll_dispatch`] (send these upstream) and [`Engine::poll_event`] (count these),
//! and sleeps until [`Engine::poll_timeout`] or its next input.
//!
//! ## Design notes
//! - **The engine owns every reservation.** A request's limiter reservation, budget ticket,
//!   queue ticket and attempts live in one record inside the engine; the driver holds only a
//!   [`RequestId`]. Every way out (completed, failed, shed, abandoned, unfinished at
//!   [`Engine::drain`]) goes through one function that settles the layers, releases the budget
//!   (or books it: a call the provider accepted is billed however it ends) and emits one
//!   [`EngineEvent::Departed`]: a request leaves exactly once and a dropped
//!   client cannot leak (the server calls `on_cancel` from its drop guard).
//! - **Ids are generational.** A late response or cancel of a request that left never reaches
//!   the request that reused its slot.
//! - **Bounded.** At most `max_requests` live requests (at the bound an arrival takes the
//!   place of the less urgent queued request the queue would shed for it, else it is
//!   [`Rejection::Full`]), at most `max_in_flight` calls on the wire, queues bounded by the
//!   scheduler's configuration; timers are at most a few per live request (a timer that
//!   became moot, e.g. the deadline of a request already sent, is dropped once they
//!   outnumber twice the live requests plus a slack).
//! - **Time is a value; ties are ordered.** Timers fire in (time, scheduling order);
//!   [`Engine::handle_timeout`] fires one at a time so each one's dispatches happen before the
//!   next, as they would in real time.
//! - **Deployment is a part.** The layers are a [`Limiter`] (one process: [`crate::limit::Layered`];
//!   the simulator: several instances and a shared store), the budget a [`Spend`]
//!   ([`SpendGate`]: caps, keys, model ladder, price changes; [`NoSpend`] without one), the
//!   random source of jitter and cache draws is given.
//! - **Metrics are the driver's.** It counts [`EngineEvent`]s; gauges (queue depths, calls in
//!   flight, breaker level) are read-only accessors.
//!
//! ## Example: a gateway in front of a fake upstream
//! ```
//! use spillway_core::engine::*;
//! use spillway_core::limit::{Layered, LayerSpec};
//! use spillway_core::schedule::SchedulerConfig;
//! use spillway_core::upstream::BackoffConfig;
//! use spillway_core::{Duration, Time};
//!
//! # struct Lcg(u64);
//! # impl rand_core::TryRng for Lcg {
//! #     type Error = core::convert::Infallible;
//! #     fn try_next_u32(&mut self) -> Result<u32, Self::Error> { Ok((self.try_next_u64()? >> 32) as u32) }
//! #     fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
//! #         self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1); Ok(self.0) }
//! #     fn try_fill_bytes(&mut self, d: &mut [u8]) -> Result<(), Self::Error> { d.fill(7); Ok(()) }
//! # }
//! let config = EngineConfig {
//!     max_in_flight: 2,
//!     max_requests: 100,
//!     deadlines: vec![None; 4],
//!     scheduler: SchedulerConfig::default(),
//!     upstream: UpstreamConfig::reactive(BackoffConfig::default()),
//! };
//! let layers = Layered::new(Vec::<LayerSpec>::new()).unwrap();
//! let mut engine = Engine::new(config, layers, NoSpend, Lcg(1), Lcg(2)).unwrap();
//! let meta = |user| RequestMeta { user, team: 0, feature: 0, class: 0, input_tokens: 100,
//!     output_estimate: 50, max_tokens: 50, payload: user };
//! let mut now = Time::ZERO;
//! for user in 0..3 {
//!     assert!(matches!(engine.on_request(now, meta(user)), Admission::Accepted(_)));
//! }
//! // The fake upstream: the first call is a 429 with Retry-After 2 s, the rest succeed.
//! let mut calls = 0;
//! let mut sent_at = Vec::new();
//! while !engine.is_empty() {
//!     while let Some(d) = engine.poll_dispatch(now) {
//!         calls += 1;
//!         sent_at.push(now);
//!         let limited = calls == 1;
//!         let response = Response { accepted: !limited, status: if limited { 429 } else { 200 },
//!             retry_after: limited.then(|| Duration::from_secs(2)), body_retry_after: None,
//!             snapshot: None };
//!         engine.on_response(now, d.id, &response);
//!         if !limited {
//!             let usage = Completion { input_tokens: 100, output_tokens: 40, failed: false };
//!             engine.on_complete(now, d.id, usage);
//!         }
//!     }
//!     match engine.poll_timeout() {
//!         Some(t) => { now = now.max(t); engine.handle_timeout(now); }
//!         None => break,
//!     }
//! }
//! let mut completed = 0;
//! while let Some(event) = engine.poll_event() {
//!     if let EngineEvent::Departed { how: Departure::Completed, .. } = event { completed += 1; }
//! }
//! assert_eq!(completed, 3);
//! // Nothing went out during the Retry-After pause that followed the 429.
//! assert!(sent_at[1..].iter().all(|t| *t >= Time::ZERO.saturating_add(Duration::from_secs(2))));
//! ```

mod admit;
mod bill;
mod bound;
mod depart;
mod dispatch;
mod holds;
mod limiter;
mod slab;
mod spend;
mod spend_gate;
mod spend_shared;
mod state;
mod timers;
mod types;
mod upstream;

pub use limiter::{Admitted, Limiter};
pub use slab::RequestId;
pub use spend::{NoSpend, Spend, SpendRefusal, SpendStep};
pub use spend_gate::{SpendGate, SpendGateConfig};
pub use spend_shared::SharedTotals;
pub use state::{Engine, EngineConfig};
pub use timers::Timers;
pub use types::{
    Admission, Completion, Departure, Dispatch, EngineEvent, Rejection, RequestMeta, Response,
};
pub use upstream::UpstreamConfig;
