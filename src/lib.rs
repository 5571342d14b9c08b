//! seqloop: a deterministic scheduling runtime for Node.js.
//!
//! Map of the crate (dependencies point one way: `binding` → core modules → std):
//! - [`sched`]: Seq, clocks, the timer queue, macrotasks and the `Scheduler` (invariants I1–I5).
//! - [`obs`]: opt-in `tracing` output (`SEQLOOP_LOG`).
//! - `binding`: the only napi code — argument conversion, error codes and the JS classes.

pub mod obs;
pub mod sched;

mod binding;
