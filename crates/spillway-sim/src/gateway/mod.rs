//! The gateway under test: the core [`spillway_core::engine::Engine`] (limiter layers at the
//! door, the budget, a priority queue in front of the provider, a dispatcher that honours
//! upstream Retry-After), driven by the simulator's events against emulated providers.

pub(crate) mod budget;
mod state;
mod upstream;

pub(crate) use budget::SimSpend;
pub(crate) use state::{Gateway, GroupInfo, JITTER_STREAMS};
pub(crate) use upstream::Providers;
