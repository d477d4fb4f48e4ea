//! [`ConfigError`]: why a [`super::SchedulerConfig`] cannot build a scheduler.

/// A scheduler configuration that cannot be used. Classes are named as configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// No classes at all.
    #[error("at least one class is required")]
    NoClasses,
    /// More classes than the scheduler supports.
    #[error("{count} classes configured; at most {max} are supported")]
    TooManyClasses {
        /// Classes configured.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A class with an empty name.
    #[error("class {index} has an empty name")]
    EmptyClassName {
        /// Index of the class.
        index: usize,
    },
    /// Two classes with the same name.
    #[error("class name {name:?} is used twice (classes {first} and {second})")]
    DuplicateClassName {
        /// The name.
        name: String,
        /// Index of the first use.
        first: usize,
        /// Index of the second use.
        second: usize,
    },
    /// A shed step names a class that does not exist.
    #[error("unknown class {name:?}; known classes: {known}")]
    UnknownClass {
        /// The name given.
        name: String,
        /// The configured names, comma-separated.
        known: String,
    },
    /// A class bound of zero.
    #[error("class {class:?} has bound 0; every class needs room for at least 1 request")]
    ZeroBound {
        /// The class.
        class: String,
    },
    /// A less urgent class with a smaller bound than a more urgent one.
    #[error(
        "class {class:?} has bound {bound}, smaller than the bound {previous_bound} of the more \
         urgent class {previous:?}; bounds must not decrease from urgent to less urgent classes"
    )]
    BoundsDecrease {
        /// The less urgent class.
        class: String,
        /// Its bound.
        bound: usize,
        /// The class before it.
        previous: String,
        /// That class's bound.
        previous_bound: usize,
    },
    /// A weight of zero.
    #[error("class {class:?} has weight 0; weights must be at least 1")]
    ZeroWeight {
        /// The class.
        class: String,
    },
    /// A deadline of zero.
    #[error("class {class:?} has deadline 0; use no deadline, or one longer than 0")]
    ZeroDeadline {
        /// The class.
        class: String,
    },
    /// An aging step of zero.
    #[error("aging step must be longer than 0")]
    ZeroAgingStep,
    /// A capacity of zero.
    #[error("capacity must be at least 1")]
    ZeroCapacity,
    /// A capacity (given, or the sum of bounds) above the supported maximum.
    #[error("capacity {capacity} exceeds the maximum {max}")]
    CapacityTooLarge {
        /// The capacity asked for (saturated).
        capacity: usize,
        /// The maximum.
        max: usize,
    },
    /// A pressure threshold above 1000 per mille.
    #[error("pressure threshold {permille} per mille is above 1000")]
    PressureOutOfRange {
        /// The value given.
        permille: u32,
    },
    /// A class named by two shed steps.
    #[error("class {name:?} appears in more than one shed step")]
    DuplicateShedStep {
        /// The class.
        name: String,
    },
    /// `Drop` steps that do not run from the least urgent class upwards without gaps.
    #[error(
        "drop step {position} names {name:?}, but must name {expected:?}: drop steps list the \
         least urgent classes, least urgent first, without gaps"
    )]
    DropOrder {
        /// Position among the `Drop` steps (0-based).
        position: usize,
        /// The class named.
        name: String,
        /// The class required at that position.
        expected: String,
    },
}
