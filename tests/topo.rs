//! Topology snapshots, the planner and thread binding against the public core API
//! (behaviors.md §6, §10; invariants T1–T4 of `seqloop::topo`).

use std::collections::BTreeSet;

use proptest::prelude::*;
use seqloop::topo::{
    bind_current_thread, AffinityEnforcement, CoreId, FallbackReason, NodeId, PlacementManifest, ShardId,
    ThreadAffinityAdvice, TopoError, TopologySnapshot, TopologySource,
};

fn pairs(p: &[(u64, u32)]) -> TopologySnapshot {
    TopologySnapshot::from_core_node_pairs(p.iter().copied())
}

/// The CPUs the calling thread may run on, as the kernel reports them.
fn cpus_allowed() -> BTreeSet<u64> {
    let status = std::fs::read_to_string("/proc/thread-self/status").expect("procfs");
    let line = status.lines().find_map(|l| l.strip_prefix("Cpus_allowed_list:")).expect("Cpus_allowed_list");
    let mut set = BTreeSet::new();
    for part in line.trim().split(',') {
        match part.split_once('-') {
            Some((a, b)) => set.extend(a.parse::<u64>().unwrap()..=b.parse::<u64>().unwrap()),
            None => {
                set.insert(part.parse::<u64>().unwrap());
            }
        }
    }
    set
}

#[test]
fn detect_reads_this_machine() {
    let t = TopologySnapshot::detect().expect("hwloc detects the machine");
    assert_eq!(t.source(), TopologySource::Hwloc);
    assert!(!t.is_empty());
    // T1: normal form.
    assert!(t.cores().windows(2).all(|w| w[0] < w[1]));
    // One entry per core: core ids (first PU of each core) are distinct.
    let ids: BTreeSet<u64> = t.cores().iter().map(|c| c.core_id.0).collect();
    assert_eq!(ids.len(), t.cores().len());
    // Every core id is a CPU the OS knows about.
    let online = std::fs::read_to_string("/sys/devices/system/cpu/present").expect("sysfs");
    let last: u64 = online.trim().rsplit(['-', ',']).next().unwrap().parse().unwrap();
    assert!(ids.iter().all(|&c| c <= last), "{ids:?} vs present {online}");
}

#[test]
fn synthetic_sixteen_nodes() {
    let t = TopologySnapshot::synthetic("pack:8 numa:2 core:32 pu:2").expect("valid");
    assert_eq!(t.cores().len(), 512);
    let nodes: BTreeSet<u32> = t.cores().iter().map(|c| c.numa_node.0).collect();
    assert_eq!(nodes, (0..16).collect());
    let m = PlacementManifest::plan(1024, Some(&t));
    assert_eq!((m.shard_count(), m.numa_node_count(), m.fallback_reason()), (1024, 16, None));
    // Shard 17 = node 17 mod 16 = 1, core (17 div 16) mod 32 = 1 of node 1; node 1 holds PUs 64..128.
    assert_eq!(m.bindings()[17].numa_node, NodeId(1));
    assert_eq!(m.bindings()[17].core_id, CoreId(66));
}

#[test]
fn synthetic_errors_are_values() {
    let err = TopologySnapshot::synthetic("numa:banana").unwrap_err();
    assert!(matches!(err, TopoError::InvalidSynthetic { .. }));
    assert!(err.to_string().contains("numa:banana"));
}

#[test]
fn affinity_advice_follows_bindings() {
    // AF1
    let m = PlacementManifest::plan(4, Some(&pairs(&[(0, 0), (1, 0), (4, 1), (5, 1)])));
    let advice = m.affinity_advice(AffinityEnforcement::Advisory);
    let got: Vec<(u32, u64, u32)> =
        advice.iter().map(|a| (a.shard_id.0, a.recommended_core.0, a.recommended_numa_node.0)).collect();
    assert_eq!(got, [(0, 0, 0), (1, 4, 1), (2, 1, 0), (3, 5, 1)]);
    assert!(advice.iter().all(|a| a.enforcement == AffinityEnforcement::Advisory));
    // AF2
    let a = ThreadAffinityAdvice {
        shard_id: ShardId(0),
        recommended_core: CoreId(3),
        recommended_numa_node: NodeId(1),
        enforcement: AffinityEnforcement::Strict,
    };
    let j = a.to_json();
    assert_eq!((j["shard_id"].as_u64(), j["recommended_core"].as_u64()), (Some(0), Some(3)));
    assert_eq!(j["enforcement"], "strict");
}

#[test]
fn strict_advice_binds_a_spawned_thread() {
    let t = TopologySnapshot::detect().expect("detect");
    let target = t.cores().last().expect("a core").core_id;
    let all_cores: BTreeSet<u64> = t.cores().iter().map(|c| c.core_id.0).collect();
    let before = cpus_allowed();
    let (outcome, allowed) = std::thread::spawn(move || {
        let advice = ThreadAffinityAdvice {
            shard_id: ShardId(0),
            recommended_core: target,
            recommended_numa_node: NodeId(0),
            enforcement: AffinityEnforcement::Strict,
        };
        (bind_current_thread(&advice), cpus_allowed())
    })
    .join()
    .expect("thread");
    assert!(outcome.applied, "{outcome:?}");
    assert_eq!(outcome.reason, None);
    // The kernel now lets the thread run on the target core's PUs only.
    assert!(allowed.contains(&target.0), "{allowed:?}");
    assert_eq!(allowed.intersection(&all_cores).copied().collect::<Vec<_>>(), vec![target.0]);
    // The test thread itself was not touched.
    assert_eq!(cpus_allowed(), before);
}

#[test]
fn binding_a_missing_core_is_not_applied() {
    let out = std::thread::spawn(|| {
        let before = cpus_allowed();
        let out = bind_current_thread(&ThreadAffinityAdvice {
            shard_id: ShardId(0),
            recommended_core: CoreId(1 << 40),
            recommended_numa_node: NodeId(0),
            enforcement: AffinityEnforcement::Strict,
        });
        assert_eq!(cpus_allowed(), before);
        out
    })
    .join()
    .expect("no panic");
    assert!(!out.applied);
    assert!(out.reason.expect("a reason").contains("does not exist"));
}

#[test]
fn mesh_fallbacks_through_plan() {
    assert_eq!(PlacementManifest::plan(3, None).fallback_reason(), Some(FallbackReason::TopologyUnavailable));
    assert_eq!(
        PlacementManifest::plan(3, Some(&pairs(&[]))).fallback_reason(),
        Some(FallbackReason::TopologyEmpty)
    );
}

/// A random, valid synthetic description: packages, optionally NUMA nodes, cores and PUs.
fn synthetic_description() -> impl Strategy<Value = String> {
    (1u32..4, prop::option::of(1u32..4), 1u32..6, 1u32..3).prop_map(|(pack, numa, core, pu)| match numa {
        Some(n) => format!("pack:{pack} numa:{n} core:{core} pu:{pu}"),
        None => format!("pack:{pack} core:{core} pu:{pu}"),
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    // T2 and T3 over random synthetic topologies.
    #[test]
    fn planner_is_deterministic_and_follows_the_layout(desc in synthetic_description(), shards in 0usize..200) {
        let t = TopologySnapshot::synthetic(&desc).expect("generated descriptions are valid");
        let again = TopologySnapshot::synthetic(&desc).expect("valid");
        prop_assert_eq!(&t, &again);
        let m = PlacementManifest::plan(shards, Some(&t));
        prop_assert_eq!(&m, &PlacementManifest::plan(shards, Some(&again)));
        prop_assert_eq!(m.bindings().len(), shards);
        let nodes: Vec<NodeId> = t.cores().iter().map(|c| c.numa_node).collect::<BTreeSet<_>>().into_iter().collect();
        if shards > 0 {
            prop_assert_eq!(m.numa_node_count(), nodes.len());
            prop_assert_eq!(m.fallback_reason(), (nodes.len() == 1).then_some(FallbackReason::SingleNumaNode));
        }
        for (s, b) in m.bindings().iter().enumerate() {
            prop_assert_eq!(b.shard_id, ShardId(s as u32));
            let node = nodes[s % nodes.len()];
            let cores: Vec<CoreId> = t.cores().iter().filter(|c| c.numa_node == node).map(|c| c.core_id).collect();
            prop_assert_eq!(b.numa_node, node);
            prop_assert_eq!(b.core_id, cores[(s / nodes.len()) % cores.len()]);
        }
    }

    // T1: any order and duplication of the same pairs gives the same snapshot.
    #[test]
    fn pairs_normal_form(mut p in prop::collection::vec((0u64..64, 0u32..4), 0..40), seed in any::<u64>()) {
        let a = TopologySnapshot::from_core_node_pairs(p.iter().copied());
        let n = p.len().max(1);
        p.rotate_left((seed as usize) % n);
        p.extend(p.clone().into_iter().take(3));
        let b = TopologySnapshot::from_core_node_pairs(p.iter().copied());
        prop_assert_eq!(&a, &b);
        prop_assert!(a.cores().windows(2).all(|w| w[0] < w[1]));
    }
}
