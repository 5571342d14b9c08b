//! The timer queue's buckets and entry table (`Store`): ids per key, records that hold them.

use super::*;

/// Two or more timers due at one deadline (the second and later timers of a deadline). Its ids
/// live in a chunk of `Store::arena`: 12 bytes of header and no allocation of its own, where a
/// vector would cost a 24-byte header and a malloc'd buffer.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Bucket {
    /// Where the chunk starts in the arena. It holds the ids in insertion (= seq) order,
    /// `TOMBSTONE` where cancelled; `[..head]` is consumed.
    pub(super) off: u32,
    /// Ids in the chunk.
    pub(super) len: u16,
    /// Size of the chunk: a power of two from 2 to `MAX_BUCKET_LEN`, or 0 without a chunk.
    pub(super) cap: u16,
    pub(super) head: u16,
    /// Ids in `[head..len]` that are not tombstones.
    pub(super) live: u16,
}

impl Bucket {
    /// Elements that are consumed or tombstones.
    #[inline]
    pub(super) fn dead(&self) -> usize {
        (self.len - self.live) as usize
    }
}

/// What keys point at: the entry table (by ord), the buckets and their ids.
#[derive(Debug, Clone, Default)]
pub(super) struct Store {
    /// By ord: a singleton's id (`TOMBSTONE` once cancelled or fired), or a bucket key's slot
    /// (`DEAD_BUCKET` once released).
    pub(super) entries: Vec<u64>,
    /// Bit `ord` is set when `entries[ord]` belongs to a bucket key.
    pub(super) bucket_bits: Vec<u64>,
    pub(super) buckets: Vec<Bucket>,
    /// The buckets' ids.
    pub(super) arena: IdArena,
}

impl Store {
    #[inline]
    pub(super) fn is_bucket(&self, ord: usize) -> bool {
        self.bucket_bits[ord / 64] >> (ord % 64) & 1 != 0
    }

    /// Appends the entry of a new key; returns its ord.
    #[inline]
    pub(super) fn push_entry(&mut self, value: u64, bucket: bool) -> usize {
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
    pub(super) fn holds(&self, rec: Rec, id: u64) -> bool {
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
    pub(super) fn live_of(&self, k: Key) -> usize {
        let v = self.entries[key_ord(k)];
        if self.is_bucket(key_ord(k)) {
            self.buckets[v as usize].live as usize
        } else {
            (v != TOMBSTONE) as usize
        }
    }

    /// The ids of bucket `slot` from its head on (tombstones included).
    #[inline]
    pub(super) fn pending(&self, slot: usize) -> &[u64] {
        let b = &self.buckets[slot];
        &self.arena.get(b.off, b.len as usize)[b.head as usize..]
    }

    /// Puts the chunk of bucket `slot` on its free list and empties the bucket.
    #[inline]
    pub(super) fn free_chunk(&mut self, slot: usize) {
        let b = std::mem::take(&mut self.buckets[slot]);
        if b.cap != 0 {
            self.arena.free(b.off, b.cap);
        }
    }

    /// Moves bucket `slot` to a chunk of `cap` ids (room for its `len`), or gives it one when it
    /// has none. False, changing nothing, when the arena is full.
    pub(super) fn move_chunk(&mut self, slot: usize, cap: u16) -> bool {
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

    pub(super) fn heap_bytes(&self) -> usize {
        self.entries.capacity() * 8
            + self.bucket_bits.capacity() * 8
            + self.buckets.capacity() * std::mem::size_of::<Bucket>()
            + self.arena.heap_bytes()
    }
}
