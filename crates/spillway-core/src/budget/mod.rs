//! Budgets: what a request will cost, whether the money is there, and which model to use when
//! it is running out.
//!
//! | part | does |
//! |---|---|
//! | [`ModelCatalogue`] | models, tiers, integer nano-USD prices per 1 M tokens |
//! | [`Estimator`] | output-token guess per feature (`Fixed`, `MaxTokens`, learned EWMA) and its error (mean, p95) |
//! | [`Ledger`] | caps (global / user / feature / API key) over hours, UTC days, months; reserve → settle |
//! | [`DegradationLadder`] | per-mille thresholds → cheaper models → exhausted; monotone |
//! | [`Budget`] | the four composed: preflight → `Allow` / `Degrade` / `QueueUntil` / `Reject` |
//! | [`PolicyBudget`] | a policy's budget as data (the engine's [`crate::engine::SpendGate`] runs it) |
//! | [`SharedAccount`] | an account as a store shared by replicas counts it (the ledger then caches its totals) |
//!
//! ## Design decisions
//! - **Money is `u64` nano-USD**, prices per million tokens, costs rounded up: exact sums,
//!   exact comparisons, no float drift over millions of requests.
//! - **Reserve before, settle after.** The estimate is held against every cap before the call;
//!   the actual replaces it after. With upper-bound estimates no cap is ever exceeded; with
//!   under-estimates the excess is bounded (see [`Ledger`]).
//! - **Calendar periods** (hour, UTC day, month) because that is how budgets are set and
//!   reported; reservations carry across a reset, spend does not.
//! - **Degrade before refusing.** A refusal happens only when even the cheapest model the
//!   ladder allows would not fit. The ladder never moves to a dearer model as spend grows.
//! - **Every answer says why**: the deciding cap, the usage it saw, requested vs used model.
//!
//! ```
//! use spillway_core::budget::*;
//! use spillway_core::limit::{Scope, Subject};
//! use spillway_core::Time;
//!
//! let model = |name: &str, tier, input, output| ModelSpec {
//!     name: name.into(), tier, input_nano_usd_per_mtok: input,
//!     output_nano_usd_per_mtok: output, max_output_tokens: 4096,
//! };
//! let catalogue = ModelCatalogue::new(vec![
//!     model("gpt-4o", 3, 2_500_000_000, 10_000_000_000),
//!     model("gpt-4o-mini", 1, 150_000_000, 600_000_000),
//! ]).unwrap();
//! let mini = catalogue.id("gpt-4o-mini").unwrap();
//! let ladder = DegradationLadder::new(vec![
//!     LadderStep { at_per_mille: 800, action: StepAction::Use(mini) },
//!     LadderStep { at_per_mille: 1000, action: StepAction::Exhausted },
//! ], &catalogue).unwrap();
//! let daily_per_user = CapSpec {
//!     name: "per-user daily".into(), scope: Scope::User, target: CapTarget::Each,
//!     period: Period::Day, limit_nano_usd: 1_000_000_000, on_exhausted: OnExhausted::Queue,
//! };
//! let ledger = Ledger::new(vec![daily_per_user], 0).unwrap();
//! let mut budget = Budget::new(catalogue, Estimator::new(OutputEstimate::Fixed(500), 3), ladder, ledger);
//!
//! let alice = Subject { user: 1, team: 0, feature: 7, api_key: 0 };
//! let gpt4o = budget.catalogue.id("gpt-4o").unwrap();
//! let admission = budget.admit(Time::ZERO, &alice, gpt4o, 1_000);
//! assert_eq!(admission.preflight.verdict, Verdict::Allow);
//! let settled = budget.complete(Time::ZERO, admission.ticket.unwrap(), 1_000, 420);
//! assert_eq!(settled.actual_nano_usd, 2_500_000 + 4_200_000);
//! ```

mod cap;
mod error;
mod estimate;
mod gate;
mod histogram;
mod ladder;
mod ledger;
mod model;
mod period;
mod policy;
mod shared;
mod verdict;

pub use cap::{Account, CapSpec, CapTarget, OnExhausted};
pub use error::BudgetError;
pub use estimate::{CostEstimate, EstimateErrors, Estimator, MAX_FEATURES, OutputEstimate};
pub use gate::{Admission, Budget};
pub use histogram::ErrorHistogram;
pub use ladder::{DegradationLadder, LadderChoice, LadderStep, StepAction};
pub use ledger::{Blocked, CapId, CapUsage, Ledger, LedgerReservation, MAX_CAPS};
pub use model::{MAX_MODELS, ModelCatalogue, ModelId, ModelSpec};
pub use period::{Period, Window};
pub use policy::{EstimateKind, PolicyBudget, PriceChange};
pub use shared::SharedAccount;
pub use verdict::{Preflight, Settlement, Ticket, Verdict};
