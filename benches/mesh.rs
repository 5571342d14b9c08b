//! Reactor mesh and planner benchmarks, each mesh operation beside a naive baseline in the same
//! run.
//!
//! The baseline (`NaiveMesh`, below) is the original design's shape: its enqueue returns a
//! clone of the envelope it queued, and its global-order drain scans every lane head for the
//! lowest global seq on each item (O(shards) per item). seqloop's mesh returns a reference to
//! the queued envelope and merges lane heads with a min-heap (O(log shards) per item).
//!
//! Every measured batch handles `ITEMS` envelopes; divide the reported time by `ITEMS` for
//! ns/item (criterion also prints the element throughput). Enqueue is measured in steady state:
//! the setup fills and drains each mesh once, so lane rings are already grown (as in a running
//! mesh) and the batch measures routing, seqs and the push, not the first allocation.

use std::collections::VecDeque;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use seqloop::mesh::route::{hash_route, RoundRobin};
use seqloop::mesh::{Envelope, MeshConfig, MeshTask, ReactorMesh};
use seqloop::sched::{HostcallCompletion, HostcallOutcome, InboundEvent, Seq};
use seqloop::topo::{PlacementManifest, ShardId, TopologySnapshot};
use serde_json::Value;

const ITEMS: usize = 4096;
const SHARDS: [usize; 4] = [1, 4, 64, 256];

/// The naive baseline: clone-on-enqueue, scan-every-head global drain.
struct NaiveMesh {
    lanes: Vec<VecDeque<Envelope<Value>>>,
    shard_seqs: Vec<Seq>,
    global: Seq,
    rr: RoundRobin,
    capacity: usize,
}

impl NaiveMesh {
    fn new(shards: usize, capacity: usize) -> Self {
        Self {
            lanes: (0..shards).map(|_| VecDeque::new()).collect(),
            shard_seqs: vec![Seq::ZERO; shards],
            global: Seq::ZERO,
            rr: RoundRobin::default(),
            capacity,
        }
    }

    fn enqueue(&mut self, shard: ShardId, task: MeshTask<Value>) -> Option<Envelope<Value>> {
        let s = shard.0 as usize;
        let global_seq = self.global;
        self.global = global_seq.next();
        let shard_seq = self.shard_seqs[s];
        self.shard_seqs[s] = shard_seq.next();
        if self.lanes[s].len() >= self.capacity {
            return None;
        }
        let envelope = Envelope { global_seq, shard_seq, shard_id: shard, task };
        self.lanes[s].push_back(envelope.clone());
        Some(envelope)
    }

    fn enqueue_hostcall_complete(
        &mut self,
        call_id: String,
        outcome: HostcallOutcome<Value>,
    ) -> Option<Envelope<Value>> {
        let shard = hash_route(&call_id, self.lanes.len());
        self.enqueue(shard, MeshTask::HostcallComplete(HostcallCompletion { call_id, outcome }))
    }

    fn enqueue_event(&mut self, event_id: String, payload: Value) -> Option<Envelope<Value>> {
        let shard = self.rr.next(self.lanes.len());
        self.enqueue(shard, MeshTask::InboundEvent(InboundEvent { event_id, payload }))
    }

    fn drain_global_order(&mut self, budget: usize) -> Vec<Envelope<Value>> {
        let mut out = Vec::new();
        while out.len() < budget {
            let best =
                self.lanes.iter().enumerate().filter_map(|(i, l)| l.front().map(|e| (e.global_seq, i))).min();
            match best.and_then(|(_, i)| self.lanes[i].pop_front()) {
                Some(e) => out.push(e),
                None => break,
            }
        }
        out
    }
}

fn calls() -> Vec<(String, HostcallOutcome<Value>)> {
    (0..ITEMS).map(|i| (format!("call-{i}"), HostcallOutcome::Success { value: Value::from(i) })).collect()
}

fn bench_enqueue(c: &mut Criterion) {
    let mut g = c.benchmark_group("enqueue_hostcall");
    g.throughput(Throughput::Elements(ITEMS as u64));
    for shards in SHARDS {
        g.bench_with_input(BenchmarkId::new("mesh", shards), &shards, |b, &shards| {
            b.iter_batched(
                || {
                    let mut mesh = ReactorMesh::<Value>::new(MeshConfig {
                        shard_count: shards,
                        lane_capacity: ITEMS,
                        topology: None,
                    });
                    for (id, outcome) in calls() {
                        let _ = mesh.enqueue_hostcall_complete(id, outcome);
                    }
                    mesh.drain_global_order(ITEMS);
                    (mesh, calls())
                },
                |(mut mesh, calls)| {
                    for (id, outcome) in calls {
                        black_box(mesh.enqueue_hostcall_complete(id, outcome).is_ok());
                    }
                    mesh
                },
                BatchSize::LargeInput,
            );
        });
        g.bench_with_input(BenchmarkId::new("naive_clone", shards), &shards, |b, &shards| {
            b.iter_batched(
                || {
                    let mut mesh = NaiveMesh::new(shards, ITEMS);
                    for (id, outcome) in calls() {
                        let _ = mesh.enqueue_hostcall_complete(id, outcome);
                    }
                    mesh.drain_global_order(ITEMS);
                    (mesh, calls())
                },
                |(mut mesh, calls)| {
                    let mut kept = Vec::with_capacity(ITEMS);
                    for (id, outcome) in calls {
                        kept.push(black_box(mesh.enqueue_hostcall_complete(id, outcome)));
                    }
                    (mesh, kept)
                },
                BatchSize::LargeInput,
            );
        });
    }
    g.finish();
}

fn bench_drain_global(c: &mut Criterion) {
    let mut g = c.benchmark_group("drain_global_order");
    g.throughput(Throughput::Elements(ITEMS as u64));
    for shards in SHARDS {
        g.bench_with_input(BenchmarkId::new("mesh_heap", shards), &shards, |b, &shards| {
            b.iter_batched(
                || {
                    let mut mesh = ReactorMesh::<Value>::new(MeshConfig {
                        shard_count: shards,
                        lane_capacity: ITEMS,
                        topology: None,
                    });
                    for i in 0..ITEMS {
                        let _ = mesh.enqueue_event(format!("evt-{i}"), Value::from(i));
                    }
                    mesh
                },
                |mut mesh| {
                    let out = mesh.drain_global_order(ITEMS);
                    assert_eq!(out.len(), ITEMS);
                    (mesh, out)
                },
                BatchSize::LargeInput,
            );
        });
        g.bench_with_input(BenchmarkId::new("naive_scan", shards), &shards, |b, &shards| {
            b.iter_batched(
                || {
                    let mut mesh = NaiveMesh::new(shards, ITEMS);
                    for i in 0..ITEMS {
                        let _ = mesh.enqueue_event(format!("evt-{i}"), Value::from(i));
                    }
                    mesh
                },
                |mut mesh| {
                    let out = mesh.drain_global_order(ITEMS);
                    assert_eq!(out.len(), ITEMS);
                    (mesh, out)
                },
                BatchSize::LargeInput,
            );
        });
    }
    g.finish();
}

fn bench_planner(c: &mut Criterion) {
    let topology = TopologySnapshot::synthetic("pack:8 numa:2 core:32 pu:2").expect("valid description");
    c.bench_function("plan_1024_shards_16_nodes_512_cores", |b| {
        b.iter(|| PlacementManifest::plan(black_box(1024), Some(black_box(&topology))));
    });
}

criterion_group!(benches, bench_enqueue, bench_drain_global, bench_planner);
criterion_main!(benches);
