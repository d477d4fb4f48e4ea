//! `spillway serve` on loopback (see `serve/`).

mod fixtures;
mod proxy;
mod sim_vs_real;
