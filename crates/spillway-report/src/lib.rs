//! # spillway-report
//!
//! Pure formatting of simulation results: CSV files ([`csv_out`]), the terminal comparison
//! table ([`table`]), and exact number formatting ([`format`]). Files are written to a
//! temporary name and renamed into place, so a failed run never leaves a half-written CSV.

mod atomic;
pub mod csv_out;
pub mod format;
pub mod table;
pub mod trace_csv;

pub use atomic::AtomicFile;
