//! Emulated upstream providers.
//!
//! The foundation model is OpenAI-like: RPM and TPM as continuously refilling buckets whose
//! capacity equals the limit, a concurrency cap, and a 429 with `Retry-After` (whole seconds,
//! rounded up) when any of them would be exceeded. Service time is `base + per_token × output`.

mod emulated;

pub use emulated::{Answer, EmulatedProvider, LimitedBy};
