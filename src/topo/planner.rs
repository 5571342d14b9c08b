//! `PlacementManifest::plan`: a pure map from shards to (core, NUMA node) (T2, T3).
//!
//! Algorithm: group the snapshot's cores by node, nodes ascending, cores ascending and
//! de-duplicated within each node (the snapshot's normal form, T1, makes this one sort by
//! (node, core)). Shard `s` of `k` nodes goes to node `nodes[s mod k]` and to that node's core
//! `(s div k) mod len`: shards spread across nodes first, then across each node's cores.
//! O(c log c + n) for c cores and n shards.

use serde_json::{json, Value};

use super::affinity::{AffinityEnforcement, ThreadAffinityAdvice};
use super::{CoreId, NodeId, ShardId, TopologySnapshot};

/// The largest shard count a manifest (and a mesh) holds; larger requests are clamped to it.
pub const MAX_SHARDS: usize = 1 << 16;

/// Why a manifest does not spread shards across several NUMA nodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FallbackReason {
    /// No topology was given: shard `s` binds core `s` on node 0.
    TopologyUnavailable,
    /// The topology has no cores: shard `s` binds core `s` on node 0.
    TopologyEmpty,
    /// All cores are on one NUMA node (the layout still follows the topology's cores).
    SingleNumaNode,
}

impl FallbackReason {
    /// The snake_case code.
    pub fn code(self) -> &'static str {
        match self {
            Self::TopologyUnavailable => "topology_unavailable",
            Self::TopologyEmpty => "topology_empty",
            Self::SingleNumaNode => "single_numa_node",
        }
    }
}

/// Where one shard runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShardBinding {
    /// The shard.
    pub shard_id: ShardId,
    /// Its core.
    pub core_id: CoreId,
    /// The core's NUMA node.
    pub numa_node: NodeId,
}

impl ShardBinding {
    /// `{shard_id, core_id, numa_node}`.
    pub fn to_json(&self) -> Value {
        json!({ "shard_id": self.shard_id.0, "core_id": self.core_id.0, "numa_node": self.numa_node.0 })
    }
}

/// The placement of every shard: one binding per shard, in shard order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacementManifest {
    shard_count: usize,
    numa_node_count: usize,
    bindings: Vec<ShardBinding>,
    fallback_reason: Option<FallbackReason>,
}

impl PlacementManifest {
    /// Plans `shard_count` shards (clamped to [`MAX_SHARDS`]) over `topology` (T2, T3).
    ///
    /// Zero shards give no bindings, 0 NUMA nodes and no fallback reason (PL0). Without a
    /// topology or with an empty one, shard `s` binds core `s` on node 0 and the reason says so;
    /// a single-node topology is laid out normally with reason `single_numa_node`.
    pub fn plan(shard_count: usize, topology: Option<&TopologySnapshot>) -> Self {
        let shard_count = shard_count.min(MAX_SHARDS);
        if shard_count == 0 {
            return Self { shard_count, numa_node_count: 0, bindings: Vec::new(), fallback_reason: None };
        }
        let identity = |reason| Self {
            shard_count,
            numa_node_count: 1,
            bindings: (0..shard_count)
                .map(|s| ShardBinding {
                    shard_id: ShardId(s as u32),
                    core_id: CoreId(s as u64),
                    numa_node: NodeId(0),
                })
                .collect(),
            fallback_reason: Some(reason),
        };
        let Some(topology) = topology else { return identity(FallbackReason::TopologyUnavailable) };
        if topology.is_empty() {
            return identity(FallbackReason::TopologyEmpty);
        }

        // (node, core) ascending; duplicates are impossible after T1.
        let mut by_node: Vec<(NodeId, CoreId)> =
            topology.cores().iter().map(|c| (c.numa_node, c.core_id)).collect();
        by_node.sort_unstable();
        // groups[i] = (node, start..end in by_node)
        let mut groups: Vec<(NodeId, usize, usize)> = Vec::new();
        for (i, (node, _)) in by_node.iter().enumerate() {
            match groups.last_mut() {
                Some((n, _, end)) if n == node => *end = i + 1,
                _ => groups.push((*node, i, i + 1)),
            }
        }
        let k = groups.len();
        let bindings = (0..shard_count)
            .map(|s| {
                let (node, start, end) = groups[s % k];
                let core = by_node[start + (s / k) % (end - start)].1;
                ShardBinding { shard_id: ShardId(s as u32), core_id: core, numa_node: node }
            })
            .collect();
        Self {
            shard_count,
            numa_node_count: k,
            bindings,
            fallback_reason: (k == 1).then_some(FallbackReason::SingleNumaNode),
        }
    }

    /// Shards planned.
    pub fn shard_count(&self) -> usize {
        self.shard_count
    }

    /// Distinct NUMA nodes used (1 for the fallback layouts, 0 for zero shards).
    pub fn numa_node_count(&self) -> usize {
        self.numa_node_count
    }

    /// One binding per shard, in shard order.
    pub fn bindings(&self) -> &[ShardBinding] {
        &self.bindings
    }

    /// Why shards are not spread over several nodes, if they are not.
    pub fn fallback_reason(&self) -> Option<FallbackReason> {
        self.fallback_reason
    }

    /// The NUMA node of `shard`, `None` for a shard outside the manifest.
    pub fn numa_node_for_shard(&self, shard: ShardId) -> Option<NodeId> {
        self.bindings.get(shard.0 as usize).map(|b| b.numa_node)
    }

    /// One advice per binding, in binding order, all with `enforcement` (AF1).
    pub fn affinity_advice(&self, enforcement: AffinityEnforcement) -> Vec<ThreadAffinityAdvice> {
        self.bindings
            .iter()
            .map(|b| ThreadAffinityAdvice {
                shard_id: b.shard_id,
                recommended_core: b.core_id,
                recommended_numa_node: b.numa_node,
                enforcement,
            })
            .collect()
    }

    /// `{shard_count, numa_node_count, fallback_reason, bindings[{shard_id, core_id, numa_node}]}`.
    pub fn to_json(&self) -> Value {
        json!({
            "shard_count": self.shard_count,
            "numa_node_count": self.numa_node_count,
            "fallback_reason": self.fallback_reason.map(FallbackReason::code),
            "bindings": self.bindings.iter().map(ShardBinding::to_json).collect::<Vec<_>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topo(pairs: &[(u64, u32)]) -> TopologySnapshot {
        TopologySnapshot::from_core_node_pairs(pairs.iter().copied())
    }

    fn layout(m: &PlacementManifest) -> (Vec<u32>, Vec<u64>) {
        (
            m.bindings().iter().map(|b| b.numa_node.0).collect(),
            m.bindings().iter().map(|b| b.core_id.0).collect(),
        )
    }

    #[test]
    fn zero_shards_plan_nothing() {
        // PL0: zero shards win over every other rule.
        for t in [None, Some(topo(&[])), Some(topo(&[(0, 0), (1, 1)]))] {
            let m = PlacementManifest::plan(0, t.as_ref());
            assert_eq!((m.shard_count(), m.numa_node_count(), m.fallback_reason()), (0, 0, None));
            assert!(m.bindings().is_empty());
        }
    }

    #[test]
    fn no_topology_is_identity_on_node_zero() {
        // PL1
        let m = PlacementManifest::plan(3, None);
        assert_eq!(m.fallback_reason(), Some(FallbackReason::TopologyUnavailable));
        assert_eq!(m.numa_node_count(), 1);
        assert_eq!(layout(&m), (vec![0, 0, 0], vec![0, 1, 2]));
        assert_eq!(m.bindings()[2].shard_id, ShardId(2));
    }

    #[test]
    fn empty_topology_is_identity() {
        // PL2
        let m = PlacementManifest::plan(2, Some(&topo(&[])));
        assert_eq!(m.fallback_reason(), Some(FallbackReason::TopologyEmpty));
        assert_eq!((m.numa_node_count(), layout(&m)), (1, (vec![0, 0], vec![0, 1])));
    }

    #[test]
    fn single_node_follows_its_cores() {
        // PL3, MM1 and TL2
        let m = PlacementManifest::plan(2, Some(&topo(&[(0, 0), (1, 0)])));
        assert_eq!(m.fallback_reason(), Some(FallbackReason::SingleNumaNode));
        assert_eq!((m.numa_node_count(), layout(&m)), (1, (vec![0, 0], vec![0, 1])));
        let m = PlacementManifest::plan(3, Some(&topo(&[(2, 0), (3, 0)])));
        assert_eq!(layout(&m).1, vec![2, 3, 2]);
        let m = PlacementManifest::plan(2, Some(&topo(&[(10, 0), (11, 0)])));
        assert_eq!(layout(&m).1, vec![10, 11]);
    }

    #[test]
    fn multi_node_round_robins_nodes_then_cores() {
        // PL4
        let t = topo(&[(0, 0), (1, 0), (2, 1), (3, 1)]);
        let a = PlacementManifest::plan(8, Some(&t));
        assert_eq!(a, PlacementManifest::plan(8, Some(&t)));
        assert_eq!(a.fallback_reason(), None);
        assert_eq!(layout(&a), (vec![0, 1, 0, 1, 0, 1, 0, 1], vec![0, 2, 1, 3, 0, 2, 1, 3]));
        // PL5
        let m = PlacementManifest::plan(6, Some(&topo(&[(0, 0), (1, 0), (4, 1), (5, 1)])));
        assert_eq!(layout(&m), (vec![0, 1, 0, 1, 0, 1], vec![0, 4, 1, 5, 0, 4]));
    }

    #[test]
    fn non_contiguous_node_ids() {
        // PL6
        let t = topo(&[(11, 42), (7, 5), (9, 42), (3, 5), (11, 42), (3, 5)]);
        let m = PlacementManifest::plan(8, Some(&t));
        assert_eq!(m, PlacementManifest::plan(8, Some(&t)));
        assert_eq!((m.numa_node_count(), m.fallback_reason()), (2, None));
        assert_eq!(layout(&m), (vec![5, 42, 5, 42, 5, 42, 5, 42], vec![3, 9, 7, 11, 3, 9, 7, 11]));
    }

    #[test]
    fn uneven_nodes_wrap_per_node() {
        // Node 0 has three cores, node 1 one: each node's cores wrap on their own.
        let m = PlacementManifest::plan(6, Some(&topo(&[(0, 0), (1, 0), (2, 0), (8, 1)])));
        assert_eq!(layout(&m), (vec![0, 1, 0, 1, 0, 1], vec![0, 8, 1, 8, 2, 8]));
    }

    #[test]
    fn numa_node_for_shard_and_json() {
        let m = PlacementManifest::plan(2, None);
        assert_eq!(m.numa_node_for_shard(ShardId(0)), Some(NodeId(0)));
        assert_eq!(m.numa_node_for_shard(ShardId(99)), None);
        // PJ1
        let j = PlacementManifest::plan(4, Some(&topo(&[(0, 0), (1, 0), (2, 1), (3, 1)]))).to_json();
        assert_eq!(j["shard_count"], 4);
        assert_eq!(j["numa_node_count"], 2);
        assert!(j["fallback_reason"].is_null());
        let b = j["bindings"].as_array().expect("array");
        assert_eq!(b.len(), 4);
        for e in b {
            let mut keys: Vec<&str> = e.as_object().expect("object").keys().map(String::as_str).collect();
            keys.sort_unstable();
            assert_eq!(keys, ["core_id", "numa_node", "shard_id"]);
        }
        assert_eq!(PlacementManifest::plan(1, None).to_json()["fallback_reason"], "topology_unavailable");
    }

    #[test]
    fn huge_shard_counts_are_clamped() {
        let m = PlacementManifest::plan(usize::MAX, Some(&topo(&[(0, 0)])));
        assert_eq!(m.shard_count(), MAX_SHARDS);
        assert_eq!(m.bindings().len(), MAX_SHARDS);
    }
}
