//! Closed forms of queueing theory: the mean queue wait `Wq` of M/M/1, M/D/1, M/G/1 and M/M/c.
//!
//! Floats are fine here: these numbers are only reported and compared, never fed back into the
//! simulator's state. Everything is in seconds and requests per second.

/// The service-time distribution of a validation case (the emulated provider's latency model).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ServiceDistribution {
    /// Always `mean_s` (Kendall letter D).
    Deterministic {
        /// The service time, in seconds.
        mean_s: f64,
    },
    /// Exponential (Kendall letter M): memoryless, so M/M/c has a closed form for every c.
    Exponential {
        /// Mean service time, in seconds.
        mean_s: f64,
    },
    /// `median × exp(sigma × Z)` (Kendall letter G: general, only the moments matter).
    LogNormal {
        /// Median service time, in seconds.
        median_s: f64,
        /// Standard deviation of the log.
        sigma: f64,
    },
}

impl ServiceDistribution {
    /// E\[S\] in seconds.
    pub fn mean_s(&self) -> f64 {
        match *self {
            ServiceDistribution::Deterministic { mean_s }
            | ServiceDistribution::Exponential { mean_s } => mean_s,
            ServiceDistribution::LogNormal { median_s, sigma } => {
                median_s * (sigma * sigma / 2.0).exp()
            }
        }
    }

    /// E\[S²\] in seconds squared (what Pollaczek–Khinchine needs besides the mean).
    pub fn second_moment_s2(&self) -> f64 {
        match *self {
            ServiceDistribution::Deterministic { mean_s } => mean_s * mean_s,
            ServiceDistribution::Exponential { mean_s } => 2.0 * mean_s * mean_s,
            ServiceDistribution::LogNormal { median_s, sigma } => {
                median_s * median_s * (2.0 * sigma * sigma).exp()
            }
        }
    }

    /// The Kendall letter of the service process.
    pub fn kendall_letter(&self) -> char {
        match self {
            ServiceDistribution::Deterministic { .. } => 'D',
            ServiceDistribution::Exponential { .. } => 'M',
            ServiceDistribution::LogNormal { .. } => 'G',
        }
    }
}

/// A queue with Poisson arrivals, `servers` FIFO servers and i.i.d. service times.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Queue {
    /// λ, requests per second.
    pub arrival_rate_per_s: f64,
    /// c, the number of servers (at least 1).
    pub servers: u64,
    /// The service-time distribution.
    pub service: ServiceDistribution,
}

impl Queue {
    /// ρ = λ·E\[S\]/c: the fraction of time a server is busy. A steady state exists iff ρ < 1.
    pub fn utilisation(&self) -> f64 {
        self.arrival_rate_per_s * self.service.mean_s() / self.servers.max(1) as f64
    }

    /// Kendall notation, e.g. `M/M/1`, `M/D/1`, `M/M/4`.
    pub fn kendall(&self) -> String {
        format!("M/{}/{}", self.service.kendall_letter(), self.servers)
    }

    /// The formula used for [`Queue::mean_wait_s`], for reports.
    pub fn formula(&self) -> &'static str {
        match (self.servers, self.service) {
            (1, ServiceDistribution::Exponential { .. }) => "Wq = ρ/(μ−λ)",
            (1, _) => "Pollaczek–Khinchine: Wq = λ·E[S²]/(2(1−ρ))",
            (_, ServiceDistribution::Exponential { .. }) => "Erlang C: Wq = C(c, λ/μ)/(c·μ−λ)",
            _ => "no closed form (M/G/c with c > 1)",
        }
    }

    /// Mean queue wait Wq in seconds; `None` without a steady state (ρ ≥ 1) or without a
    /// closed form (general service on more than one server).
    pub fn mean_wait_s(&self) -> Option<f64> {
        let rho = self.utilisation();
        if rho.is_nan() || rho >= 1.0 || self.servers == 0 {
            return None;
        }
        let lambda = self.arrival_rate_per_s;
        let mean = self.service.mean_s();
        match (self.servers, self.service) {
            (1, ServiceDistribution::Exponential { .. }) => Some(mm1_wait_s(lambda, 1.0 / mean)),
            (1, s) => Some(pollaczek_khinchine_wait_s(
                lambda,
                mean,
                s.second_moment_s2(),
            )),
            (c, ServiceDistribution::Exponential { .. }) => Some(mmc_wait_s(lambda, mean, c)),
            _ => None,
        }
    }
}

/// M/M/1: Wq = ρ/(μ − λ) with ρ = λ/μ (λ < μ).
pub fn mm1_wait_s(arrival_rate: f64, service_rate: f64) -> f64 {
    let rho = arrival_rate / service_rate;
    rho / (service_rate - arrival_rate)
}

/// M/G/1 (Pollaczek–Khinchine): Wq = λ·E\[S²\] / (2(1 − ρ)) with ρ = λ·E\[S\] < 1.
pub fn pollaczek_khinchine_wait_s(arrival_rate: f64, mean_s: f64, second_moment_s2: f64) -> f64 {
    let rho = arrival_rate * mean_s;
    arrival_rate * second_moment_s2 / (2.0 * (1.0 - rho))
}

/// Erlang C: the probability that an arrival waits in M/M/c with offered load `a = λ/μ < c`.
///
/// Computed through the Erlang B recurrence `B(k) = a·B(k−1) / (k + a·B(k−1))`, which stays in
/// [0, 1] at every step (no factorials or powers that overflow for large c), then
/// `C = B / (1 − ρ(1 − B))` with ρ = a/c.
pub fn erlang_c(servers: u64, offered_load: f64) -> f64 {
    let mut b = 1.0;
    for k in 1..=servers {
        b = offered_load * b / (k as f64 + offered_load * b);
    }
    let rho = offered_load / servers.max(1) as f64;
    b / (1.0 - rho * (1.0 - b))
}

/// M/M/c: Wq = C(c, a) / (c·μ − λ) with a = λ·E\[S\].
pub fn mmc_wait_s(arrival_rate: f64, mean_s: f64, servers: u64) -> f64 {
    let c = erlang_c(servers, arrival_rate * mean_s);
    c / (servers as f64 / mean_s - arrival_rate)
}

/// Non-preemptive priority M/G/1 (Cobham 1954): the mean queue wait of each class, most
/// urgent first, when classes arriving at `class_rates_per_s` share one server with service
/// law `service`: W_k = W0 / ((1 − σ_{k−1})(1 − σ_k)), W0 = Σ λ_i·E\[S²\]/2 (the mean residual
/// work found in service), σ_k = Σ_{i≤k} ρ_i. `None` unless every class has a finite wait
/// (σ of all classes < 1).
pub fn cobham_waits_s(class_rates_per_s: &[f64], service: ServiceDistribution) -> Option<Vec<f64>> {
    let total: f64 = class_rates_per_s.iter().sum();
    let w0 = total * service.second_moment_s2() / 2.0;
    let rho = total * service.mean_s();
    if rho.is_nan() || rho >= 1.0 {
        return None;
    }
    let mut sigma_before = 0.0;
    let waits = class_rates_per_s
        .iter()
        .map(|rate| {
            let sigma = sigma_before + rate * service.mean_s();
            let wait = w0 / ((1.0 - sigma_before) * (1.0 - sigma));
            sigma_before = sigma;
            wait
        })
        .collect();
    Some(waits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1e-12)
    }

    #[test]
    fn mm1_textbook_values() {
        // λ = 2, μ = 3: ρ = 2/3, Wq = (2/3)/1 = 0.6667 (e.g. Kleinrock vol. 1, §3.2).
        assert!(close(mm1_wait_s(2.0, 3.0), 2.0 / 3.0, 1e-12));
        // λ = 7, μ = 10 (the mm1.yaml case): 0.7/3.
        assert!(close(mm1_wait_s(7.0, 10.0), 0.7 / 3.0, 1e-12));
    }

    #[test]
    fn md1_waits_half_as_long_as_mm1() {
        // M/D/1, λ = 0.5, S = 1: Wq = 0.5·1/(2·0.5) = 0.5; M/M/1 at the same load: 1.0.
        let md1 = Queue {
            arrival_rate_per_s: 0.5,
            servers: 1,
            service: ServiceDistribution::Deterministic { mean_s: 1.0 },
        };
        assert!(close(md1.mean_wait_s().unwrap_or(0.0), 0.5, 1e-12));
        assert!(close(mm1_wait_s(0.5, 1.0), 1.0, 1e-12));
    }

    #[test]
    fn pollaczek_khinchine_with_exponential_service_is_mm1() {
        let pk = pollaczek_khinchine_wait_s(7.0, 0.1, 2.0 * 0.01);
        assert!(close(pk, mm1_wait_s(7.0, 10.0), 1e-12));
    }

    #[test]
    fn lognormal_moments() {
        let s = ServiceDistribution::LogNormal {
            median_s: 0.1,
            sigma: 0.5,
        };
        assert!(close(s.mean_s(), 0.1 * 0.125f64.exp(), 1e-12));
        assert!(close(s.second_moment_s2(), 0.01 * 0.5f64.exp(), 1e-12));
        // The mg1-lognormal.yaml case: λ = 6/s → Wq ≈ 154.5 ms.
        let q = Queue {
            arrival_rate_per_s: 6.0,
            servers: 1,
            service: s,
        };
        assert!(close(q.mean_wait_s().unwrap_or(0.0), 0.154_52, 1e-3));
    }

    #[test]
    fn erlang_c_textbook_values() {
        // c = 2, a = 1: C = 1/3. c = 4, a = 3: C ≈ 0.5094 (standard Erlang C tables).
        assert!(close(erlang_c(2, 1.0), 1.0 / 3.0, 1e-12));
        assert!(close(erlang_c(4, 3.0), 0.509_434, 1e-5));
        // One server: C = ρ, and M/M/c reduces to M/M/1.
        assert!(close(erlang_c(1, 0.7), 0.7, 1e-12));
        assert!(close(mmc_wait_s(7.0, 0.1, 1), mm1_wait_s(7.0, 10.0), 1e-12));
        // The mmc.yaml case: λ = 3/s, E[S] = 1 s, c = 4 → Wq = C/(4 − 3).
        assert!(close(mmc_wait_s(3.0, 1.0, 4), 0.509_434, 1e-5));
    }

    #[test]
    fn erlang_c_is_stable_for_many_servers() {
        // 1,000 servers at ρ = 0.95: factorial-based formulas overflow here; the recurrence
        // stays finite and a probability.
        let c = erlang_c(1000, 950.0);
        assert!(c.is_finite() && c > 0.0 && c < 1.0, "{c}");
    }

    #[test]
    fn no_steady_state_and_no_closed_form_give_none() {
        let overloaded = Queue {
            arrival_rate_per_s: 12.0,
            servers: 1,
            service: ServiceDistribution::Exponential { mean_s: 0.1 },
        };
        assert!(overloaded.utilisation() > 1.0);
        assert_eq!(overloaded.mean_wait_s(), None);
        let mgc = Queue {
            arrival_rate_per_s: 1.0,
            servers: 2,
            service: ServiceDistribution::Deterministic { mean_s: 1.0 },
        };
        assert_eq!(mgc.mean_wait_s(), None);
        assert_eq!(mgc.kendall(), "M/D/2");
    }

    #[test]
    fn cobham_textbook_values_and_conservation() {
        // Two classes of λ = 4/s each, exponential S with mean 100 ms (ρ = 0.4 each):
        // W0 = 8·0.02/2 = 0.08 s; W1 = 0.08/0.6 = 0.1333 s; W2 = 0.08/(0.6·0.2) = 0.6667 s.
        let s = ServiceDistribution::Exponential { mean_s: 0.1 };
        let w = cobham_waits_s(&[4.0, 4.0], s).unwrap_or_default();
        assert!(
            close(w[0], 0.08 / 0.6, 1e-12) && close(w[1], 0.08 / 0.12, 1e-12),
            "{w:?}"
        );
        // Kleinrock's conservation law: the load-weighted mean wait equals the FIFO wait.
        let fifo = mm1_wait_s(8.0, 10.0);
        assert!(close((w[0] + w[1]) / 2.0, fifo, 1e-12));
        // One class is Pollaczek–Khinchine; an overloaded server has no waits.
        let one = cobham_waits_s(&[7.0], s).unwrap_or_default();
        assert!(close(one[0], mm1_wait_s(7.0, 10.0), 1e-12));
        assert_eq!(cobham_waits_s(&[6.0, 5.0], s), None);
    }
}
