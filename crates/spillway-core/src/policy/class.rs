//! Request priority classes as policy files name them.

use std::fmt;

/// Request priority class, most urgent first.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Class {
    /// A person is waiting (1–2 s).
    Interactive,
    /// Internal tools, webhooks.
    Standard,
    /// Can wait minutes.
    Batch,
    /// Can wait hours.
    Background,
}

impl Class {
    /// All classes, most urgent first.
    pub const ALL: [Class; 4] = [
        Class::Interactive,
        Class::Standard,
        Class::Batch,
        Class::Background,
    ];
    /// Position in [`Class::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }
    /// The name used in files.
    pub const fn name(self) -> &'static str {
        match self {
            Class::Interactive => "interactive",
            Class::Standard => "standard",
            Class::Batch => "batch",
            Class::Background => "background",
        }
    }
    /// Parse a file name.
    pub fn parse(text: &str) -> Option<Class> {
        Class::ALL.into_iter().find(|c| c.name() == text)
    }
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}
