//! The limits of one provider kind as a list of [`Gate`]s: a [`Meter`], what a call costs on
//! it ([`Charge`]), how it is named in headers and in the truth report, and the share the other
//! tenants of the quota take from it.

use super::answer::LimitedBy;
use super::calendar::WallClock;
use super::meter::{Cadence, Meter};
use super::spec::{KindSpec, OtpmCounting, SharedQuotaSpec};
use spillway_core::{Duration, Time};

const MINUTE: Duration = Duration::from_secs(60);
const DAY: Duration = Duration::from_secs(86_400);
const PPM: u128 = 1_000_000;

/// What one call costs on a gate.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Charge {
    /// One request.
    Requests,
    /// Input + `max_tokens`, reserved at admission and never settled (OpenAI, Azure).
    InputPlusMax,
    /// Input + actual output, clamped to the limit (the original model).
    InputPlusOutputClamped,
    /// Input tokens only (Anthropic ITPM, Gemini TPM).
    Input,
    /// `max_tokens` reserved at admission, the unused part refunded at completion.
    OutputReserved,
    /// Needs one token of headroom to start; the actual output is charged at completion.
    OutputAtCompletion,
}

/// A call's token counts.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct CallRequest {
    /// Prompt tokens.
    pub input_tokens: u64,
    /// The `max_tokens` the client sent (what OpenAI/Azure/Anthropic-2025 reserve).
    pub max_tokens: u64,
    /// Tokens the completion will really have (the simulator knows; the provider charges it
    /// when its semantics say so).
    pub output_tokens: u64,
}

impl Charge {
    /// (cost to check, cost to commit) at admission.
    pub(crate) fn at_admission(self, req: &CallRequest, limit: u64) -> (u64, u64) {
        let c = match self {
            Charge::Requests => 1,
            Charge::InputPlusMax => req.input_tokens.saturating_add(req.max_tokens),
            Charge::InputPlusOutputClamped => req
                .input_tokens
                .saturating_add(req.output_tokens)
                .min(limit),
            Charge::Input => req.input_tokens,
            Charge::OutputReserved => req.max_tokens,
            Charge::OutputAtCompletion => return (1, 0),
        };
        (c, c)
    }
}

/// One limit of a provider.
#[derive(Clone, Debug)]
pub(crate) struct Gate {
    pub(crate) by: LimitedBy,
    /// The header family name (`requests`, `tokens`, …), if the provider reports it.
    pub(crate) wire_name: Option<&'static str>,
    pub(crate) charge: Charge,
    pub(crate) meter: Meter,
    /// The shared consumers' share is accounted up to here …
    accrued_to: Time,
    /// … with this remainder (units: token·ns·ppm, below one whole token).
    carry: u128,
}

impl Gate {
    /// A gate named in headers after what it limits (`requests`, `tokens`, `input-tokens`,
    /// `output-tokens`); daily limits appear in no header.
    fn new(by: LimitedBy, charge: Charge, meter: Option<Meter>) -> Option<Gate> {
        let wire_name = match by {
            LimitedBy::Requests => Some("requests"),
            LimitedBy::Tokens => Some("tokens"),
            LimitedBy::InputTokens => Some("input-tokens"),
            LimitedBy::OutputTokens => Some("output-tokens"),
            _ => None,
        };
        Some(Gate {
            by,
            wire_name,
            charge,
            meter: meter?,
            accrued_to: Time::ZERO,
            carry: 0,
        })
    }

    /// Rolls the window to `now` and lets the other tenants take their share of
    /// `[accrued_to, now)` (only the part inside the current window matters: what they took
    /// in a closed window is gone with it).
    pub(crate) fn advance(&mut self, now: Time, shared: &[SharedQuotaSpec]) {
        let window_start = self.meter.roll(now);
        if self.accrued_to < window_start {
            self.accrued_to = window_start;
            self.carry = 0;
        }
        if now <= self.accrued_to {
            return;
        }
        let mut numerator = self.carry;
        for s in shared {
            let from = s.start.max(self.accrued_to);
            let to = s.end.min(now);
            if to > from {
                let share = u128::from(to.saturating_since(from).as_nanos())
                    .saturating_mul(u128::from(self.meter.limit()))
                    .saturating_mul(u128::from(s.fraction_ppm));
                numerator = numerator.saturating_add(share);
            }
        }
        if numerator == 0 {
            // No other tenant (the usual case) and nothing carried: nothing to take, and the
            // 128-bit division below would only say so.
            self.accrued_to = now;
            return;
        }
        let denominator = u128::from(self.meter.period().as_nanos().max(1)) * PPM;
        let amount = numerator / denominator;
        self.carry = numerator % denominator;
        if amount > 0 {
            self.meter
                .take_up_to(now, u64::try_from(amount).unwrap_or(u64::MAX));
        }
        self.accrued_to = now;
    }
}

/// The gates of a provider kind, in the order a 429 names them on ties.
pub(crate) fn gates_for(kind: &KindSpec, clock: WallClock) -> Vec<Gate> {
    use Charge as C;
    use LimitedBy as L;
    let minute = |limit| Meter::bucket(limit, MINUTE);
    let window = |limit, cadence| Meter::window(limit, cadence, clock);
    let each_minute = |limit| window(limit, Cadence::Every(MINUTE));
    let gates = match *kind {
        KindSpec::Basic { rpm, tpm } => vec![
            Gate::new(L::Requests, C::Requests, minute(rpm)),
            Gate::new(L::Tokens, C::InputPlusOutputClamped, minute(tpm)),
        ],
        KindSpec::OpenAi { rpm, tpm, rpd, .. } => vec![
            Gate::new(L::Requests, C::Requests, minute(rpm)),
            Gate::new(L::Tokens, C::InputPlusMax, minute(tpm)),
            rpd.and_then(|rpd| Gate::new(L::RequestsPerDay, C::Requests, Meter::bucket(rpd, DAY))),
        ],
        KindSpec::Anthropic {
            rpm,
            itpm,
            otpm,
            otpm_counting,
        } => {
            let output = match otpm_counting {
                OtpmCounting::MaxTokens => C::OutputReserved,
                OtpmCounting::Actual => C::OutputAtCompletion,
            };
            vec![
                Gate::new(L::Requests, C::Requests, minute(rpm)),
                Gate::new(L::InputTokens, C::Input, minute(itpm)),
                Gate::new(L::OutputTokens, output, minute(otpm)),
            ]
        }
        KindSpec::Azure {
            rpm,
            tpm,
            sub_window,
        } => {
            // Requests are judged per sub-window at the per-minute rate scaled down; tokens
            // per wall-clock minute (a per-10 s token limit would refuse ordinary requests).
            let per_sub = u128::from(rpm) * u128::from(sub_window.as_nanos());
            let per_sub = per_sub.div_ceil(u128::from(MINUTE.as_nanos())).max(1);
            let per_sub = u64::try_from(per_sub).unwrap_or(u64::MAX);
            vec![
                Gate::new(
                    L::Requests,
                    C::Requests,
                    window(per_sub, Cadence::Every(sub_window)),
                ),
                Gate::new(L::Tokens, C::InputPlusMax, each_minute(tpm)),
            ]
        }
        KindSpec::Gemini { rpm, tpm, rpd } => vec![
            Gate::new(L::Requests, C::Requests, each_minute(rpm)),
            Gate::new(L::Tokens, C::Input, each_minute(tpm)),
            rpd.and_then(|rpd| {
                Gate::new(
                    L::RequestsPerDay,
                    C::Requests,
                    window(rpd, Cadence::PacificDay),
                )
            }),
        ],
        KindSpec::Generic { limit, window: w } => {
            vec![Gate::new(
                L::Requests,
                C::Requests,
                window(limit, Cadence::Every(w)),
            )]
        }
        KindSpec::Unlimited => Vec::new(),
    };
    gates.into_iter().flatten().collect()
}
