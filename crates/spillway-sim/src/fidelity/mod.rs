//! Fidelity: the simulator checked against queueing theory.
//!
//! A scenario shaped like a textbook queue ([`case_of`]: Poisson arrivals, provider
//! `unlimited` with c servers, `max_in_flight` = c) is simulated through the real event loop
//! in independent replications ([`run_case`]), and its measured mean queue wait and
//! utilisation are compared with the closed forms of [`theory`] (M/M/1, M/D/1 and M/G/1 by
//! Pollaczek–Khinchine, M/M/c by Erlang C, several classes
//! under non-preemptive strict priority by Cobham) inside a 99 % confidence interval
//! ([`Estimate`]). [`render_markdown`] writes the evidence (`reports/fidelity.md`).

mod case;
mod error;
mod interval;
mod runner;
mod table;
pub mod theory;

pub use case::{PriorityRank, ValidationCase, case_of, cases_of, load_case, load_cases};
pub use error::FidelityError;
pub use interval::{CONFIDENCE_PCT, Estimate, student_t_99};
pub use runner::{CaseResult, DEFAULT_REPLICATIONS, RunPlan, run_case};
pub use table::render_markdown;
