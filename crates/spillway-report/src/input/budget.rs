//! The budget files of a run: `budget.csv` (every cap with its limit) and `spend.csv` (spend
//! per user, feature and API key), read back for the spend charts and the key-cap table.

use super::CsvTable;
use super::dataset::collect;
use crate::ReportError;
use crate::clock::period_named;
use spillway_core::budget::Period;

/// A spend cap (`budget.csv`). Older or hand-written files may carry only `name` and
/// `limit_usd`: then the cap is taken as global, over the whole run.
#[derive(Debug, Clone, PartialEq)]
pub struct BudgetLine {
    /// The policy it applies to (every policy when absent).
    pub policy: Option<String>,
    /// The budget's name (`key:<env>/<service>/<key>` for a key's own budget).
    pub name: String,
    /// What the cap is keyed by (`global`, `user`, `feature`, `api_key`), when known.
    pub scope: Option<String>,
    /// When it resets, when known.
    pub period: Option<Period>,
    /// The limit in US dollars.
    pub limit_usd: f64,
    /// Spend in the period current at the end of the run (for per-user or per-feature caps:
    /// the largest account), when known.
    pub spent_usd: Option<f64>,
}

impl BudgetLine {
    /// Whether the cap limits all spend together (the default for a file that does not say).
    pub fn is_global(&self) -> bool {
        self.scope.as_deref().is_none_or(|s| s == "global")
    }

    /// The API key a key budget belongs to (its name, as `spend.csv` labels keys).
    pub fn key_name(&self) -> Option<&str> {
        if self.scope.as_deref() != Some("api_key") {
            return None;
        }
        let name = self.name.strip_prefix("key:").unwrap_or(&self.name);
        Some(name.rsplit('/').next().unwrap_or(name))
    }
}

/// Spend through one API key under one policy (`spend.csv`, summed over users and features).
#[derive(Debug, Clone, PartialEq)]
pub struct KeySpend {
    /// The policy.
    pub policy: String,
    /// The key's label as written (`name` or `name…last4`).
    pub key: String,
    /// Billed requests.
    pub requests: u64,
    /// Spend in US dollars.
    pub spend_usd: f64,
}

impl KeySpend {
    /// The key's name, without the `…last4` of its secret.
    pub fn key_name(&self) -> &str {
        self.key.split('…').next().unwrap_or(&self.key)
    }
}

pub(super) fn load_budgets(t: &CsvTable) -> Result<Vec<BudgetLine>, ReportError> {
    let limit = t.column("limit_usd")?;
    let (policy, name) = (t.find("policy"), t.find("name").or(t.find("budget")));
    let (scope, period, spent) = (t.find("scope"), t.find("period"), t.find("spent_usd"));
    let text = |row: &super::Row<'_>, c: Option<super::Column<'_>>| {
        c.map(|c| row.text(c).to_string()).filter(|v| !v.is_empty())
    };
    collect(t, |row| {
        Ok(BudgetLine {
            policy: text(&row, policy),
            name: text(&row, name).unwrap_or_else(|| "budget".to_string()),
            scope: text(&row, scope),
            period: text(&row, period).as_deref().and_then(period_named),
            limit_usd: row.f64(limit)?,
            spent_usd: spent
                .filter(|c| !row.text(*c).is_empty())
                .map(|c| row.f64(c))
                .transpose()?,
        })
    })
}

/// Spend per policy and key, in order of first appearance (keys sorted as written).
pub(super) fn load_key_spend(t: &CsvTable) -> Result<Vec<KeySpend>, ReportError> {
    let (policy, key) = (t.column("policy")?, t.column("key")?);
    let (requests, spend) = (t.column("requests")?, t.column("spend_usd")?);
    let mut out: Vec<KeySpend> = Vec::new();
    for row in t.rows() {
        let (p, k) = (row.text(policy), row.text(key));
        let (n, usd) = (row.u64(requests)?, row.f64(spend)?);
        match out.iter_mut().find(|s| s.policy == p && s.key == k) {
            Some(s) => {
                s.requests = s.requests.saturating_add(n);
                s.spend_usd += usd;
            }
            None => out.push(KeySpend {
                policy: p.to_string(),
                key: k.to_string(),
                requests: n,
                spend_usd: usd,
            }),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(scope: Option<&str>, name: &str) -> BudgetLine {
        BudgetLine {
            policy: None,
            name: name.to_string(),
            scope: scope.map(str::to_string),
            period: None,
            limit_usd: 1.0,
            spent_usd: None,
        }
    }

    #[test]
    fn key_budgets_name_their_key_and_old_files_are_global() {
        let key = line(Some("api_key"), "key:production/gateway/secondary");
        assert_eq!(key.key_name(), Some("secondary"));
        assert!(!key.is_global());
        assert!(line(None, "daily").is_global());
        assert_eq!(line(Some("user"), "per-user").key_name(), None);
        let spend = |key: &str| KeySpend {
            policy: "p".into(),
            key: key.into(),
            requests: 1,
            spend_usd: 1.0,
        };
        assert_eq!(spend("secondary…ab12").key_name(), "secondary");
        assert_eq!(spend("primary").key_name(), "primary");
    }
}
