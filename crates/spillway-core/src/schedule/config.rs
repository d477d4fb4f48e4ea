//! [`SchedulerConfig`]: the scheduler described as data, with the seed's defaults.

use crate::time::Duration;

/// One priority class. Classes are identified by their index in [`SchedulerConfig::classes`]
/// (0 = most urgent); the name is for configuration ([`ShedStep`]) and error messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassSpec {
    /// Unique, non-empty name (`"interactive"`).
    pub name: String,
    /// Hard cap on requests queued in this class (at least 1; never smaller than the bound of a
    /// more urgent class).
    pub bound: usize,
    /// Weight for [`Discipline::Weighted`]: cost units of credit per round (at least 1).
    pub weight: u64,
    /// How long a request may wait before it is abandoned; `None` waits forever.
    pub deadline: Option<Duration>,
}

impl ClassSpec {
    /// A class with no deadline.
    pub fn new(name: &str, bound: usize, weight: u64) -> Self {
        ClassSpec {
            name: name.to_owned(),
            bound,
            weight,
            deadline: None,
        }
    }
}

/// How [`super::PriorityScheduler::pop`] chooses among classes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Discipline {
    /// The most urgent non-empty class, always. Lower classes can starve.
    Strict,
    /// Priority aging: a request's effective level is `class − ⌊wait / step⌋`, clamped at 0; the
    /// class whose oldest request has the best (lowest) level is served, ties going to the
    /// earlier arrival (then the more urgent class). With `L` classes no request waits behind a
    /// class-0 request that arrived more than `(L − 1)·step` after it.
    Aging {
        /// Wait that raises a request by one level (must be longer than 0).
        step: Duration,
    },
    /// Deficit round robin across classes by cost: each round a backlogged class receives its
    /// [`ClassSpec::weight`] in credit, so long-run service (in cost) is proportional to weight.
    Weighted,
}

/// One step of the shedding order, naming a class by [`ClassSpec::name`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ShedStep {
    /// When the scheduler is full, a queued request of this class may be dropped to make room
    /// for a more urgent arrival.
    Drop(String),
    /// Under pressure, requests of this class are popped with `downgrade: true` (the gateway
    /// serves them on a cheaper model). Frees no space.
    Downgrade(String),
}

/// Which request of a class is dropped when one must go.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ShedPick {
    /// The most recent one (tail drop): a full class refuses the arrival itself.
    Newest,
    /// The longest-waiting one (head drop): it is the likeliest to have been given up on.
    Oldest,
}

/// Everything [`super::PriorityScheduler::new`] needs. [`Default`] is the seed's setup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchedulerConfig {
    /// The classes, most urgent first (at most [`MAX_CLASSES`]).
    pub classes: Vec<ClassSpec>,
    /// How classes share service.
    pub discipline: Discipline,
    /// Serve tenants inside a class by DRR (equal weights) instead of plain FIFO.
    pub tenant_fair_share: bool,
    /// Total requests queued across classes; `None` means the sum of the class bounds.
    pub capacity: Option<usize>,
    /// Shedding and downgrade steps; `Drop` steps must name the least urgent classes, least
    /// urgent first, without gaps (see the module docs for why).
    pub shed_order: Vec<ShedStep>,
    /// Which request of a victim class is dropped.
    pub shed_pick: ShedPick,
    /// Pressure threshold for `Downgrade` steps, in per-mille of capacity (0..=1000).
    pub pressure_permille: u32,
}

/// The most classes a scheduler can have.
pub const MAX_CLASSES: usize = 64;

/// The largest capacity (slots are addressed by `u32`).
pub const MAX_CAPACITY: usize = 1 << 31;

impl Default for SchedulerConfig {
    /// Four classes from the seed: interactive (bound 50), standard (200), batch (1,000),
    /// background (5,000), weights 5000/3000/1000/100 (the seed's 5/3/1/0.1 per mille), aging by
    /// one level per 150 s (a batch request waiting 5 minutes reaches interactive), tenant fair
    /// share on, shed background then batch, downgrade standard at 80 % of capacity.
    fn default() -> Self {
        SchedulerConfig {
            classes: vec![
                ClassSpec::new("interactive", 50, 5000),
                ClassSpec::new("standard", 200, 3000),
                ClassSpec::new("batch", 1000, 1000),
                ClassSpec::new("background", 5000, 100),
            ],
            discipline: Discipline::Aging {
                step: Duration::from_secs(150),
            },
            tenant_fair_share: true,
            capacity: None,
            shed_order: vec![
                ShedStep::Drop("background".to_owned()),
                ShedStep::Drop("batch".to_owned()),
                ShedStep::Downgrade("standard".to_owned()),
            ],
            shed_pick: ShedPick::Newest,
            pressure_permille: 800,
        }
    }
}
