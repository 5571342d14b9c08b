//! Slab handles through the mesh (API.md §7, last item): a producer writes a message into a slot
//! of real mapped memory, sends only the handle through `ReactorMesh<SlabHandle>`, and the
//! consumer reads the same bytes and frees the slot. Also `NumaSlabPool::from_manifest`
//! (behaviours §9.1 PO1–PO3) and the allocation-free drains against a model.

use proptest::prelude::*;
use seqloop::mesh::{MeshConfig, MeshError, MeshTask, ReactorMesh, ShardId};
use seqloop::slab::{NodeId, NumaSlabConfig, NumaSlabPool, SlabHandle};
use seqloop::topo::hugepage::HugepageConfig;
use seqloop::topo::{PlacementManifest, TopologySnapshot};

fn cfg(capacity: usize, entry: usize) -> NumaSlabConfig {
    NumaSlabConfig {
        slab_capacity: capacity,
        entry_size_bytes: entry,
        hugepage: HugepageConfig { enabled: false, page_size_bytes: 2 << 20 },
    }
}

fn mesh(shards: usize, cap: usize) -> ReactorMesh<SlabHandle> {
    ReactorMesh::new(MeshConfig { shard_count: shards, lane_capacity: cap, topology: None })
}

fn manifest(shards: usize, pairs: &[(u64, u32)]) -> PlacementManifest {
    let topo = (!pairs.is_empty()).then(|| TopologySnapshot::from_core_node_pairs(pairs.iter().copied()));
    PlacementManifest::plan(shards, topo.as_ref())
}

/// A message body that differs per message and per byte.
fn message(i: u32, len: usize) -> Vec<u8> {
    (0..len).map(|b| (i as usize * 31 + b * 7) as u8).collect()
}

/// The slot handle of an envelope the consumer drained.
fn handle_of(task: &MeshTask<SlabHandle>) -> SlabHandle {
    match task {
        MeshTask::InboundEvent(ev) => ev.payload,
        MeshTask::HostcallComplete(_) => panic!("only events were queued"),
    }
}

#[test]
fn po1_po3_from_manifest() {
    // PO1
    let p = NumaSlabPool::from_manifest(&manifest(4, &[(0, 0), (1, 0), (2, 1), (3, 1)]), cfg(4, 64)).unwrap();
    assert_eq!(p.node_count(), 2);
    // PO2: no topology → every shard on node 0.
    let p = NumaSlabPool::from_manifest(&manifest(4, &[]), cfg(4, 64)).unwrap();
    assert_eq!(p.node_ids().collect::<Vec<_>>(), [NodeId(0)]);
    // PO3
    let p = NumaSlabPool::from_manifest(&manifest(3, &[(0, 0), (1, 1), (2, 2)]), cfg(4, 64)).unwrap();
    assert_eq!(p.node_ids().collect::<Vec<_>>(), [NodeId(0), NodeId(1), NodeId(2)]);
    // No bindings at all (zero shards) → a single node 0 (P1).
    let p = NumaSlabPool::from_manifest(&manifest(0, &[]), cfg(4, 64)).unwrap();
    assert_eq!(p.node_ids().collect::<Vec<_>>(), [NodeId(0)]);
    // Nodes follow the bindings, ascending, whatever the core order.
    let p = NumaSlabPool::from_manifest(&manifest(4, &[(9, 5), (1, 3)]), cfg(4, 64)).unwrap();
    assert_eq!(p.node_ids().collect::<Vec<_>>(), [NodeId(3), NodeId(5)]);
    // One NodeId type across topology and slabs: the largest node id a topology can name is one
    // a slab holds, unchanged.
    let p = NumaSlabPool::from_manifest(&manifest(1, &[(0, u32::MAX)]), cfg(4, 64)).unwrap();
    assert_eq!(p.node_ids().collect::<Vec<_>>(), [NodeId(u32::MAX)]);
}

#[test]
fn producer_mesh_consumer_free_on_real_memory() {
    let m4 = manifest(4, &[(0, 0), (1, 0), (2, 1), (3, 1)]);
    let mut pool = NumaSlabPool::from_manifest(&m4, cfg(64, 512)).unwrap();
    let mut requests = ReactorMesh::new(MeshConfig {
        shard_count: 4,
        lane_capacity: 64,
        topology: Some(TopologySnapshot::from_core_node_pairs([(0, 0), (1, 0), (2, 1), (3, 1)])),
    });
    let mut replies = mesh(4, 64);
    let keys = ["orders", "quotes", "fills", "audit"];

    // Producer: allocate on the NUMA node of the consumer's shard, write, send the handle.
    let mut sent = Vec::new();
    for i in 0..40u32 {
        let key = keys[i as usize % keys.len()];
        let shard = requests.hash_route(key);
        let node = requests.preferred_numa_node(shard);
        let a = pool.allocate(node).expect("capacity");
        assert_eq!(a.handle.node_id, node, "the slot lives on the consumer's node");
        pool.slot_bytes_mut(&a.handle).unwrap().copy_from_slice(&message(i, 512));
        let addr = pool.slot_bytes(&a.handle).unwrap().as_ptr() as usize;
        let e = requests.enqueue_event_by_key(key.to_string(), a.handle).unwrap();
        assert_eq!(e.shard_id, shard);
        sent.push((i, a.handle, addr));
    }
    assert_eq!(pool.telemetry().total_in_use(), 40);

    // Consumers: each shard drains its handles and finds the producer's bytes at the same
    // address (no copy), then writes a reply in place and sends the same slot back.
    let mut seen = 0;
    for s in 0..4 {
        for e in requests.drain_shard(ShardId(s), usize::MAX) {
            let h = handle_of(&e.task);
            let &(i, _, addr) = sent.iter().find(|(_, sh, _)| *sh == h).expect("a handle that was sent");
            let bytes = pool.slot_bytes(&h).expect("live");
            assert_eq!(bytes.as_ptr() as usize, addr, "the consumer reads the producer's memory");
            assert_eq!(bytes, &message(i, 512)[..], "byte for byte");
            let reply = message(i ^ 0xffff, 512);
            pool.slot_bytes_mut(&h).unwrap().copy_from_slice(&reply);
            replies.enqueue_event_by_key(format!("reply-{i}"), h).unwrap();
            seen += 1;
        }
    }
    assert_eq!(seen, 40);
    assert!(!requests.has_pending());

    // The producer reads the replies through the same slots and frees them.
    let mut handles = Vec::new();
    let n = replies.drain_global_order_while(usize::MAX, |e| {
        handles.push(handle_of(&e.task));
        true
    });
    assert_eq!(n, 40);
    for h in handles {
        let &(i, _, _) = sent.iter().find(|(_, sh, _)| *sh == h).unwrap();
        assert_eq!(pool.slot_bytes(&h).unwrap(), &message(i ^ 0xffff, 512)[..]);
        assert!(pool.deallocate(&h));
        assert!(pool.slot_bytes(&h).is_none(), "a freed handle reaches no memory (P3)");
    }
    let t = pool.telemetry();
    assert_eq!((t.total_in_use(), t.total_allocs(), t.total_frees()), (0, 40, 40));
}

#[test]
fn backpressure_hands_the_slot_back_to_the_producer() {
    let mut pool = NumaSlabPool::new(&[NodeId(0)], cfg(4, 64)).unwrap();
    let mut m = mesh(1, 2);
    let mut queued = Vec::new();
    for i in 0..2u32 {
        let h = pool.allocate(NodeId(0)).unwrap().handle;
        pool.slot_bytes_mut(&h).unwrap().fill(i as u8 + 1);
        m.enqueue_event_by_key("k".into(), h).unwrap();
        queued.push(h);
    }
    let h = pool.allocate(NodeId(0)).unwrap().handle;
    let rejected = m.enqueue_event_by_key("k".into(), h).unwrap_err();
    assert_eq!(rejected.error, MeshError::Backpressure { shard_id: ShardId(0), depth: 2, capacity: 2 });
    // The handle comes back, still live: the producer owns it and frees it.
    let back = handle_of(&rejected.envelope.task);
    assert_eq!(back, h);
    assert!(pool.is_live(&back));
    assert!(pool.deallocate(&back));
    // Nothing queued was lost.
    let got: Vec<SlabHandle> = m.drain_shard(ShardId(0), 8).iter().map(|e| handle_of(&e.task)).collect();
    assert_eq!(got, queued);
    for (i, h) in got.iter().enumerate() {
        assert!(pool.slot_bytes(h).unwrap().iter().all(|&b| b == i as u8 + 1));
        assert!(pool.deallocate(h));
    }
    assert_eq!(pool.telemetry().total_in_use(), 0, "no slot leaked");
}

#[test]
fn a_handle_freed_in_flight_is_stale_for_the_consumer() {
    let mut pool = NumaSlabPool::new(&[NodeId(0)], cfg(2, 32)).unwrap();
    let mut m = mesh(2, 4);
    let h = pool.allocate(NodeId(0)).unwrap().handle;
    m.enqueue_event("e".into(), h).unwrap();
    // A buggy producer frees after sending; the slot is reused by someone else.
    assert!(pool.deallocate(&h));
    let other = pool.allocate(NodeId(0)).unwrap().handle;
    assert_eq!(other.slot_index, h.slot_index);
    pool.slot_bytes_mut(&other).unwrap().fill(0xAA);
    let got = m.drain_global_order(1);
    let drained = handle_of(&got[0].task);
    assert!(pool.slot_bytes(&drained).is_none(), "the old generation never reaches the new tenant");
    assert!(!pool.deallocate(&drained));
    assert!(pool.is_live(&other));
}

/// A payload that is either a slot message or something else (a JSON event in the binding).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Item {
    Slot(u32),
    Other(u32),
}

proptest! {
    // drain_global_order_while / drain_shard_while against a model: the queued items in global
    // (or lane) order, taken while they are slots, the rest left in order (M1, M4, L2).
    #[test]
    fn filtered_drains_match_the_model(
        shards in 1usize..5,
        ops in proptest::collection::vec((0u8..4, 0u8..8, any::<bool>()), 1..120),
    ) {
        let mut m: ReactorMesh<Item> = ReactorMesh::new(MeshConfig { shard_count: shards, lane_capacity: 16, topology: None });
        let mut model: Vec<(u64, u32, Item)> = Vec::new(); // (global seq, shard, item), queued
        for (i, (op, key, is_slot)) in ops.into_iter().enumerate() {
            let i = i as u32;
            match op {
                0 | 1 => {
                    let item = if is_slot { Item::Slot(i) } else { Item::Other(i) };
                    if let Ok(e) = m.enqueue_event_by_key(format!("k{key}"), item) {
                        model.push((e.global_seq.0, e.shard_id.0, item));
                    }
                }
                2 => {
                    let shard = u32::from(key) % shards as u32;
                    let mut got = Vec::new();
                    let budget = usize::from(key % 4);
                    let n = m.drain_shard_while(ShardId(shard), budget, |e| match e.task {
                        MeshTask::InboundEvent(ref ev) if matches!(ev.payload, Item::Slot(_)) => {
                            got.push(ev.payload);
                            true
                        }
                        _ => false,
                    });
                    let lane: Vec<usize> = (0..model.len()).filter(|&j| model[j].1 == shard).collect();
                    let want: Vec<usize> = lane
                        .iter()
                        .copied()
                        .take(budget)
                        .take_while(|&j| matches!(model[j].2, Item::Slot(_)))
                        .collect();
                    prop_assert_eq!(n, want.len());
                    prop_assert_eq!(&got, &want.iter().map(|&j| model[j].2).collect::<Vec<_>>());
                    for j in want.into_iter().rev() {
                        model.remove(j);
                    }
                }
                _ => {
                    let budget = usize::from(key);
                    let mut got = Vec::new();
                    let n = m.drain_global_order_while(budget, |e| match e.task {
                        MeshTask::InboundEvent(ref ev) if matches!(ev.payload, Item::Slot(_)) => {
                            got.push(ev.payload);
                            true
                        }
                        _ => false,
                    });
                    model.sort_by_key(|x| x.0);
                    let k = model.iter().take(budget).take_while(|x| matches!(x.2, Item::Slot(_))).count();
                    prop_assert_eq!(n, k);
                    prop_assert_eq!(&got, &model[..k].iter().map(|x| x.2).collect::<Vec<_>>());
                    model.drain(..k);
                }
            }
            prop_assert_eq!(m.total_depth(), model.len());
        }
        // Whatever is left comes out in global order, exactly the model's rest.
        model.sort_by_key(|x| x.0);
        let rest: Vec<Item> = m
            .drain_global_order(usize::MAX)
            .into_iter()
            .map(|e| match e.task {
                MeshTask::InboundEvent(ev) => ev.payload,
                MeshTask::HostcallComplete(_) => unreachable!(),
            })
            .collect();
        prop_assert_eq!(rest, model.iter().map(|x| x.2).collect::<Vec<_>>());
        prop_assert!(!m.has_pending());
    }
}

#[test]
fn an_event_routed_by_a_key_lands_where_that_key_routes_and_keeps_its_own_id() {
    let mut by_key = mesh(7, 64);
    let mut routed = mesh(7, 64);
    for i in 0..50u32 {
        let key = format!("stream-{i}");
        let h = SlabHandle { node_id: NodeId(0), slot_index: seqloop::slab::SlotIndex(i), generation: 1 };
        let a = by_key.enqueue_event_by_key(key.clone(), h).unwrap().shard_id;
        let hashed = routed.hash_route(&key);
        let e = routed.enqueue_event_routed(&key, String::new(), h).unwrap();
        assert_eq!((e.shard_id, e.shard_id), (a, hashed), "{key}");
        match &e.task {
            MeshTask::InboundEvent(ev) => assert_eq!((ev.event_id.as_str(), ev.payload), ("", h)),
            MeshTask::HostcallComplete(_) => panic!("an event was queued"),
        }
    }
}
