//! The runtime and the tower layer on loopback-free in-process services.

mod layer;
mod layer_settles;
mod left_on_the_wire;
mod refusal_gives_back;
mod shared_outage;
mod store_outage;
mod urgent_at_the_bound;
