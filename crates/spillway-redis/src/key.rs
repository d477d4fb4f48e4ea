//! Cluster-safe key names.
//!
//! Redis Cluster hashes only the part of a key between the first `{` and the next `}` (the hash
//! tag) when there is one. A layered check touches several keys in one script, and a script may
//! only touch keys of one slot, so every key of a [`RedisLayered`](crate::RedisLayered) shares the
//! tag `{<limiter name>}`. A [`RedisLimiter`](crate::RedisLimiter) tags by the caller's key
//! instead, so its keys spread over the cluster. Key parts are validated, not escaped: a `{`, `}`
//! or `:` inside a part would move the hash tag or fake a separator, so it is refused with a
//! [`KeyError`] that says which part and where.

use crate::error::KeyError;

/// The longest key part accepted, in bytes.
pub const MAX_KEY_PART: usize = 256;

/// Check one key part: non-empty, at most [`MAX_KEY_PART`] bytes, no `{`, `}`, `:` or control
/// characters. `what` names the part in the error.
pub fn validate_key_part(what: &'static str, part: &str) -> Result<(), KeyError> {
    if part.is_empty() {
        return Err(KeyError::Empty { what });
    }
    if part.len() > MAX_KEY_PART {
        return Err(KeyError::TooLong {
            what,
            len: part.len(),
            max: MAX_KEY_PART,
        });
    }
    match part
        .char_indices()
        .find(|&(_, c)| matches!(c, '{' | '}' | ':') || c.is_control())
    {
        Some((at, ch)) => Err(KeyError::Reserved {
            what,
            part: part.to_owned(),
            ch,
            at,
        }),
        None => Ok(()),
    }
}

/// The Redis key of one limiter state (a log's meta lives in its newest entry).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StateKeys {
    base: String,
}

impl StateKeys {
    /// Keys of a single limiter: `<prefix>:<name>:{<key>}`.
    pub(crate) fn single(prefix: &str, name: &str, key: &str) -> Result<Self, KeyError> {
        validate_key_part("key", key)?;
        Ok(StateKeys {
            base: format!("{prefix}:{name}:{{{key}}}"),
        })
    }
    /// Keys of a layer of a layered limiter: `<prefix>:{<name>}:<layer>:<scope key>`.
    pub(crate) fn layer(prefix: &str, name: &str, layer: &str, scope_key: u64) -> Self {
        StateKeys {
            base: format!("{prefix}:{{{name}}}:{layer}:{scope_key}"),
        }
    }
    /// The state key (GCRA TAT, counter, or the log's list).
    pub(crate) fn main(&self) -> String {
        self.base.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_characters_are_refused_with_their_position() {
        assert_eq!(
            validate_key_part("key", "user{1}"),
            Err(KeyError::Reserved {
                what: "key",
                part: "user{1}".into(),
                ch: '{',
                at: 4
            })
        );
        assert!(validate_key_part("key", "a:b").is_err());
        assert!(validate_key_part("key", "a}").is_err());
        assert!(validate_key_part("key", "a\nb").is_err());
        assert_eq!(
            validate_key_part("key", ""),
            Err(KeyError::Empty { what: "key" })
        );
        assert!(validate_key_part("key", &"x".repeat(MAX_KEY_PART + 1)).is_err());
        assert_eq!(validate_key_part("key", "user-42@example.com"), Ok(()));
    }

    #[test]
    fn every_key_of_a_layered_limiter_shares_one_hash_tag() {
        let a = StateKeys::layer("sw", "chat", "per-user", 7);
        let b = StateKeys::layer("sw", "chat", "global", 0);
        for k in [a.main(), b.main()] {
            assert!(k.starts_with("sw:{chat}:"), "{k}");
        }
        let single = StateKeys::single("sw", "rpm", "alice").unwrap();
        assert_eq!(single.main(), "sw:rpm:{alice}");
    }
}
