//! `TimerQueue` cancellation and firing: tombstones, settle/prune, compaction, the pop paths.

use super::*;

impl TimerQueue {
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
    pub(super) fn cancel_slow(&mut self, id: u64) -> bool {
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
    pub(super) fn key_emptied(&mut self, on_top: bool) {
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
    pub(super) fn reset(&mut self) {
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
    pub(super) fn settle(&mut self) {
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
    pub(super) fn prune(&mut self) {
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
    pub(super) fn release(&mut self, k: Key) {
        Self::release_in(&mut self.store, &mut self.free, &mut self.cache, k);
    }

    #[inline]
    pub(super) fn release_in(store: &mut Store, free: &mut Vec<u32>, cache: &mut [Key], k: Key) {
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
    pub(super) fn compact(&mut self, slot: u32) {
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
    pub(super) fn pop_due_far(&mut self, now: u64, fire: &mut impl FnMut(&[u64], usize, u64)) -> usize {
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

    pub(super) fn pop_due_near(&mut self, now: u64, fire: &mut impl FnMut(&[u64], usize, u64)) -> usize {
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
    pub(super) fn fire_key(&mut self, k: Key, fire: &mut impl FnMut(&[u64], usize, u64)) -> usize {
        let d = self.deadline_of(k);
        let n = self.fire_in(k, d, fire);
        self.live_keys -= (n != 0) as usize;
        self.release(k);
        n
    }

    #[inline]
    pub(super) fn fire_in(&mut self, k: Key, d: u64, fire: &mut impl FnMut(&[u64], usize, u64)) -> usize {
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
    pub(super) fn pop_bulk(&mut self, lim: u32, fire: &mut impl FnMut(&[u64], usize, u64)) -> usize {
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
