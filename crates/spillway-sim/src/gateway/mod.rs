//! The gateway under test: limiter layers at the door, a priority queue in front of the
//! provider, and a dispatcher that honours upstream Retry-After.

mod admit;
mod budget;
mod dispatch;
mod queue;
mod requests;
mod state;
mod upstream;

pub(crate) use budget::BudgetGate;
pub use queue::{Popped, PushOutcome, RequestQueue, Ticket};
pub use requests::{Request, RequestSlab, Slot};
pub(crate) use state::{Gateway, GroupInfo};
pub(crate) use upstream::UpstreamClient;
