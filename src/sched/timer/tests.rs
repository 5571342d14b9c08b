//! Unit and property tests of the timer queue.

use super::*;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestCaseError;

#[test]
fn fires_in_deadline_then_insertion_order() {
    let mut q = TimerQueue::new();
    q.insert(1, 300);
    q.insert(2, 100);
    q.insert(3, 200);
    q.insert(4, 100);
    assert_eq!(q.peek_deadline(), Some(100));
    let mut out = vec![];
    q.pop_due(250, |id, d| out.push((id, d)));
    assert_eq!(out, vec![(2, 100), (4, 100), (3, 200)]);
    assert_eq!(q.len(), 1);
    assert_eq!(q.peek_deadline(), Some(300));
}

#[test]
fn cancel_keeps_peek_on_live_timers() {
    let mut q = TimerQueue::new();
    q.insert(1, 100);
    q.insert(2, 200);
    q.insert(3, 300);
    assert!(q.cancel(1));
    assert!(!q.cancel(1), "second cancel is false");
    assert_eq!(q.peek_deadline(), Some(200));
    assert!(q.cancel(3));
    assert!(q.cancel(2));
    assert_eq!(q.peek_deadline(), None);
    assert!(q.is_empty());
    assert!(!q.cancel(99));
}

#[test]
fn pop_batch_takes_the_earliest_bucket_in_order() {
    let mut q = TimerQueue::new();
    for (id, d) in [(1, 20), (2, 10), (3, 10), (4, 10), (5, 30)] {
        q.insert(id, d);
    }
    assert!(q.cancel(3));
    let mut got = vec![];
    assert_eq!(q.pop_batch(9, 8, |id| got.push(id)), None, "nothing due before 10");
    assert_eq!(q.pop_batch(100, 1, |id| got.push(id)), Some(10));
    assert_eq!(got, vec![2]);
    assert_eq!(q.peek_deadline(), Some(10), "id 4 is still due at 10");
    assert_eq!(q.pop_batch(100, 8, |id| got.push(id)), Some(10));
    assert_eq!(got, vec![2, 4]);
    assert_eq!(q.pop_batch(100, 8, |id| got.push(id)), Some(20));
    assert!(!q.contains(1) && q.contains(5));
    assert_eq!(q.len(), 1);
    q.insert(6, 30);
    assert_eq!(q.pop_batch(100, 8, |id| got.push(id)), Some(30));
    assert_eq!(got, vec![2, 4, 1, 5, 6]);
    assert!(q.is_empty());
    assert_eq!(q.peek_deadline(), None);
}

#[test]
fn pop_first_and_snapshot() {
    let mut q = TimerQueue::new();
    for (id, d) in [(5, 50), (6, 10), (7, 50), (8, 10)] {
        q.insert(id, d);
    }
    assert_eq!(q.snapshot(), vec![(6, 10), (8, 10), (5, 50), (7, 50)]);
    assert_eq!(q.pop_first(), Some((6, 10)));
    assert_eq!(q.pop_first(), Some((8, 10)));
    assert_eq!(q.peek_deadline(), Some(50));
}

#[test]
fn cancelled_id_reinserted_at_the_same_deadline() {
    // B2: the old element of id 2 is a tombstone, so only the new one holds it.
    let mut q = TimerQueue::new();
    q.insert(1, 10);
    q.insert(2, 10);
    q.insert(3, 10);
    assert!(q.cancel(2));
    assert!(!q.contains(2));
    q.insert(2, 10);
    assert!(q.contains(2));
    assert_eq!(q.snapshot(), vec![(1, 10), (3, 10), (2, 10)], "re-inserted: last in line");
    assert!(q.cancel(2));
    assert!(!q.cancel(2));
    assert_eq!(q.snapshot(), vec![(1, 10), (3, 10)]);
}

#[test]
fn fired_id_reinserted_like_a_rearmed_interval() {
    // An interval keeps its id: fire it, re-insert it, many times, among fresh timers.
    let mut q = TimerQueue::new();
    let interval = 1;
    q.insert(interval, 10);
    let mut next_id = 2;
    for round in 1..=200u64 {
        for _ in 0..5 {
            q.insert(next_id, round * 10 + 5);
            next_id += 1;
        }
        let mut fired = vec![];
        q.pop_due(round * 10, |id, _| fired.push(id));
        assert!(fired.contains(&interval), "round {round}");
        assert!(!q.contains(interval));
        q.insert(interval, (round + 1) * 10);
        assert!(q.contains(interval));
    }
    assert!(q.cancel(interval));
    assert!(!q.contains(interval));
    let mut fired = vec![];
    q.pop_due(u64::MAX, |id, _| fired.push(id));
    assert_eq!(fired.len(), 5, "only the last round's fresh timers are left");
}

#[test]
fn ids_around_the_window_and_u64_max() {
    let mut q = TimerQueue::new();
    let ids = [1_000, 1_001, 1_003, 5, 1_000_000_000_000, u64::MAX, u64::MAX - 1, 2, 1_002];
    for (k, &id) in ids.iter().enumerate() {
        q.insert(id, 100 + k as u64 % 3);
    }
    for &id in &ids {
        assert!(q.contains(id), "{id}");
    }
    assert!(!q.contains(1_004) && !q.contains(3) && !q.contains(0));
    for &id in ids.iter().step_by(2) {
        assert!(q.cancel(id));
    }
    for (k, &id) in ids.iter().enumerate() {
        assert_eq!(q.contains(id), k % 2 == 1, "{id}");
    }
    let mut fired = vec![];
    q.pop_due(u64::MAX, |id, _| fired.push(id));
    assert_eq!(fired.len(), ids.len() / 2);
    assert!(q.is_empty());
}

/// Largest `heap_bytes` seen over `rounds` of `step`.
fn peak_bytes(q: &mut TimerQueue, rounds: u64, mut step: impl FnMut(&mut TimerQueue, u64)) -> usize {
    let mut peak = 0;
    for r in 0..rounds {
        step(q, r);
        if r % 1024 == 0 {
            peak = peak.max(q.heap_bytes());
        }
    }
    peak
}

#[test]
fn memory_stays_bounded_with_one_long_lived_timer() {
    // One timer that never fires, then 300k short ones set and fired one at a time:
    // the window must not grow from the long-lived id to the newest one.
    let mut q = TimerQueue::new();
    q.insert(1, u64::MAX);
    let peak = peak_bytes(&mut q, 300_000, |q, r| {
        q.insert(r + 2, r);
        assert_eq!(q.pop_due(r, |_, _| {}), 1);
    });
    assert!(peak < 4096, "{peak} bytes for 2 live timers");
    assert!(q.contains(1) && q.len() == 1);
}

#[test]
fn memory_stays_bounded_when_the_counter_wraps() {
    // Ids wrap at 1000 (like `with_max_timer_id`), skipping live ids; 10 timers live long.
    let mut q = TimerQueue::new();
    let max = 1_000u64;
    let mut next = 1u64;
    let mut alloc = |q: &TimerQueue| loop {
        let id = next;
        next = if id >= max { 1 } else { id + 1 };
        if !q.contains(id) {
            break id;
        }
    };
    let mut long = vec![];
    for _ in 0..10 {
        let id = alloc(&q);
        q.insert(id, u64::MAX);
        long.push(id);
    }
    let mut pending = std::collections::VecDeque::new();
    let peak = peak_bytes(&mut q, 300_000, |q, r| {
        let id = alloc(q);
        q.insert(id, r + 50);
        pending.push_back(id);
        if pending.len() > 40 {
            let old = pending.pop_front().expect("pending");
            if r % 3 == 0 {
                assert!(q.cancel(old));
            }
        }
        q.pop_due(r, |_, _| {});
    });
    assert!(peak < 16 * 1024, "{peak} bytes for ~60 live timers");
    for id in long {
        assert!(q.contains(id));
    }
    // The window follows the counter across each wrap: after a run about as long as the
    // window (~100 ids here), inserts take the window again, not the spill map.
    assert!(q.ids.spilled < 300_000 / 5, "{} of 3e5 inserts spilled", q.ids.spilled);
}

#[test]
fn memory_stays_bounded_with_mixed_lifetimes() {
    // Timers that outlive a window sweep move to the spill map and fire from there, leaving
    // records that no longer hold (W3 sweeps them).
    let mut q = TimerQueue::new();
    let peak = peak_bytes(&mut q, 300_000, |q, r| {
        let life = [1, 1, 1, 3, 40][(r % 5) as usize];
        q.insert(r + 1, r + life);
        q.pop_due(r, |_, _| {});
    });
    assert!(peak < 8 * 1024, "{peak} bytes for ~12 live timers");
}

#[test]
fn memory_stays_bounded_with_churn_at_one_deadline() {
    // A frozen clock: set and clear at one deadline beside one timer that stays (W1), then
    // pop one by one while inserting at the deadline being popped.
    let mut q = TimerQueue::new();
    let peak = peak_bytes(&mut q, 200_000, |q, r| {
        q.insert(r + 2, 500);
        if r == 100 {
            // Lives on while compaction moves it to the front of the bucket.
            q.insert(1, 500);
        }
        assert!(q.cancel(r + 2));
        assert!(r < 100 || q.contains(1));
    });
    assert!(peak < 2048, "{peak} bytes for 1 live timer");
    let mut next = 1_000_000u64;
    for _ in 0..8 {
        q.insert(next, 500);
        next += 1;
    }
    let peak = peak_bytes(&mut q, 200_000, |q, _| {
        let mut got = 0;
        assert_eq!(q.pop_batch(500, 1, |_| got += 1), Some(500));
        assert_eq!(got, 1);
        q.insert(next, 500);
        next += 1;
    });
    assert!(peak < 4096, "{peak} bytes for 9 live timers");
    assert_eq!(q.len(), 9);
    for id in next - 9..next {
        assert!(q.cancel(id), "{id}");
    }
    assert!(q.is_empty());
}

#[test]
fn memory_stays_bounded_with_dead_buckets_below_a_live_top() {
    // The earliest timer stays; set and clear at ever-later deadlines: the emptied buckets
    // never surface, so W4 has to free them.
    let mut q = TimerQueue::new();
    q.insert(1, 0);
    let peak = peak_bytes(&mut q, 200_000, |q, r| {
        q.insert(r + 2, r + 10);
        assert!(q.cancel(r + 2));
    });
    assert!(peak < 4096, "{peak} bytes for 1 live timer");
    assert_eq!(q.peek_deadline(), Some(0));
    assert!(q.heap.len() <= 2 * SLACK, "{} buckets in the heap", q.heap.len());
}

#[derive(Debug, Clone)]
enum Op {
    Set(u64),
    Clear(usize),
    /// Re-insert a known id (cancelled, fired or live: skipped while live).
    Reinsert(usize, u64),
    /// Insert an id far from the counter (below, far above, near `u64::MAX`).
    SetFar(usize, u64),
    /// Move the id counter forward (like `set_next_timer_id`).
    Jump(u64),
    Advance(u64),
    /// Advance past several key ranges (`REL_MAX` is 255 in tests): rebases.
    Leap(u64),
    /// Insert a fresh id at an absolute deadline from `AT` (far deadlines, `u64::MAX`).
    SetAt(usize),
    /// Insert `n` fresh ids at one deadline (full buckets), then clear every `k`-th of them
    /// (bucket compaction).
    Burst(u64, usize, usize),
    /// Clear every `k`-th known id (keys without live timers below the top: prune).
    ClearMany(usize),
    Tick,
    PopBatch(usize),
    PopFirst,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0u64..60).prop_map(Op::Set),
        3 => (0u64..3).prop_map(Op::Set),
        3 => (0usize..64).prop_map(Op::Clear),
        2 => (0usize..64, 0u64..3).prop_map(|(i, d)| Op::Reinsert(i, d)),
        1 => (0usize..16, 0u64..60).prop_map(|(i, d)| Op::SetFar(i, d)),
        1 => (1u64..40).prop_map(Op::Jump),
        2 => (0u64..40).prop_map(Op::Advance),
        1 => (100u64..700).prop_map(Op::Leap),
        1 => (0usize..AT.len()).prop_map(Op::SetAt),
        1 => (0u64..5, 1usize..20, 1usize..4).prop_map(|(d, n, k)| Op::Burst(d, n, k)),
        1 => (1usize..3).prop_map(Op::ClearMany),
        2 => Just(Op::Tick),
        1 => (1usize..4).prop_map(Op::PopBatch),
        1 => Just(Op::PopFirst),
    ]
}

/// Absolute deadlines: in the past, far ahead, and at the top of `u64`.
const AT: [u64; 10] =
    [0, 1, 300, 1_000, 1 << 40, (1 << 40) + 1, (1 << 40) + 300, u64::MAX, u64::MAX - 1, u64::MAX - 300];

/// Ids outside the counter's range: below it, far above it, and at the top of `u64`.
const FAR: [u64; 16] = [
    1,
    2,
    3,
    7,
    1 << 40,
    (1 << 40) + 1,
    (1 << 40) + 2,
    1 << 60,
    u64::MAX,
    u64::MAX - 1,
    u64::MAX - 2,
    u64::MAX - 64,
    500,
    501,
    502,
    999,
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]
    /// The queue against a sorted-list model of (deadline, seq).
    #[test]
    fn matches_sorted_list_model(ops in proptest::collection::vec(op(), 0..400)) {
        check_model(ops)?;
    }
}

/// The bucket headers against their chunks, and that every chunk in use belongs
/// to a bucket key in the heap (so `compact_arena` moves it). The arena's own invariants
/// have their property test in `arena`.
fn check_buckets(q: &TimerQueue) -> Result<(), TestCaseError> {
    use crate::sched::arena::is_big;
    let store = &q.store;
    let in_heap: std::collections::BTreeSet<usize> = q.heap_buckets().collect();
    let mut used = 0;
    for (slot, b) in store.buckets.iter().enumerate() {
        used += if b.cap == 0 || is_big(b.cap) { 0 } else { b.cap as usize };
        if b.cap == 0 {
            prop_assert!(b.len == 0 && b.live == 0, "slot {} without chunk: {:?}", slot, b);
            continue;
        }
        prop_assert!(in_heap.contains(&slot), "slot {} has a chunk but no key in the heap", slot);
        prop_assert!(b.cap.is_power_of_two() && b.cap >= 2 && b.cap as usize <= MAX_BUCKET_LEN);
        prop_assert!(b.head <= b.len && b.len <= b.cap, "slot {}: {:?}", slot, b);
        let live = store.pending(slot).iter().filter(|&&id| id != TOMBSTONE).count();
        prop_assert_eq!(live, b.live as usize, "slot {}", slot);
    }
    for &slot in &q.free {
        prop_assert_eq!(store.buckets[slot as usize].cap, 0, "free slot {} keeps a chunk", slot);
    }
    prop_assert_eq!(used + store.arena.free_words(), store.arena.len(), "small chunks lost or shared");
    Ok(())
}

#[test]
fn a_bucket_header_is_12_bytes() {
    assert_eq!(std::mem::size_of::<Bucket>(), 12);
}

#[test]
fn model_ops_reach_every_rare_path() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    for _ in 0..256 {
        let ops = proptest::collection::vec(op(), 0..400).new_tree(&mut runner).expect("ops").current();
        check_model(ops).expect("matches the model");
    }
    let hits = hits::HITS.with(|h| h.borrow().clone());
    for path in [
        "take_far",
        "rebase_waits",
        "rebase_too_wide",
        "rebase",
        "bucket_full",
        "make_bucket",
        "no_bucket_slot",
        "renumber",
        "rebuild_cache",
        "prune",
        "compact",
        "pop_due_far",
        "pop_bulk",
        "window_sweep",
        "window_flush",
        "spill_sweep",
        "far_insert",
        "pop_batch_far",
        "pop_batch_next_key",
        "arena_full",
        "arena_compact",
        "shrink_chunk",
    ] {
        assert!(hits.get(path).is_some_and(|&n| n > 0), "{path} never ran: {hits:?}");
    }
}

/// Runs `ops` on a queue and on a sorted-list model of (deadline, seq), comparing every
/// observable after each op.
fn check_model(ops: Vec<Op>) -> Result<(), TestCaseError> {
    {
        let mut q = TimerQueue::new();
        // model: (deadline, seq, id), kept sorted
        let mut model: Vec<(u64, u64, u64)> = vec![];
        let mut now = 0u64;
        let mut seq = 0u64;
        let mut counter = 1_000u64;
        let mut ids: Vec<u64> = vec![];
        let mut insert = |q: &mut TimerQueue, model: &mut Vec<(u64, u64, u64)>, id: u64, d: u64| {
            if model.iter().any(|e| e.2 == id) {
                return false;
            }
            seq += 1;
            let before = (q.store.arena.len(), q.store.arena.free_words());
            q.insert(id, d);
            let free = q.store.arena.free_words();
            if (q.store.arena.len(), free) != before {
                // W6, give or take the rest of a page freed when a new one starts.
                let used = q.store.arena.len() - free;
                assert!(
                    free <= (used + q.heap.len()) / 2 + SLACK + MAX_BUCKET_LEN,
                    "W6: {free} free, {used} used"
                );
            }
            model.push((d, seq, id));
            model.sort();
            true
        };
        for op in ops {
            match op {
                Op::Set(delay) => {
                    counter += 1;
                    if insert(&mut q, &mut model, counter, now + delay) {
                        ids.push(counter);
                    }
                }
                Op::Jump(by) => counter += by,
                Op::Reinsert(i, delay) => {
                    if !ids.is_empty() {
                        let id = ids[i % ids.len()];
                        insert(&mut q, &mut model, id, now + delay);
                    }
                }
                Op::SetFar(i, delay) => {
                    if insert(&mut q, &mut model, FAR[i], now + delay) {
                        ids.push(FAR[i]);
                    }
                }
                Op::Clear(i) => {
                    if !ids.is_empty() {
                        let id = ids[i % ids.len()];
                        let expect = model.iter().position(|e| e.2 == id);
                        if let Some(p) = expect {
                            model.remove(p);
                        }
                        prop_assert_eq!(q.cancel(id), expect.is_some());
                    }
                }
                Op::Advance(ms) | Op::Leap(ms) => now += ms,
                Op::Burst(delay, n, k) => {
                    let start = counter + 1;
                    for _ in 0..n {
                        counter += 1;
                        if insert(&mut q, &mut model, counter, now + delay) {
                            ids.push(counter);
                        }
                    }
                    for id in (start..=counter).filter(|id| (id - start) % k as u64 != 0) {
                        let expect = model.iter().position(|e| e.2 == id);
                        if let Some(p) = expect {
                            model.remove(p);
                        }
                        prop_assert_eq!(q.cancel(id), expect.is_some());
                    }
                }
                Op::ClearMany(k) => {
                    for &id in ids.iter().step_by(k) {
                        let expect = model.iter().position(|e| e.2 == id);
                        if let Some(p) = expect {
                            model.remove(p);
                        }
                        prop_assert_eq!(q.cancel(id), expect.is_some());
                    }
                }
                Op::SetAt(i) => {
                    counter += 1;
                    if insert(&mut q, &mut model, counter, AT[i]) {
                        ids.push(counter);
                    }
                }
                Op::PopBatch(max) => {
                    let mut got = vec![];
                    let d = q.pop_batch(now, max, |id| got.push(id));
                    let first = model.first().map(|e| e.0).filter(|&d0| d0 <= now);
                    prop_assert_eq!(d, first);
                    let want: Vec<u64> = match first {
                        Some(d0) => {
                            let k = model.iter().take_while(|e| e.0 == d0).count().min(max);
                            model.drain(..k).map(|e| e.2).collect()
                        }
                        None => vec![],
                    };
                    prop_assert_eq!(got, want);
                }
                Op::PopFirst => {
                    let want = if model.is_empty() { None } else { Some(model.remove(0)) };
                    prop_assert_eq!(q.pop_first(), want.map(|e| (e.2, e.0)));
                }
                Op::Tick => {
                    let mut got = vec![];
                    q.pop_due(now, |id, d| got.push((d, id)));
                    let split = model.partition_point(|e| e.0 <= now);
                    let want: Vec<(u64, u64)> = model.drain(..split).map(|e| (e.0, e.2)).collect();
                    prop_assert_eq!(got, want);
                }
            }
            prop_assert_eq!(q.len(), model.len());
            prop_assert_eq!(q.peek_deadline(), model.first().map(|e| e.0));
            let first = model.first().map(|e| e.0);
            prop_assert_eq!(q.peek_len(), model.iter().take_while(|e| Some(e.0) == first).count());
            check_buckets(&q)?;
            // Q4
            let live_keys = q.heap.v.iter().filter(|&&k| q.store.live_of(k) != 0).count();
            prop_assert_eq!(q.live_keys, live_keys);
            for &id in &ids {
                prop_assert_eq!(q.contains(id), model.iter().any(|e| e.2 == id), "id {}", id);
            }
        }
        let snapshot: Vec<(u64, u64)> = model.iter().map(|e| (e.2, e.0)).collect();
        prop_assert_eq!(q.snapshot(), snapshot);
    }
    Ok(())
}
