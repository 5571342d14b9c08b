//! `ReactorMesh` against the public core API (behaviors.md §5; invariants M1–M5 of
//! `seqloop::mesh`).

use proptest::prelude::*;
use seqloop::mesh::{Envelope, MeshConfig, MeshError, MeshTask, ReactorMesh};
use seqloop::sched::{HostcallOutcome, Seq};
use seqloop::topo::{AffinityEnforcement, FallbackReason, NodeId, ShardId, TopologySnapshot};
use serde_json::{json, Value};

fn mesh(shards: usize, cap: usize) -> ReactorMesh<Value> {
    ReactorMesh::new(MeshConfig { shard_count: shards, lane_capacity: cap, topology: None })
}

fn mesh_on(shards: usize, cap: usize, pairs: &[(u64, u32)]) -> ReactorMesh<Value> {
    ReactorMesh::new(MeshConfig {
        shard_count: shards,
        lane_capacity: cap,
        topology: Some(TopologySnapshot::from_core_node_pairs(pairs.iter().copied())),
    })
}

fn ok(v: Value) -> HostcallOutcome<Value> {
    HostcallOutcome::Success { value: v }
}

#[test]
fn default_config_and_clamping() {
    let m: ReactorMesh<Value> = ReactorMesh::default();
    assert_eq!((m.shard_count(), m.lane_capacity()), (4, 1024));
    let m = mesh(0, 0);
    assert_eq!((m.shard_count(), m.lane_capacity()), (1, 1));
    assert_eq!(m.placement_manifest().shard_count(), 1);
}

#[test]
fn same_call_same_shard() {
    // HR1
    let mut m = mesh(8, 64);
    let a = m.enqueue_hostcall_complete("call-affinity".into(), ok(json!(1))).unwrap().clone();
    let b = m.enqueue_hostcall_complete("call-affinity".into(), ok(json!(2))).unwrap().clone();
    assert_eq!(a.shard_id, b.shard_id);
    assert_eq!(a.shard_id, ShardId(0));
    assert_eq!(b.shard_seq, a.shard_seq.next());
    assert_eq!(m.hash_route("call-affinity"), ShardId(0));
}

#[test]
fn events_round_robin() {
    // RR1
    let mut m = mesh(3, 16);
    let ids: Vec<u32> =
        (0..6).map(|i| m.enqueue_event(format!("e{i}"), Value::Null).unwrap().shard_id.0).collect();
    assert_eq!(ids, [0, 1, 2, 0, 1, 2]);
    // RR2
    let mut m = mesh(4, 16);
    for i in 0..4 {
        m.enqueue_event(format!("e{i}"), Value::Null).unwrap();
    }
    assert!((0..4).all(|s| m.queue_depth(ShardId(s)) == Some(1)));
}

#[test]
fn hostcalls_do_not_move_the_cursor() {
    let mut m = mesh(4, 16);
    assert_eq!(m.enqueue_event("e0".into(), Value::Null).unwrap().shard_id, ShardId(0));
    for i in 0..5 {
        m.enqueue_hostcall_complete(format!("c{i}"), ok(Value::Null)).unwrap();
    }
    assert_eq!(m.enqueue_event("e1".into(), Value::Null).unwrap().shard_id, ShardId(1));
}

#[test]
fn backpressure_rejects_and_keeps_queued_work() {
    // BP1
    let mut m = mesh(1, 2);
    m.enqueue_event("evt-0".into(), json!(0)).unwrap();
    m.enqueue_event("evt-1".into(), json!(1)).unwrap();
    let rejected = m.enqueue_event("evt-overflow".into(), json!(2)).unwrap_err();
    assert_eq!(rejected.error, MeshError::Backpressure { shard_id: ShardId(0), depth: 2, capacity: 2 });
    // The envelope comes back, with the seqs it used up (5.4: taken before the check).
    assert_eq!((rejected.envelope.global_seq, rejected.envelope.shard_seq), (Seq(2), Seq(2)));
    let t = m.telemetry();
    assert_eq!(
        (t.rejected_enqueues, t.max_queue_depths.clone(), t.queue_depths.clone()),
        (1, vec![2], vec![2])
    );
    let drained = m.drain_shard(ShardId(0), 10);
    let ids: Vec<&str> = drained
        .iter()
        .map(|e| match &e.task {
            MeshTask::InboundEvent(ev) => ev.event_id.as_str(),
            MeshTask::HostcallComplete(_) => "?",
        })
        .collect();
    assert_eq!(ids, ["evt-0", "evt-1"]);
    // The rejected enqueue used seq 2: the next one gets 3.
    let next = m.enqueue_event("evt-3".into(), Value::Null).unwrap();
    assert_eq!((next.global_seq, next.shard_seq), (Seq(3), Seq(3)));
}

#[test]
fn rejected_event_still_moves_the_cursor() {
    let mut m = mesh(2, 1);
    m.enqueue_event("a".into(), Value::Null).unwrap(); // shard 0
    m.enqueue_event("b".into(), Value::Null).unwrap(); // shard 1
    assert!(m.enqueue_event("c".into(), Value::Null).is_err()); // shard 0 full
    assert!(m.enqueue_event("d".into(), Value::Null).is_err()); // shard 1 full
    m.drain_shard(ShardId(1), 1);
    // The cursor is back at 0 (it moved on both rejections), and shard 0 is still full.
    let e = m.enqueue_event("e".into(), Value::Null).unwrap_err();
    assert!(matches!(e.error, MeshError::Backpressure { shard_id: ShardId(0), .. }));
    assert_eq!(m.enqueue_event("f".into(), Value::Null).unwrap().shard_id, ShardId(1));
}

#[test]
fn depth_queries() {
    // DQ1
    let m = mesh(4, 16);
    assert!((0..4).all(|s| m.queue_depth(ShardId(s)) == Some(0)));
    assert_eq!(m.queue_depth(ShardId(99)), None);
    // DQ2
    let mut m = mesh(3, 16);
    assert_eq!((m.shard_count(), m.total_depth(), m.has_pending()), (3, 0, false));
    m.enqueue_event("a".into(), Value::Null).unwrap();
    m.enqueue_event("b".into(), Value::Null).unwrap();
    assert_eq!((m.total_depth(), m.has_pending()), (2, true));
}

#[test]
fn drain_unknown_shard_is_empty() {
    // DS1
    let mut m = mesh(2, 16);
    m.enqueue_event("a".into(), Value::Null).unwrap();
    assert!(m.drain_shard(ShardId(99), 10).is_empty());
    assert_eq!(m.total_depth(), 1);
}

#[test]
fn drain_global_order_merges_lanes() {
    // DG1
    let mut m = mesh(4, 16);
    let mut seqs = vec![];
    let e = m.enqueue_event("evt-1".into(), Value::Null).unwrap();
    assert_eq!(e.shard_id, ShardId(0));
    seqs.push(e.global_seq);
    let e = m.enqueue_hostcall_complete("call-a".into(), ok(Value::Null)).unwrap();
    assert_eq!(e.shard_id, ShardId(3));
    seqs.push(e.global_seq);
    let e = m.enqueue_event("evt-2".into(), Value::Null).unwrap();
    assert_eq!(e.shard_id, ShardId(1));
    seqs.push(e.global_seq);
    let e = m.enqueue_hostcall_complete("call-b".into(), ok(Value::Null)).unwrap();
    assert_eq!(e.shard_id, ShardId(2));
    seqs.push(e.global_seq);
    let got: Vec<Seq> = m.drain_global_order(16).iter().map(|e| e.global_seq).collect();
    assert_eq!(got, seqs);
    assert_eq!(got, [Seq(0), Seq(1), Seq(2), Seq(3)]);
    assert!(!m.has_pending());
}

#[test]
fn global_drain_after_shard_drains_and_budgets() {
    let mut m = mesh(3, 64);
    for i in 0..30 {
        m.enqueue_event(format!("e{i}"), json!(i)).unwrap();
    }
    // Take the two oldest of shard 1 (seqs 1, 4) and then drain by budget.
    let taken: Vec<u64> = m.drain_shard(ShardId(1), 2).iter().map(|e| e.global_seq.0).collect();
    assert_eq!(taken, [1, 4]);
    let a: Vec<u64> = m.drain_global_order(5).iter().map(|e| e.global_seq.0).collect();
    assert_eq!(a, [0, 2, 3, 5, 6]);
    for i in 30..33 {
        m.enqueue_event(format!("e{i}"), json!(i)).unwrap();
    }
    let rest: Vec<u64> = m.drain_global_order(usize::MAX).iter().map(|e| e.global_seq.0).collect();
    assert_eq!(rest, (7..33).collect::<Vec<_>>());
    assert_eq!(m.drain_global_order(4), Vec::<Envelope<Value>>::new());
}

#[test]
fn many_shard_drains_then_global_order() {
    // M3: each shard drain that leaves a lane non-empty leaves a stale head entry behind;
    // hundreds of them must neither break the merge nor grow the index without bound.
    let mut m = mesh(4, 64);
    for i in 0..64 {
        m.enqueue_event(format!("e{i}"), json!(i)).unwrap();
    }
    let mut expected: Vec<u64> = (0..64).collect();
    for (round, next) in (0..400u32).zip(64..) {
        let s = ShardId(round % 4);
        let taken = m.drain_shard(s, 1);
        assert_eq!(taken.len(), 1);
        expected.retain(|&g| g != taken[0].global_seq.0);
        // The round-robin cursor refills the shards in turn.
        let e = m.enqueue_event(format!("e{next}"), json!(next)).unwrap();
        expected.push(e.global_seq.0);
    }
    let got: Vec<u64> = m.drain_global_order(usize::MAX).iter().map(|e| e.global_seq.0).collect();
    expected.sort_unstable();
    assert_eq!(got, expected);
    assert_eq!(m.total_depth(), 0);
}

#[test]
fn telemetry_without_topology() {
    // TL1
    let m = mesh(2, 8);
    let j = m.telemetry().to_json();
    assert_eq!(j["queue_depths"].as_array().map(Vec::len), Some(2));
    assert_eq!(j["rejected_enqueues"], 0);
    assert_eq!(j["shard_bindings"].as_array().map(Vec::len), Some(2));
    assert_eq!(j["fallback_reason"], "topology_unavailable");
    let mut keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["fallback_reason", "max_queue_depths", "queue_depths", "rejected_enqueues", "shard_bindings"]
    );
}

#[test]
fn telemetry_single_node() {
    // TL2
    let mut m = mesh_on(2, 4, &[(10, 0), (11, 0)]);
    m.enqueue_event("e".into(), Value::Null).unwrap();
    let t = m.telemetry();
    assert_eq!(t.fallback_reason, Some(FallbackReason::SingleNumaNode));
    let j = t.to_json();
    assert_eq!(j["fallback_reason"], "single_numa_node");
    assert_eq!(
        j["shard_bindings"],
        json!([{"shard_id": 0, "core_id": 10, "numa_node": 0}, {"shard_id": 1, "core_id": 11, "numa_node": 0}])
    );
}

#[test]
fn manifest_preferred_node_and_advice() {
    // MM1
    let m = mesh_on(3, 8, &[(2, 0), (3, 0)]);
    let j = m.placement_manifest().to_json();
    assert_eq!((j["shard_count"].as_u64(), j["numa_node_count"].as_u64()), (Some(3), Some(1)));
    assert_eq!(j["fallback_reason"], "single_numa_node");
    assert_eq!(j["bindings"].as_array().map(Vec::len), Some(3));
    // MM2
    let m = mesh_on(3, 8, &[(0, 0), (4, 1), (8, 2)]);
    let nodes: Vec<NodeId> = [0, 1, 2, 99].map(|s| m.preferred_numa_node(ShardId(s))).to_vec();
    assert_eq!(nodes, [NodeId(0), NodeId(1), NodeId(2), NodeId(0)]);
    // MM3
    let m = mesh_on(2, 8, &[(0, 0), (1, 1)]);
    let advice = m.affinity_advice(AffinityEnforcement::Disabled);
    assert_eq!(advice.len(), 2);
    assert!(advice.iter().all(|a| a.enforcement == AffinityEnforcement::Disabled));
}

#[test]
fn envelopes_carry_their_tasks() {
    let mut m = mesh(4, 8);
    let e = m
        .enqueue_hostcall_complete(
            "call-1".into(),
            HostcallOutcome::Error { code: "E_TIMEOUT".into(), message: "Request timed out".into() },
        )
        .unwrap();
    assert_eq!(e.shard_id, ShardId(3));
    assert_eq!(e.task.code(), "hostcall_complete");
    let out = m.drain_shard(ShardId(3), 1);
    match &out[0].task {
        MeshTask::HostcallComplete(c) => {
            assert_eq!(c.call_id, "call-1");
            assert!(matches!(&c.outcome, HostcallOutcome::Error { code, .. } if code == "E_TIMEOUT"));
        }
        other => panic!("{other:?}"),
    }
}

/// A payload the mesh cannot clone: the mesh moves payloads, it never copies them.
#[derive(Debug, PartialEq)]
struct Handle(u64);

#[test]
fn payloads_are_moved_not_cloned() {
    let mut m: ReactorMesh<Handle> =
        ReactorMesh::new(MeshConfig { shard_count: 2, lane_capacity: 1, topology: None });
    m.enqueue_event("a".into(), Handle(7)).unwrap();
    m.enqueue_event("b".into(), Handle(8)).unwrap();
    let back = m.enqueue_event("c".into(), Handle(9)).unwrap_err();
    assert!(matches!(back.envelope.task, MeshTask::InboundEvent(ref ev) if ev.payload == Handle(9)));
    let got: Vec<u64> = m
        .drain_global_order(8)
        .into_iter()
        .map(|e| match e.task {
            MeshTask::InboundEvent(ev) => ev.payload.0,
            MeshTask::HostcallComplete(_) => u64::MAX,
        })
        .collect();
    assert_eq!(got, [7, 8]);
}

#[derive(Debug, Clone)]
enum Op {
    Call(u8),
    Event,
    DrainShard(u8, u8),
    DrainGlobal(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => any::<u8>().prop_map(Op::Call),
        3 => Just(Op::Event),
        1 => (any::<u8>(), 0u8..6).prop_map(|(s, b)| Op::DrainShard(s, b)),
        1 => (0u8..10).prop_map(Op::DrainGlobal),
    ]
}

proptest! {
    // DG2: drained global seqs strictly ascend.
    #[test]
    fn drain_global_order_is_sorted(shards in 1usize..8, cap in 2usize..16, n in 1usize..30) {
        let mut m = mesh(shards, cap);
        let mut accepted = 0;
        for i in 0..n {
            if m.enqueue_hostcall_complete(format!("call_{i}"), ok(json!(i))).is_ok() {
                accepted += 1;
            }
        }
        let seqs: Vec<u64> = m.drain_global_order(accepted).iter().map(|e| e.global_seq.0).collect();
        prop_assert_eq!(seqs.len(), accepted);
        prop_assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    }

    // 5.1: total depth is bounded by shards × capacity.
    #[test]
    fn total_depth_bounded(shards in 1usize..8, cap in 1usize..16, n in 0usize..100) {
        let mut m = mesh(shards, cap);
        for i in 0..n {
            let _ = m.enqueue_hostcall_complete(format!("call_{i}"), ok(Value::Null));
            prop_assert!(m.total_depth() <= shards * cap);
        }
    }

    // M1–M4 against a model (a sorted list of live envelopes per shard), through any mix of
    // enqueues, shard drains and global drains.
    #[test]
    fn mesh_matches_model(shards in 1usize..6, cap in 1usize..5, ops in prop::collection::vec(op(), 0..120)) {
        let mut m = mesh(shards, cap);
        let mut model: Vec<std::collections::VecDeque<u64>> = vec![Default::default(); shards];
        let mut seq = 0u64;
        let mut rr = 0usize;
        for op in ops {
            match op {
                Op::Call(c) => {
                    let id = format!("c{c}");
                    let s = m.hash_route(&id).0 as usize;
                    prop_assert!(s < shards);
                    let r = m.enqueue_hostcall_complete(id, ok(Value::Null));
                    if model[s].len() < cap { model[s].push_back(seq); prop_assert!(r.is_ok()); } else { prop_assert!(r.is_err()); }
                    seq += 1;
                }
                Op::Event => {
                    let s = rr % shards;
                    rr += 1;
                    let r = m.enqueue_event("e".into(), Value::Null);
                    match r {
                        Ok(e) => { prop_assert_eq!(e.shard_id.0 as usize, s); prop_assert_eq!(e.global_seq.0, seq); model[s].push_back(seq); }
                        Err(rej) => { prop_assert_eq!(rej.envelope.shard_id.0 as usize, s); prop_assert_eq!(model[s].len(), cap); }
                    }
                    seq += 1;
                }
                Op::DrainShard(s, b) => {
                    let got: Vec<u64> = m.drain_shard(ShardId(u32::from(s)), b as usize).iter().map(|e| e.global_seq.0).collect();
                    let want: Vec<u64> = match model.get_mut(s as usize) {
                        Some(q) => (0..(b as usize).min(q.len())).filter_map(|_| q.pop_front()).collect(),
                        None => vec![],
                    };
                    prop_assert_eq!(got, want);
                }
                Op::DrainGlobal(b) => {
                    let got: Vec<u64> = m.drain_global_order(b as usize).iter().map(|e| e.global_seq.0).collect();
                    let mut all: Vec<(u64, usize)> = model.iter().enumerate().flat_map(|(i, q)| q.iter().map(move |&s| (s, i))).collect();
                    all.sort_unstable();
                    let want: Vec<u64> = all.iter().take(b as usize).map(|x| x.0).collect();
                    for &(s, i) in all.iter().take(b as usize) {
                        prop_assert_eq!(model[i].pop_front(), Some(s));
                    }
                    prop_assert_eq!(got, want);
                }
            }
            let depth: usize = model.iter().map(|q| q.len()).sum();
            prop_assert_eq!(m.total_depth(), depth);
            prop_assert!(depth <= shards * cap);
        }
    }
}
