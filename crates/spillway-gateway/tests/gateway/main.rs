//! The runtime and the tower layer: on in-process services, and (`over_tcp`) behind hyper on a
//! loopback socket.

mod budget_gate;
mod close_order;
mod layer;
mod layer_budget;
mod layer_cache;
mod layer_key_refused;
mod layer_parts;
mod layer_rekeyed;
mod layer_resend;
mod layer_resend_unready;
mod layer_settles;
mod left_on_the_wire;
mod one_connection;
mod over_tcp;
mod refusal_gives_back;
mod settle_policies;
mod shared_outage;
mod store_outage;
mod urgent_at_the_bound;
