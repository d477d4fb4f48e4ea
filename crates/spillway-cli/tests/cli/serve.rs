//! `spillway serve` on loopback (see `serve/`).

mod fixtures;
mod proxy;
