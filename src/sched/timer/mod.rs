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
//! (`valgrind --tool=cachegrind`; figures in `docs/performance.md`). So the common cases are small inlined fast
//! paths and everything else is out of line: `insert` appends to the bucket the cache names
//! (`insert_key` opens keys, `insert_slow` moves the origin or goes far), the id record is a push
//! at the window's end (`IdMap::set_slow`), and `cancel` tombstones a bucket element found
//! through its window record when the bucket keeps live timers and needs no compaction
//! (`cancel_slow`). `pop_due_runs` hands a whole bucket to the caller at once, which the
//! scheduler copies into its macrotask queue. (Batching inserts in a log and placing them with
//! software prefetches was tried and measured slower: the CPU already overlaps the misses of
//! consecutive inserts.)
//!
//! # Measured
//! The speed and memory figures (ns per timer at 1e3..1e6 pending beside a plain-heap baseline,
//! instructions per timer, bytes per pending timer) and the commands that produce them are in
//! `docs/performance.md`, "The timer queue (`cargo bench --bench timers`)".
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

mod heap;
mod ids;
mod insert;
mod pop;
mod store;
#[cfg(test)]
mod tests;

use heap::{Far, Heap};
use ids::IdMap;
use store::{Bucket, Store};

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
}
