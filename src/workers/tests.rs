//! Hub tests: ownership (W1), nothing lost (W2), order (W3) across real threads, no lost
//! wake-up (W4).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;

use super::*;
use crate::topo::{PlacementManifest, TopologySnapshot};

fn hub(shards: usize, lane: usize, slots: u32, record: bool) -> Hub {
    let placement = PlacementManifest::plan(shards, None::<&TopologySnapshot>);
    Hub::new(HubConfig {
        placement,
        lane_capacity: lane,
        slab_capacity: slots,
        entry_size: 16,
        record,
        hugepages: HugepageConfig { enabled: false, ..HugepageConfig::default() },
    })
    .unwrap()
}

#[test]
fn keys_inline_and_heap() {
    for k in ["", "a", "exactly-22-bytes-long!", "a key longer than twenty-two bytes", "ключ"] {
        assert_eq!(Key::new(k).as_str(), k);
    }
}

#[test]
fn send_moves_ownership_and_full_lane_keeps_the_slot() {
    let h = hub(1, 2, 8, false);
    let s = h.allocate(Direction::Down, 0).unwrap();
    assert!(h.owns(&s, Owner::Main));
    h.send(Direction::Down, 0, Key::new("k"), s, 4).unwrap();
    assert!(h.owns(&s, Owner::Shard), "W1: the receiver owns it after the push");
    assert_eq!(h.send(Direction::Down, 0, Key::new("k"), s, 4).unwrap_err(), HubError::NotOwned);
    h.send_bytes(Direction::Down, 0, Key::new("k"), b"ab").unwrap();
    let t = h.allocate(Direction::Down, 0).unwrap();
    let err = h.send(Direction::Down, 0, Key::new("k"), t, 1).unwrap_err();
    assert_eq!(err, HubError::Backpressure { shard: 0, depth: 2, capacity: 2 });
    assert!(h.owns(&t, Owner::Main), "W1: a refused send leaves the slot with the sender");
    assert_eq!(h.lane_counters(Direction::Down, 0).1, 1);
    assert_eq!(
        h.send_bytes(Direction::Down, 0, Key::new("k"), &[0; 17]).unwrap_err(),
        HubError::TooLong { len: 17, entry: 16 }
    );
}

#[test]
fn take_complete_frees_and_retains() {
    let h = hub(1, 8, 8, true);
    let items: Vec<(usize, Key, &[u8])> =
        (0..5u8).map(|i| (0, Key::new("k"), &b"abcde"[..=i as usize])).collect();
    assert_eq!(h.send_batch(Direction::Down, items.into_iter(), |_| {}).unwrap(), 5);
    let run = h
        .take(Direction::Down, 0, 64, |msgs| {
            assert_eq!(msgs.iter().map(|m| m.shard_seq).collect::<Vec<_>>(), vec![0, 1, 2, 3, 4]);
            msgs.len()
        })
        .unwrap();
    assert_eq!(run, 5, "a burst occupies consecutive slots");
    let kept = h.take(Direction::Down, 0, 64, |m| m[1].slot).unwrap();
    assert_eq!(h.complete(Direction::Down, 0, 5, |i| i == 1), 5);
    assert!(h.owns(&kept, Owner::Shard), "retained");
    assert_eq!(h.slots().in_use(0), 1);
    assert!(h.free(&kept, Owner::Shard));
    assert!(h.take(Direction::Down, 0, 64, |m| m.len()).is_none(), "empty: parked");
    let t = h.trace(Some(0)).unwrap();
    assert_eq!(t.dispatches().count(), 5);
    assert_eq!(h.trace(None).unwrap().digest(), t.digest(), "one shard handles what was sent, in order");
    assert!(crate::sched::replay(&t).ok);
}

#[test]
fn reclaim_hands_back_lane_and_taken_messages() {
    let h = hub(2, 8, 8, false);
    let items = (0..4u8).map(|i| (1, Key::new(&format!("k{i}")), &b"wxyz"[..])).collect::<Vec<_>>();
    h.send_batch(Direction::Down, items.into_iter(), |_| {}).unwrap();
    h.take(Direction::Down, 1, 2, |m| m.len()).unwrap();
    let up = h.allocate(Direction::Up, 1).unwrap();
    assert_eq!(h.reclaim(1), 4);
    assert!(!h.owns(&up, Owner::Shard), "the shard's own allocations are freed");
    let back = h.take_undelivered(1);
    assert_eq!(back.iter().map(|u| u.global_seq).collect::<Vec<_>>(), vec![0, 1, 2, 3]);
    assert_eq!(back[3], Undelivered { key: "k3".into(), bytes: b"wxyz".to_vec(), global_seq: 3 });
    assert_eq!(h.slots().in_use(SlotRef::part_of(1, Direction::Down)), 0);
    assert!(h.take_undelivered(1).is_empty());
}

/// W3 + W4 across threads: a producer sends 200k keyed messages over 2 shards with tiny lanes
/// (constant backpressure, retried); two consumer threads sleep on a condvar when parked and
/// are woken only through `Signal`. Every key's values arrive in order, nothing is lost.
#[test]
fn per_key_order_across_threads_without_lost_wakeups() {
    const N: u64 = 200_000;
    let h = Arc::new(hub(2, 16, 32, false));
    let wakes = Arc::new(AtomicUsize::new(0));
    let mut consumers = Vec::new();
    for shard in 0..2 {
        let pair = Arc::new((Mutex::new(false), Condvar::new()));
        let p2 = Arc::clone(&pair);
        let w = Arc::clone(&wakes);
        h.set_wake(
            Direction::Down,
            shard,
            Some(Box::new(move || {
                w.fetch_add(1, Ordering::Relaxed);
                *p2.0.lock().unwrap() = true;
                p2.1.notify_one();
            })),
        );
        let h = Arc::clone(&h);
        consumers.push(thread::spawn(move || {
            let mut last = std::collections::HashMap::<String, u64>::new();
            let mut got = 0u64;
            loop {
                match h.take(Direction::Down, shard, 8, |msgs| {
                    for (i, m) in msgs.iter().enumerate() {
                        let v = u64::from_le_bytes(
                            h.slots().read(&m.slot, Owner::Shard, 8).unwrap().try_into().unwrap(),
                        );
                        if v == u64::MAX {
                            return (i, true);
                        }
                        let prev = last.insert(m.key.as_str().to_owned(), v);
                        assert!(prev.is_none_or(|p| p < v), "W3: order of {:?}", m.key);
                    }
                    (msgs.len(), false)
                }) {
                    Some((n, end)) => {
                        got += n as u64;
                        h.complete(Direction::Down, shard, n, |_| false);
                        if end {
                            return got;
                        }
                    }
                    None => {
                        let mut ready = pair.0.lock().unwrap();
                        while !*ready {
                            ready = pair.1.wait(ready).unwrap();
                        }
                        *ready = false;
                    }
                }
            }
        }));
    }
    let mut refused = 0u64;
    for i in 0..N {
        let key = format!("key-{}", i % 97);
        let shard = h.shard_for(&key);
        loop {
            match h.send_bytes(Direction::Down, shard, Key::new(&key), &i.to_le_bytes()) {
                Ok(_) => break,
                Err(HubError::Backpressure { .. }) => {
                    refused += 1;
                    thread::yield_now();
                }
                Err(e) => panic!("{e}"),
            }
        }
    }
    for shard in 0..2 {
        while h.send_bytes(Direction::Down, shard, Key::new("end"), &u64::MAX.to_le_bytes()).is_err() {
            thread::yield_now();
        }
    }
    let total: u64 = consumers.into_iter().map(|c| c.join().unwrap()).sum();
    assert_eq!(total, N, "W2: nothing lost ({refused} refused sends were retried)");
    assert!(wakes.load(Ordering::Relaxed) > 0);
}

mod model {
    //! The hub's down lane against a `VecDeque` model: any interleaving of batch sends (which
    //! stop at a full lane or partition), takes of runs, completes (some retained, then freed)
    //! delivers exactly the accepted bodies, in order, and leaks no slot.
    use std::collections::VecDeque;

    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, Clone)]
    enum Op {
        Send(Vec<u8>),
        Take(usize, bool),
        FreeRetained,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            prop::collection::vec(0u8..=16, 1..6).prop_map(Op::Send),
            (1usize..6, any::<bool>()).prop_map(|(n, keep)| Op::Take(n, keep)),
            Just(Op::FreeRetained),
        ]
    }

    proptest! {
        #[test]
        fn lane_matches_a_fifo(ops in prop::collection::vec(op(), 1..80)) {
            let h = hub(1, 4, 6, false);
            let mut model: VecDeque<Vec<u8>> = VecDeque::new();
            let mut retained: Vec<SlotRef> = Vec::new();
            let mut next = 0u8;
            for op in ops {
                match op {
                    Op::Send(lens) => {
                        let bodies: Vec<Vec<u8>> = lens.iter().map(|l| { next = next.wrapping_add(1); vec![next; *l as usize] }).collect();
                        let items = bodies.iter().map(|b| (0usize, Key::new("k"), &b[..]));
                        let n = h.send_batch(Direction::Down, items, |_| {}).unwrap_or(0);
                        model.extend(bodies.into_iter().take(n));
                    }
                    Op::Take(max, keep) => {
                        let got = h.take(Direction::Down, 0, max, |msgs| {
                            msgs.iter().take(max).map(|m| (m.slot, h.slots().read(&m.slot, Owner::Shard, m.len as usize).unwrap())).collect::<Vec<_>>()
                        });
                        match got {
                            None => prop_assert!(model.is_empty()),
                            Some(run) => {
                                prop_assert!(!run.is_empty());
                                for (_, body) in &run {
                                    prop_assert_eq!(Some(body.clone()), model.pop_front());
                                }
                                let keep = keep && run.len() == 1;
                                if keep {
                                    retained.push(run[0].0);
                                }
                                h.complete(Direction::Down, 0, run.len(), |_| keep);
                            }
                        }
                    }
                    Op::FreeRetained => {
                        for s in retained.drain(..) {
                            prop_assert!(h.free(&s, Owner::Shard));
                        }
                    }
                }
                prop_assert_eq!(h.depth(Direction::Down, 0), model.len());
                prop_assert_eq!(h.slots().in_use(0) as usize, model.len() + retained.len());
            }
        }
    }
}
