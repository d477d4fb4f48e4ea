//! Confidence intervals from independent replications.
//!
//! Waits of successive requests are strongly correlated (a long wait is followed by long
//! waits), so the spread of single waits says nothing about the precision of their mean. Each
//! replication runs the same case on its own seed; replication means are independent and, by
//! the central limit theorem over thousands of requests each, close to normal, so a Student t
//! interval over them is honest whatever the correlation inside a run.

/// The confidence level of every interval: two-sided 99 %.
pub const CONFIDENCE_PCT: u32 = 99;

/// Two-sided 99 % critical values of Student's t, for 1 to 30 degrees of freedom.
const T_995: [f64; 30] = [
    63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355, 3.250, 3.169, 3.106, 3.055, 3.012,
    2.977, 2.947, 2.921, 2.898, 2.878, 2.861, 2.845, 2.831, 2.819, 2.807, 2.797, 2.787, 2.779,
    2.771, 2.763, 2.756, 2.750,
];

/// The two-sided 99 % critical value of Student's t with `df` degrees of freedom (table up to
/// 30, then the Cornish–Fisher expansion around the normal quantile, exact to 3 decimals there).
pub fn student_t_99(df: u64) -> f64 {
    match df {
        0 => f64::INFINITY,
        1..=30 => T_995[(df - 1) as usize],
        _ => {
            let z: f64 = 2.575_829_3;
            let n = df as f64;
            let (z3, z5) = (z.powi(3), z.powi(5));
            z + (z3 + z) / (4.0 * n) + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * n * n)
        }
    }
}

/// A mean with its 99 % confidence interval `mean ± half_width`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The mean of the replication means.
    pub mean: f64,
    /// Half-width of the interval (infinite with fewer than two replications).
    pub half_width: f64,
}

impl Estimate {
    /// The t interval over independent replication means.
    pub fn from_replications(values: &[f64]) -> Estimate {
        let n = values.len();
        if n == 0 {
            return Estimate {
                mean: f64::NAN,
                half_width: f64::INFINITY,
            };
        }
        let mean = values.iter().sum::<f64>() / n as f64;
        if n < 2 {
            return Estimate {
                mean,
                half_width: f64::INFINITY,
            };
        }
        let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
        let std_error = (variance / n as f64).sqrt();
        Estimate {
            mean,
            half_width: student_t_99((n - 1) as u64) * std_error,
        }
    }

    /// Whether `value` lies inside the interval, widened by float rounding: an interval of
    /// identical replications (constant service: every mean is exactly 100 ms) has no width,
    /// and summing the means must not put the true value outside it.
    pub fn contains(&self, value: f64) -> bool {
        let rounding = 1e-12 * value.abs().max(self.mean.abs());
        (value - self.mean).abs() <= self.half_width + rounding
    }

    /// The half-width relative to `reference`, in percent (the tolerance of a comparison).
    pub fn half_width_pct_of(&self, reference: f64) -> f64 {
        self.half_width / reference.abs() * 100.0
    }

    /// (mean − reference) / reference, in percent.
    pub fn error_pct_of(&self, reference: f64) -> f64 {
        (self.mean - reference) / reference.abs() * 100.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_values_join_the_normal_quantile() {
        assert_eq!(student_t_99(19), 2.861);
        // The expansion continues the table smoothly (t₃₀ = 2.750, t₆₀ = 2.660, t₁₂₀ = 2.617).
        assert!(
            (student_t_99(31) - 2.744).abs() < 2e-3,
            "{}",
            student_t_99(31)
        );
        assert!(
            (student_t_99(60) - 2.660).abs() < 2e-3,
            "{}",
            student_t_99(60)
        );
        assert!(
            (student_t_99(120) - 2.617).abs() < 2e-3,
            "{}",
            student_t_99(120)
        );
        assert!(student_t_99(0).is_infinite());
    }

    #[test]
    fn interval_of_known_values() {
        // Mean 2, sample variance 2.5, n = 5: half-width = t₄ · sqrt(2.5/5) = 4.604 · 0.7071.
        let e = Estimate::from_replications(&[0.0, 1.0, 2.0, 3.0, 4.0]);
        assert_eq!(e.mean, 2.0);
        assert!((e.half_width - 4.604 * 0.5f64.sqrt()).abs() < 1e-9);
        assert!(e.contains(4.0) && !e.contains(5.3));
        assert!((e.error_pct_of(1.6) - 25.0).abs() < 1e-9);
    }

    #[test]
    fn identical_replications_contain_their_value_up_to_rounding() {
        let e = Estimate::from_replications(&[0.1; 20]);
        assert!(e.contains(0.1) && e.contains(0.1 + 1e-15));
        assert!(!e.contains(0.1 + 1e-9), "rounding, not a tolerance");
    }

    #[test]
    fn one_replication_has_no_finite_interval() {
        let e = Estimate::from_replications(&[3.0]);
        assert_eq!(e.mean, 3.0);
        assert!(e.half_width.is_infinite());
        assert!(Estimate::from_replications(&[]).mean.is_nan());
    }
}
