//! seqloop: a deterministic scheduling runtime for Node.js.
//!
//! Map of the crate (dependencies point one way: `binding` → core modules → std):
//! - [`sched`]: Seq, clocks, the timer queue, macrotasks and the `Scheduler` (invariants I1–I5).
//! - [`obs`]: opt-in `tracing` output (`SEQLOOP_LOG`).
//! - [`topo`]: topology snapshots (hwloc), the pure shard placement planner, thread affinity.
//! - [`mesh`]: `ReactorMesh`, sharded bounded lanes with FNV/round-robin routing and a global order.
//! - `binding`: the only napi code — argument conversion, error codes and the JS classes.

pub mod mesh;
pub mod obs;
pub mod sched;
pub mod topo;

mod binding;
