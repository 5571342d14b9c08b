//! Machine topology and shard placement: which cores exist, which NUMA node each belongs to,
//! where each reactor shard should run, and how to pin a thread there. No napi here.
//!
//! - [`snapshot`]: a [`TopologySnapshot`] is a sorted, de-duplicated list of (core, NUMA node)
//!   pairs, read from the real machine, from an hwloc synthetic description, or given directly.
//! - [`planner`]: [`PlacementManifest::plan`] maps shards to cores, a pure function of
//!   (shard count, snapshot).
//! - [`affinity`]: [`ThreadAffinityAdvice`] per shard and [`bind_current_thread`], which applies
//!   `strict` advice to the calling thread.
//! - `hwloc`: the only module that imports hwlocality.
//! - [`hugepage`]: hugepage pool detection, the transparent-hugepage mode, and the status rules
//!   slab pools follow (H1–H4).
//!
//! Invariants (cited as T1–T4 in code and tests):
//! - T1 (normal form): a snapshot's cores are sorted by (core id, node id) with exact duplicates
//!   removed, whatever the source or input order.
//! - T2 (pure planning): `plan(n, t)` depends only on `n` and the cores of `t`; equal inputs give
//!   equal manifests, on every machine.
//! - T3 (layout): NUMA nodes ascending; shard `s` goes to node `nodes[s mod k]` and to core
//!   `cores_of_that_node[(s div k) mod len]` (cores ascending, de-duplicated within the node).
//!   Without usable topology, shard `s` binds core `s` on node 0.
//! - T4 (binding is opt-in): only `strict` advice ever changes a thread's CPU binding.

pub mod affinity;
pub mod hugepage;
// The WebAssembly build has no hwloc: its stand-in fails detection and binding (docs/wasm.md).
#[cfg_attr(target_family = "wasm", path = "hwloc_wasm.rs")]
mod hwloc;
pub mod planner;
pub mod snapshot;
// On wasm only the bounds check (`plan`) is used: the rest builds what hwloc checks.
#[cfg_attr(target_family = "wasm", allow(dead_code))]
pub mod synthetic;

use std::fmt;

use thiserror::Error;

pub use affinity::{bind_current_thread, AffinityEnforcement, BindOutcome, ThreadAffinityAdvice};
pub use planner::{FallbackReason, PlacementManifest, ShardBinding, MAX_SHARDS};
pub use snapshot::{CoreInfo, TopologySnapshot, TopologySource};

/// A reactor shard's index (`0..shard_count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ShardId(pub u32);

/// A CPU core, named by the OS index of its first processing unit (what thread binding and
/// `sched_getcpu` use).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct CoreId(pub u64);

/// A NUMA node, named by its OS index: the one node id type of the crate (topology, placement,
/// slabs, slot handles).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct NodeId(pub u32);

impl fmt::Display for ShardId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "shard:{}", self.0)
    }
}

impl fmt::Display for CoreId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "core:{}", self.0)
    }
}

impl fmt::Display for NodeId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "node:{}", self.0)
    }
}

/// Errors of topology detection.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TopoError {
    /// hwloc could not read this machine's topology.
    #[error("hwloc could not detect the topology: {0}")]
    Detection(String),
    /// A synthetic description larger than the documented bounds (see [`synthetic`]).
    #[error("synthetic topology description {description:?} is too large: {reason}")]
    SyntheticTooLarge {
        /// The description as given.
        description: String,
        /// Which bound it passed.
        reason: String,
    },
    /// hwloc rejected a synthetic description.
    #[error("invalid hwloc synthetic topology description {description:?}: {reason}")]
    InvalidSynthetic {
        /// The description as given.
        description: String,
        /// Why hwloc rejected it.
        reason: String,
    },
    /// This build cannot read topologies at all (the WebAssembly build has no hwloc).
    #[error("{0}")]
    Unavailable(String),
}
