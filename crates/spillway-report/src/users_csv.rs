//! `users.csv`: what each user asked for and received, per policy — the data behind the
//! fairness index (`fairness_jain`) and the report's Lorenz curve.

use crate::AtomicFile;
use spillway_sim::metrics::PolicyMetrics;
use spillway_sim::scenario::Class;
use std::io;
use std::path::Path;

/// `users.csv` columns, in order.
pub const USERS_COLUMNS: &[&str] = &["policy", "class", "user", "offered", "completed", "tokens"];

/// Write one row per (policy, user), users in id order. Size: users × policies rows.
pub fn write_users(path: &Path, runs: &[PolicyMetrics]) -> io::Result<()> {
    let mut w = csv::Writer::from_writer(AtomicFile::create(path)?);
    w.write_record(USERS_COLUMNS).map_err(io::Error::other)?;
    for run in runs {
        for (user, s) in run.users.sorted() {
            let class = Class::ALL
                .get(usize::from(s.class))
                .map_or("?", |c| c.name());
            w.write_record([
                run.policy.as_str(),
                class,
                &user.to_string(),
                &s.offered.to_string(),
                &s.completed.to_string(),
                &s.tokens.to_string(),
            ])
            .map_err(io::Error::other)?;
        }
    }
    w.into_inner().map_err(|e| e.into_error())?.commit()
}
