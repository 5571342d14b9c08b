//! The ShardedWorkers lane (`seqloop::workers::Hub`: an rtrb ring of message descriptors plus
//! the slot partition the 512-byte bodies live in) beside rtrb alone carrying the same bodies
//! by value, across two threads.
//!
//! Each measured iteration moves `ITEMS` messages of 512 bytes from a producer thread to a
//! consumer thread in batches of `BATCH` and waits until the consumer has read every byte
//! (a sum, so the reads are not optimised away):
//! - `rtrb alone`: `Producer<[u8; 512]>::write_chunk_uninit` / `Consumer::read_chunk` (the body is
//!   copied into the ring and out of it).
//! - `hub lane`: `Hub::send_batch` (allocates slots, copies the bodies in, pushes descriptors),
//!   `Hub::take` + `Hub::complete` (reads the bodies in place, frees the slots): what
//!   `sendBatch`/`onBatch` do below N-API. Idle sides yield the thread (criterion measures the ring,
//!   not the wake-up); the JS consumers park instead.

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use seqloop::topo::hugepage::HugepageConfig;
use seqloop::topo::{PlacementManifest, TopologySnapshot};
use seqloop::workers::{Direction, Hub, HubConfig, Key};

const SIZE: usize = 512;
const ITEMS: u64 = 1 << 16;
const BATCH: usize = 256;

fn rtrb_alone(iters: u64) -> Duration {
    let (mut tx, mut rx) = rtrb::RingBuffer::<[u8; SIZE]>::new(4096);
    let total = iters * ITEMS;
    let consumer = thread::spawn(move || {
        let mut got = 0u64;
        let mut sum = 0u64;
        while got < total {
            let n = rx.slots().min(BATCH);
            if n == 0 {
                thread::yield_now();
                continue;
            }
            if let Ok(chunk) = rx.read_chunk(n) {
                let (a, b) = chunk.as_slices();
                for m in a.iter().chain(b) {
                    sum = sum.wrapping_add(m.iter().map(|x| u64::from(*x)).sum::<u64>());
                }
                chunk.commit_all();
            }
            got += n as u64;
        }
        black_box(sum)
    });
    let body = [7u8; SIZE];
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < total {
        let n = tx.slots().min(BATCH).min((total - sent) as usize);
        if n == 0 {
            thread::yield_now();
            continue;
        }
        if let Ok(chunk) = tx.write_chunk_uninit(n) {
            sent += chunk.fill_from_iter(std::iter::repeat(body)) as u64;
        }
    }
    consumer.join().unwrap();
    start.elapsed()
}

fn hub_lane(iters: u64) -> Duration {
    let hub = Arc::new(
        Hub::new(HubConfig {
            placement: PlacementManifest::plan(1, None::<&TopologySnapshot>),
            lane_capacity: 4096,
            slab_capacity: 8192,
            entry_size: SIZE,
            record: false,
            hugepages: HugepageConfig::default(),
        })
        .unwrap(),
    );
    let total = iters * ITEMS;
    let handled = Arc::new(AtomicU64::new(0));
    let consumer = {
        let (hub, handled) = (Arc::clone(&hub), Arc::clone(&handled));
        thread::spawn(move || {
            let mut sum = 0u64;
            let mut got = 0u64;
            while got < total {
                let n = hub.take(Direction::Down, 0, BATCH, |msgs| {
                    for m in msgs {
                        let (region, off) = hub.slots().place(m.slot.part, m.slot.index).unwrap();
                        let p = region.range(off, SIZE).unwrap();
                        // SAFETY: the consumer owns the slot until `complete` (slots P1).
                        let bytes = unsafe { std::slice::from_raw_parts(p.as_ptr(), SIZE) };
                        sum = sum.wrapping_add(bytes.iter().map(|x| u64::from(*x)).sum::<u64>());
                    }
                    msgs.len()
                });
                match n {
                    Some(n) => {
                        hub.complete(Direction::Down, 0, n, |_| false);
                        got += n as u64;
                        handled.store(got, Ordering::Relaxed);
                    }
                    None => thread::yield_now(),
                }
            }
            black_box(sum)
        })
    };
    let body = vec![7u8; SIZE * BATCH];
    let key = Key::new("k");
    let start = Instant::now();
    let mut sent = 0u64;
    while sent < total {
        let n = BATCH.min((total - sent) as usize);
        let items = (0..n).map(|i| (0usize, key.clone(), &body[i * SIZE..(i + 1) * SIZE]));
        match hub.send_batch(Direction::Down, items, |_| {}) {
            Ok(k) => sent += k as u64,
            Err(_) => thread::yield_now(),
        }
    }
    consumer.join().unwrap();
    assert_eq!(hub.slots().in_use(0), 0, "every slot freed");
    start.elapsed()
}

fn lanes(c: &mut Criterion) {
    let mut g = c.benchmark_group("lanes_512B_two_threads");
    g.throughput(Throughput::Elements(ITEMS));
    g.sample_size(10);
    g.bench_function("rtrb alone", |b| b.iter_custom(rtrb_alone));
    g.bench_function("hub lane (send_batch / take + complete)", |b| b.iter_custom(hub_lane));
    g.finish();
}

criterion_group!(benches, lanes);
criterion_main!(benches);
