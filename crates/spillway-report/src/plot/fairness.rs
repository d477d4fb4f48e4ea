//! Fairness: Lorenz curves of the tokens served per user, one line per policy, from
//! `users.csv`. The Gini coefficient in each legend entry sums the curve up (0 = every user
//! served equally, 1 = one user got everything).

use super::latency::color_of;
use super::{LineChart, Section, Series, thin};
use crate::input::{RunData, UserShare};

const ABOUT: &str = "Users sorted from least to most served; a point (x, y) says the least-served \
fraction x of users received a fraction y of all tokens served. The dashed diagonal is perfect \
equality; the further a curve sags below it, the more service is concentrated on a few users. \
Gini (in the legend) is twice the area between the diagonal and the curve. Users naturally \
differ in how much they ask for, so compare policies with each other, not with the diagonal.";

/// The Lorenz curve of `values` (any order): points from (0, 0) to (1, 1). Empty or all-zero
/// input gives the diagonal.
pub fn lorenz(values: &[u64]) -> Vec<(f64, f64)> {
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let total: u128 = sorted.iter().map(|v| u128::from(*v)).sum();
    if total == 0 {
        return vec![(0.0, 0.0), (1.0, 1.0)];
    }
    let n = sorted.len() as f64;
    let mut running: u128 = 0;
    let mut points = vec![(0.0, 0.0)];
    for (i, v) in sorted.iter().enumerate() {
        running += u128::from(*v);
        points.push(((i + 1) as f64 / n, running as f64 / total as f64));
    }
    points
}

/// Gini coefficient from a Lorenz curve (trapezoids): 0 for equality, towards 1 for
/// concentration.
pub fn gini(curve: &[(f64, f64)]) -> f64 {
    let area: f64 = curve
        .windows(2)
        .map(|w| (w[1].0 - w[0].0) * (w[0].1 + w[1].1) / 2.0)
        .sum();
    (1.0 - 2.0 * area).clamp(0.0, 1.0)
}

/// The fairness section (skipped with a note when `users.csv` is absent).
pub fn fairness_section(data: &RunData) -> Section {
    let Some(users) = &data.users else {
        return Section::skipped(
            "fairness",
            "Fairness between users",
            ABOUT.to_string(),
            "users.csv is absent: no fairness chart.".to_string(),
        );
    };
    let policies = data.policies();
    let mut chart = LineChart::new(
        "fairness",
        "Share of tokens served per user (Lorenz curve)",
        "fraction of users, least served first",
        "fraction of tokens served",
    );
    chart.y_range = Some((0.0, 1.0));
    let mut names: Vec<&str> = Vec::new();
    for u in users {
        if !names.contains(&u.policy.as_str()) {
            names.push(&u.policy);
        }
    }
    for policy in names {
        let tokens: Vec<u64> = users
            .iter()
            .filter(|u: &&UserShare| u.policy == policy)
            .map(|u| u.tokens)
            .collect();
        let curve = lorenz(&tokens);
        chart.series.push(Series {
            name: format!("{policy} (Gini {:.3})", gini(&curve)),
            color: color_of(&policies, policy),
            points: thin(curve, 500),
            dashed: false,
            halo: false,
        });
    }
    chart.series.push(Series {
        name: "equality".to_string(),
        color: 7,
        points: vec![(0.0, 0.0), (1.0, 1.0)],
        dashed: true,
        halo: false,
    });
    Section {
        id: "fairness",
        title: "Fairness between users",
        about: ABOUT.to_string(),
        charts: vec![chart],
        note: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_shares_give_the_diagonal_and_gini_zero() {
        let curve = lorenz(&[5, 5, 5, 5]);
        assert_eq!(curve.last(), Some(&(1.0, 1.0)));
        assert!(gini(&curve).abs() < 1e-12);
        assert_eq!(lorenz(&[]), vec![(0.0, 0.0), (1.0, 1.0)]);
    }

    #[test]
    fn concentration_raises_gini() {
        let one_takes_all = gini(&lorenz(&[0, 0, 0, 100]));
        let skewed = gini(&lorenz(&[10, 20, 30, 40]));
        assert!((one_takes_all - 0.75).abs() < 1e-12, "{one_takes_all}");
        assert!(skewed > 0.0 && skewed < one_takes_all, "{skewed}");
    }
}
