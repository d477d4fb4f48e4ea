//! [`Dimension`]: what a limit counts, with stable names (the header suffixes providers use).

use std::fmt;

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

/// Known dimensions and their stable names (the inverse of [`Dimension::name`], checked by a
/// test).
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
            Dimension::Unqualified => "unqualified",
            Dimension::Requests => "requests",
            Dimension::Tokens => "tokens",
            Dimension::InputTokens => "input-tokens",
            Dimension::OutputTokens => "output-tokens",
            Dimension::ProjectTokens => "project-tokens",
            Dimension::TokensUsageBased => "tokens_usage_based",
            Dimension::ProjectTokensUsageBased => "project-tokens_usage_based",
            Dimension::PriorityInputTokens => "priority-input-tokens",
            Dimension::PriorityOutputTokens => "priority-output-tokens",
            Dimension::Other(name) => name,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for (d, name) in KNOWN {
            assert_eq!(d.name(), name);
            assert_eq!(Dimension::from_name(name), Some(d.clone()));
            assert_eq!(Dimension::from_name(&name.to_ascii_uppercase()), Some(d));
        }
        assert_eq!(Dimension::from_name("Images").unwrap().name(), "images");
        assert_eq!(Dimension::from_name(&"a".repeat(49)), None);
    }
}
