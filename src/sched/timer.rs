//! `TimerQueue`: pending timers in exact (deadline, seq) order with O(1) cancel and O(1) peek.
//!
//! # Algorithm
//! Timers with the same deadline are always created in increasing seq order (seq is a global
//! counter and a timer takes one at creation), so a FIFO per distinct deadline is already sorted
//! by seq. The queue keeps:
//! - a *bucket* per distinct deadline: a contiguous vector of ids in insertion order (the first
//!   two inline, as most deadlines of a program with varied delays hold one or two timers), a
//!   `head` cursor (everything before it is consumed) and a live count. Cancelling writes a
//!   tombstone (0; ids are never 0) over the id; firing walks the vector sequentially and skips
//!   tombstones, so firing a timer costs no random memory access;
//! - a binary min-heap of the distinct deadlines (one entry per bucket), and an index from
//!   deadline to bucket for inserts (`DeadlineIndex`: a hash table of 4-byte entries
//!   checked against the bucket's own deadline, so finding the bucket costs one small read beyond
//!   the bucket itself; plus a one-entry cache, as consecutive timers often share a deadline);
//! - id → (bucket, position) records, for `cancel` and `contains` (`IdMap`).
//!
//! Real programs reuse a few delays, so there are far fewer buckets than timers: set and fire are
//! an append and a sequential read, and the heap sees one push/pop per distinct deadline. (The
//! idea is the one behind calendar queues and Node's own `lib/internal/timers.js`, which keeps one
//! list per duration.) When a tick finds much of the heap due (after a long wait, or a fake
//! clock's jump), `pop_due` sorts the due part instead of popping it entry by entry, and when
//! cancellation leaves more than half the heap without live timers, one pass drops them all.
//!
//! Measured on `benches/timers.rs` (1e6 timers over 10,001 deadlines), the previous design
//! (linked lists in one arena, a Robin Hood id → node hash) was memory-bound: firing chased a
//! pointer and removed a hash entry per timer, both random accesses. Here a fired timer costs a
//! sequential 8-byte read and nothing else; an insert touches the deadline table, the bucket and
//! the bucket's tail, which for 10,001 deadlines stay in a few hundred KB. An `FxHashMap` from
//! deadline to bucket cost a separate probe miss per insert and a rehash per growth, hence the
//! table that validates against the bucket itself.
//!
//! # Id records without a hash on the hot path
//! Timer ids come from a counter, so records live in a *window* indexed by `id - base`; ids
//! outside it (after the counter wraps, re-armed interval ids, jumps of the counter) go to a
//! *spill* hash map. Records are never cleared when a timer fires or is cancelled (that would be
//! a random write per timer); a record counts only if it still *holds* its id:
//! `pos >= bucket.head && bucket.items[pos] == id`. That is sound without generations (B1–B3):
//! - B1: every element of `items[head..]` of a bucket is a tombstone or the id of a live timer,
//!   and every live timer's id is in exactly one such element (insert requires the id not live;
//!   cancel tombstones it; firing moves `head` past it; freed buckets are emptied).
//! - B2: so a location *holds* id `x` if and only if `x` is live there: a record left over from
//!   an earlier life of `x` (fired, cancelled, re-inserted, its bucket freed and reused) either
//!   fails the check or points exactly where `x` now lives.
//! - B3 (completeness): for every live id, the window record (when the id is inside the window)
//!   or the spill record holds it. Insert writes one of them; compaction moves the one that holds
//!   it; sweeps move holding window records to the spill map before dropping them; the spill map
//!   drops only records that do not hold.
//!
//! # Bounded memory
//! - W1: a bucket's dead elements (consumed or tombstones) stay below `4 × live + SLACK`; a bucket
//!   with no live timer is emptied at once. Compaction rewrites the records of the ids it moves.
//! - W2: after an insert the window has at most `2 × live + SLACK` records: past that, its front
//!   is swept (holding records move to the spill map) down to `live + SLACK / 2` (amortised O(1)
//!   per insert). When no timer is live, the window and the spill map are emptied.
//! - W3: the spill map is swept of records that do not hold once it has more than
//!   `2 × live + SLACK` (amortised O(1) per spilled insert, as a sweep drops at least half).
//! - When the counter runs outside the window for longer than the window (wrap-around, a jump),
//!   the window is flushed to the spill map and restarts at the counter.
//! - W4: buckets without a live timer are at most half the heap (or `SLACK`): past that, a cancel
//!   frees them all in one pass.
//! - Freed bucket slots are reused; they keep id buffers up to `KEEP_CAPACITY`. Other buffers
//!   keep their peak capacity like any `Vec`; the deadline table shrinks at the next insert.
//!
//! # Invariants
//! - Q1: within a bucket, timers are in insertion order, which is seq order (I3).
//! - Q2: the heap and the deadline map hold exactly one entry per bucket in use.
//! - Q3: the bucket at the top of the heap has a live timer, so `peek_deadline` is the earliest
//!   *live* deadline in O(1). Cancelling may leave buckets without live timers below the top;
//!   they are dropped when they surface (`settle`) or all at once (`prune`, W4).
//! - Q4: `live` is the number of live timers (the sum of the buckets' live counts), and
//!   `live_buckets` the number of buckets in the heap with a live timer.

use std::collections::BinaryHeap;

use rustc_hash::FxHashMap;
use smallvec::SmallVec;

/// A cancelled element of a bucket. Timer ids are never 0.
const TOMBSTONE: u64 = 0;
// The sizes below are tiny in unit tests, so that small property tests reach every sweep,
// compaction and window restart.
/// A freed or emptied bucket keeps an id buffer up to this capacity for reuse (and frees larger).
const KEEP_CAPACITY: usize = if cfg!(test) { 2 } else { 64 };
/// Slack of the size bounds below (bucket compaction, window and spill sweeps), so small queues
/// never sweep.
const SLACK: usize = if cfg!(test) { 4 } else { 64 };
/// An insert at most this far past the end of the id window extends it (with empty records).
const MAX_GAP: u64 = if cfg!(test) { 2 } else { 64 };
/// `pop_due` considers bulk extraction after popping this many buckets (and an eighth of the heap).
const BULK_MIN_POPS: usize = if cfg!(test) { 2 } else { 32 };

/// All timers due at one deadline.
#[derive(Debug, Clone, Default)]
struct Bucket {
    deadline: u64,
    /// Ids in insertion (= seq) order, `TOMBSTONE` where cancelled; `items[..head]` is consumed.
    /// Up to two inline: most deadlines of a program with varied delays hold one or two timers.
    items: SmallVec<[u64; 2]>,
    head: u32,
    /// Ids in `items[head..]` that are not tombstones.
    live: u32,
}

impl Bucket {
    /// Elements that are consumed or tombstones.
    fn dead(&self) -> usize {
        self.items.len() - self.live as usize
    }

    /// Empties the bucket (its `live` is 0), keeping a small buffer.
    fn reset(&mut self) {
        debug_assert_eq!(self.live, 0);
        if self.items.capacity() > KEEP_CAPACITY {
            self.items = SmallVec::new();
        } else {
            self.items.clear();
        }
        self.head = 0;
    }
}

/// Where an id was put: `buckets[slot].items[pos]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Loc {
    slot: u32,
    pos: u32,
}

impl Loc {
    /// An empty window record (no bucket has this slot).
    const NONE: Loc = Loc { slot: NO_SLOT, pos: 0 };
}

/// True when `id` is live at `loc` (B1): the element is unconsumed and holds `id`.
#[inline]
fn holds(buckets: &[Bucket], loc: Loc, id: u64) -> bool {
    buckets
        .get(loc.slot as usize)
        .is_some_and(|b| loc.pos >= b.head && b.items.get(loc.pos as usize) == Some(&id))
}

/// A bucket in the heap. Deadlines are unique in the heap (Q2), so entries compare by deadline
/// alone.
#[derive(Debug, Clone, Copy)]
struct HeapEntry {
    deadline: u64,
    slot: u32,
}

impl PartialEq for HeapEntry {
    fn eq(&self, other: &Self) -> bool {
        self.deadline == other.deadline
    }
}

impl Eq for HeapEntry {}

impl Ord for HeapEntry {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        // Reversed: std's BinaryHeap is a max-heap and we want the earliest deadline on top.
        other.deadline.cmp(&self.deadline)
    }
}

impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Deadline → slot of the bucket in use for that deadline. A table indexed by a Fibonacci hash
/// of the deadline (Knuth, TAOCP vol. 3, 6.4: nearby deadlines, `now + delay`, land far apart,
/// so 10,001 consecutive deadlines take 16,384 entries without a collision); a deadline may sit
/// in its home entry or the one beside it (same cache line). An entry is a slot (low 24 bits)
/// and the next 8 bits of the hash as a tag; a tag match is confirmed against the bucket's own
/// deadline, which the insert reads anyway, and a tag mismatch skips that bucket. A lookup is
/// one cache line of the table plus the bucket; a deadline whose two entries are taken (or
/// whose slot does not fit 24 bits) goes to an overflow hash map.
#[derive(Debug, Clone)]
struct DeadlineIndex {
    /// `tag << 24 | slot`, or `EMPTY`; every slot in it is a bucket in use.
    table: Vec<u32>,
    /// `table.len() == 1 << bits`.
    bits: u32,
    overflow: FxHashMap<u64, u32>,
    /// Buckets in use (in the table or the overflow map).
    len: usize,
}

const NO_SLOT: u32 = u32::MAX;
const EMPTY: u32 = u32::MAX;
/// Bits of a slot in a table entry (tiny in unit tests, which then reach the overflow map).
const SLOT_BITS: u32 = if cfg!(test) { 3 } else { 24 };
const SLOT_MASK: u32 = (1 << SLOT_BITS) - 1;
const MIN_TABLE_BITS: u32 = 4;

impl Default for DeadlineIndex {
    fn default() -> Self {
        Self::with_bits(MIN_TABLE_BITS)
    }
}

impl DeadlineIndex {
    fn with_bits(bits: u32) -> Self {
        Self { table: vec![EMPTY; 1 << bits], bits, overflow: FxHashMap::default(), len: 0 }
    }

    /// The entry index and the tag of `deadline`.
    #[inline]
    fn home(&self, deadline: u64) -> (usize, u32) {
        let h = deadline.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        ((h >> (64 - self.bits)) as usize, ((h >> (56 - self.bits)) as u32 & 0xFF) << SLOT_BITS)
    }

    #[inline]
    fn get(&self, deadline: u64, buckets: &[Bucket]) -> Option<u32> {
        let (i, tag) = self.home(deadline);
        for e in [self.table[i], self.table[i ^ 1]] {
            if e != EMPTY && e & !SLOT_MASK == tag && buckets[(e & SLOT_MASK) as usize].deadline == deadline {
                return Some(e & SLOT_MASK);
            }
        }
        if self.overflow.is_empty() {
            return None;
        }
        self.overflow.get(&deadline).copied()
    }

    /// Adds `deadline → slot` (no bucket in use has `deadline`). `heap` lists every bucket in
    /// use (this one included), for a resize. Resizing happens only here, so removals never
    /// rebuild (a tick that releases thousands of buckets does not shrink the table step by
    /// step); the table shrinks at the next insert. A resize leaves 4–8 entries per bucket; one
    /// is due above 3/4 load or below 1/8.
    #[inline]
    fn insert(&mut self, deadline: u64, slot: u32, heap: &BinaryHeap<HeapEntry>) {
        self.len += 1;
        let n = self.table.len();
        if self.len > n / 4 * 3 || (self.bits > MIN_TABLE_BITS && self.len < n / 8) {
            let bits = (self.len * 4).next_power_of_two().trailing_zeros().max(MIN_TABLE_BITS);
            self.rebuild(bits, heap);
        } else {
            self.place(deadline, slot);
        }
    }

    fn place(&mut self, deadline: u64, slot: u32) {
        let (i, tag) = self.home(deadline);
        if slot < SLOT_MASK {
            for j in [i, i ^ 1] {
                if self.table[j] == EMPTY {
                    self.table[j] = tag | slot;
                    return;
                }
            }
        }
        self.overflow.insert(deadline, slot);
    }

    /// Removes the bucket `slot` of `deadline`.
    #[inline]
    fn remove(&mut self, deadline: u64, slot: u32) {
        let (i, tag) = self.home(deadline);
        match [i, i ^ 1].into_iter().find(|&j| slot < SLOT_MASK && self.table[j] == tag | slot) {
            Some(j) => self.table[j] = EMPTY,
            None => {
                self.overflow.remove(&deadline);
            }
        }
        self.len -= 1;
    }

    #[cold]
    fn rebuild(&mut self, bits: u32, heap: &BinaryHeap<HeapEntry>) {
        let len = self.len;
        *self = Self::with_bits(bits);
        self.len = len;
        for e in heap {
            self.place(e.deadline, e.slot);
        }
    }

    fn heap_bytes(&self) -> usize {
        self.table.capacity() * std::mem::size_of::<u32>()
            + self.overflow.capacity() * (std::mem::size_of::<(u64, u32)>() + 1)
    }
}

/// Id → [`Loc`] records: a window indexed by `id - base` for the ids the counter handed out
/// recently, and a spill map for every other id. Records are never cleared when a timer fires or
/// is cancelled; a record counts only if it [`holds`] its id (R1–R3 in the module docs).
#[derive(Debug, Clone, Default)]
struct IdMap {
    /// The id of `window[0]`. The window covers `base .. base + len` (wrapping).
    base: u64,
    window: Vec<Loc>,
    spill: FxHashMap<u64, Loc>,
    /// The id after the last spilled insert, and how many spilled inserts in a row were
    /// consecutive ids (the counter running outside the window).
    run_next: u64,
    run_len: usize,
    /// Inserts recorded in the spill map so far (test diagnostics).
    #[cfg(test)]
    spilled: usize,
}

impl IdMap {
    /// The location of `id` if it is live, and whether its record is in the spill map.
    #[inline]
    fn find(&self, id: u64, buckets: &[Bucket]) -> Option<(Loc, bool)> {
        let off = id.wrapping_sub(self.base);
        if off < self.window.len() as u64 {
            let loc = self.window[off as usize];
            if holds(buckets, loc, id) {
                return Some((loc, false));
            }
        }
        if self.spill.is_empty() {
            return None;
        }
        self.find_spilled(id, buckets)
    }

    #[cold]
    fn find_spilled(&self, id: u64, buckets: &[Bucket]) -> Option<(Loc, bool)> {
        let &loc = self.spill.get(&id)?;
        holds(buckets, loc, id).then_some((loc, true))
    }

    /// Records `loc` for `id` (just inserted; `live` timers now).
    #[inline]
    fn set(&mut self, id: u64, loc: Loc, live: usize, buckets: &[Bucket]) {
        let len = self.window.len() as u64;
        let off = id.wrapping_sub(self.base);
        if off < len {
            self.window[off as usize] = loc;
        } else if off - len <= MAX_GAP || len == 0 {
            if len == 0 {
                self.base = id;
            } else {
                self.window.resize(off as usize, Loc::NONE);
            }
            self.window.push(loc);
            if self.window.len() > 2 * live + SLACK {
                self.sweep(live, buckets);
            }
        } else {
            self.spill_insert(id, loc, live, buckets);
        }
    }

    #[cold]
    fn spill_insert(&mut self, id: u64, loc: Loc, live: usize, buckets: &[Bucket]) {
        self.spill.insert(id, loc);
        #[cfg(test)]
        {
            self.spilled += 1;
        }
        self.run_len = if id == self.run_next { self.run_len + 1 } else { 1 };
        self.run_next = id.wrapping_add(1);
        if self.run_len > self.window.len() + SLACK / 2 {
            // The counter runs outside the window (it wrapped, or jumped): move the window's live
            // records to the spill map; the next insert starts a new window.
            self.drop_front(self.window.len(), buckets);
            self.run_len = 0;
        }
        self.sweep_spill(live, buckets);
    }

    /// Drops the window's first `k` records, moving those that still hold their id to the spill map.
    fn drop_front(&mut self, k: usize, buckets: &[Bucket]) {
        for (i, &loc) in self.window[..k].iter().enumerate() {
            let id = self.base.wrapping_add(i as u64);
            if holds(buckets, loc, id) {
                self.spill.insert(id, loc);
            }
        }
        self.window.drain(..k);
        self.base = self.base.wrapping_add(k as u64);
    }

    /// Shortens the window to `live + SLACK / 2` records (W2).
    #[cold]
    fn sweep(&mut self, live: usize, buckets: &[Bucket]) {
        let k = self.window.len().saturating_sub(live + SLACK / 2);
        self.drop_front(k, buckets);
        if self.window.capacity() > 4 * self.window.len() + 4 * SLACK {
            self.window.shrink_to(2 * self.window.len() + SLACK);
        }
        self.sweep_spill(live, buckets);
    }

    /// Drops stale spill records once they could outnumber the live ones (W3).
    fn sweep_spill(&mut self, live: usize, buckets: &[Bucket]) {
        if self.spill.len() > 2 * live + SLACK {
            self.spill.retain(|&id, loc| holds(buckets, *loc, id));
            if self.spill.capacity() > 4 * self.spill.len() + 4 * SLACK {
                self.spill.shrink_to(2 * self.spill.len() + SLACK);
            }
        }
    }

    /// `id`, live at `from`, moved to `to` (bucket compaction): updates whichever record holds it.
    fn relocate(&mut self, id: u64, from: Loc, to: Loc) {
        let off = id.wrapping_sub(self.base);
        match self.window.get_mut(usize::try_from(off).unwrap_or(usize::MAX)) {
            Some(rec) if *rec == from => *rec = to,
            _ => {
                self.spill.insert(id, to);
            }
        }
    }

    /// Forgets every record (no timer is live).
    fn clear(&mut self) {
        self.window.clear();
        if self.spill.capacity() > 4 * SLACK {
            self.spill = FxHashMap::default();
        } else {
            self.spill.clear();
        }
        self.run_len = 0;
    }

    fn heap_bytes(&self) -> usize {
        self.window.capacity() * std::mem::size_of::<Loc>()
            + self.spill.capacity() * (std::mem::size_of::<(u64, Loc)>() + 1)
    }
}

/// Pending timers keyed by `u64` id, ordered by (deadline, insertion order).
#[derive(Debug, Clone, Default)]
pub struct TimerQueue {
    /// Bucket slots; free ones are empty and listed in `free`.
    buckets: Vec<Bucket>,
    free: Vec<u32>,
    by_deadline: DeadlineIndex,
    heap: BinaryHeap<HeapEntry>,
    /// `(deadline, slot)` of the bucket used by the last insert: consecutive timers often share a
    /// deadline.
    last: Option<(u64, u32)>,
    ids: IdMap,
    live: usize,
    /// Buckets with a live timer; the other `heap.len() - live_buckets` wait to surface (Q3).
    live_buckets: usize,
}

impl TimerQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of live (pending, not cancelled) timers.
    pub fn len(&self) -> usize {
        self.live
    }

    /// True when no live timer is pending.
    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// True when `id` is pending and not cancelled.
    #[inline]
    pub fn contains(&self, id: u64) -> bool {
        self.ids.find(id, &self.buckets).is_some()
    }

    /// Earliest deadline of a live timer, in O(1) (Q3).
    pub fn peek_deadline(&self) -> Option<u64> {
        self.heap.peek().map(|e| e.deadline)
    }

    /// Number of live timers due at the earliest deadline (0 when empty), in O(1).
    pub fn peek_len(&self) -> usize {
        self.heap.peek().map_or(0, |e| self.buckets[e.slot as usize].live as usize)
    }

    /// Bytes of heap memory the queue holds (buckets and their ids, bucket map, heap, id records).
    pub fn heap_bytes(&self) -> usize {
        self.buckets.capacity() * std::mem::size_of::<Bucket>()
            + self
                .buckets
                .iter()
                .filter(|b| b.items.spilled())
                .map(|b| b.items.capacity() * std::mem::size_of::<u64>())
                .sum::<usize>()
            + self.free.capacity() * std::mem::size_of::<u32>()
            + self.by_deadline.heap_bytes()
            + self.heap.capacity() * std::mem::size_of::<HeapEntry>()
            + self.ids.heap_bytes()
    }

    /// The slot of the bucket for `deadline`, made (and pushed on the heap) if there is none.
    #[inline]
    fn bucket_for(&mut self, deadline: u64) -> u32 {
        if let Some((d, s)) = self.last {
            if d == deadline {
                return s;
            }
        }
        let slot = match self.by_deadline.get(deadline, &self.buckets) {
            Some(s) => s,
            None => {
                let slot = match self.free.pop() {
                    Some(s) => s,
                    None => {
                        let s = u32::try_from(self.buckets.len())
                            .ok()
                            .filter(|&s| s != NO_SLOT)
                            .expect("more than 4e9 distinct deadlines");
                        self.buckets.push(Bucket::default());
                        s
                    }
                };
                self.buckets[slot as usize].deadline = deadline;
                self.heap.push(HeapEntry { deadline, slot });
                self.by_deadline.insert(deadline, slot, &self.heap);
                slot
            }
        };
        self.last = Some((deadline, slot));
        slot
    }

    /// Adds timer `id` due at `deadline`. The caller guarantees `id != 0` and that `id` is not
    /// live; insertion order breaks ties between equal deadlines (Q1).
    pub fn insert(&mut self, id: u64, deadline: u64) {
        debug_assert!(id != TOMBSTONE && !self.contains(id));
        let slot = self.bucket_for(deadline);
        let b = &mut self.buckets[slot as usize];
        let pos = u32::try_from(b.items.len()).expect("more than 4e9 timers at one deadline");
        b.items.push(id);
        if b.live == 0 {
            self.live_buckets += 1;
        }
        b.live += 1;
        self.live += 1;
        self.ids.set(id, Loc { slot, pos }, self.live, &self.buckets);
    }

    /// Cancels timer `id`. True only when it was live.
    pub fn cancel(&mut self, id: u64) -> bool {
        let Some((loc, spilled)) = self.ids.find(id, &self.buckets) else {
            return false;
        };
        if spilled {
            self.ids.spill.remove(&id);
        }
        let b = &mut self.buckets[loc.slot as usize];
        b.items[loc.pos as usize] = TOMBSTONE;
        b.live -= 1;
        self.live -= 1;
        if b.live == 0 {
            // Nothing in it is live: drop its elements now; the bucket itself leaves the heap when
            // it surfaces (Q3).
            b.reset();
            self.live_buckets -= 1;
            if self.heap.peek().is_some_and(|t| t.slot == loc.slot) {
                self.settle();
            } else {
                let dead = self.heap.len() - self.live_buckets;
                if dead > SLACK && dead * 2 > self.heap.len() {
                    self.prune();
                }
            }
        } else if b.dead() > 4 * b.live as usize + SLACK {
            self.compact(loc.slot);
        }
        if self.live == 0 {
            self.ids.clear();
        }
        true
    }

    /// Restores Q3 by dropping buckets without live timers from the top of the heap; when more
    /// than half the heap is such buckets, drops them all in one pass instead (`prune`).
    fn settle(&mut self) {
        while let Some(&top) = self.heap.peek() {
            if self.buckets[top.slot as usize].live != 0 {
                break;
            }
            let dead = self.heap.len() - self.live_buckets;
            if dead > SLACK && dead * 2 > self.heap.len() {
                self.prune();
                break;
            }
            self.heap.pop();
            self.release(top);
        }
    }

    /// Frees every bucket without a live timer and heapifies the rest: O(heap), at least half of
    /// it freed, so amortised O(1) per bucket, where popping them one by one costs O(log heap)
    /// each (clearing many timers in id order empties buckets in random deadline order).
    #[cold]
    fn prune(&mut self) {
        let mut keep = Vec::with_capacity(self.live_buckets);
        for e in std::mem::take(&mut self.heap).into_vec() {
            if self.buckets[e.slot as usize].live != 0 {
                keep.push(e);
            } else {
                self.release(e);
            }
        }
        self.heap = BinaryHeap::from(keep);
    }

    /// Frees the bucket of `entry`, just popped from the heap (its timers are gone).
    fn release(&mut self, entry: HeapEntry) {
        self.by_deadline.remove(entry.deadline, entry.slot);
        if self.last.is_some_and(|(_, s)| s == entry.slot) {
            self.last = None;
        }
        self.buckets[entry.slot as usize].reset();
        self.free.push(entry.slot);
    }

    /// Removes tombstones and consumed elements from bucket `slot`, moving the records of the
    /// live ids that shift.
    #[cold]
    fn compact(&mut self, slot: u32) {
        let Self { buckets, ids, .. } = self;
        let b = &mut buckets[slot as usize];
        let mut w = 0usize;
        for r in b.head as usize..b.items.len() {
            let id = b.items[r];
            if id != TOMBSTONE {
                if r != w {
                    b.items[w] = id;
                    ids.relocate(id, Loc { slot, pos: r as u32 }, Loc { slot, pos: w as u32 });
                }
                w += 1;
            }
        }
        b.items.truncate(w);
        b.head = 0;
        if b.items.capacity() > KEEP_CAPACITY.max(4 * w) {
            b.items.shrink_to_fit();
        }
    }

    /// Removes every live timer with `deadline <= now`, calling `fire(id, deadline)` for each in
    /// (deadline, seq) order. Returns how many fired.
    ///
    /// Buckets come off the heap one by one; once that has taken an eighth of the heap, one scan
    /// counts the rest that is due, and if that is at least a quarter of the heap it is taken in
    /// bulk instead (`pop_bulk`): a tick after a long wait (or a fake clock's jump) fires most of
    /// the heap, and sorting it is several times cheaper than popping it. The scan costs at most
    /// eight pops' worth of work per pop already done, the heapify of the rest at most four per
    /// bucket taken.
    #[inline]
    pub fn pop_due(&mut self, now: u64, fire: impl FnMut(u64, u64)) -> usize {
        // Most ticks find nothing due.
        match self.heap.peek() {
            Some(top) if top.deadline <= now => self.pop_due_slow(now, fire),
            _ => 0,
        }
    }

    fn pop_due_slow(&mut self, now: u64, mut fire: impl FnMut(u64, u64)) -> usize {
        let mut fired = 0;
        let mut popped = 0usize;
        let mut scanned = false;
        while let Some(&top) = self.heap.peek() {
            if top.deadline > now {
                break;
            }
            if !scanned && popped >= BULK_MIN_POPS && popped * 8 >= self.heap.len() {
                scanned = true;
                let due = self.heap.iter().filter(|e| e.deadline <= now).count();
                if due * 4 >= self.heap.len() {
                    fired += self.pop_bulk(now, &mut fire);
                    break;
                }
            }
            self.heap.pop();
            popped += 1;
            fired += self.fire_bucket(top, &mut fire);
        }
        self.live -= fired;
        // Buckets emptied by cancellation may now be on top.
        self.settle();
        if self.live == 0 {
            self.ids.clear();
        }
        fired
    }

    /// Fires every live timer of `entry`'s bucket (just off the heap) and frees the bucket.
    /// Returns how many fired; `self.live` is left to the caller.
    #[inline]
    fn fire_bucket(&mut self, entry: HeapEntry, fire: &mut impl FnMut(u64, u64)) -> usize {
        let b = &mut self.buckets[entry.slot as usize];
        for &id in &b.items[b.head as usize..] {
            if id != TOMBSTONE {
                fire(id, entry.deadline);
            }
        }
        let n = b.live as usize;
        if n != 0 {
            self.live_buckets -= 1;
        }
        b.live = 0;
        self.release(entry);
        n
    }

    /// Takes every bucket due at `now` off the heap at once, in deadline order: a partition, a
    /// sort of the due part (a counting sort when their deadlines span less than 4 per bucket:
    /// they are distinct, Q2) and a heapify of the rest. Returns how many fired.
    #[cold]
    fn pop_bulk(&mut self, now: u64, fire: &mut impl FnMut(u64, u64)) -> usize {
        // Partition in place: due entries first.
        let mut due = std::mem::take(&mut self.heap).into_vec();
        let mut k = 0;
        for i in 0..due.len() {
            if due[i].deadline <= now {
                due.swap(i, k);
                k += 1;
            }
        }
        self.heap = BinaryHeap::from(due.split_off(k));
        // Everything due: fire, then empty the whole slab at once instead of bucket by bucket.
        let all = self.heap.is_empty();
        let mut take = |q: &mut Self, e: HeapEntry| {
            if all {
                let b = &q.buckets[e.slot as usize];
                for &id in &b.items[b.head as usize..] {
                    if id != TOMBSTONE {
                        fire(id, e.deadline);
                    }
                }
                b.live as usize
            } else {
                q.fire_bucket(e, fire)
            }
        };
        let mut fired = 0;
        let min = due.iter().map(|e| e.deadline).min().unwrap_or(0);
        let span = due.iter().map(|e| e.deadline - min).max().unwrap_or(0);
        if span < 4 * due.len() as u64 + SLACK as u64 {
            let mut by_offset = vec![NO_SLOT; span as usize + 1];
            for e in &due {
                by_offset[(e.deadline - min) as usize] = e.slot;
            }
            for (off, &slot) in by_offset.iter().enumerate() {
                if slot != NO_SLOT {
                    fired += take(self, HeapEntry { deadline: min + off as u64, slot });
                }
            }
        } else {
            due.sort_unstable_by_key(|e| e.deadline);
            for &e in &due {
                fired += take(self, e);
            }
        }
        if all {
            // Every bucket in use was in the heap (Q2), so every slot is free now. The heap keeps
            // this buffer for the next inserts.
            self.buckets.clear();
            self.free.clear();
            self.by_deadline = DeadlineIndex::default();
            self.last = None;
            self.live_buckets = 0;
            due.clear();
            self.heap = BinaryHeap::from(due);
        }
        fired
    }

    /// Removes up to `max` timers due at the earliest deadline, if that deadline is `<= limit`,
    /// calling `fire(id)` for each in seq order; returns that deadline (or `None` when nothing is
    /// due). Timers left at that deadline stay first in line.
    pub fn pop_batch(&mut self, limit: u64, max: usize, mut fire: impl FnMut(u64)) -> Option<u64> {
        let top = *self.heap.peek()?;
        if top.deadline > limit || max == 0 {
            return None;
        }
        let b = &mut self.buckets[top.slot as usize];
        let want = max.min(b.live as usize);
        let mut taken = 0;
        let mut pos = b.head as usize;
        while taken < want {
            let id = b.items[pos];
            pos += 1;
            if id != TOMBSTONE {
                fire(id);
                taken += 1;
            }
        }
        b.head = pos as u32;
        b.live -= taken as u32;
        self.live -= taken;
        if b.live == 0 {
            self.live_buckets -= 1;
            self.heap.pop();
            self.release(top);
            self.settle();
        } else if b.dead() > 4 * b.live as usize + SLACK {
            self.compact(top.slot);
        }
        if self.live == 0 {
            self.ids.clear();
        }
        Some(top.deadline)
    }

    /// Removes and returns the earliest live timer as `(id, deadline)`, whatever the time.
    pub fn pop_first(&mut self) -> Option<(u64, u64)> {
        let mut first = None;
        let deadline = self.pop_batch(u64::MAX, 1, |id| first = Some(id))?;
        first.map(|id| (id, deadline))
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
            let b = &self.buckets[e.slot as usize];
            out.extend(
                b.items[b.head as usize..].iter().filter(|&&id| id != TOMBSTONE).map(|&id| (id, e.deadline)),
            );
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
            2 => Just(Op::Tick),
            1 => (1usize..4).prop_map(Op::PopBatch),
            1 => Just(Op::PopFirst),
        ]
    }

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
                q.insert(id, d);
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
                // Q4
                let live_buckets = q.heap.iter().filter(|e| q.buckets[e.slot as usize].live != 0).count();
                prop_assert_eq!(q.live_buckets, live_buckets);
                for &id in &ids {
                    prop_assert_eq!(q.contains(id), model.iter().any(|e| e.2 == id), "id {}", id);
                }
            }
            let snapshot: Vec<(u64, u64)> = model.iter().map(|e| (e.2, e.0)).collect();
            prop_assert_eq!(q.snapshot(), snapshot);
        }
    }
}
