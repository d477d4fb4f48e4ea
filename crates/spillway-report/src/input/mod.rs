//! Reading a run's outputs back from its directory: reports are regenerated from the CSVs
//! alone, so every plot and table has a single source of truth.

mod budget;
mod csv_table;
mod dataset;
mod timeseries;

pub use budget::{BudgetLine, KeySpend};
pub use csv_table::{Column, CsvTable, Row};
pub use dataset::{LatencyPoint, Rejection, RunData, RunInfo, SummaryTable, UserShare};
pub use timeseries::{KEEP_LIMIT, TimePoint};
