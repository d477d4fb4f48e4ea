//! Header names → meaning: which [`Provider`] family, which [`Dimension`], which [`Field`].
//!
//! Names are compared in ASCII lower case (HTTP field names are case-insensitive). The value
//! format is *not* decided here: every reset format is recognisable by its syntax (see
//! [`super::reset`]), so a header is read the same way whichever provider sent it.

use std::fmt;

/// Who sent the headers. Passed as a hint; [`Provider::Auto`] infers it from header names.
///
/// The hint only labels the snapshot: values are never read differently because of it, so a
/// wrong hint cannot corrupt a number. It exists so a caller can name a provider that sends
/// no identifying headers (Gemini sends no rate-limit headers at all) and so reports can group
/// by provider.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Provider {
    /// OpenAI and OpenAI-compatible APIs (Groq): `x-ratelimit-*` with Go durations.
    OpenAi,
    /// Anthropic: `anthropic-ratelimit-*` with RFC 3339 resets.
    Anthropic,
    /// Azure OpenAI: `x-ratelimit-*` with integer-second resets, `x-rate-limit-*`, `x-ms-*`.
    Azure,
    /// Gemini API / Vertex AI (wait hints only in the body).
    Gemini,
    /// Mistral: `ratelimitbysize-*`.
    Mistral,
    /// Anything else: `X-RateLimit-Limit/Remaining/Reset`, `RateLimit-*`, `Retry-After`.
    Generic,
    /// Infer from the header names (the snapshot then names what was inferred).
    Auto,
}

impl Provider {
    /// Every provider, for CLIs and tests.
    pub const ALL: [Provider; 7] = [
        Provider::OpenAi,
        Provider::Anthropic,
        Provider::Azure,
        Provider::Gemini,
        Provider::Mistral,
        Provider::Generic,
        Provider::Auto,
    ];

    /// A stable lower-case name (`openai`, `anthropic`, …) for JSON, CLIs and config.
    pub const fn name(self) -> &'static str {
        match self {
            Provider::OpenAi => "openai",
            Provider::Anthropic => "anthropic",
            Provider::Azure => "azure",
            Provider::Gemini => "gemini",
            Provider::Mistral => "mistral",
            Provider::Generic => "generic",
            Provider::Auto => "auto",
        }
    }

    /// The provider called `name` (case-insensitive), the inverse of [`Provider::name`].
    pub fn from_name(name: &str) -> Option<Provider> {
        Provider::ALL
            .into_iter()
            .find(|p| p.name().eq_ignore_ascii_case(name))
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Longest dimension name kept as [`Dimension::Other`]; longer unknown suffixes are ignored.
const MAX_OTHER_NAME: usize = 48;

/// What a limit counts. Ordered (declaration order, then name) so maps of dimensions iterate
/// deterministically.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum Dimension {
    /// A header with no dimension in its name (`X-RateLimit-Limit`); usually requests, but the
    /// header does not say, so neither do we.
    Unqualified,
    /// Requests (per minute for OpenAI/Anthropic, per *day* for Groq, per 10 s for Azure).
    Requests,
    /// Tokens (OpenAI/Azure: all tokens; Anthropic: the most restrictive token limit in force;
    /// Mistral: `ratelimitbysize`).
    Tokens,
    /// Input tokens (Anthropic ITPM).
    InputTokens,
    /// Output tokens (Anthropic OTPM).
    OutputTokens,
    /// Project-level tokens (OpenAI `-project-tokens`).
    ProjectTokens,
    /// OpenAI's usage-based token counter (`tokens_usage_based`, seen 2025).
    TokensUsageBased,
    /// Project-level usage-based tokens (`project-tokens_usage_based`).
    ProjectTokensUsageBased,
    /// Anthropic Priority Tier input tokens.
    PriorityInputTokens,
    /// Anthropic Priority Tier output tokens.
    PriorityOutputTokens,
    /// Any other dimension, by its lower-case name as the header spells it (`images`,
    /// `unified-5h` for Anthropic's subscription windows, `tokens-per-month` for Mistral).
    /// Build it with [`Dimension::from_name`] so known names get their own variant.
    Other(String),
}

/// Known dimensions and their stable names.
const KNOWN: [(Dimension, &str); 10] = [
    (Dimension::Unqualified, "unqualified"),
    (Dimension::Requests, "requests"),
    (Dimension::Tokens, "tokens"),
    (Dimension::InputTokens, "input-tokens"),
    (Dimension::OutputTokens, "output-tokens"),
    (Dimension::ProjectTokens, "project-tokens"),
    (Dimension::TokensUsageBased, "tokens_usage_based"),
    (
        Dimension::ProjectTokensUsageBased,
        "project-tokens_usage_based",
    ),
    (Dimension::PriorityInputTokens, "priority-input-tokens"),
    (Dimension::PriorityOutputTokens, "priority-output-tokens"),
];

impl Dimension {
    /// The stable name: the header suffix providers use (`requests`, `input-tokens`, …).
    pub fn name(&self) -> &str {
        match self {
            Dimension::Other(name) => name,
            known => KNOWN
                .iter()
                .find(|(d, _)| d == known)
                .map_or("unqualified", |(_, name)| name),
        }
    }

    /// The dimension called `name` (ASCII case-insensitive): a known variant, else
    /// [`Dimension::Other`] if `name` is 1-48 characters of `a-z 0-9 - _ .`, else `None`.
    pub fn from_name(name: &str) -> Option<Dimension> {
        let lower = name.to_ascii_lowercase();
        if let Some((d, _)) = KNOWN.iter().find(|(_, n)| *n == lower) {
            return Some(d.clone());
        }
        let token = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b);
        (!lower.is_empty() && lower.len() <= MAX_OTHER_NAME && lower.bytes().all(token))
            .then_some(Dimension::Other(lower))
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Which number of a dimension a header carries.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum Field {
    Limit,
    Remaining,
    Reset,
    /// A fraction of the limit used (Anthropic `unified-*-utilization`).
    Utilization,
}

impl Field {
    /// `limit`, `remaining` or `reset` (utilization exists only in Anthropic's layout).
    fn from_word(word: &str) -> Option<Field> {
        match word {
            "limit" => Some(Field::Limit),
            "remaining" => Some(Field::Remaining),
            "reset" => Some(Field::Reset),
            _ => None,
        }
    }
}

/// What a header name means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Class {
    /// `date`: the provider's clock when it generated the response.
    Date,
    /// `retry-after`.
    RetryAfter,
    /// `retry-after-ms`.
    RetryAfterMs,
    /// One number of one dimension, in the format family of `family`.
    Field {
        family: Provider,
        dim: Dimension,
        field: Field,
    },
    /// Not rate-limit data; `marker` if the name identifies a provider (`x-ms-region`).
    Other { marker: Option<Provider> },
}

/// Classifies a lower-case header name.
pub(crate) fn classify(name: &str) -> Class {
    match name {
        "date" => return Class::Date,
        "retry-after" => return Class::RetryAfter,
        "retry-after-ms" => return Class::RetryAfterMs,
        _ => {}
    }
    let field = if let Some(rest) = name.strip_prefix("x-ratelimit-") {
        openai_style(rest, Provider::OpenAi)
    } else if let Some(rest) = name.strip_prefix("x-rate-limit-") {
        // Azure's hyphenated variant (openai-python#937); unqualified it is Twitter-style.
        openai_style(rest, Provider::Azure)
    } else if let Some(rest) = name.strip_prefix("ratelimit-") {
        // The IETF draft's `RateLimit-Limit/Remaining/Reset`.
        Field::from_word(rest).map(|f| (Provider::Generic, Dimension::Unqualified, f))
    } else if let Some(rest) = name.strip_prefix("anthropic-ratelimit-") {
        dimension_then_field(rest, "")
    } else if let Some(rest) = name.strip_prefix("anthropic-priority-") {
        dimension_then_field(rest, "priority-")
    } else {
        mistral(name)
    };
    match field {
        Some((family, dim, field)) => Class::Field { family, dim, field },
        None => Class::Other {
            marker: marker(name),
        },
    }
}

/// `{limit,remaining,reset}[-dimension]` after `x-ratelimit-` / `x-rate-limit-`.
fn openai_style(rest: &str, family: Provider) -> Option<(Provider, Dimension, Field)> {
    match rest.split_once('-') {
        None => Field::from_word(rest).map(|f| (Provider::Generic, Dimension::Unqualified, f)),
        Some((word, suffix)) => {
            let field = Field::from_word(word)?;
            Some((family, Dimension::from_name(suffix)?, field))
        }
    }
}

/// Anthropic's `{dimension}-{field}` (e.g. `input-tokens-reset`, `unified-5h-utilization`).
fn dimension_then_field(rest: &str, prefix: &str) -> Option<(Provider, Dimension, Field)> {
    let (dim, word) = rest.rsplit_once('-')?;
    let field = match word {
        "utilization" => Field::Utilization,
        _ => Field::from_word(word)?,
    };
    let dim = Dimension::from_name(&format!("{prefix}{dim}"))?;
    Some((Provider::Anthropic, dim, field))
}

/// Mistral: `ratelimitbysize-{limit,remaining,reset}` (tokens) and
/// `x-ratelimitbysize-{limit,remaining}-{minute,month}`.
fn mistral(name: &str) -> Option<(Provider, Dimension, Field)> {
    if let Some(word) = name.strip_prefix("ratelimitbysize-") {
        let field = Field::from_word(word)?;
        return Some((Provider::Mistral, Dimension::Tokens, field));
    }
    let (word, period) = name.strip_prefix("x-ratelimitbysize-")?.split_once('-')?;
    let field = Field::from_word(word)?;
    let dim = Dimension::from_name(&format!("tokens-per-{period}"))?;
    Some((Provider::Mistral, dim, field))
}

/// The provider a non-rate-limit header name identifies, if any.
fn marker(name: &str) -> Option<Provider> {
    let starts = |prefixes: &[&str]| prefixes.iter().any(|p| name.starts_with(p));
    if starts(&["anthropic-"]) {
        Some(Provider::Anthropic)
    } else if starts(&["x-ms-", "apim-", "azureml-"]) {
        Some(Provider::Azure)
    } else if starts(&["openai-"]) {
        Some(Provider::OpenAi)
    } else if starts(&["ratelimitbysize-", "x-ratelimitbysize-"]) {
        Some(Provider::Mistral)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str) -> (Provider, Dimension, Field) {
        match classify(name) {
            Class::Field { family, dim, field } => (family, dim, field),
            other => panic!("{name}: {other:?}"),
        }
    }

    #[test]
    fn openai_and_azure_names() {
        use Dimension as D;
        use Provider as P;
        let cases = [
            (
                "x-ratelimit-limit-requests",
                P::OpenAi,
                D::Requests,
                Field::Limit,
            ),
            (
                "x-ratelimit-reset-tokens",
                P::OpenAi,
                D::Tokens,
                Field::Reset,
            ),
            (
                "x-ratelimit-reset-project-tokens",
                P::OpenAi,
                D::ProjectTokens,
                Field::Reset,
            ),
            (
                "x-ratelimit-remaining-tokens_usage_based",
                P::OpenAi,
                D::TokensUsageBased,
                Field::Remaining,
            ),
            (
                "x-rate-limit-reset-tokens",
                P::Azure,
                D::Tokens,
                Field::Reset,
            ),
            (
                "x-ratelimit-reset",
                P::Generic,
                D::Unqualified,
                Field::Reset,
            ),
            (
                "x-rate-limit-limit",
                P::Generic,
                D::Unqualified,
                Field::Limit,
            ),
            (
                "ratelimit-remaining",
                P::Generic,
                D::Unqualified,
                Field::Remaining,
            ),
            (
                "x-ratelimit-limit-images",
                P::OpenAi,
                D::Other("images".into()),
                Field::Limit,
            ),
        ];
        for (name, family, dim, f) in cases {
            assert_eq!(field(name), (family, dim, f), "{name}");
        }
    }

    #[test]
    fn anthropic_and_mistral_names() {
        use Dimension as D;
        use Provider as P;
        let cases = [
            (
                "anthropic-ratelimit-requests-reset",
                D::Requests,
                Field::Reset,
            ),
            ("anthropic-ratelimit-tokens-limit", D::Tokens, Field::Limit),
            (
                "anthropic-ratelimit-input-tokens-remaining",
                D::InputTokens,
                Field::Remaining,
            ),
            (
                "anthropic-ratelimit-output-tokens-reset",
                D::OutputTokens,
                Field::Reset,
            ),
            (
                "anthropic-priority-input-tokens-limit",
                D::PriorityInputTokens,
                Field::Limit,
            ),
            (
                "anthropic-ratelimit-unified-5h-utilization",
                D::Other("unified-5h".into()),
                Field::Utilization,
            ),
        ];
        for (name, dim, f) in cases {
            assert_eq!(field(name), (P::Anthropic, dim, f), "{name}");
        }
        assert_eq!(
            field("ratelimitbysize-reset"),
            (P::Mistral, D::Tokens, Field::Reset)
        );
        assert_eq!(
            field("x-ratelimitbysize-remaining-month"),
            (
                P::Mistral,
                D::Other("tokens-per-month".into()),
                Field::Remaining
            )
        );
    }

    #[test]
    fn other_names_are_not_fields() {
        let other = |marker| Class::Other { marker };
        assert_eq!(classify("content-type"), other(None));
        assert_eq!(classify("x-ratelimit-used-requests"), other(None));
        assert_eq!(classify("x-ratelimit-utilization-tokens"), other(None));
        assert_eq!(classify("x-ratelimit-limit-"), other(None));
        assert_eq!(classify("x-ratelimit-limit-tökens"), other(None));
        assert_eq!(
            classify("anthropic-ratelimit-unified-status"),
            other(Some(Provider::Anthropic))
        );
        assert_eq!(
            classify("ratelimitbysize-query-cost"),
            other(Some(Provider::Mistral))
        );
        assert_eq!(classify("x-ms-region"), other(Some(Provider::Azure)));
        assert_eq!(
            classify("openai-processing-ms"),
            other(Some(Provider::OpenAi))
        );
        assert_eq!(classify("date"), Class::Date);
        assert_eq!(classify("retry-after-ms"), Class::RetryAfterMs);
    }

    #[test]
    fn names_round_trip() {
        for (d, name) in KNOWN {
            assert_eq!(d.name(), name);
            assert_eq!(Dimension::from_name(name), Some(d.clone()));
            assert_eq!(Dimension::from_name(&name.to_ascii_uppercase()), Some(d));
        }
        assert_eq!(Dimension::from_name("Images").unwrap().name(), "images");
        assert_eq!(Dimension::from_name(&"a".repeat(49)), None);
        for p in Provider::ALL {
            assert_eq!(Provider::from_name(p.name()), Some(p));
        }
        assert_eq!(Provider::from_name("OpenAI"), Some(Provider::OpenAi));
        assert_eq!(Provider::from_name("bedrock"), None);
    }
}
