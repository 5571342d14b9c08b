//! seqloop: a deterministic scheduling runtime for Node.js.
//!
//! Map of the crate (dependencies point one way: `binding` → core modules → std):
//! - [`sched`]: Seq, clocks, the timer queue, macrotasks and the `Scheduler` (invariants I1–I5).
//! - [`runloop`]: the EventLoop's run policy (what a run does next), driven by the binding.
//! - [`obs`]: opt-in `tracing` output (`SEQLOOP_LOG`).
//! - [`slab`]: NUMA slab pools over real mapped memory; region.rs is the only mmap/mbind caller (S1–S5, P1–P6, R1–R4).
//! - [`topo`]: topology snapshots (hwloc), the pure shard placement planner, thread affinity;
//!   `topo::hugepage` reads hugepage pools and the THP mode (H1–H4).
//! - [`mesh`]: `ReactorMesh`, sharded bounded lanes with FNV/round-robin routing and a global order.
//! - [`workers`]: the mesh across threads: per-shard SPSC lanes (rtrb) both ways, shared slot
//!   partitions with ownership moving with each message, park/wake signals (W1–W4, P1–P4); not
//!   built for WebAssembly (no worker threads to pin, no shared mappings).
//! - `binding`: the only napi code — argument conversion, error codes and the JS classes.

pub mod mesh;
pub mod obs;
pub mod runloop;
pub mod sched;
pub mod slab;
pub mod topo;
#[cfg(not(target_family = "wasm"))]
pub mod workers;

mod binding;
