//! `spillway emulate` end to end: the server in-process on 127.0.0.1:0, a minimal HTTP client,
//! and (in `openai_sdk`, `sdk_herd`) the official `openai` Python package. No timed assertions: counts,
//! statuses, header values, and the server's own timestamps.

mod client;
mod fixtures;
mod idle;
mod kinds;
mod limits;
mod openai_sdk;
mod sdk_herd;
mod shapes;
