//! The names under which refusals that are no layer's are counted, where layers' refusals
//! are counted by layer name: `serve`'s `spillway_rejected_total{layer=…}` and
//! `x-spillway-rejected-by`, and the simulator's `rejections.csv`. One list, so that the
//! policy loader refuses a layer named like one of them (the two would merge in a count), or a
//! budget cap (serve names the deciding cap in `x-spillway-rejected-by` too), and the places
//! that write them cannot drift apart.

/// A budget cap refused the request.
pub const BUDGET: &str = "budget";
/// The gateway was full.
pub const FULL: &str = "full";
/// No layer could ever admit the request's cost (serve's label).
pub const NEVER_FITS: &str = "never_fits";
/// The shared layers' store (Redis) did not answer.
pub const STORE_UNAVAILABLE: &str = "store_unavailable";
/// No layer could ever admit the request's cost (the simulator's `rejections.csv` row).
pub const NEVER_FITS_ROW: &str = "(never-fits)";

/// Every label above: no layer or budget cap may be named like one.
pub const ALL: [&str; 5] = [BUDGET, FULL, NEVER_FITS, STORE_UNAVAILABLE, NEVER_FITS_ROW];
