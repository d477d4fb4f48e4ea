//! Service times: the empirical LLM model (time to first token + decode time per output
//! token, with seeded jitter) and the textbook distributions queueing theory needs
//! (constant, exponential, log-normal).
//!
//! Floats appear only while drawing; the result is whole nanoseconds, saturating.

use super::spec::LatencySpec;
use crate::traffic::{exp1, nanos_from_f64, standard_normal, unit_f64};
use rand_core::Rng;
use spillway_core::Duration;

/// The service time of one call with `output_tokens` completion tokens. Draws from `rng` only
/// when the model is random (jitter > 0, exponential, log-normal), so a deterministic model
/// leaves the stream untouched.
pub fn service_time<R: Rng + ?Sized>(
    spec: &LatencySpec,
    output_tokens: u64,
    rng: &mut R,
) -> Duration {
    match *spec {
        LatencySpec::Empirical {
            base,
            per_output_token,
            jitter,
        } => {
            let nominal = base.saturating_add(per_output_token.saturating_mul(output_tokens));
            if jitter > 0.0 {
                let factor = 1.0 + jitter * (2.0 * unit_f64(rng) - 1.0);
                scale(nominal, factor)
            } else {
                nominal
            }
        }
        LatencySpec::Constant { mean } => mean,
        LatencySpec::Exponential { mean } => scale(mean, exp1(rng)),
        LatencySpec::LogNormal { median, sigma } => {
            scale(median, (sigma * standard_normal(rng)).exp())
        }
    }
}

/// `d × factor` in whole nanoseconds; negative or NaN factors give zero, huge ones saturate.
fn scale(d: Duration, factor: f64) -> Duration {
    Duration::from_nanos(nanos_from_f64(d.as_nanos() as f64 * factor))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Concern, stream};

    #[test]
    fn the_empirical_model_without_jitter_is_exact_and_draws_nothing() {
        let spec = LatencySpec::Empirical {
            base: Duration::from_millis(300),
            per_output_token: Duration::from_millis(10),
            jitter: 0.0,
        };
        let mut rng = stream(1, Concern::Provider, 0);
        let before = rng.clone();
        assert_eq!(
            service_time(&spec, 50, &mut rng),
            Duration::from_millis(800)
        );
        assert_eq!(rng, before);
    }

    #[test]
    fn jitter_stays_in_its_band() {
        let spec = LatencySpec::Empirical {
            base: Duration::from_secs(1),
            per_output_token: Duration::ZERO,
            jitter: 0.2,
        };
        let mut rng = stream(2, Concern::Provider, 0);
        for _ in 0..1000 {
            let d = service_time(&spec, 0, &mut rng).as_nanos();
            assert!((800_000_000..=1_200_000_000).contains(&d), "{d}");
        }
    }

    #[test]
    fn the_exponential_mean_and_the_lognormal_median_hold() {
        let mut rng = stream(3, Concern::Provider, 0);
        let n = 20_000u64;
        let exp = LatencySpec::Exponential {
            mean: Duration::from_secs(2),
        };
        let total: u128 = (0..n)
            .map(|_| u128::from(service_time(&exp, 0, &mut rng).as_nanos()))
            .sum();
        let mean_s = total as f64 / n as f64 / 1e9;
        assert!((mean_s - 2.0).abs() < 0.06, "{mean_s}");
        let ln = LatencySpec::LogNormal {
            median: Duration::from_secs(1),
            sigma: 0.8,
        };
        let mut draws: Vec<u64> = (0..n)
            .map(|_| service_time(&ln, 0, &mut rng).as_nanos())
            .collect();
        draws.sort_unstable();
        let median_s = draws[(n / 2) as usize] as f64 / 1e9;
        assert!((median_s - 1.0).abs() < 0.04, "{median_s}");
    }

    #[test]
    fn extreme_factors_saturate() {
        assert_eq!(scale(Duration::MAX, 2.0), Duration::MAX);
        assert_eq!(scale(Duration::from_secs(1), -1.0), Duration::ZERO);
        assert_eq!(scale(Duration::from_secs(1), f64::NAN), Duration::ZERO);
    }
}
