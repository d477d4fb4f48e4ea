//! Replaying recorded request traces as arrivals.
//!
//! Formats: Azure LLM inference 2023, BurstGPT, ServeGen per-client rate windows, and any CSV
//! log through a column mapping ([`TraceFormat`]). Files are streamed with one `csv` reader:
//! memory is bounded by users, the reorder window and the rate-scaling copies, never by the
//! trace's length. Timestamps are parsed into integer nanoseconds ([`time`]).
//!
//! Pipeline: [`RowReader`] → [`OrderedRows`] (bounded reorder, malformed-row policy) or
//! [`ServeGenRows`] → [`TraceSource`] (window, speed-up, loop, rate scaling, users and mix)
//! → merged into [`crate::traffic::ArrivalStream`]. [`survey`] runs the same pipeline once to
//! report errors before any policy runs and to measure the offered trace ([`TraceStats`]).

mod assign;
mod error;
mod ordered;
mod reader;
mod servegen;
mod source;
mod spec;
mod stats;
mod survey;
pub mod time;

pub use assign::Assigner;
pub use error::TraceError;
pub use ordered::OrderedRows;
pub use reader::{RowReader, TraceRow};
pub use servegen::ServeGenRows;
pub use source::TraceSource;
pub use spec::{
    CsvMapping, DrawnSizes, MixEntry, OnError, RateScale, Speedup, TimeUnit, TimeWindow,
    TraceFormat, TraceSpec, UserRule, WrittenAt,
};
pub use stats::{StatsBuilder, TraceStats};
pub use survey::survey;
