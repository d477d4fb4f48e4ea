//! # Policies as data
//!
//! A gateway policy written as YAML: the same text is a production policy file and the
//! `layers:` / `policies:` of a simulator scenario, with the same errors. Every problem is
//! reported at once, each as `file:line:col: field.path: what is allowed` ([`LocatedError`]).
//!
//! Pipeline: raw serde structs that mirror the YAML (unknown fields rejected, values that need
//! checking kept [`S`]panned for their location) → validation ([`Reporter`]: units, ranges,
//! names) → core configuration types.

pub mod budget;
mod class;
pub mod distributed;
mod error;
mod file;
mod key_events;
pub mod layers;
pub mod models;
mod policies;
mod reporter;
pub mod schedule;
mod serde_words;
pub mod units;
pub mod upstream;

pub use class::Class;
pub use distributed::{Balancer, InstancesSpec, SyncMode};
pub use error::{LocatedError, LocatedErrors, field_path_at, quoted_key};
pub use file::{PolicyFile, RawPolicyFile, load, parse};
pub use layers::RawLayer;
pub use policies::{PolicyBlocks, PolicyDefaults, PolicySpec, RawPolicy, validate};
pub use reporter::{Reporter, serde_message};
pub use schedule::{ClassSettings, SchedulerSpec};
pub use upstream::UpstreamSpec;

/// A value with its location in the file.
pub type S<T> = serde_saphyr::Spanned<T>;
