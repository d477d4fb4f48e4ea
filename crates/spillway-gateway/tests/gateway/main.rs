//! The runtime and the tower layer on loopback-free in-process services.

mod layer;
mod layer_settles;
mod store_outage;
