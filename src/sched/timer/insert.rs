//! `TimerQueue` insertion: the cache, keys, buckets, origin moves, renumbering (Q1, W5, W6).

use super::*;

impl TimerQueue {
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
    pub(super) fn insert_slow(&mut self, id: u64, deadline: u64) {
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
    pub(super) fn rel_of(&mut self, deadline: u64) -> Option<u32> {
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
    pub(super) fn set_origin(&mut self, origin: u64) {
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
    pub(super) fn take_far(&mut self) {
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
    pub(super) fn rebase(&mut self, deadline: u64) -> bool {
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
    pub(super) fn cache_index(&self, rel: u32) -> usize {
        cache_index(self.cache.len(), rel)
    }

    /// Inserts into the heap part: into the bucket the cache names for this deadline (inline,
    /// the common case), else through `insert_key`.
    #[inline(always)]
    pub(super) fn insert_near(&mut self, id: u64, rel: u32) {
        self.since_rebase += 1;
        let c = self.cache[self.cache_index(rel)];
        if c != NO_KEY && key_rel(c) == rel && key_is_bucket(c) && self.append(key_ord(c), id) {
            return;
        }
        self.insert_key(id, rel, c);
    }

    /// Appends `id` to bucket `slot` when its chunk has room.
    #[inline(always)]
    pub(super) fn append(&mut self, slot: usize, id: u64) -> bool {
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
    pub(super) fn insert_key(&mut self, id: u64, rel: u32, c: Key) {
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
    pub(super) fn make_bucket(&mut self, k: Key, slot: u32, id: u64) {
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
    pub(super) fn new_key(&mut self, id: u64, rel: u32, bucket: bool) {
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
    pub(super) fn finish_key(&mut self, k: Key, cached: Key) {
        self.heap.push(k);
        let i = self.cache_index(key_rel(k));
        self.cache[i] = cached;
        self.live += 1;
        self.live_keys += 1;
    }

    /// A free bucket slot with an empty chunk of 2 ids, if one is left (`SLOT_LIMIT`, and the
    /// arena's page limit).
    pub(super) fn take_slot(&mut self) -> Option<u32> {
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
    pub(super) fn alloc_room(&mut self) {
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
    pub(super) fn compact_arena(&mut self) {
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
    pub(super) fn heap_buckets(&self) -> impl Iterator<Item = usize> + '_ {
        (self.heap.v.iter())
            .filter(|&&k| self.store.is_bucket(key_ord(k)))
            .map(|&k| self.store.entries[key_ord(k)] as usize)
    }

    /// Gives the keys in the heap the ords `0..heap.len()` in their old order (so the heap stays
    /// a heap), compacting the entry table and moving the records of live singletons. O(entries),
    /// done when at least half the table is released entries, so amortised O(1) per key.
    #[cold]
    pub(super) fn renumber(&mut self) {
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
    pub(super) fn rebuild_cache(&mut self, len: usize) {
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
}
