//! `spillway serve` on loopback (see `serve/`).

mod budget;
mod fixtures;
mod idle_clients;
mod output_estimate;
mod policy_file;
mod proxy;
mod redis_failure;
mod redis_headers;
mod refused_key;
mod shutdown;
mod sim_vs_real;
mod stream_reuse;
mod team;
mod upstream_timeouts;
