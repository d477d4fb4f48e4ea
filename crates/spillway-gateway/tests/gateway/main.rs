//! The runtime and the tower layer on loopback-free in-process services.

mod layer;
mod refusal_gives_back;
mod shared_outage;
mod urgent_at_the_bound;
