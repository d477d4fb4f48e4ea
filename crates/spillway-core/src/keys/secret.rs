//! Secrets: where they come from ([`SecretSource`]), how they are kept ([`Secret`]: a SHA-256
//! hash and at most four trailing characters, never the plaintext), and how they are shown
//! ([`Redacted`]: `…ab12`).
//!
//! Only environment variables and files named in config are sources: a key literal in a config
//! file is exactly the "checked into git" mistake the seed warns about, so there is no variant
//! for it. Loading goes through a lookup function, so tests (and the simulator) supply secrets
//! without touching the process environment; [`process_lookup`] is the real one.

use std::fmt;
use std::path::PathBuf;

use sha2::{Digest, Sha256};

/// Secrets shorter than this show no characters at all when redacted: four characters of an
/// eight-character secret would be half of it.
pub const MIN_LEN_TO_SHOW_LAST4: usize = 12;

/// Where a key's secret is read from. `Debug` shows it as `Display` does (a name that does not
/// look like one, or a path that names nothing, redacted), so a `{:?}` of anything holding a
/// source ([`KeySpec`](super::KeySpec), [`KeyEntry`](super::KeyEntry)) cannot print a secret
/// pasted in its place.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum SecretSource {
    /// The environment variable of this name.
    Env(String),
    /// The file at this path (trailing newline trimmed), e.g. a mounted Kubernetes secret.
    File(PathBuf),
}

impl fmt::Display for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretSource::Env(name) => write!(f, "env:{}", ShownEnv(name)),
            SecretSource::File(path) => write!(f, "file:{}", ShownPath(path)),
        }
    }
}

impl fmt::Debug for SecretSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (variant, shown) = match self {
            SecretSource::Env(name) => ("Env", ShownEnv(name).to_string()),
            SecretSource::File(path) => ("File", ShownPath(path).to_string()),
        };
        f.debug_tuple(variant).field(&shown).finish()
    }
}

/// An env var name as shown in messages: in full when it looks like one (`[A-Z_][A-Z0-9_]*`,
/// at most 64 characters), else redacted (`…last4`). Anything else in that place is most likely
/// the secret itself, pasted where its name belongs, and must not be echoed (issue 16).
struct ShownEnv<'a>(&'a str);

impl fmt::Display for ShownEnv<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if looks_like_env_name(self.0) {
            f.write_str(self.0)
        } else {
            write!(f, "{}", redact(self.0))
        }
    }
}

/// `value` as it may appear in a message when it stands where a secret's source is named:
/// in full if it looks like an env var name, else `…last4` (see [`redact`]).
pub fn shown_source_name(value: &str) -> String {
    ShownEnv(value).to_string()
}

/// Whether `name` looks like an environment variable name (`[A-Z_][A-Z0-9_]*`, ≤ 64 chars);
/// anything else where a name belongs is treated as a possibly pasted secret.
pub fn looks_like_env_name(name: &str) -> bool {
    let mut chars = name.chars();
    name.len() <= 64
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && chars.all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
}

fn pasted_hint(name: &str) -> &'static str {
    if looks_like_env_name(name) {
        ""
    } else {
        " (not shown: it does not look like a variable name; `env:` takes the NAME of the \
         variable holding the secret, never the secret)"
    }
}

/// A secret file's path as shown in messages: in full when the file exists, else its longest
/// existing directory followed by the redacted rest, since a path that names nothing may be a
/// secret pasted in its place (base64 secrets contain `/`).
struct ShownPath<'a>(&'a std::path::Path);

impl fmt::Display for ShownPath<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.exists() {
            return write!(f, "{}", self.0.display());
        }
        let existing = self
            .0
            .ancestors()
            .skip(1)
            .find(|a| !a.as_os_str().is_empty() && a.is_dir());
        let rest = existing
            .and_then(|dir| self.0.strip_prefix(dir).ok())
            .unwrap_or(self.0)
            .to_string_lossy();
        match existing {
            Some(dir) => write!(f, "{}/{}", dir.display(), redact(&rest)),
            None => write!(f, "{}", redact(&rest)),
        }
    }
}

/// A secret that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The environment variable is not set (or not Unicode).
    #[error("environment variable `{}` is not set{}", ShownEnv(.0), pasted_hint(.0))]
    EnvNotSet(String),
    /// The file could not be read.
    #[error("cannot read secret file `{}`: {reason}", ShownPath(.path))]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        reason: String,
    },
    /// The source holds an empty (or all-whitespace) secret.
    #[error("secret from `{0}` is empty")]
    Empty(String),
    /// The secret holds a line break or another control character inside it: it cannot be
    /// sent in an HTTP header, so every call with it would fail. Shown as `…last4` at most.
    #[error(
        "secret from `{from}` ({shown}) holds a line break or another control character; \
         a key is sent in an HTTP header, which cannot carry one: fix the variable or file"
    )]
    ControlCharacter {
        /// Where it was read from, as shown.
        from: String,
        /// The redacted secret (`…last4` or `…`).
        shown: String,
    },
}

/// `plaintext` trimmed (a file's newline), refused when empty or when it holds a control
/// character: what every key, upstream or virtual, is checked against when it is loaded.
pub fn checked_secret<'a>(
    plaintext: &'a str,
    source: &SecretSource,
) -> Result<&'a str, SecretError> {
    let trimmed = plaintext.trim();
    if trimmed.is_empty() {
        return Err(SecretError::Empty(source.to_string()));
    }
    if trimmed.chars().any(char::is_control) {
        // Redact the part before the first control character: the tail after it would say
        // nothing useful, and the whole value must not be shown.
        let shown = redact(trimmed.split(char::is_control).next().unwrap_or("")).to_string();
        return Err(SecretError::ControlCharacter {
            from: source.to_string(),
            shown,
        });
    }
    Ok(trimmed)
}

/// The standard lookup: the process environment and the file system.
pub fn process_lookup(source: &SecretSource) -> Result<String, SecretError> {
    match source {
        SecretSource::Env(name) => {
            std::env::var(name).map_err(|_| SecretError::EnvNotSet(name.clone()))
        }
        SecretSource::File(path) => {
            crate::input_file::read_text(path, crate::input_file::MAX_SECRET_BYTES).map_err(|e| {
                SecretError::Unreadable {
                    path: path.clone(),
                    reason: e.to_string(),
                }
            })
        }
    }
}

/// SHA-256 of a secret: what is stored and compared.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SecretHash(pub [u8; 32]);

impl SecretHash {
    /// The hash of `plaintext`.
    pub fn of(plaintext: &str) -> Self {
        SecretHash(Sha256::digest(plaintext.as_bytes()).into())
    }
    /// Equality in time independent of where the hashes differ.
    pub fn constant_time_eq(&self, other: &SecretHash) -> bool {
        self.0
            .iter()
            .zip(other.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl fmt::Debug for SecretHash {
    /// The first 4 bytes in hex: enough to tell hashes apart in a log.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:")?;
        self.0[..4].iter().try_for_each(|b| write!(f, "{b:02x}"))?;
        write!(f, "…")
    }
}

/// A loaded secret: its hash and its last four characters (only if it is long enough).
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Secret {
    hash: SecretHash,
    last4: String,
}

impl Secret {
    /// Keep `plaintext` as a hash plus redaction tail; leading/trailing whitespace (a file's
    /// newline) is trimmed first. Empty secrets and control characters are refused
    /// ([`checked_secret`]).
    pub fn new(plaintext: &str, source: &SecretSource) -> Result<Self, SecretError> {
        let trimmed = checked_secret(plaintext, source)?;
        Ok(Secret {
            hash: SecretHash::of(trimmed),
            last4: redact(trimmed).tail().to_owned(),
        })
    }
    /// Read the secret from `source` through `lookup`.
    pub fn load(
        source: &SecretSource,
        lookup: impl FnOnce(&SecretSource) -> Result<String, SecretError>,
    ) -> Result<Self, SecretError> {
        Secret::new(&lookup(source)?, source)
    }
    /// The stored hash.
    pub fn hash(&self) -> SecretHash {
        self.hash
    }
    /// Whether `presented` is this secret (compared as hashes, after trimming).
    pub fn matches(&self, presented: &str) -> bool {
        self.hash
            .constant_time_eq(&SecretHash::of(presented.trim()))
    }
    /// The display form, `…ab12`.
    pub fn redacted(&self) -> Redacted<'_> {
        Redacted(&self.last4)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({})", self.redacted())
    }
}

/// A secret's printable form: `…` followed by at most its last four characters (none for a
/// secret shorter than [`MIN_LEN_TO_SHOW_LAST4`]).
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Redacted<'a>(&'a str);

impl<'a> Redacted<'a> {
    /// The characters shown after the ellipsis (0 to 4).
    pub fn tail(self) -> &'a str {
        self.0
    }
}

impl fmt::Display for Redacted<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "…{}", self.0)
    }
}

/// The redacted form of any string that might be a secret (a header value in a log line).
pub fn redact(secret: &str) -> Redacted<'_> {
    let chars = secret.chars().count();
    if chars < MIN_LEN_TO_SHOW_LAST4 {
        return Redacted("");
    }
    let start = secret
        .char_indices()
        .nth(chars - 4)
        .map_or(secret.len(), |(i, _)| i);
    Redacted(&secret[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> SecretSource {
        SecretSource::Env(name.into())
    }

    #[test]
    fn secrets_are_kept_as_hashes_and_shown_as_last4() {
        let s = Secret::new("sk-proj-abcdefghijklmnop1234\n", &env("K")).expect("non-empty");
        assert_eq!(s.redacted().to_string(), "…1234");
        assert_eq!(format!("{s:?}"), "Secret(…1234)");
        assert!(s.matches("sk-proj-abcdefghijklmnop1234"));
        assert!(!s.matches("sk-proj-abcdefghijklmnop1235"));
        assert!(!format!("{:?}", s.hash()).contains("abcdef"));
    }

    /// A secret pasted where a source's name belongs is redacted by `Debug` as by `Display`
    /// (the derived `Debug` printed it whole); a real name or path shows as before.
    #[test]
    fn debug_of_a_source_redacts_a_pasted_secret() {
        let pasted = env("sk-proj-abcdefghijklmnop1234");
        assert_eq!(format!("{pasted:?}"), "Env(\"…1234\")");
        assert_eq!(format!("{:?}", env("OPENAI_KEY")), "Env(\"OPENAI_KEY\")");
        let file = SecretSource::File("/nonexistent-dir/sk-proj-abcdefghijklmnop1234".into());
        let shown = format!("{file:?}");
        assert!(
            !shown.contains("abcdefgh") && shown.contains("…1234"),
            "{shown}"
        );
    }

    #[test]
    fn control_characters_inside_a_secret_are_refused_without_showing_it() {
        for pasted in [
            "sk-proj-abcdefghijkl\r\nX-Evil: 1",
            "sk-proj-abcdefghijkl\nsecond-line",
            "sk-proj-abcd\u{7}efghijkl",
        ] {
            let e = Secret::new(pasted, &env("K")).expect_err("a control character");
            let shown = e.to_string();
            assert!(shown.contains("control character"), "{shown}");
            assert!(
                !shown.contains("abcdefgh") && !shown.contains("second"),
                "{shown}"
            );
        }
        // A file's trailing newline is trimmed, not refused.
        assert!(Secret::new("sk-proj-abcdefghijkl\r\n", &env("K")).is_ok());
    }

    #[test]
    fn short_or_empty_secrets() {
        assert_eq!(redact("short-key").to_string(), "…");
        assert_eq!(
            redact("ünïcödé-kéy-ñ").tail(),
            "éy-ñ",
            "characters, not bytes"
        );
        assert_eq!(
            Secret::new("  \n", &env("K")),
            Err(SecretError::Empty("env:K".into()))
        );
    }

    #[test]
    fn loading_goes_through_the_lookup() {
        let lookup = |s: &SecretSource| match s {
            SecretSource::Env(n) if n == "OPENAI_KEY" => Ok("sk-test-0000000000009876".to_owned()),
            SecretSource::Env(n) => Err(SecretError::EnvNotSet(n.clone())),
            SecretSource::File(p) => Err(SecretError::Unreadable {
                path: p.clone(),
                reason: "no".into(),
            }),
        };
        let s = Secret::load(&env("OPENAI_KEY"), lookup).expect("set");
        assert_eq!(s.redacted().tail(), "9876");
        assert_eq!(
            Secret::load(&env("NOPE"), lookup),
            Err(SecretError::EnvNotSet("NOPE".into()))
        );
        let missing = process_lookup(&SecretSource::File("/nonexistent/spillway/key".into()));
        assert!(matches!(missing, Err(SecretError::Unreadable { .. })));
    }
}
