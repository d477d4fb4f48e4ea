//! # Policies as data
//!
//! A gateway policy written as YAML: the same text is a production policy file and the
//! `layers:` / `policies:` of a simulator scenario, with the same errors. Every problem is
//! reported at once, each as `file:line:col: field.path: what is allowed` ([`LocatedError`]).
//!
//! Pipeline: raw serde structs that mirror the YAML (unknown fields rejected, values that need
//! checking kept [`S`]panned for their location) → validation ([`Reporter`]: units, ranges,
//! names) → core configuration types.
//!
//! ```
//! use spillway_core::policy;
//! use std::path::Path;
//!
//! let text = "
//! layers:
//!   - { name: per-user, scope: user, algorithm: token-bucket, limit: 60, per: 1m }
//! policies:
//!   - name: default
//!     layers: [per-user]
//!     max_in_flight: 8
//!     scheduler: { discipline: aging, aging_step: 30s }
//! ";
//! let file = policy::parse(Path::new("gateway.yaml"), text).unwrap();
//! let default = file.policy("default").unwrap();
//! assert_eq!(default.layers[0].name, "per-user");
//! // What a server builds its engine from (with `file.budget`'s gate, if it has one).
//! let config = default.engine_config(10_000, vec![None; 4]);
//! assert_eq!(config.max_in_flight, 8);
//!
//! let typo = policy::parse(Path::new("gateway.yaml"), &text.replace("60", "0")).unwrap_err();
//! assert_eq!(
//!     typo.to_string(),
//!     "gateway.yaml:3:68: layers[0].limit: limit must be greater than 0, got 0"
//! );
//! ```

pub mod base_url;
pub mod budget;
mod cap_names;
mod class;
mod closest;
pub mod distributed;
mod error;
mod file;
mod file_kind;
mod key_events;
pub mod layers;
mod missing_field;
pub mod models;
mod policies;
mod reporter;
pub mod schedule;
mod serde_words;
pub mod serve;
pub mod units;
pub mod upstream;

pub use class::Class;
pub use closest::closest_names;
pub use distributed::{Balancer, InstancesSpec, SyncMode};
pub use error::{
    LocatedError, LocatedErrors, MAX_SHOWN_ERRORS, field_path_at, quoted_key, shown_path,
};
pub use file::{PolicyFile, RawPolicyFile, load, parse};
pub use file_kind::{FileKind, is_scenario, kind_of, top_level_keys};
pub use layers::RawLayer;
pub use policies::{PolicyBlocks, PolicyDefaults, PolicySpec, RawPolicy, validate};
pub use reporter::{Reporter, serde_message};
pub use schedule::{ClassSettings, SchedulerSpec};
pub use upstream::UpstreamSpec;

/// A value with its location in the file.
pub type S<T> = serde_saphyr::Spanned<T>;
