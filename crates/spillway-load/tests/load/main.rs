//! `spillway load` in-process on loopback: the replay against a `spillway emulate` server
//! started in the test, and against targets that refuse, stall or answer garbage. No timed
//! assertions: counts and reasons only (the time scale keeps the runs short).

mod agreement;
mod fixtures;
mod hostile;
