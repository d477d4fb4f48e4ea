//! `provider:` → [`ProviderSpec`]: resolve a profile or check an inline block; per kind, the
//! limits it needs and the fields it takes.

use super::super::raw::S;
use super::RawProvider;
use super::latency;
use super::library::resolve_profile;
use super::parts::{self, MAX_LIMIT, at, count, within};
use crate::provider::{KindSpec, OtpmCounting, ProviderSpec};
use spillway_core::Duration;
use spillway_core::policy::Reporter;

const KINDS: &str = "`basic`, `openai`, `anthropic`, `azure`, `gemini`, `generic`, `unlimited`";
/// Calls served at once when a profile does not say.
const DEFAULT_CONCURRENCY: u64 = 1000;
/// Most servers an `unlimited` provider may have (memory grows with it).
const MAX_CONCURRENCY: i64 = 1_000_000;
const DEFAULT_RETRY_AFTER_PROBABILITY: f64 = 0.5;

/// The fields that depend on the kind: (name, required by which kinds, allowed for which).
const KIND_FIELDS: [(&str, &[&str], &[&str]); 10] = [
    (
        "rpm",
        &["basic", "openai", "anthropic", "azure", "gemini"],
        &[],
    ),
    ("tpm", &["basic", "openai", "azure", "gemini"], &[]),
    ("rpd", &[], &["openai", "gemini"]),
    ("itpm", &["anthropic"], &[]),
    ("otpm", &["anthropic"], &[]),
    ("limit", &["generic"], &[]),
    ("window", &["generic"], &[]),
    ("sub_window", &[], &["azure"]),
    ("otpm_counting", &[], &["anthropic"]),
    ("retry_after_probability", &[], &["openai"]),
];

/// What a kind takes, for messages: `rpm, tpm, rpd (optional)`.
fn takes(kind: &str) -> String {
    let mut out: Vec<String> = KIND_FIELDS
        .iter()
        .filter_map(|(name, req, opt)| {
            if req.contains(&kind) {
                Some((*name).to_string())
            } else if opt.contains(&kind) {
                Some(format!("{name} (optional)"))
            } else {
                None
            }
        })
        .collect();
    if kind == "openai" {
        out.push("count_rejected (optional)".into());
    }
    if kind == "unlimited" {
        out.push("concurrency".into());
    }
    out.join(", ")
}

/// The validated provider of a scenario (`r` reports against the scenario file).
pub(crate) fn provider(p: &RawProvider, r: &mut Reporter<'_>) -> Option<ProviderSpec> {
    match &p.profile {
        Some(profile) => resolve_profile(p, profile, r),
        None => {
            if let Some(lib) = &p.library {
                at(
                    r,
                    lib,
                    "`library` only applies together with `profile: NAME`",
                );
                return None;
            }
            inline(p, r, "provider")
        }
    }
}

/// A complete provider description (inline, or one profile of a library).
pub(crate) fn inline(p: &RawProvider, r: &mut Reporter<'_>, section: &str) -> Option<ProviderSpec> {
    let name = match &p.name {
        Some(n) => Some(n.value.clone()),
        None => {
            r.whole(&format!("{section}.name"), "a provider needs a `name`");
            None
        }
    };
    let kind = kind(p, r, section);
    let concurrency = concurrency(p, r, kind.as_ref(), section);
    let latency = match &p.latency {
        Some(l) => latency::latency(r, l, &format!("{section}.latency")),
        None => {
            r.whole(
                &format!("{section}.latency"),
                "a provider needs `latency` (e.g. `{ base: 500ms, per_output_token: 10ms }`)",
            );
            None
        }
    };
    let error_latency = match (&p.error_latency, &kind) {
        (Some(d), _) => parts::duration(r, d),
        (None, Some(KindSpec::Basic { .. })) => Some(Duration::ZERO),
        (None, _) => Some(crate::provider::DEFAULT_ERROR_LATENCY),
    };
    let overload = match &p.overload {
        Some(o) => parts::overload(r, o).map(Some),
        None => Some(None),
    };
    let outages = parts::outages(r, &p.outages);
    let shared = parts::shared(r, &p.shared_quota);
    let start = parts::wall_clock(r, p.wall_clock_start.as_ref());
    let price = parts::price(r, p.price.as_ref());
    Some(ProviderSpec {
        name: name?,
        kind: kind?,
        concurrency: concurrency?,
        latency: latency?,
        error_latency: error_latency?,
        overload: overload?,
        outages: outages?,
        shared_quota: shared?,
        wall_clock_start: start?,
        price: price?,
    })
}

/// The kind-dependent fields with their locations (if given).
pub(super) fn kind_fields(p: &RawProvider) -> [(&'static str, Option<(usize, usize)>); 11] {
    fn loc<T>(v: &Option<S<T>>) -> Option<(usize, usize)> {
        v.as_ref()
            .map(|s| (s.referenced.line() as usize, s.referenced.column() as usize))
    }
    [
        ("rpm", loc(&p.rpm)),
        ("tpm", loc(&p.tpm)),
        ("rpd", loc(&p.rpd)),
        ("itpm", loc(&p.itpm)),
        ("otpm", loc(&p.otpm)),
        ("limit", loc(&p.limit)),
        ("window", loc(&p.window)),
        ("sub_window", loc(&p.sub_window)),
        ("otpm_counting", loc(&p.otpm_counting)),
        ("retry_after_probability", loc(&p.retry_after_probability)),
        ("count_rejected", loc(&p.count_rejected)),
    ]
}

/// Reports fields the kind does not take and limits it needs but lacks; true if all is well.
fn check_fields(p: &RawProvider, kind: &str, r: &mut Reporter<'_>, section: &str) -> bool {
    let mut ok = true;
    for (name, loc) in kind_fields(p) {
        let entry = KIND_FIELDS.iter().find(|(n, _, _)| *n == name);
        let (required, allowed) = match entry {
            Some((_, req, opt)) => (
                req.contains(&kind),
                req.contains(&kind) || opt.contains(&kind),
            ),
            None => (false, kind == "openai"), // count_rejected
        };
        match loc {
            Some((line, column)) if !allowed => {
                r.at(
                    line,
                    column,
                    format!(
                        "`{name}` does not apply to kind `{kind}`, which takes: {}",
                        takes(kind)
                    ),
                );
                ok = false;
            }
            None if required => {
                let message = format!(
                    "kind `{kind}` needs `{name}` (a whole number ≥ 1 or a duration); it takes: {}",
                    takes(kind)
                );
                match (&p.kind, &p.name) {
                    (Some(k), _) => at(r, k, message),
                    (None, Some(n)) => at(r, n, message),
                    (None, None) => r.whole(&format!("{section}.{name}"), message),
                }
                ok = false;
            }
            _ => {}
        }
    }
    ok
}

/// The limits as given: `None` if absent, `Some(None)` if out of range (already reported).
struct Limits {
    rpm: Option<Option<u64>>,
    tpm: Option<Option<u64>>,
    rpd: Option<Option<u64>>,
    itpm: Option<Option<u64>>,
    otpm: Option<Option<u64>>,
    limit: Option<Option<u64>>,
}

impl Limits {
    fn read(p: &RawProvider, r: &mut Reporter<'_>) -> Limits {
        let mut one =
            |v: &Option<S<i64>>, field: &str| v.as_ref().map(|v| count(r, v, field, MAX_LIMIT));
        Limits {
            rpm: one(&p.rpm, "rpm"),
            tpm: one(&p.tpm, "tpm"),
            rpd: one(&p.rpd, "rpd"),
            itpm: one(&p.itpm, "itpm"),
            otpm: one(&p.otpm, "otpm"),
            limit: one(&p.limit, "limit"),
        }
    }
}

/// A required limit: present (checked by [`check_fields`]) and in range.
fn req(v: Option<Option<u64>>) -> Option<u64> {
    v.flatten()
}

/// An optional limit: absent is fine, out of range is not.
fn opt(v: Option<Option<u64>>) -> Option<Option<u64>> {
    match v {
        Some(v) => v.map(Some),
        None => Some(None),
    }
}

fn kind(p: &RawProvider, r: &mut Reporter<'_>, section: &str) -> Option<KindSpec> {
    let name = p.kind.as_ref().map_or("basic", |k| k.value.as_str());
    if !is_kind(name) {
        if let Some(k) = &p.kind {
            at(
                r,
                k,
                format!("unknown provider kind `{name}`; expected {KINDS}"),
            );
        }
        return None;
    }
    let fields_ok = check_fields(p, name, r, section);
    let l = Limits::read(p, r);
    let spec = match name {
        "basic" => KindSpec::Basic {
            rpm: req(l.rpm)?,
            tpm: req(l.tpm)?,
        },
        "openai" => {
            let hint = match &p.retry_after_probability {
                Some(v) => within(
                    r,
                    v,
                    "retry_after_probability",
                    0.0..=1.0,
                    "a probability in [0, 1]",
                ),
                None => Some(DEFAULT_RETRY_AFTER_PROBABILITY),
            };
            KindSpec::OpenAi {
                rpm: req(l.rpm)?,
                tpm: req(l.tpm)?,
                rpd: opt(l.rpd)?,
                retry_after_probability: hint?,
                count_rejected: p.count_rejected.as_ref().is_none_or(|c| c.value),
            }
        }
        "anthropic" => {
            let counting = otpm_counting(p, r);
            KindSpec::Anthropic {
                rpm: req(l.rpm)?,
                itpm: req(l.itpm)?,
                otpm: req(l.otpm)?,
                otpm_counting: counting?,
            }
        }
        "azure" => {
            let sub = sub_window(p, r);
            KindSpec::Azure {
                rpm: req(l.rpm)?,
                tpm: req(l.tpm)?,
                sub_window: sub?,
            }
        }
        "gemini" => KindSpec::Gemini {
            rpm: req(l.rpm)?,
            tpm: req(l.tpm)?,
            rpd: opt(l.rpd)?,
        },
        "generic" => {
            let window = p.window.as_ref().and_then(|w| positive(r, w, "window"));
            KindSpec::Generic {
                limit: req(l.limit)?,
                window: window?,
            }
        }
        _ => KindSpec::Unlimited,
    };
    fields_ok.then_some(spec)
}

/// Whether `kind` names a provider kind.
fn is_kind(kind: &str) -> bool {
    [
        "basic",
        "openai",
        "anthropic",
        "azure",
        "gemini",
        "generic",
        "unlimited",
    ]
    .contains(&kind)
}

fn positive(r: &mut Reporter<'_>, v: &S<String>, field: &str) -> Option<Duration> {
    let d = parts::duration(r, v)?;
    if d.is_zero() {
        at(r, v, format!("`{field}` must be longer than 0"));
        return None;
    }
    Some(d)
}

fn otpm_counting(p: &RawProvider, r: &mut Reporter<'_>) -> Option<OtpmCounting> {
    match p.otpm_counting.as_ref().map(|v| (v, v.value.as_str())) {
        None | Some((_, "actual")) => Some(OtpmCounting::Actual),
        Some((_, "max_tokens")) => Some(OtpmCounting::MaxTokens),
        Some((v, other)) => {
            at(
                r,
                v,
                format!(
                    "unknown `otpm_counting` `{other}`; expected `max_tokens` (2025 docs: reserved at admission) or `actual` (2026 docs: counted as produced)"
                ),
            );
            None
        }
    }
}

fn sub_window(p: &RawProvider, r: &mut Reporter<'_>) -> Option<Duration> {
    let Some(v) = &p.sub_window else {
        return Some(Duration::from_secs(10));
    };
    match parts::duration(r, v)? {
        d if d == Duration::from_secs(1) || d == Duration::from_secs(10) => Some(d),
        _ => {
            at(
                r,
                v,
                format!(
                    "`sub_window` must be `1s` or `10s` (Azure judges rates over one of these), got `{}`",
                    v.value
                ),
            );
            None
        }
    }
}

fn concurrency(
    p: &RawProvider,
    r: &mut Reporter<'_>,
    kind: Option<&KindSpec>,
    section: &str,
) -> Option<u64> {
    match &p.concurrency {
        Some(c) => count(r, c, "concurrency", MAX_CONCURRENCY),
        None if matches!(kind, Some(KindSpec::Unlimited)) => {
            r.whole(
                &format!("{section}.concurrency"),
                "kind `unlimited` needs `concurrency` (the number of servers c, 1 to 1000000)",
            );
            None
        }
        None => Some(DEFAULT_CONCURRENCY),
    }
}
