//! The runtime and the tower layer on loopback-free in-process services.

mod layer;
mod store_outage;
