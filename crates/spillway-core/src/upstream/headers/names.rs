//! Header names → meaning: which [`Provider`] family, which [`Dimension`], which [`Field`].
//!
//! Names are compared in ASCII lower case (HTTP field names are case-insensitive). The value
//! format is *not* decided here: every reset format is recognisable by its syntax (see
//! [`super::reset`]), so a header is read the same way whichever provider sent it.

use super::dimension::Dimension;
use super::provider::Provider;

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
    /// `x-should-retry` (OpenAI): the server's own word on whether to retry.
    ShouldRetry,
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
        "x-should-retry" => return Class::ShouldRetry,
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
        assert_eq!(classify("x-should-retry"), Class::ShouldRetry);
    }
}
