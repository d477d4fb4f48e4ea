//! The gateway under test: limiter layers at the door, a queue in front of the provider, and a
//! dispatcher that honours upstream Retry-After.
//!
//! The queue is FIFO for now; it sits behind [`RequestQueue`] so the priority scheduler can take
//! its place without touching the event loop.

mod queue;
mod requests;

pub use queue::RequestQueue;
pub use requests::{Request, RequestSlab, Slot};
