//! A 512-byte message from producer to consumer through the mesh, per message, in batches of
//! 256: write → send → read (checksum every byte) → free. Each measured beside a copying
//! baseline in the same run.
//!
//! - `slab_handle`: the body is written into a slot of real mapped memory; only the
//!   `SlabHandle` crosses `ReactorMesh<SlabHandle>`; the consumer reads the slot and frees it.
//! - `slab_handle_json_mesh`: the same through a mesh whose payload is the JS binding's shape
//!   (a JSON value *or* a handle), to show what the wider payload type costs.
//! - `vec_copy`: the baseline: the body is copied into a fresh `Vec<u8>` that crosses
//!   `ReactorMesh<Vec<u8>>` (what a copying transport does).
//! - `mpsc_vec_copy`: the same `Vec<u8>` through `std::sync::mpsc` (one thread).

use std::hint::black_box;
use std::sync::mpsc;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use seqloop::mesh::{MeshConfig, MeshTask, ReactorMesh, ShardId};
use seqloop::slab::{HostMemory, NodeId, NumaSlabConfig, NumaSlabPool, SlabHandle};
use seqloop::topo::hugepage::HugepageConfig;

const SIZE: usize = 512;
const BATCH: usize = 256;
const SHARDS: usize = 4;

fn template() -> [u8; SIZE] {
    std::array::from_fn(|b| (b * 131 + 7) as u8)
}

/// FNV-1a over the 32-bit words of the body in four interleaved lanes, folded at the end (the
/// consumer's read of every byte; the same function as bench/slab_mesh.js).
fn checksum(bytes: &[u8]) -> u32 {
    const P: u32 = 0x0100_0193;
    let mut l = [0x811c_9dc5u32, 0x0100_0193, 0x050c_5d1f, 0x2f5a_0c03];
    for chunk in bytes.chunks_exact(16) {
        for (k, lane) in l.iter_mut().enumerate() {
            let w = u32::from_le_bytes([chunk[4 * k], chunk[4 * k + 1], chunk[4 * k + 2], chunk[4 * k + 3]]);
            *lane = (*lane ^ w).wrapping_mul(P);
        }
    }
    (((l[0] ^ l[1]).wrapping_mul(P) ^ l[2]).wrapping_mul(P) ^ l[3]).wrapping_mul(P)
}

fn pool() -> NumaSlabPool {
    let config = NumaSlabConfig {
        slab_capacity: 4096,
        entry_size_bytes: SIZE,
        hugepage: HugepageConfig { enabled: false, page_size_bytes: 2 << 20 },
    };
    NumaSlabPool::with_host(&[NodeId(0)], config, &mut HostMemory::base_pages_only()).expect("pool")
}

fn mesh<P>() -> ReactorMesh<P> {
    ReactorMesh::new(MeshConfig { shard_count: SHARDS, lane_capacity: BATCH, topology: None })
}

fn payload<P: Copy>(task: &MeshTask<P>) -> Option<P> {
    match task {
        MeshTask::InboundEvent(ev) => Some(ev.payload),
        MeshTask::HostcallComplete(_) => None,
    }
}

/// The JS binding's payload shape: a JSON value or a slab handle.
#[allow(dead_code, reason = "the JSON arm is never built here; it only sizes the enum like the binding's")]
enum Wide {
    Json(serde_json::Value),
    Slot(SlabHandle),
}

fn bench(c: &mut Criterion) {
    let body = template();
    let keys: Vec<String> = (0..SHARDS).map(|i| format!("stream-{i}")).collect();
    let mut g = c.benchmark_group("slab_mesh/message_512B");
    g.throughput(Throughput::Elements(BATCH as u64));

    let mut p = pool();
    let mut m = mesh::<SlabHandle>();
    g.bench_function("slab_handle", |b| {
        b.iter(|| {
            for i in 0..BATCH {
                let h = p.allocate(NodeId(0)).expect("capacity").handle;
                let slot = p.slot_bytes_mut(&h).expect("live");
                slot.copy_from_slice(&body);
                slot[..4].copy_from_slice(&(i as u32).to_le_bytes());
                if m.enqueue_event_by_key(keys[i % SHARDS].clone(), h).is_err() {
                    panic!("backpressure");
                }
            }
            let mut sum = 0u32;
            let mut got = Vec::with_capacity(BATCH);
            for s in 0..SHARDS {
                m.drain_shard_while(ShardId(s as u32), BATCH, |e| {
                    got.extend(payload(&e.task));
                    true
                });
            }
            for h in &got {
                sum = sum.wrapping_add(checksum(p.slot_bytes(h).expect("live")));
                assert!(p.deallocate(h));
            }
            black_box(sum)
        })
    });

    let mut p = pool();
    let mut m = mesh::<Wide>();
    g.bench_function("slab_handle_json_mesh", |b| {
        b.iter(|| {
            for i in 0..BATCH {
                let h = p.allocate(NodeId(0)).expect("capacity").handle;
                let slot = p.slot_bytes_mut(&h).expect("live");
                slot.copy_from_slice(&body);
                slot[..4].copy_from_slice(&(i as u32).to_le_bytes());
                if m.enqueue_event_by_key(keys[i % SHARDS].clone(), Wide::Slot(h)).is_err() {
                    panic!("backpressure");
                }
            }
            let mut sum = 0u32;
            let mut got = Vec::with_capacity(BATCH);
            for s in 0..SHARDS {
                m.drain_shard_while(ShardId(s as u32), BATCH, |e| match &e.task {
                    MeshTask::InboundEvent(ev) => match ev.payload {
                        Wide::Slot(h) => {
                            got.push(h);
                            true
                        }
                        Wide::Json(_) => false,
                    },
                    MeshTask::HostcallComplete(_) => false,
                });
            }
            for h in &got {
                sum = sum.wrapping_add(checksum(p.slot_bytes(h).expect("live")));
                assert!(p.deallocate(h));
            }
            black_box(sum)
        })
    });

    let mut m = mesh::<Vec<u8>>();
    g.bench_function("vec_copy", |b| {
        b.iter(|| {
            for i in 0..BATCH {
                let mut v = body.to_vec();
                v[..4].copy_from_slice(&(i as u32).to_le_bytes());
                if m.enqueue_event_by_key(keys[i % SHARDS].clone(), v).is_err() {
                    panic!("backpressure");
                }
            }
            let mut sum = 0u32;
            for s in 0..SHARDS {
                for e in m.drain_shard(ShardId(s as u32), BATCH) {
                    if let MeshTask::InboundEvent(ev) = e.task {
                        sum = sum.wrapping_add(checksum(&ev.payload));
                    }
                }
            }
            black_box(sum)
        })
    });

    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    g.bench_function("mpsc_vec_copy", |b| {
        b.iter(|| {
            for i in 0..BATCH {
                let mut v = body.to_vec();
                v[..4].copy_from_slice(&(i as u32).to_le_bytes());
                tx.send(v).expect("receiver alive");
            }
            let mut sum = 0u32;
            for v in rx.try_iter() {
                sum = sum.wrapping_add(checksum(&v));
            }
            black_box(sum)
        })
    });
    g.finish();

    // The pieces of the handle path, per message of a batch.
    let mut g = c.benchmark_group("slab_mesh/pieces");
    g.throughput(Throughput::Elements(BATCH as u64));
    let mut p = pool();
    g.bench_function("allocate_deallocate", |b| {
        let mut hs = Vec::with_capacity(BATCH);
        b.iter(|| {
            hs.extend((0..BATCH).map(|_| p.allocate(NodeId(0)).expect("capacity").handle));
            for h in hs.drain(..) {
                assert!(p.deallocate(&h));
            }
        })
    });
    let mut m = mesh::<SlabHandle>();
    let h = SlabHandle { node_id: NodeId(0), slot_index: seqloop::slab::SlotIndex(1), generation: 1 };
    g.bench_function("enqueue_by_key_drain", |b| {
        b.iter(|| {
            for i in 0..BATCH {
                let _ = m.enqueue_event_by_key(keys[i % SHARDS].clone(), h);
            }
            let mut n = 0;
            for s in 0..SHARDS {
                n += m.drain_shard_while(ShardId(s as u32), BATCH, |_| true);
            }
            black_box(n)
        })
    });
    g.bench_function("enqueue_round_robin_drain", |b| {
        b.iter(|| {
            for _ in 0..BATCH {
                let _ = m.enqueue_event(String::new(), h);
            }
            let mut n = 0;
            for s in 0..SHARDS {
                n += m.drain_shard_while(ShardId(s as u32), BATCH, |_| true);
            }
            black_box(n)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
