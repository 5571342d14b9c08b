//! The deterministic scheduler core: sequence numbers, clocks, the timer queue, macrotasks and
//! the `Scheduler` that ties them together, and record/replay of its runs (`trace`). No napi
//! here (the binding converts and delegates).
//!
//! Invariants shared by the whole crate (the original design's, cited as I1–I5 in code):
//! - I1 (single macrotask): at most one macrotask executes per tick.
//! - I2 (microtask fixpoint): after any macrotask, microtasks drain to empty.
//! - I3 (stable timers): timers with equal deadlines fire in increasing seq order.
//! - I4 (no reentrancy): hostcall completions enqueue macrotasks, never re-enter user code.
//! - I5 (total order): all observable scheduling is ordered by seq.

mod arena;
pub mod clock;
mod macro_queue;
pub mod scheduler;
pub mod seq;
pub mod task;
pub mod timer;
pub mod trace;

pub use clock::{Clock, DeterministicClock, WallClock};
pub use scheduler::{SchedError, Scheduler};
pub use seq::Seq;
pub use task::{HostcallCompletion, HostcallOutcome, InboundEvent, Macrotask, MacrotaskKind, TimerId};
pub use timer::TimerQueue;
pub use trace::{replay, Digest, Divergence, ReplayReport, Trace, TraceError, TracePayload};
