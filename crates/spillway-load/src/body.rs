//! The HTTP request for one planned arrival: an OpenAI chat completion whose prompt the
//! emulator counts as exactly the arrival's input tokens, and the identity headers.
//!
//! Why a sized prompt and not a token hint: any OpenAI-compatible endpoint (not only
//! `spillway emulate`) must see a request of the right size, and `spillway emulate` counts
//! input tokens as ⌈characters / 4⌉ (at least 1; `spillway_emulate::request`), so a prompt of
//! `4 × n` characters is exactly `n` tokens there. A test parses these bodies with the
//! emulator's own parser to keep the two in step.

use crate::plan::Planned;
use serde_json::json;

/// Characters per token in the emulator's counting rule.
pub const CHARS_PER_TOKEN: u64 = 4;

/// The identity headers (what `spillway serve` keys its limits on).
pub const USER_HEADER: &str = "x-spillway-user";
/// The feature header.
pub const FEATURE_HEADER: &str = "x-spillway-feature";
/// The class header.
pub const CLASS_HEADER: &str = "x-spillway-class";

/// The JSON body of `p`'s chat completion for `model`.
pub fn chat_body(p: &Planned, model: &str) -> String {
    json!({
        "model": model,
        "messages": [{"role": "user", "content": prompt(p.arrival.input_tokens)}],
        "max_tokens": p.arrival.output_tokens.max(1),
    })
    .to_string()
}

/// A prompt of `tokens` tokens by the emulator's rule: `4 × tokens` characters of words.
pub fn prompt(tokens: u64) -> String {
    const WORD: &str = "tok ";
    let chars = tokens.max(1).saturating_mul(CHARS_PER_TOKEN);
    let words = usize::try_from(chars / WORD.len() as u64).unwrap_or(usize::MAX);
    WORD.repeat(words)
}

/// The identity header values of `p`: user id, feature name, class name.
pub fn identity(p: &Planned, features: &[String]) -> [(&'static str, String); 3] {
    let feature = features.get(p.feature).cloned().unwrap_or_default();
    [
        (USER_HEADER, format!("user-{}", p.arrival.user)),
        (FEATURE_HEADER, feature),
        (CLASS_HEADER, p.class.name().to_string()),
    ]
}
