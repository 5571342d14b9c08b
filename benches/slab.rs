//! Slab hot paths, each beside a simple baseline measured in the same run: a `Vec<Option<u64>>`
//! of generations plus a free-list stack (what one would write without this crate).
//!
//! - `alloc_free_pair`: allocate then free one slot (the original design measured 16–19 ns).
//! - `churn_many_live`: 3/4 of 4096 slots live; free one pseudo-random live slot, allocate one.
//! - `cross_node_fallback`: preferred node full, so every allocation falls back to the next node.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use seqloop::slab::{HostMemory, NodeId, NumaSlab, NumaSlabConfig, NumaSlabPool, SlabHandle};
use seqloop::topo::hugepage::HugepageConfig;

/// The baseline: generation per slot (`Some` while live) and a LIFO free list.
struct Baseline {
    slots: Vec<Option<u64>>,
    gens: Vec<u64>,
    free: Vec<u32>,
}

impl Baseline {
    fn new(capacity: u32) -> Self {
        Self {
            slots: vec![None; capacity as usize],
            gens: vec![0; capacity as usize],
            free: (0..capacity).rev().collect(),
        }
    }

    #[inline]
    fn allocate(&mut self) -> Option<(u32, u64)> {
        let s = self.free.pop()?;
        let g = self.gens[s as usize] + 1;
        self.gens[s as usize] = g;
        self.slots[s as usize] = Some(g);
        Some((s, g))
    }

    #[inline]
    fn deallocate(&mut self, (s, g): (u32, u64)) -> bool {
        match self.slots.get_mut(s as usize) {
            Some(slot) if *slot == Some(g) => {
                *slot = None;
                self.free.push(s);
                true
            }
            _ => false,
        }
    }
}

fn config(capacity: usize) -> NumaSlabConfig {
    NumaSlabConfig {
        slab_capacity: capacity,
        entry_size_bytes: 64,
        hugepage: HugepageConfig { enabled: false, ..HugepageConfig::default() },
    }
}

fn pool(nodes: &[u32], capacity: usize) -> NumaSlabPool {
    let ids: Vec<NodeId> = nodes.iter().copied().map(NodeId).collect();
    NumaSlabPool::with_host(&ids, config(capacity), &mut HostMemory::base_pages_only()).expect("pool")
}

/// xorshift64: a cheap, deterministic index stream.
struct Rng(u64);
impl Rng {
    #[inline]
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn alloc_free_pair(c: &mut Criterion) {
    let mut g = c.benchmark_group("alloc_free_pair");
    let mut slab = NumaSlab::new(NodeId(0), 256);
    g.bench_function("NumaSlab", |b| {
        b.iter(|| {
            if let Some(h) = slab.allocate() {
                black_box(slab.deallocate(black_box(&h)));
            }
        })
    });
    let mut p = pool(&[0], 256);
    g.bench_function("NumaSlabPool", |b| {
        b.iter(|| {
            // No black_box on the handle: forcing the `PoolAllocation` to the stack makes LLVM copy
            // it with a wide load over a narrow store (a store-forwarding stall that is an artifact
            // of the harness, not of the pool). The preferred node stays opaque.
            if let Some(a) = p.allocate(black_box(NodeId(0))) {
                black_box(p.deallocate(&a.handle));
            }
        })
    });
    let mut p = pool(&[0], 256);
    g.bench_function("NumaSlabPool (handle black_boxed)", |b| {
        // The same pair with the handle forced through memory, to show the stall's cost.
        b.iter(|| {
            if let Some(a) = p.allocate(black_box(NodeId(0))) {
                black_box(p.deallocate(black_box(&a.handle)));
            }
        })
    });
    let mut base = Baseline::new(256);
    g.bench_function("baseline Vec<Option>+freelist", |b| {
        b.iter(|| {
            if let Some(h) = base.allocate() {
                black_box(base.deallocate(black_box(h)));
            }
        })
    });
    g.finish();
}

fn churn_many_live(c: &mut Criterion) {
    const CAP: usize = 4096;
    const LIVE: usize = CAP * 3 / 4;
    let mut g = c.benchmark_group("churn_many_live");
    g.bench_function("NumaSlabPool", |b| {
        b.iter_batched_ref(
            || {
                let mut p = pool(&[0], CAP);
                let live: Vec<SlabHandle> =
                    (0..LIVE).map(|_| p.allocate(NodeId(0)).expect("cap").handle).collect();
                (p, live, Rng(0x9E37_79B9_7F4A_7C15))
            },
            |(p, live, rng)| {
                for _ in 0..1024 {
                    let i = (rng.next() % LIVE as u64) as usize;
                    p.deallocate(&live[i]);
                    live[i] = p.allocate(NodeId(0)).expect("a slot was just freed").handle;
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.bench_function("baseline Vec<Option>+freelist", |b| {
        b.iter_batched_ref(
            || {
                let mut p = Baseline::new(CAP as u32);
                let live: Vec<(u32, u64)> = (0..LIVE).map(|_| p.allocate().expect("cap")).collect();
                (p, live, Rng(0x9E37_79B9_7F4A_7C15))
            },
            |(p, live, rng)| {
                for _ in 0..1024 {
                    let i = (rng.next() % LIVE as u64) as usize;
                    p.deallocate(live[i]);
                    live[i] = p.allocate().expect("a slot was just freed");
                }
            },
            BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn cross_node_fallback(c: &mut Criterion) {
    let mut g = c.benchmark_group("cross_node_fallback");
    let mut p = pool(&[0, 1, 2], 64);
    while p.slab(NodeId(0)).is_some_and(|s| s.has_capacity()) {
        p.allocate(NodeId(0));
    }
    g.bench_function("NumaSlabPool", |b| {
        b.iter(|| {
            let a = p.allocate(black_box(NodeId(0))).expect("node 1 has room");
            black_box(p.deallocate(&a.handle))
        })
    });
    let mut nodes = [Baseline::new(64), Baseline::new(64), Baseline::new(64)];
    while nodes[0].allocate().is_some() {}
    g.bench_function("baseline per-node Vec<Option>+freelist", |b| {
        b.iter(|| {
            let pref = black_box(0usize);
            let found = nodes[pref].allocate().map(|h| (pref, h)).or_else(|| {
                nodes
                    .iter_mut()
                    .enumerate()
                    .filter(|(i, _)| *i != pref)
                    .find_map(|(i, n)| n.allocate().map(|h| (i, h)))
            });
            let (i, h) = found.expect("node 1 has room");
            black_box(nodes[i].deallocate(h))
        })
    });
    g.finish();
}

criterion_group!(benches, alloc_free_pair, churn_many_live, cross_node_fallback);
criterion_main!(benches);
