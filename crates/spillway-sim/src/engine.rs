//! The event queue of the simulator: the core's [`Timers`](spillway_core::engine::Timers), a min-heap on (time, sequence
//! number), so events at the same nanosecond run in the order they were scheduled.

pub use spillway_core::engine::Timers as EventQueue;
