//! `TimerQueue`: pending timers in exact (deadline, seq) order with O(1) cancel and O(1) peek.
//!
//! # Algorithm
//! Timers with the same deadline are always created in increasing seq order (seq is a global
//! counter and a timer takes one at creation), so anything that keeps, per deadline, groups of
//! timers in creation order, and orders the groups of one deadline by creation, is in exact
//! (deadline, seq) order. The queue keeps:
//! - a 4-ary min-heap of 8-byte *keys* `rel << 32 | ord << 1`: `rel` is the deadline minus an
//!   `origin`, `ord` the creation order of the key. Comparing keys as integers compares
//!   (deadline, creation), so several keys may share a deadline and still pop in seq order;
//! - an entry table indexed by ord, and a bit set of which ords are buckets: a *singleton* key's
//!   id, or a *bucket* key's bucket slot. The first timer of a deadline is a singleton (8 bytes
//!   of heap + 8 of table, no bucket); the second turns it into a bucket in place (same key, so
//!   same place in the heap; the first id moves into the bucket): a 12-byte header naming a
//!   chunk of the id arena (`arena.rs`: chunks of 2 to 32 ids on pages with no allocation per
//!   bucket, bigger ones an allocation each) that holds its ids in insertion order, a `head`
//!   cursor (everything before it is consumed) and a live count. A full chunk moves to one
//!   twice its size.
//!   Cancelling writes a tombstone (0; ids are never 0) over the id, in the table or the bucket;
//!   firing a bucket walks it sequentially;
//! - a *lossy* deadline cache: a direct-mapped table `hash(rel) →` newest key of that deadline
//!   (for a bucket, the key with the bucket's slot in place of its ord and bit 0 set, so an
//!   insert reaches the bucket without reading the table). Every new key writes its entry, so
//!   an entry whose `rel` matches names the newest key of its deadline; a collision overwrites
//!   it (a miss). An insert appends to the bucket it names, turns the singleton it names into a
//!   bucket, opens a new bucket key when that bucket is full (at most `2^POS_BITS` ids) or the
//!   singleton is a tombstone (its key may have left the heap), and opens a singleton on a miss.
//!   A miss only costs a key: a new key is newer than every key of its deadline, so order stays
//!   exact without an exact index (the previous design's deadline index cost 16–32 bytes per
//!   deadline and its 40-byte bucket was paid by every deadline). Releasing a bucket removes
//!   the cache entry naming its slot (slots are reused). The cache has a quarter as many
//!   entries as the heap has keys (a half when over a quarter of the keys are buckets, i.e. the
//!   cache hits), rounded to a power of two; resizing, renumbering and rebasing rebuild it from
//!   the heap (per entry, the largest key mapping there: the newest key of its own deadline);
//! - id → record (4 bytes: `SINGLE | ord`, or bucket slot and position), for `cancel` and
//!   `contains` (`IdMap`).
//!
//! Real programs reuse a few delays, so there are far fewer keys than timers: set and fire are an
//! append and a sequential read, and the heap sees one push/pop per bucket. (The idea is the one
//! behind calendar queues and Node's own `lib/internal/timers.js`, which keeps one list per
//! duration.) When a tick finds much of the heap due, `pop_due` sorts the due part instead of
//! popping it key by key, and when cancellation leaves more than half the heap without live
//! timers, one pass drops them all.
//!
//! Cancelling a singleton leaves its key in the heap (lazy); it leaves when it surfaces
//! (`settle`) or in a `prune` pass.
//!
//! # Hot paths
//! At a million pending timers the time per timer was mostly instructions, not cache misses
//! (about 470 instructions per set+fire before, 320 after, through `Scheduler` with the
//! benches' delays; `valgrind --tool=cachegrind`). So the common cases are small inlined fast
//! paths and everything else is out of line: `insert` appends to the bucket the cache names
//! (`insert_key` opens keys, `insert_slow` moves the origin or goes far), the id record is a push
//! at the window's end (`IdMap::set_slow`), and `cancel` tombstones a bucket element found
//! through its window record when the bucket keeps live timers and needs no compaction
//! (`cancel_slow`). `pop_due_runs` hands a whole bucket to the caller at once, which the
//! scheduler copies into its macrotask queue. (Batching inserts in a log and placing them with
//! software prefetches was tried and measured slower: the CPU already overlaps the misses of
//! consecutive inserts.)
//!
//! # Measured (`cargo bench --bench timers -- --warm-up-time 1 --measurement-time 3`, 2 shared
//! cores that move the same run by 30–100%)
//! ns per timer through `Scheduler` at N = 1e3 / 1e4 / 1e5 / 1e6 pending, with the `lazy_heap`
//! baseline (`BinaryHeap` + cancelled set) of the same run in brackets, two runs on a quiet day
//! before the id arena: set+fire 49–50 / 73–75 / 56–59 / 38–40 (37 / 53–58 / 102–109 / 284–387);
//! set+clear+skip 33–34 / 55–56 / 53 / 44–46 (44–45 / 65–66 / 114–119 / 410–560);
//! `next_timer_deadline` and `has_pending` 0.8–1.2 ns at any N. The id arena (`arena.rs`) costs
//! +10 / +28 / +1 / +28 instructions per set+fire and +17 / +29 / +12 / +23 per set+clear+skip
//! (cachegrind, 300–860 per timer in all), mostly at 1e6 where a bucket of ~100 ids reaches its
//! big chunk through one more table (`bigs`). Below 1e5 the baseline's plain heap is faster at
//! set+fire (nearly every timer has its own deadline there, and a key per timer costs more than
//! a heap entry). Bytes per pending timer, benches' delays (uniform 0..=10,000 ms) / all
//! deadlines distinct: 25.0 / 24.2 at N = 1e3, 28.0 / 23.9 at 1e4, 24.1 / 26.6 at 1e5, 15.7 /
//! 24.5 at 1e6; the worst over N = 1e3..1e6 in 7% steps is 29.7 at N = 31,329 (uniform: ~3
//! timers per deadline, where a bucket is a 16-byte key, a 12-byte header and a chunk of 4) and
//! 28.7 distinct. (With a 32-byte bucket header and a malloc'd buffer per bucket, that band
//! reached 33.4.)
//!
//! # Deadlines that do not fit 32 bits
//! Keys hold `deadline - origin` in 32 bits (49.7 days of ms). The origin is set when the heap
//! is empty (2^31 before the first deadline), and moved (`rebase`: every key shifted, O(heap))
//! when a deadline does not fit, the heap's deadlines and it span at most 2^31 - 1, and at least
//! `heap.len()` inserts happened since the last rebase (amortised O(1)). Any other deadline is
//! *far*: kept in an ordered map, merged by the pop paths. F1: far deadlines are never inside
//! the heap's range (after every origin change, far timers that fit move into the heap, oldest
//! first), so the two parts never hold the same deadline.
//!
//! # Ords
//! Ords come from the entry table's length. Released keys leave holes; once the table is more
//! than twice the heap (or ords would pass 2^31), `renumber` gives the heap's keys ords
//! `0..heap.len()` in their old order (the heap stays a heap), compacts the table and moves the
//! records of live singletons: O(table), amortised O(1) per key. The cache is then forgotten.
//!
//! # Id records without a hash on the hot path
//! Timer ids come from a counter, so records live in a *window* indexed by `id - base`; ids
//! outside it (after the counter wraps, re-armed interval ids, jumps of the counter) go to a
//! *spill* hash map. Records are never cleared when a timer fires or is cancelled (that would be
//! a random write per timer); a record counts only if it still *holds* its id: a bucket record
//! `bucket.head <= pos < bucket.len` and the bucket's chunk holds `id` at `pos`, a singleton
//! record `entries[ord] == id` and `ord` is a singleton's. That is sound without generations
//! (B1–B3):
//! - B1: every id in `[head..len)` of a bucket's chunk, and every singleton entry, is a tombstone
//!   or the id of a live timer, and every live timer's id is in exactly one such place (insert
//!   requires the id not live; cancel tombstones it; firing moves `head` past it or tombstones
//!   the entry; freed buckets are emptied; a reset empties everything).
//! - B2: so a location *holds* id `x` if and only if `x` is live there: a record left over from
//!   an earlier life of `x` (fired, cancelled, re-inserted, its bucket freed and reused, its ord
//!   renumbered) either fails the check or points exactly where `x` now lives. (A singleton
//!   record checks the bucket bit of its ord, since a bucket key's entry is a slot number that
//!   could equal any id.)
//! - B3 (completeness): for every live id, the window record (when the id is inside the window)
//!   or the spill record holds it. Insert writes one of them; compaction and renumbering move
//!   the one that holds it; sweeps move holding window records to the spill map before dropping
//!   them; the spill map drops only records that do not hold.
//!
//! # Bounded memory
//! Every buffer that grows with the number of timers grows by a quarter (`reserve`), not by
//! doubling, since `heap_bytes` counts capacity (but for the id arena's small tables of pages
//! and big chunks, and a big chunk, which doubles as its bucket does).
//! - W1: a bucket's dead elements (consumed or tombstones) stay below `4 × live + COMPACT_SLACK`;
//!   a bucket with no live timer is emptied at once. Compaction rewrites the records of the ids
//!   it moves.
//! - W2: after an insert the window has at most `2 × live + SLACK` records: past that, its front
//!   is swept (holding records move to the spill map) down to `live + SLACK / 2` (amortised O(1)
//!   per insert). When no timer is live, everything is emptied (`reset`).
//! - W3: the spill map is swept of records that do not hold once it has more than
//!   `2 × live + SLACK` (amortised O(1) per spilled insert, as a sweep drops at least half).
//! - When the counter runs outside the window for longer than the window (wrap-around, a jump),
//!   the window is flushed to the spill map and restarts at the counter.
//! - W4: keys without a live timer are at most half the heap (or `SLACK`): past that, one pass
//!   frees them all.
//! - W5: the entry table is at most `2 × heap + SLACK` entries (renumbering).
//! - Freed bucket slots are reused; their chunks go to the arena's free lists, and compaction
//!   moves a bucket using under a quarter of its chunk to a smaller one.
//! - W6: before an insert takes a chunk, free small chunks are at most half of (ids in small
//!   chunks in use + heap) + `SLACK` (afterwards, plus the chunk a move freed and the rest of a
//!   page a new page left, each under `MAX_BUCKET_LEN`): past that, the insert compacts first
//!   (`compact_arena`, O(heap + ids in use), amortised against the frees). Chunks freed while
//!   timers fire or are cancelled wait for the next insert (compacting then would mostly move
//!   chunks about to go). Big chunks are freed to the allocator at once.
//!
//! # Invariants
//! - Q1: within a bucket, timers are in insertion order, which is seq order (I3); keys of one
//!   deadline are in creation order, and a bucket only takes timers while its key is the newest
//!   of its deadline (the cache names only the newest key).
//! - Q2: every key in the heap has its entry in the table; every bucket in use has one key.
//! - Q3: the key at the top of the heap has a live timer, so `peek_deadline` is the earliest
//!   *live* deadline in O(1). Cancelling may leave keys without live timers below the top; they
//!   are dropped when they surface (`settle`) or all at once (`prune`, W4).
//! - Q4: `live` is the number of live timers in the heap part, and `live_keys` the number of
//!   keys in the heap with a live timer.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::arena::IdArena;

/// Counts how often each rare path ran, so a test can check that the property tests reach
/// them all; nothing outside unit tests.
#[cfg(test)]
mod hits {
    use std::cell::RefCell;
    use std::collections::BTreeMap;

    thread_local!(pub static HITS: RefCell<BTreeMap<&'static str, usize>> = RefCell::default());

    pub fn hit(path: &'static str) {
        HITS.with(|h| *h.borrow_mut().entry(path).or_default() += 1);
    }
}

macro_rules! hit {
    ($path:literal) => {
        #[cfg(test)]
        hits::hit($path);
    };
}

/// A cancelled or consumed id (in a bucket or the entry table). Timer ids are never 0.
const TOMBSTONE: u64 = 0;
// The sizes below are tiny in unit tests, so that small property tests reach every sweep,
// compaction, renumbering, full bucket and window restart.
/// Slack of the size bounds below (bucket compaction, window and spill sweeps, renumbering), so
/// small queues never sweep.
const SLACK: usize = if cfg!(test) { 4 } else { 64 };
/// A bucket is compacted once its dead elements exceed `4 × live + COMPACT_SLACK` (W1).
const COMPACT_SLACK: usize = if cfg!(test) { 1 } else { 64 };
/// Compaction moves a bucket to a smaller chunk when it uses under a quarter of its chunk and the
/// chunk is over this size (smaller ones are cheap to keep, and moving them costs more).
const KEEP_CHUNK: usize = if cfg!(test) { 4 } else { 64 };
/// An insert at most this far past the end of the id window extends it (with empty records).
const MAX_GAP: u64 = if cfg!(test) { 2 } else { 64 };
/// `pop_due` considers bulk extraction after popping this many keys (and an eighth of the heap).
const BULK_MIN_POPS: usize = if cfg!(test) { 2 } else { 32 };
/// Bits of an element's position in a bucket record: a bucket holds at most `1 << POS_BITS` ids
/// (then the next timer at that deadline opens a new bucket).
const POS_BITS: u32 = if cfg!(test) { 3 } else { 11 };
const POS_MASK: u32 = (1 << POS_BITS) - 1;
const MAX_BUCKET_LEN: usize = 1 << POS_BITS;
/// Bucket slots fit in the remaining record bits; past that, timers stay singletons.
const SLOT_LIMIT: usize = if cfg!(test) { 6 } else { 1 << (31 - POS_BITS) };
/// Ords fit in 31 bits of a key; `ORD_LIMIT` itself is never an ord (it is the ord of `NO_REC`).
const ORD_LIMIT: usize = (1 << 31) - 1;
/// The deadline cache has `heap.len() / 4` entries (rounded up to a power of two), or
/// `heap.len() / 2` when more than a quarter of the keys are buckets: the cache then pays for
/// itself (every hit is a timer without a key of its own), while with mostly distinct deadlines
/// it cannot hit and only costs memory.
/// Smallest deadline cache (entries).
const MIN_CACHE: usize = if cfg!(test) { 4 } else { 16 };
/// Largest span of compact deadlines a rebase may create (half the 32-bit range), so a rebased
/// queue keeps a quarter of the range of margin on both sides.
const REBASE_SPAN: u64 = REL_MAX / 2;
/// Largest `deadline - origin` of a key (32 bits; 8 in unit tests, so they reach rebases and far
/// deadlines with small numbers).
const REL_MAX: u64 = if cfg!(test) { 255 } else { u32::MAX as u64 };

/// An id record: where an id was put (u32, so a pending timer's record costs 4 bytes).
/// - `SINGLE | ord`: a singleton key, whose id is `entries[ord]`;
/// - `slot << POS_BITS | pos`: position `pos` of the chunk of `buckets[slot]`.
type Rec = u32;
const SINGLE: Rec = 1 << 31;
/// An empty window record: a singleton record of ord `ORD_LIMIT`, which never exists.
const NO_REC: Rec = u32::MAX;
/// `entries[ord]` of a bucket key whose bucket was released.
const DEAD_BUCKET: u64 = u64::MAX;
/// An empty cache entry (its ord is `ORD_LIMIT`, which never exists).
const NO_KEY: u64 = u64::MAX;

/// Grows `v` so it can take `extra` more elements, by a quarter of its capacity at least rather
/// than doubling: `heap_bytes` counts capacity, and a doubled buffer right after growing is half
/// empty. Amortised O(1) still (at most 4 copies per element overall, and realloc of large
/// buffers is often a remap).
#[inline]
fn reserve<T>(v: &mut Vec<T>, extra: usize) {
    if v.capacity() - v.len() < extra {
        grow(v, extra);
    }
}

#[cold]
fn grow<T>(v: &mut Vec<T>, extra: usize) {
    v.reserve_exact(extra.max(v.capacity() / 4).max(8));
}

/// Sort key of a heap entry: `rel << 32 | ord << 1`, where `rel = deadline - origin` and `ord`
/// is the entry's creation order. Comparing keys as integers compares (deadline, ord). Bit 0 is
/// 0 in the heap; the cache sets it on entries that name a bucket by slot.
type Key = u64;

#[inline]
fn key(rel: u32, ord: usize) -> Key {
    debug_assert!(ord < ORD_LIMIT);
    (rel as u64) << 32 | (ord as u64) << 1
}

#[inline]
fn key_rel(k: Key) -> u32 {
    (k >> 32) as u32
}

#[inline]
fn key_ord(k: Key) -> usize {
    (k as u32 >> 1) as usize
}

/// True for a cache entry that names a bucket by slot.
#[inline]
fn key_is_bucket(k: Key) -> bool {
    k & 1 != 0
}

/// The deadline cache's entry for `rel` (a Fibonacci hash: consecutive deadlines spread evenly).
#[inline]
fn cache_index(len: usize, rel: u32) -> usize {
    ((rel as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - len.trailing_zeros())) as usize
}

/// What the cache holds for heap key `k` of a bucket: the key with the bucket's slot in place of
/// the ord and the low bit set, so an insert reaches the bucket without reading the entry table
/// (a released bucket's entry is removed from the cache, so a slot there is always live). For a
/// singleton, the cache holds the heap key itself (low bit clear).
#[inline]
fn cached_bucket(k: Key, slot: u64) -> Key {
    (k & !0xFFFF_FFFF) | slot << 1 | 1
}

/// Two or more timers due at one deadline (the second and later timers of a deadline). Its ids
/// live in a chunk of `Store::arena`: 12 bytes of header and no allocation of its own, where a
/// vector would cost a 24-byte header and a malloc'd buffer.
#[derive(Debug, Clone, Copy, Default)]
struct Bucket {
    /// Where the chunk starts in the arena. It holds the ids in insertion (= seq) order,
    /// `TOMBSTONE` where cancelled; `[..head]` is consumed.
    off: u32,
    /// Ids in the chunk.
    len: u16,
    /// Size of the chunk: a power of two from 2 to `MAX_BUCKET_LEN`, or 0 without a chunk.
    cap: u16,
    head: u16,
    /// Ids in `[head..len]` that are not tombstones.
    live: u16,
}

impl Bucket {
    /// Elements that are consumed or tombstones.
    #[inline]
    fn dead(&self) -> usize {
        (self.len - self.live) as usize
    }
}

/// What keys point at: the entry table (by ord), the buckets and their ids.
#[derive(Debug, Clone, Default)]
struct Store {
    /// By ord: a singleton's id (`TOMBSTONE` once cancelled or fired), or a bucket key's slot
    /// (`DEAD_BUCKET` once released).
    entries: Vec<u64>,
    /// Bit `ord` is set when `entries[ord]` belongs to a bucket key.
    bucket_bits: Vec<u64>,
    buckets: Vec<Bucket>,
    /// The buckets' ids.
    arena: IdArena,
}

impl Store {
    #[inline]
    fn is_bucket(&self, ord: usize) -> bool {
        self.bucket_bits[ord / 64] >> (ord % 64) & 1 != 0
    }

    /// Appends the entry of a new key; returns its ord.
    #[inline]
    fn push_entry(&mut self, value: u64, bucket: bool) -> usize {
        let ord = self.entries.len();
        assert!(ord < ORD_LIMIT, "more than 2^31 pending deadlines");
        reserve(&mut self.entries, 1);
        self.entries.push(value);
        if ord % 64 == 0 {
            reserve(&mut self.bucket_bits, 1);
            self.bucket_bits.push(0);
        }
        self.bucket_bits[ord / 64] |= (bucket as u64) << (ord % 64);
        ord
    }

    /// True when `id` is live where `rec` points (B1): an unconsumed bucket element or a
    /// singleton entry holding `id`.
    #[inline]
    fn holds(&self, rec: Rec, id: u64) -> bool {
        if rec & SINGLE != 0 {
            let ord = (rec & !SINGLE) as usize;
            self.entries.get(ord) == Some(&id) && !self.is_bucket(ord)
        } else {
            let pos = (rec & POS_MASK) as u16;
            self.buckets.get((rec >> POS_BITS) as usize).is_some_and(|b| {
                pos >= b.head && pos < b.len && self.arena.get(b.off, b.len as usize)[pos as usize] == id
            })
        }
    }

    /// Live timers of key `k`.
    #[inline]
    fn live_of(&self, k: Key) -> usize {
        let v = self.entries[key_ord(k)];
        if self.is_bucket(key_ord(k)) {
            self.buckets[v as usize].live as usize
        } else {
            (v != TOMBSTONE) as usize
        }
    }

    /// The ids of bucket `slot` from its head on (tombstones included).
    #[inline]
    fn pending(&self, slot: usize) -> &[u64] {
        let b = &self.buckets[slot];
        &self.arena.get(b.off, b.len as usize)[b.head as usize..]
    }

    /// Puts the chunk of bucket `slot` on its free list and empties the bucket.
    #[inline]
    fn free_chunk(&mut self, slot: usize) {
        let b = std::mem::take(&mut self.buckets[slot]);
        if b.cap != 0 {
            self.arena.free(b.off, b.cap);
        }
    }

    /// Moves bucket `slot` to a chunk of `cap` ids (room for its `len`), or gives it one when it
    /// has none. False, changing nothing, when the arena is full.
    fn move_chunk(&mut self, slot: usize, cap: u16) -> bool {
        let b = self.buckets[slot];
        debug_assert!(b.len <= cap);
        let off = match b.cap {
            0 => self.arena.alloc(cap),
            _ => self.arena.resize(b.off, b.cap, b.len as usize, cap),
        };
        let Some(off) = off else {
            hit!("arena_full");
            return false;
        };
        self.buckets[slot] = Bucket { off, cap, ..b };
        true
    }

    fn heap_bytes(&self) -> usize {
        self.entries.capacity() * 8
            + self.bucket_bits.capacity() * 8
            + self.buckets.capacity() * std::mem::size_of::<Bucket>()
            + self.arena.heap_bytes()
    }
}

/// A 4-ary min-heap of keys (half the depth of a binary heap; a node's four children share a
/// cache line).
#[derive(Debug, Clone, Default)]
struct Heap {
    v: Vec<Key>,
}

impl Heap {
    #[inline]
    fn len(&self) -> usize {
        self.v.len()
    }

    #[inline]
    fn is_empty(&self) -> bool {
        self.v.is_empty()
    }

    #[inline]
    fn peek(&self) -> Option<Key> {
        self.v.first().copied()
    }

    #[inline]
    fn push(&mut self, k: Key) {
        reserve(&mut self.v, 1);
        let mut i = self.v.len();
        self.v.push(k);
        while i > 0 {
            let p = (i - 1) / 4;
            if self.v[p] <= k {
                break;
            }
            self.v[i] = self.v[p];
            i = p;
        }
        self.v[i] = k;
    }

    #[inline]
    fn pop(&mut self) -> Option<Key> {
        let last = self.v.pop()?;
        if self.v.is_empty() {
            return Some(last);
        }
        let top = self.v[0];
        self.sift_down(0, last);
        Some(top)
    }

    /// Puts `k` at hole `i` and moves it down to its place.
    #[inline]
    fn sift_down(&mut self, mut i: usize, k: Key) {
        let n = self.v.len();
        loop {
            let c = 4 * i + 1;
            if c >= n {
                break;
            }
            let mut m = c;
            for j in c + 1..(c + 4).min(n) {
                if self.v[j] < self.v[m] {
                    m = j;
                }
            }
            if self.v[m] >= k {
                break;
            }
            self.v[i] = self.v[m];
            i = m;
        }
        self.v[i] = k;
    }

    fn heapify(&mut self) {
        for i in (0..self.v.len().div_ceil(4)).rev() {
            let k = self.v[i];
            self.sift_down(i, k);
        }
    }
}

/// Deadlines that do not fit the 32 bits of a key (further than `u32::MAX` ms from `origin`):
/// rare (JS delays are below 2^31 ms), so a plain ordered map. Their deadlines are never inside
/// the compact range (F1), so the two parts never tie.
#[derive(Debug, Clone, Default)]
struct Far {
    map: BTreeMap<(u64, u64), u64>,
    ids: FxHashMap<u64, (u64, u64)>,
    /// Insertion counter: orders equal deadlines.
    seq: u64,
}

impl Far {
    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn insert(&mut self, id: u64, deadline: u64) {
        let k = (deadline, self.seq);
        self.seq += 1;
        self.map.insert(k, id);
        self.ids.insert(id, k);
    }

    fn cancel(&mut self, id: u64) -> bool {
        match self.ids.remove(&id) {
            Some(k) => {
                self.map.remove(&k);
                true
            }
            None => false,
        }
    }

    fn first(&self) -> Option<u64> {
        self.map.keys().next().map(|k| k.0)
    }

    fn count_at(&self, deadline: u64) -> usize {
        self.map.range((deadline, 0)..=(deadline, u64::MAX)).count()
    }

    /// Removes up to `max` timers due at `deadline`, in order, calling `fire` for each.
    fn pop_at(&mut self, deadline: u64, max: usize, mut fire: impl FnMut(u64)) -> usize {
        let mut n = 0;
        while n < max {
            match self.map.first_key_value() {
                Some((&k, &id)) if k.0 == deadline => {
                    self.map.remove(&k);
                    self.ids.remove(&id);
                    fire(id);
                    n += 1;
                }
                _ => break,
            }
        }
        n
    }

    fn heap_bytes(&self) -> usize {
        // A B-tree node holds up to 11 entries and is at least half full (except the root):
        // count 2 × the entries' size per entry, plus one node.
        let entry = std::mem::size_of::<((u64, u64), u64)>();
        let map = if self.map.is_empty() { 0 } else { (self.map.len() * 2 + 11) * entry };
        map + self.ids.capacity() * (std::mem::size_of::<(u64, (u64, u64))>() + 1)
    }
}

/// Id → [`Rec`] records: a window indexed by `id - base` for the ids the counter handed out
/// recently, and a spill map for every other id. Records are never cleared when a timer fires or
/// is cancelled; a record counts only if it [holds](Store::holds) its id (B1–B3).
#[derive(Debug, Clone, Default)]
struct IdMap {
    /// The id of `window[0]`. The window covers `base .. base + len` (wrapping).
    base: u64,
    window: Vec<Rec>,
    spill: FxHashMap<u64, Rec>,
    /// The id after the last spilled insert, and how many spilled inserts in a row were
    /// consecutive ids (the counter running outside the window).
    run_next: u64,
    run_len: usize,
    /// Inserts recorded in the spill map so far (test diagnostics).
    #[cfg(test)]
    spilled: usize,
}

impl IdMap {
    /// The record of `id` if it is live, and whether it is in the spill map.
    #[inline]
    fn find(&self, id: u64, store: &Store) -> Option<(Rec, bool)> {
        let off = id.wrapping_sub(self.base);
        if off < self.window.len() as u64 {
            let rec = self.window[off as usize];
            if store.holds(rec, id) {
                return Some((rec, false));
            }
        }
        if self.spill.is_empty() {
            return None;
        }
        self.find_spilled(id, store)
    }

    #[cold]
    fn find_spilled(&self, id: u64, store: &Store) -> Option<(Rec, bool)> {
        let &rec = self.spill.get(&id)?;
        store.holds(rec, id).then_some((rec, true))
    }

    /// Records `rec` for `id` (just inserted; `live` timers now).
    #[inline(always)]
    fn set(&mut self, id: u64, rec: Rec, live: usize, store: &Store) {
        let len = self.window.len();
        // The counter's next id, with room and no sweep due: the common case, kept small so it
        // inlines into the insert path.
        if id.wrapping_sub(self.base) == len as u64
            && len != 0
            && len < self.window.capacity()
            && len < 2 * live + SLACK
        {
            self.window.push(rec);
        } else {
            self.set_slow(id, rec, live, store);
        }
    }

    #[inline(never)]
    fn set_slow(&mut self, id: u64, rec: Rec, live: usize, store: &Store) {
        let len = self.window.len() as u64;
        let off = id.wrapping_sub(self.base);
        if off < len {
            self.window[off as usize] = rec;
        } else if off - len <= MAX_GAP || len == 0 {
            if len == 0 {
                self.base = id;
                reserve(&mut self.window, 1);
            } else {
                reserve(&mut self.window, (off - len) as usize + 1);
                self.window.resize(off as usize, NO_REC);
            }
            self.window.push(rec);
            if self.window.len() > 2 * live + SLACK {
                self.sweep(live, store);
            }
        } else {
            self.spill_insert(id, rec, live, store);
        }
    }

    #[cold]
    fn spill_insert(&mut self, id: u64, rec: Rec, live: usize, store: &Store) {
        self.spill.insert(id, rec);
        #[cfg(test)]
        {
            self.spilled += 1;
        }
        self.run_len = if id == self.run_next { self.run_len + 1 } else { 1 };
        self.run_next = id.wrapping_add(1);
        if self.run_len > self.window.len() + SLACK / 2 {
            // The counter runs outside the window (it wrapped, or jumped): move the window's live
            // records to the spill map; the next insert starts a new window.
            hit!("window_flush");
            self.drop_front(self.window.len(), store);
            self.run_len = 0;
        }
        self.sweep_spill(live, store);
    }

    /// Drops the window's first `k` records, moving those that still hold their id to the spill map.
    fn drop_front(&mut self, k: usize, store: &Store) {
        for (i, &rec) in self.window[..k].iter().enumerate() {
            let id = self.base.wrapping_add(i as u64);
            if store.holds(rec, id) {
                self.spill.insert(id, rec);
            }
        }
        self.window.drain(..k);
        self.base = self.base.wrapping_add(k as u64);
    }

    /// Shortens the window to `live + SLACK / 2` records (W2).
    #[cold]
    fn sweep(&mut self, live: usize, store: &Store) {
        hit!("window_sweep");
        let k = self.window.len().saturating_sub(live + SLACK / 2);
        self.drop_front(k, store);
        if self.window.capacity() > 4 * self.window.len() + 4 * SLACK {
            self.window.shrink_to(2 * self.window.len() + SLACK);
        }
        self.sweep_spill(live, store);
    }

    /// Drops stale spill records once they could outnumber the live ones (W3).
    fn sweep_spill(&mut self, live: usize, store: &Store) {
        if self.spill.len() > 2 * live + SLACK {
            hit!("spill_sweep");
            self.spill.retain(|&id, rec| store.holds(*rec, id));
            if self.spill.capacity() > 4 * self.spill.len() + 4 * SLACK {
                self.spill.shrink_to(2 * self.spill.len() + SLACK);
            }
        }
    }

    /// `id`, live at `from`, moved to `to` (bucket compaction, renumbering): updates whichever
    /// record holds it.
    fn relocate(&mut self, id: u64, from: Rec, to: Rec) {
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
        self.window.capacity() * std::mem::size_of::<Rec>()
            + self.spill.capacity() * (std::mem::size_of::<(u64, Rec)>() + 1)
    }
}

/// Pending timers keyed by `u64` id, ordered by (deadline, insertion order).
#[derive(Debug, Clone)]
pub struct TimerQueue {
    store: Store,
    /// Free bucket slots (emptied).
    free: Vec<u32>,
    heap: Heap,
    /// Lossy deadline → newest key: `cache[hash(rel)]` is the newest key of its deadline or of a
    /// deadline hashing alike (then a miss), or `NO_KEY`. Length a power of two.
    cache: Vec<Key>,
    /// Deadline of `rel == 0` for every key in the heap.
    origin: u64,
    ids: IdMap,
    /// Live timers in the heap's keys.
    live: usize,
    /// Keys with a live timer; the other `heap.len() - live_keys` wait to surface (Q3).
    live_keys: usize,
    /// Inserts since the last rebase (a rebase costs O(heap), so it waits this long).
    since_rebase: usize,
    far: Far,
}

impl Default for TimerQueue {
    fn default() -> Self {
        Self {
            store: Store::default(),
            free: Vec::new(),
            heap: Heap::default(),
            cache: vec![NO_KEY; MIN_CACHE],
            origin: 0,
            ids: IdMap::default(),
            live: 0,
            live_keys: 0,
            since_rebase: 0,
            far: Far::default(),
        }
    }
}

impl TimerQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of live (pending, not cancelled) timers.
    pub fn len(&self) -> usize {
        self.live + self.far.ids.len()
    }

    /// True when no live timer is pending.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when `id` is pending and not cancelled.
    #[inline]
    pub fn contains(&self, id: u64) -> bool {
        self.ids.find(id, &self.store).is_some() || (!self.far.is_empty() && self.far.ids.contains_key(&id))
    }

    #[inline]
    fn deadline_of(&self, k: Key) -> u64 {
        self.origin + key_rel(k) as u64
    }

    /// Earliest deadline of a live timer, in O(1) (Q3; O(log far) when far deadlines exist).
    #[inline]
    pub fn peek_deadline(&self) -> Option<u64> {
        let near = self.heap.peek().map(|k| self.deadline_of(k));
        if self.far.is_empty() {
            return near;
        }
        match (near, self.far.first()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Number of live timers due at the earliest deadline (0 when empty). O(keys of that
    /// deadline), which is O(1) but for buckets that filled up or cache misses.
    pub fn peek_len(&self) -> usize {
        let Some(d) = self.peek_deadline() else { return 0 };
        if self.far.first() == Some(d) {
            return self.far.count_at(d);
        }
        // Keys of the top's deadline form a subtree at the root (a parent is never later).
        let rel = key_rel(self.heap.v[0]);
        let mut n = 0;
        let mut stack = vec![0usize];
        while let Some(i) = stack.pop() {
            let k = self.heap.v[i];
            if key_rel(k) == rel {
                n += self.store.live_of(k);
                stack.extend((4 * i + 1..4 * i + 5).filter(|&c| c < self.heap.len()));
            }
        }
        n
    }

    /// Bytes of heap memory the queue holds (every buffer's capacity).
    pub fn heap_bytes(&self) -> usize {
        self.store.heap_bytes()
            + self.free.capacity() * std::mem::size_of::<u32>()
            + self.heap.v.capacity() * std::mem::size_of::<Key>()
            + self.cache.capacity() * std::mem::size_of::<Key>()
            + self.ids.heap_bytes()
            + self.far.heap_bytes()
    }

    /// Adds timer `id` due at `deadline`. The caller guarantees `id != 0` and that `id` is not
    /// live; insertion order breaks ties between equal deadlines (Q1).
    #[inline(always)]
    pub fn insert(&mut self, id: u64, deadline: u64) {
        debug_assert!(id != TOMBSTONE && !self.contains(id));
        // The common case inline: a deadline inside the heap's range (no origin to move).
        // Everything else goes through `insert_slow`.
        if !self.heap.is_empty() {
            if let Some(rel) = deadline.checked_sub(self.origin).filter(|&r| r <= REL_MAX) {
                return self.insert_near(id, rel as u32);
            }
        }
        self.insert_slow(id, deadline);
    }

    #[inline(never)]
    fn insert_slow(&mut self, id: u64, deadline: u64) {
        match self.rel_of(deadline) {
            Some(rel) => self.insert_near(id, rel),
            None => {
                hit!("far_insert");
                self.far.insert(id, deadline);
            }
        }
    }

    /// `deadline - origin` if it fits a key, moving the origin when it can (an empty heap, or a
    /// rebase); `None` for a far deadline.
    #[inline]
    fn rel_of(&mut self, deadline: u64) -> Option<u32> {
        if self.heap.is_empty() {
            // Nothing pending here: centre the range on this deadline.
            self.set_origin(deadline.saturating_sub(REL_MAX / 2 + 1));
        }
        match deadline.checked_sub(self.origin) {
            Some(rel) if rel <= REL_MAX => Some(rel as u32),
            _ => self.rebase(deadline).then(|| (deadline - self.origin) as u32),
        }
    }

    /// Moves the origin to `origin` (clamped so the range stays within u64), shifting every key,
    /// then takes in far timers that now fit (they were inserted earlier than anything to come).
    fn set_origin(&mut self, origin: u64) {
        let origin = origin.min(u64::MAX - REL_MAX);
        if origin == self.origin {
            return;
        }
        if !self.heap.is_empty() {
            for k in &mut self.heap.v {
                let d = self.origin + key_rel(*k) as u64;
                *k = (d - origin) << 32 | (*k & 0xFFFF_FFFF);
            }
            self.origin = origin;
            self.rebuild_cache(self.cache.len());
        }
        self.origin = origin;
        if !self.far.is_empty() {
            self.take_far();
        }
    }

    /// Moves far timers that fit the current range into the heap, in order.
    #[cold]
    fn take_far(&mut self) {
        hit!("take_far");
        let hi = self.origin + REL_MAX;
        let fit: Vec<((u64, u64), u64)> =
            self.far.map.range((self.origin, 0)..=(hi, u64::MAX)).map(|(&k, &id)| (k, id)).collect();
        for ((d, s), id) in fit {
            self.far.map.remove(&(d, s));
            self.far.ids.remove(&id);
            self.insert_near(id, (d - self.origin) as u32);
        }
    }

    /// Re-centres the range on the heap's deadlines and `deadline`, if they span at most
    /// `REBASE_SPAN` and at least `heap.len()` inserts happened since the last rebase (so its
    /// O(heap) cost is amortised). True when `deadline` fits afterwards.
    #[cold]
    fn rebase(&mut self, deadline: u64) -> bool {
        if self.since_rebase < self.heap.len() {
            hit!("rebase_waits");
            return false;
        }
        let (mut lo, mut hi) = (deadline, deadline);
        for &k in &self.heap.v {
            let d = self.deadline_of(k);
            lo = lo.min(d);
            hi = hi.max(d);
        }
        if hi - lo > REBASE_SPAN {
            hit!("rebase_too_wide");
            return false;
        }
        hit!("rebase");
        self.since_rebase = 0;
        self.set_origin(lo.saturating_sub((REL_MAX - (hi - lo)) / 2));
        true
    }

    #[inline]
    fn cache_index(&self, rel: u32) -> usize {
        cache_index(self.cache.len(), rel)
    }

    /// Inserts into the heap part: into the bucket the cache names for this deadline (inline,
    /// the common case), else through `insert_key`.
    #[inline(always)]
    fn insert_near(&mut self, id: u64, rel: u32) {
        self.since_rebase += 1;
        let c = self.cache[self.cache_index(rel)];
        if c != NO_KEY && key_rel(c) == rel && key_is_bucket(c) && self.append(key_ord(c), id) {
            return;
        }
        self.insert_key(id, rel, c);
    }

    /// Appends `id` to bucket `slot` when its chunk has room.
    #[inline(always)]
    fn append(&mut self, slot: usize, id: u64) -> bool {
        let Store { buckets, arena, .. } = &mut self.store;
        let b = &mut buckets[slot];
        if b.len >= b.cap {
            return false;
        }
        arena.push(b.off, b.len as usize, id);
        let pos = b.len as u32;
        b.len += 1;
        if b.live == 0 {
            self.live_keys += 1;
        }
        b.live += 1;
        self.live += 1;
        self.ids.set(id, (slot as u32) << POS_BITS | pos, self.live, &self.store);
        true
    }

    /// `insert_near` when the cache (entry `c`) names no bucket with room: a bigger chunk for
    /// the bucket it names, a new bucket (when it names a singleton: this is the deadline's
    /// second timer), a new bucket key (the bucket is full), or a new singleton (a miss).
    #[inline(never)]
    fn insert_key(&mut self, id: u64, rel: u32, c: Key) {
        let mut bucket = false;
        if c != NO_KEY && key_rel(c) == rel {
            bucket = true;
            if key_is_bucket(c) {
                let slot = key_ord(c);
                // (A bucket emptied by cancellation has no chunk: it gets one of 2.)
                let cap = self.store.buckets[slot].cap;
                if (cap as usize) < MAX_BUCKET_LEN {
                    self.alloc_room();
                    if self.store.move_chunk(slot, 2 * cap.max(1)) {
                        let appended = self.append(slot, id);
                        debug_assert!(appended);
                        return;
                    }
                }
                hit!("bucket_full");
            } else if self.store.entries[key_ord(c)] != TOMBSTONE {
                // The deadline's second timer: the singleton becomes a bucket in place (its key
                // keeps its place in the heap). A tombstone means the key may have left the heap.
                if let Some(slot) = self.take_slot() {
                    self.make_bucket(c, slot, id);
                    return;
                }
                bucket = false;
            }
        }
        self.new_key(id, rel, bucket);
    }

    /// Turns singleton key `k` (live, in the heap) into bucket `slot` holding its id, then `id`.
    fn make_bucket(&mut self, k: Key, slot: u32, id: u64) {
        hit!("make_bucket");
        let ord = key_ord(k);
        let first = std::mem::replace(&mut self.store.entries[ord], slot as u64);
        self.store.bucket_bits[ord / 64] |= 1 << (ord % 64);
        let Store { buckets, arena, .. } = &mut self.store;
        let b = &mut buckets[slot as usize];
        arena.push(b.off, 0, first);
        arena.push(b.off, 1, id);
        b.len = 2;
        b.live = 2;
        self.live += 1;
        self.ids.relocate(first, SINGLE | ord as u32, slot << POS_BITS);
        let i = self.cache_index(key_rel(k));
        self.cache[i] = cached_bucket(k, slot as u64);
        self.ids.set(id, slot << POS_BITS | 1, self.live, &self.store);
    }

    /// Adds a key for `id` at `rel`: a new bucket holding it, or a singleton.
    fn new_key(&mut self, id: u64, rel: u32, bucket: bool) {
        let slot = if bucket { self.take_slot() } else { None };
        // Before taking an ord: renumbering and a cache resize rewrite or forget keys.
        if self.store.entries.len() > 2 * self.heap.len() + SLACK || self.store.entries.len() >= ORD_LIMIT - 1
        {
            self.renumber();
        }
        let buckets = self.store.buckets.len() - self.free.len();
        let div = if 4 * buckets > self.heap.len() { 2 } else { 4 };
        let want = ((self.heap.len() + 1).next_power_of_two() / div).max(MIN_CACHE);
        if self.cache.len() < want || self.cache.len() > 4 * want {
            self.rebuild_cache(want);
        }
        let rec = match slot {
            Some(slot) => {
                let ord = self.store.push_entry(slot as u64, true);
                let Store { buckets, arena, .. } = &mut self.store;
                let b = &mut buckets[slot as usize];
                arena.push(b.off, 0, id);
                b.len = 1;
                b.live = 1;
                let k = key(rel, ord);
                self.finish_key(k, cached_bucket(k, slot as u64));
                slot << POS_BITS
            }
            None => {
                let ord = self.store.push_entry(id, false);
                let k = key(rel, ord);
                self.finish_key(k, k);
                SINGLE | ord as u32
            }
        };
        self.ids.set(id, rec, self.live, &self.store);
    }

    #[inline]
    fn finish_key(&mut self, k: Key, cached: Key) {
        self.heap.push(k);
        let i = self.cache_index(key_rel(k));
        self.cache[i] = cached;
        self.live += 1;
        self.live_keys += 1;
    }

    /// A free bucket slot with an empty chunk of 2 ids, if one is left (`SLOT_LIMIT`, and the
    /// arena's page limit).
    fn take_slot(&mut self) -> Option<u32> {
        let s = match self.free.last() {
            Some(&s) => s as usize,
            None if self.store.buckets.len() >= SLOT_LIMIT => {
                hit!("no_bucket_slot");
                return None;
            }
            None => {
                reserve(&mut self.store.buckets, 1);
                self.store.buckets.push(Bucket::default());
                reserve(&mut self.free, 1);
                self.free.push(self.store.buckets.len() as u32 - 1);
                self.store.buckets.len() - 1
            }
        };
        self.alloc_room();
        if !self.store.move_chunk(s, 2) {
            return None;
        }
        self.free.pop();
        Some(s as u32)
    }

    /// Before an insert takes a chunk: repacks the arena when its free chunks are more than half
    /// of (ids in chunks in use + heap) + `SLACK` (W6).
    #[inline]
    fn alloc_room(&mut self) {
        let free = self.store.arena.free_words();
        if free > (self.store.arena.len() - free + self.heap.len()) / 2 + SLACK {
            self.compact_arena();
        }
    }

    /// Compacts the arena's small chunks (its A3). Every chunk in use belongs to a bucket key in
    /// the heap (Q2; an emptied bucket has none). O(heap log heap + ids in use), done when the
    /// free chunks pass half of (ids in use + heap) and leaving almost none (W6), so amortised
    /// O(log heap) per freed id.
    #[cold]
    fn compact_arena(&mut self) {
        hit!("arena_compact");
        let slots: Vec<usize> =
            self.heap_buckets().filter(|&slot| self.store.buckets[slot].cap != 0).collect();
        let store = &mut self.store;
        let mut chunks: Vec<(u32, u16, u16)> = slots
            .iter()
            .map(|&s| (store.buckets[s].off, store.buckets[s].cap, store.buckets[s].len))
            .collect();
        store.arena.compact(&mut chunks);
        for (&slot, c) in slots.iter().zip(chunks) {
            store.buckets[slot].off = c.0;
        }
    }

    /// The slots of the buckets whose keys are in the heap.
    fn heap_buckets(&self) -> impl Iterator<Item = usize> + '_ {
        (self.heap.v.iter())
            .filter(|&&k| self.store.is_bucket(key_ord(k)))
            .map(|&k| self.store.entries[key_ord(k)] as usize)
    }

    /// Gives the keys in the heap the ords `0..heap.len()` in their old order (so the heap stays
    /// a heap), compacting the entry table and moving the records of live singletons. O(entries),
    /// done when at least half the table is released entries, so amortised O(1) per key.
    #[cold]
    fn renumber(&mut self) {
        hit!("renumber");
        let n = self.store.entries.len();
        let mut alive = vec![0u64; n.div_ceil(64)];
        for &k in &self.heap.v {
            alive[key_ord(k) / 64] |= 1 << (key_ord(k) % 64);
        }
        let mut rank = Vec::with_capacity(alive.len());
        let mut acc = 0usize;
        for w in &alive {
            rank.push(acc);
            acc += w.count_ones() as usize;
        }
        let new_ord =
            |o: usize| rank[o / 64] + (alive[o / 64] & ((1u64 << (o % 64)) - 1)).count_ones() as usize;
        for k in &mut self.heap.v {
            *k = (*k & !0xFFFF_FFFE) | (new_ord(key_ord(*k)) as u64) << 1;
        }
        let Self { store, ids, .. } = self;
        let mut bits = vec![0u64; acc.div_ceil(64)];
        let mut w = 0;
        for o in 0..n {
            if alive[o / 64] >> (o % 64) & 1 == 0 {
                continue;
            }
            let v = store.entries[o];
            if store.is_bucket(o) {
                bits[w / 64] |= 1 << (w % 64);
            } else if v != TOMBSTONE {
                ids.relocate(v, SINGLE | o as u32, SINGLE | w as u32);
            }
            store.entries[w] = v;
            w += 1;
        }
        store.entries.truncate(w);
        store.bucket_bits = bits;
        if store.entries.capacity() > 2 * w + SLACK {
            store.entries.shrink_to(w + w / 4 + SLACK);
        }
        self.rebuild_cache(self.cache.len());
    }

    /// Refills the cache (`len` entries) from the heap with the largest key that maps to each
    /// entry. That key is the largest of its own deadline (all of whose keys map there), which is
    /// the newest key of that deadline in the heap (keys of a deadline pop oldest first; `prune`
    /// may drop a newer key, but only one without live timers, so appending after the older key
    /// keeps the order). Keeping the largest per *entry* matters: keeping the last one seen per
    /// deadline could let an older key of a deadline overwrite another deadline that had
    /// overwritten its newest. O(heap), done when the heap has doubled or halved since the last
    /// resize, or after an O(heap) renumber or rebase.
    #[cold]
    fn rebuild_cache(&mut self, len: usize) {
        hit!("rebuild_cache");
        if self.cache.len() == len {
            self.cache.fill(NO_KEY);
        } else {
            self.cache = vec![NO_KEY; len];
        }
        for i in 0..self.heap.len() {
            let k = self.heap.v[i];
            let c = self.cache_index(key_rel(k));
            let old = self.cache[c];
            if old == NO_KEY || old < k {
                self.cache[c] = k;
            }
        }
        for c in &mut self.cache {
            if *c != NO_KEY && self.store.is_bucket(key_ord(*c)) {
                *c = cached_bucket(*c, self.store.entries[key_ord(*c)]);
            }
        }
    }

    /// Cancels timer `id`. True only when it was live.
    #[inline(always)]
    pub fn cancel(&mut self, id: u64) -> bool {
        // The common case inline: a window record of a bucket element that holds `id` (B2),
        // in a bucket that keeps live timers and needs no compaction (W1) afterwards.
        let off = id.wrapping_sub(self.ids.base);
        if let Some(&rec) = self.ids.window.get(usize::try_from(off).unwrap_or(usize::MAX)) {
            if rec & SINGLE == 0 {
                let pos = (rec & POS_MASK) as u16;
                let Store { buckets, arena, .. } = &mut self.store;
                if let Some(b) = buckets.get_mut((rec >> POS_BITS) as usize) {
                    let live = b.live as usize;
                    if live > 1
                        && pos >= b.head
                        && pos < b.len
                        && b.len as usize - (live - 1) <= 4 * (live - 1) + COMPACT_SLACK
                    {
                        let e = arena.at(b.off, pos as usize);
                        if *e == id {
                            *e = TOMBSTONE;
                            b.live -= 1;
                            self.live -= 1;
                            return true;
                        }
                    }
                }
            }
        }
        self.cancel_slow(id)
    }

    #[inline(never)]
    fn cancel_slow(&mut self, id: u64) -> bool {
        let Some((rec, spilled)) = self.ids.find(id, &self.store) else {
            return !self.far.is_empty() && self.far.cancel(id);
        };
        if spilled {
            self.ids.spill.remove(&id);
        }
        self.live -= 1;
        let top = self.heap.peek().expect("a live timer has a key");
        if rec & SINGLE != 0 {
            let ord = (rec & !SINGLE) as usize;
            self.store.entries[ord] = TOMBSTONE;
            self.key_emptied(key_ord(top) == ord);
        } else {
            let slot = (rec >> POS_BITS) as usize;
            let b = &mut self.store.buckets[slot];
            b.live -= 1;
            let (live, dead) = (b.live, b.dead());
            *self.store.arena.at(b.off, (rec & POS_MASK) as usize) = TOMBSTONE;
            if live == 0 {
                // Nothing in it is live: drop its elements now; its key leaves the heap when it
                // surfaces (Q3).
                self.store.free_chunk(slot);
                let t = key_ord(top);
                let on_top = self.store.is_bucket(t) && self.store.entries[t] == slot as u64;
                self.key_emptied(on_top);
            } else if dead > 4 * live as usize + COMPACT_SLACK {
                self.compact(slot as u32);
            }
        }
        if self.live == 0 {
            self.reset();
        }
        true
    }

    /// A key lost its last live timer by cancellation.
    fn key_emptied(&mut self, on_top: bool) {
        self.live_keys -= 1;
        if on_top {
            self.settle();
        } else {
            let dead = self.heap.len() - self.live_keys;
            if dead > SLACK && dead * 2 > self.heap.len() {
                self.prune();
            }
        }
    }

    /// Empties the heap part (no timer is live in it), keeping buffers.
    fn reset(&mut self) {
        debug_assert_eq!(self.live, 0);
        self.heap.v.clear();
        self.store.entries.clear();
        self.store.bucket_bits.clear();
        self.store.buckets.clear();
        self.store.arena.clear();
        self.free.clear();
        self.cache.fill(NO_KEY);
        self.live_keys = 0;
        self.ids.clear();
    }

    /// Restores Q3 by dropping keys without live timers from the top of the heap; when more
    /// than half the heap is such keys, drops them all in one pass instead (`prune`).
    fn settle(&mut self) {
        while let Some(top) = self.heap.peek() {
            if self.store.live_of(top) != 0 {
                break;
            }
            let dead = self.heap.len() - self.live_keys;
            if dead > SLACK && dead * 2 > self.heap.len() {
                self.prune();
                break;
            }
            self.heap.pop();
            self.release(top);
        }
    }

    /// Frees every key without a live timer and heapifies the rest: O(heap), at least half of
    /// it freed, so amortised O(1) per key (W4).
    #[cold]
    fn prune(&mut self) {
        hit!("prune");
        let mut v = std::mem::take(&mut self.heap.v);
        v.retain(|&k| {
            let keep = self.store.live_of(k) != 0;
            if !keep {
                Self::release_in(&mut self.store, &mut self.free, &mut self.cache, k);
            }
            keep
        });
        self.heap.v = v;
        self.heap.heapify();
    }

    /// Releases key `k`, just off the heap (its timers are gone).
    #[inline]
    fn release(&mut self, k: Key) {
        Self::release_in(&mut self.store, &mut self.free, &mut self.cache, k);
    }

    #[inline]
    fn release_in(store: &mut Store, free: &mut Vec<u32>, cache: &mut [Key], k: Key) {
        let ord = key_ord(k);
        if store.is_bucket(ord) {
            let slot = std::mem::replace(&mut store.entries[ord], DEAD_BUCKET);
            store.free_chunk(slot as usize);
            reserve(free, 1);
            free.push(slot as u32);
            // The slot may serve another deadline next: the cache must not name it.
            let c = &mut cache[cache_index(cache.len(), key_rel(k))];
            if *c == cached_bucket(k, slot) {
                *c = NO_KEY;
            }
        } else {
            store.entries[ord] = TOMBSTONE;
        }
    }

    /// Removes tombstones and consumed elements from bucket `slot`, moving the records of the
    /// live ids that shift, and moves it to a smaller chunk when it uses under a quarter of its
    /// own (`KEEP_CHUNK`).
    #[cold]
    fn compact(&mut self, slot: u32) {
        hit!("compact");
        let Self { store, ids, .. } = self;
        let b = &mut store.buckets[slot as usize];
        let chunk = store.arena.get_mut(b.off, b.len as usize);
        let mut w = 0usize;
        for r in b.head as usize..chunk.len() {
            let id = chunk[r];
            if id != TOMBSTONE {
                if r != w {
                    chunk[w] = id;
                    ids.relocate(id, slot << POS_BITS | r as u32, slot << POS_BITS | w as u32);
                }
                w += 1;
            }
        }
        b.len = w as u16;
        b.head = 0;
        store.arena.truncate(b.off, w);
        if b.cap as usize > (4 * w).max(KEEP_CHUNK) {
            hit!("shrink_chunk");
            let cap = (2 * w).next_power_of_two() as u16;
            // Without repacking the arena first: this runs while timers go, and a repack then
            // would mostly copy chunks that are about to be freed. The next insert that needs a
            // chunk repacks if the free ones have piled up (W6). Shrinking fails only when no
            // free chunk fits and the arena is full: then the bucket keeps its chunk.
            self.store.move_chunk(slot as usize, cap);
        }
    }

    /// Removes every live timer with `deadline <= now`, calling `fire(id, deadline)` for each in
    /// (deadline, seq) order. Returns how many fired.
    ///
    /// Keys come off the heap one by one; once that has taken an eighth of the heap, one scan
    /// counts the rest that is due, and if that is at least a quarter of the heap it is taken in
    /// bulk instead (`pop_bulk`): a tick after a long wait (or a fake clock's jump) fires most of
    /// the heap, and sorting it is several times cheaper than popping it.
    #[inline]
    pub fn pop_due(&mut self, now: u64, mut fire: impl FnMut(u64, u64)) -> usize {
        self.pop_due_runs(now, |ids, _, d| {
            for &id in ids {
                if id != TOMBSTONE {
                    fire(id, d);
                }
            }
        })
    }

    /// [`pop_due`](Self::pop_due) a run at a time: `fire(ids, live, deadline)` gets the ids of
    /// consecutive due timers of one deadline, in (deadline, seq) order, where `0` marks a
    /// cancelled timer to skip and `live` is how many are not `0`. A caller that appends timers
    /// somewhere (the scheduler's macrotask queue) copies a run at once instead of paying a
    /// call per timer. Returns how many timers fired.
    #[inline]
    pub fn pop_due_runs(&mut self, now: u64, mut fire: impl FnMut(&[u64], usize, u64)) -> usize {
        if !self.far.is_empty() {
            return self.pop_due_far(now, &mut fire);
        }
        // Most ticks find nothing due.
        match self.heap.peek() {
            Some(top) if self.deadline_of(top) <= now => self.pop_due_near(now, &mut fire),
            _ => 0,
        }
    }

    /// `pop_due` with far timers: the heap's timers before each far deadline, then that deadline.
    #[cold]
    fn pop_due_far(&mut self, now: u64, fire: &mut impl FnMut(&[u64], usize, u64)) -> usize {
        hit!("pop_due_far");
        let mut fired = 0;
        while let Some(d) = self.far.first().filter(|&d| d <= now) {
            if d > 0 {
                fired += self.pop_due_near(d - 1, fire);
            }
            fired += self.far.pop_at(d, usize::MAX, |id| fire(&[id], 1, d));
        }
        fired + self.pop_due_near(now, fire)
    }

    fn pop_due_near(&mut self, now: u64, fire: &mut impl FnMut(&[u64], usize, u64)) -> usize {
        let Some(lim) = now.checked_sub(self.origin) else { return 0 };
        let lim = lim.min(REL_MAX) as u32;
        let mut fired = 0;
        let mut popped = 0usize;
        let mut scanned = false;
        while let Some(top) = self.heap.peek() {
            if key_rel(top) > lim {
                break;
            }
            if !scanned && popped >= BULK_MIN_POPS && popped * 8 >= self.heap.len() {
                scanned = true;
                let due = self.heap.v.iter().filter(|&&k| key_rel(k) <= lim).count();
                if due * 4 >= self.heap.len() {
                    fired += self.pop_bulk(lim, fire);
                    break;
                }
            }
            self.heap.pop();
            popped += 1;
            fired += self.fire_key(top, fire);
        }
        self.live -= fired;
        if self.live == 0 {
            self.reset();
        } else {
            // Keys emptied by cancellation may now be on top.
            self.settle();
        }
        fired
    }

    /// Fires every live timer of key `k` (just off the heap) and releases it. Returns how many
    /// fired; `self.live` is left to the caller.
    #[inline]
    fn fire_key(&mut self, k: Key, fire: &mut impl FnMut(&[u64], usize, u64)) -> usize {
        let d = self.deadline_of(k);
        let n = self.fire_in(k, d, fire);
        self.live_keys -= (n != 0) as usize;
        self.release(k);
        n
    }

    #[inline]
    fn fire_in(&mut self, k: Key, d: u64, fire: &mut impl FnMut(&[u64], usize, u64)) -> usize {
        let e = self.store.entries[key_ord(k)];
        if self.store.is_bucket(key_ord(k)) {
            let live = std::mem::take(&mut self.store.buckets[e as usize].live) as usize;
            if live != 0 {
                fire(self.store.pending(e as usize), live, d);
            }
            live
        } else if e != TOMBSTONE {
            fire(&[e], 1, d);
            1
        } else {
            0
        }
    }

    /// Takes every key due at `lim` off the heap at once, in order: a partition, a sort of the
    /// due part and a heapify of the rest. Returns how many fired.
    #[cold]
    fn pop_bulk(&mut self, lim: u32, fire: &mut impl FnMut(&[u64], usize, u64)) -> usize {
        hit!("pop_bulk");
        let mut due = std::mem::take(&mut self.heap.v);
        let mut k = 0;
        for i in 0..due.len() {
            if key_rel(due[i]) <= lim {
                due.swap(i, k);
                k += 1;
            }
        }
        self.heap.v = due.split_off(k);
        self.heap.heapify();
        due.sort_unstable();
        let mut fired = 0;
        if self.heap.is_empty() {
            // Everything due: fire, then reset (by the caller, as `live` drops to 0).
            for &key in &due {
                fired += self.fire_in(key, self.deadline_of(key), fire);
            }
            due.clear();
            self.heap.v = due;
        } else {
            for &key in &due {
                fired += self.fire_key(key, fire);
            }
        }
        fired
    }

    /// Removes up to `max` timers due at the earliest deadline, if that deadline is `<= limit`,
    /// calling `fire(id)` for each in seq order; returns that deadline (or `None` when nothing is
    /// due). Timers left at that deadline stay first in line.
    pub fn pop_batch(&mut self, limit: u64, max: usize, mut fire: impl FnMut(u64)) -> Option<u64> {
        let d = self.peek_deadline()?;
        if d > limit || max == 0 {
            return None;
        }
        if !self.far.is_empty() && self.far.first() == Some(d) {
            hit!("pop_batch_far");
            self.far.pop_at(d, max, fire);
            return Some(d);
        }
        let rel = key_rel(self.heap.v[0]);
        let mut taken = 0;
        // Several keys may share the deadline (a singleton, then buckets): in key order.
        while taken < max {
            let Some(top) = self.heap.peek().filter(|&k| key_rel(k) == rel) else { break };
            if taken > 0 {
                hit!("pop_batch_next_key");
            }
            let e = self.store.entries[key_ord(top)];
            if self.store.is_bucket(key_ord(top)) {
                let Store { buckets, arena, .. } = &mut self.store;
                let b = &mut buckets[e as usize];
                let want = (max - taken).min(b.live as usize);
                let chunk = arena.get(b.off, b.len as usize);
                let mut pos = b.head as usize;
                for _ in 0..want {
                    while chunk[pos] == TOMBSTONE {
                        pos += 1;
                    }
                    fire(chunk[pos]);
                    pos += 1;
                }
                b.head = pos as u16;
                b.live -= want as u16;
                self.live -= want;
                taken += want;
                if b.live != 0 {
                    if b.dead() > 4 * b.live as usize + COMPACT_SLACK {
                        self.compact(e as u32);
                    }
                    break;
                }
            } else {
                fire(e);
                self.live -= 1;
                taken += 1;
            }

            self.live_keys -= 1;
            self.heap.pop();
            self.release(top);
            self.settle();
        }
        if self.live == 0 {
            self.reset();
        }
        Some(d)
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
        let mut keys = self.heap.v.clone();
        keys.sort_unstable();
        let mut out = Vec::with_capacity(self.len());
        for k in keys {
            let d = self.deadline_of(k);
            let e = self.store.entries[key_ord(k)];
            if self.store.is_bucket(key_ord(k)) {
                out.extend(
                    self.store.pending(e as usize).iter().filter(|&&id| id != TOMBSTONE).map(|&id| (id, d)),
                );
            } else if e != TOMBSTONE {
                out.push((e, d));
            }
        }
        if !self.far.is_empty() {
            // Far deadlines never equal heap deadlines (F1): a stable sort by deadline merges.
            out.extend(self.far.map.iter().map(|(&(d, _), &id)| (id, d)));
            out.sort_by_key(|&(_, d)| d);
        }
        out
    }
}
#[cfg(test)]
mod tests {
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
}
