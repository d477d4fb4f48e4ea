//! `spillway serve` on loopback (see `serve/`).

mod budget;
mod fixtures;
mod proxy;
