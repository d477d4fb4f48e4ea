//! [`Provider`]: who sent a response, as a label with a stable name.

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for p in Provider::ALL {
            assert_eq!(Provider::from_name(p.name()), Some(p));
        }
        assert_eq!(Provider::from_name("OpenAI"), Some(Provider::OpenAi));
        assert_eq!(Provider::from_name("bedrock"), None);
    }
}
