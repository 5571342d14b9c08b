//! `TimerQueue`: pending timers in exact (deadline, seq) order with O(1) cancel and O(1) peek.
//!
//! # Algorithm
//! Timers with the same deadline are always created in increasing seq order (seq is a global
//! counter and a timer takes one at creation), so a FIFO list per distinct deadline is already
//! sorted by seq. The queue therefore keeps:
//! - a *bucket* per distinct deadline: a circular doubly-linked list threaded through one arena,
//!   headed by a sentinel node (so unlinking a timer never needs to know its bucket);
//! - a binary min-heap of the distinct deadlines (one entry per bucket);
//! - an [`IdIndex`] from timer id to arena slot, for `cancel`.
//!
//! Real programs reuse a few delays, so there are far fewer buckets than timers: set and fire are
//! an append and a pop-front on a list, and the heap sees one push/pop per distinct deadline. With
//! all-distinct deadlines it degrades to an ordinary heap. (The idea is the one behind calendar
//! queues and Node's own `lib/internal/timers.js`, which keeps one list per duration.)
//!
//! # Invariants
//! - Q1: within a bucket, timers are in insertion order, which is seq order (I3).
//! - Q2: the heap holds exactly one entry per bucket in `buckets`.
//! - Q3: the bucket at the top of the heap is never empty, so `peek_deadline` is the earliest
//!   *live* deadline in O(1). Cancelling may empty buckets below the top; they are dropped when
//!   they surface (`settle`).
//! - Q4: `index` holds exactly the live (pending, not cancelled) timers; `live == index.len()`.

use std::collections::BinaryHeap;

use rustc_hash::FxHashMap;

use super::id_index::IdIndex;

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone, Copy)]
struct Node {
    /// Timer id for a timer node; the deadline for a sentinel node.
    key: u64,
    prev: u32,
    /// Next node in the bucket list, or the next free slot while the node is free.
    next: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct HeapEntry {
    deadline: u64,
    sentinel: u32,
}

impl Ord for HeapEntry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Reversed: std's BinaryHeap is a max-heap and we want the earliest deadline on top.
        // Deadlines are unique in the heap (Q2), so the sentinel never decides.
        other.deadline.cmp(&self.deadline).then(other.sentinel.cmp(&self.sentinel))
    }
}

impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Pending timers keyed by `u64` id, ordered by (deadline, insertion order).
#[derive(Debug, Clone, Default)]
pub struct TimerQueue {
    arena: Vec<Node>,
    free_head: Option<u32>,
    index: IdIndex,
    buckets: FxHashMap<u64, u32>,
    heap: BinaryHeap<HeapEntry>,
    /// The bucket used by the last insert: consecutive timers often share a deadline.
    last_bucket: Option<(u64, u32)>,
}

impl TimerQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of live (pending, not cancelled) timers.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when no live timer is pending.
    pub fn is_empty(&self) -> bool {
        self.index.len() == 0
    }

    /// True when `id` is pending and not cancelled.
    pub fn contains(&self, id: u64) -> bool {
        let arena = &self.arena;
        self.index.contains(id, |s| arena[s as usize].key)
    }

    /// Earliest deadline of a live timer, in O(1) (Q3).
    pub fn peek_deadline(&self) -> Option<u64> {
        self.heap.peek().map(|e| e.deadline)
    }

    /// Number of live timers due at the earliest deadline (0 when empty).
    pub fn peek_len(&self) -> usize {
        let Some(top) = self.heap.peek() else { return 0 };
        let s = top.sentinel;
        let mut n = 0;
        let mut at = self.arena[s as usize].next;
        while at != s {
            n += 1;
            at = self.arena[at as usize].next;
        }
        n
    }

    /// Bytes of heap memory the queue holds (arena, index, bucket map and heap).
    pub fn heap_bytes(&self) -> usize {
        self.arena.capacity() * std::mem::size_of::<Node>()
            + self.index.heap_bytes()
            + self.buckets.capacity() * (std::mem::size_of::<(u64, u32)>() + 1)
            + self.heap.capacity() * std::mem::size_of::<HeapEntry>()
    }

    fn alloc(&mut self, node: Node) -> u32 {
        match self.free_head {
            Some(slot) => {
                let s = slot as usize;
                self.free_head = match self.arena[s].next {
                    NIL => None,
                    n => Some(n),
                };
                self.arena[s] = node;
                slot
            }
            None => {
                let slot = u32::try_from(self.arena.len()).expect("more than 4e9 pending timers");
                assert!(slot != NIL, "more than 4e9 pending timers");
                self.arena.push(node);
                slot
            }
        }
    }

    fn free(&mut self, slot: u32) {
        self.arena[slot as usize].next = self.free_head.unwrap_or(NIL);
        self.free_head = Some(slot);
    }

    fn bucket_for(&mut self, deadline: u64) -> u32 {
        if let Some((d, s)) = self.last_bucket {
            if d == deadline {
                return s;
            }
        }
        let sentinel = match self.buckets.get(&deadline) {
            Some(&s) => s,
            None => {
                let s = self.alloc(Node { key: deadline, prev: NIL, next: NIL });
                let node = &mut self.arena[s as usize];
                node.prev = s;
                node.next = s;
                self.buckets.insert(deadline, s);
                self.heap.push(HeapEntry { deadline, sentinel: s });
                s
            }
        };
        self.last_bucket = Some((deadline, sentinel));
        sentinel
    }

    /// Adds timer `id` due at `deadline`. The caller guarantees `id != 0` and that `id` is not
    /// live; insertion order breaks ties between equal deadlines (Q1).
    pub fn insert(&mut self, id: u64, deadline: u64) {
        debug_assert!(!self.contains(id));
        let s = self.bucket_for(deadline);
        let tail = self.arena[s as usize].prev;
        let n = self.alloc(Node { key: id, prev: tail, next: s });
        self.arena[tail as usize].next = n;
        self.arena[s as usize].prev = n;
        let arena = &self.arena;
        self.index.insert(n, |s| arena[s as usize].key);
    }

    /// Cancels timer `id`. True only when it was live (Q4).
    pub fn cancel(&mut self, id: u64) -> bool {
        let arena = &self.arena;
        let Some(n) = self.index.remove(id, |s| arena[s as usize].key) else {
            return false;
        };
        let Node { prev, next, .. } = self.arena[n as usize];
        self.arena[prev as usize].next = next;
        self.arena[next as usize].prev = prev;
        self.free(n);
        self.settle();
        true
    }

    /// Restores Q3 by dropping empty buckets from the top of the heap.
    fn settle(&mut self) {
        while let Some(&top) = self.heap.peek() {
            if self.arena[top.sentinel as usize].next != top.sentinel {
                break;
            }
            self.heap.pop();
            self.drop_bucket(top);
        }
    }

    fn drop_bucket(&mut self, entry: HeapEntry) {
        self.buckets.remove(&entry.deadline);
        if self.last_bucket.is_some_and(|(d, _)| d == entry.deadline) {
            self.last_bucket = None;
        }
        self.free(entry.sentinel);
    }

    /// Removes every live timer with `deadline <= now`, calling `fire(id, deadline)` for each in
    /// (deadline, seq) order. Returns how many fired.
    pub fn pop_due(&mut self, now: u64, mut fire: impl FnMut(u64, u64)) -> usize {
        let mut fired = 0;
        while let Some(&top) = self.heap.peek() {
            if top.deadline > now {
                break;
            }
            self.heap.pop();
            let mut n = self.arena[top.sentinel as usize].next;
            while n != top.sentinel {
                let Node { key: id, next, .. } = self.arena[n as usize];
                let arena = &self.arena;
                self.index.remove(id, |s| arena[s as usize].key);
                self.free(n);
                fire(id, top.deadline);
                fired += 1;
                n = next;
            }
            self.drop_bucket(top);
        }
        // Buckets emptied by cancellation may now be on top.
        self.settle();
        fired
    }

    /// Removes up to `max` timers due at the earliest deadline, if that deadline is `<= limit`,
    /// calling `fire(id)` for each in seq order; returns that deadline (or `None` when nothing is
    /// due). Timers left at that deadline stay first in line. Walks the bucket directly instead
    /// of cancelling timer by timer.
    pub fn pop_batch(&mut self, limit: u64, max: usize, mut fire: impl FnMut(u64)) -> Option<u64> {
        let top = *self.heap.peek()?;
        if top.deadline > limit || max == 0 {
            return None;
        }
        let s = top.sentinel;
        let mut n = self.arena[s as usize].next;
        let mut taken = 0;
        while n != s && taken < max {
            let Node { key: id, next, .. } = self.arena[n as usize];
            let arena = &self.arena;
            self.index.remove(id, |x| arena[x as usize].key);
            self.free(n);
            fire(id);
            taken += 1;
            n = next;
        }
        // Relink the sentinel to what is left of the bucket (Q1 keeps the rest in order).
        self.arena[s as usize].next = n;
        self.arena[n as usize].prev = s;
        if n == s {
            self.heap.pop();
            self.drop_bucket(top);
            self.settle();
        }
        Some(top.deadline)
    }

    /// Removes and returns the earliest live timer as `(id, deadline)`, whatever the time.
    pub fn pop_first(&mut self) -> Option<(u64, u64)> {
        let top = *self.heap.peek()?;
        let n = self.arena[top.sentinel as usize].next;
        let id = self.arena[n as usize].key;
        self.cancel(id);
        Some((id, top.deadline))
    }

    /// Removes every timer.
    pub fn clear(&mut self) {
        *self = Self::default();
    }

    /// Live timers as `(id, deadline)` in firing order (for diagnostics and `uninstall`).
    pub fn snapshot(&self) -> Vec<(u64, u64)> {
        let mut entries: Vec<HeapEntry> = self.heap.iter().copied().collect();
        entries.sort_by_key(|e| e.deadline);
        let mut out = Vec::with_capacity(self.len());
        for e in entries {
            let mut n = self.arena[e.sentinel as usize].next;
            while n != e.sentinel {
                out.push((self.arena[n as usize].key, e.deadline));
                n = self.arena[n as usize].next;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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

    #[derive(Debug, Clone)]
    enum Op {
        Set(u64),
        Clear(usize),
        Advance(u64),
        Tick,
        PopBatch(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u64..60).prop_map(Op::Set),
            2 => (0usize..64).prop_map(Op::Clear),
            2 => (0u64..40).prop_map(Op::Advance),
            2 => Just(Op::Tick),
            1 => (1usize..4).prop_map(Op::PopBatch),
        ]
    }

    proptest! {
        /// The queue against a sorted-list model of (deadline, seq).
        #[test]
        fn matches_sorted_list_model(ops in proptest::collection::vec(op(), 0..300)) {
            let mut q = TimerQueue::new();
            // model: (deadline, seq, id), kept sorted
            let mut model: Vec<(u64, u64, u64)> = vec![];
            let mut now = 0u64;
            let mut seq = 0u64;
            let mut ids: Vec<u64> = vec![];
            for op in ops {
                match op {
                    Op::Set(delay) => {
                        seq += 1;
                        let id = seq; // ids distinct and increasing, like the scheduler's
                        q.insert(id, now + delay);
                        model.push((now + delay, seq, id));
                        model.sort();
                        ids.push(id);
                    }
                    Op::Clear(i) => {
                        if !ids.is_empty() {
                            let id = ids[i % ids.len()];
                            let expect = model.iter().position(|e| e.2 == id);
                            if let Some(p) = expect { model.remove(p); }
                            prop_assert_eq!(q.cancel(id), expect.is_some());
                        }
                    }
                    Op::Advance(ms) => now += ms,
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
                for &(_, _, id) in &model { prop_assert!(q.contains(id)); }
            }
        }
    }
}
