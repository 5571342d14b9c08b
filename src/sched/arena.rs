//! `IdArena`: the id storage of the timer queue's buckets. Small chunks (2 to 32 ids) live on
//! pages, with a free list per size; bigger chunks are an allocation each.
//!
//! Most buckets hold a handful of timers. In a vector of its own such a bucket pays a 24-byte
//! header and a malloc'd buffer; here it pays a 4-byte offset and a small chunk, and no
//! allocation. Pages keep the arena from being one buffer that is copied whenever it grows:
//! every page but the first is allocated at its full size once and never copied, and the
//! first grows by a quarter up to `PAGE` ids, so a small arena costs little. A bucket that
//! outgrows a small chunk gets a *big* chunk, a buffer of its own that grows in place: the
//! allocator already serves those well, and bucketing them too would leave piles of free
//! chunks behind buckets that grow together (a million timers over ten thousand deadlines).
//!
//! - A1: every page in use but the last is full (`PAGE` ids); the small chunks in use and the
//!   free ones tile the pages in use exactly, up to `tail` on the last, and no chunk crosses a
//!   page.
//! - A2: a chunk is a power of two of ids, at least 2; a small chunk's offset is
//!   `page << PAGE_BITS | index`, a big chunk's is `BIG | index` in `bigs`.
//! - A3: `compact` slides the small chunks in use down in offset order, in place (no new page,
//!   no page fault), and drops the pages left empty. A chunk that does not fit the rest of a
//!   page starts the next one, and that rest becomes free chunks: under `MAX_SMALL` ids per
//!   page of `PAGE = 32 × MAX_SMALL`.
//!
//! Measured (the timers bench's delays, through `Scheduler`): at 1e6 pending timers, where
//! buckets grow to ~100 ids together, putting every chunk on pages left free chunks of every
//! smaller size behind each bucket; repacking them, and the fresh pages that took their place,
//! doubled the page faults of a criterion run (glibc trimmed the heap between iterations) and
//! cost 12–14 ns per set+fire. With big chunks on their own, the page faults are the
//! allocator's as before (95k against 92k in the same run).

/// The largest small chunk is `MAX_SMALL` ids (4 in unit tests, so they reach big chunks). With
/// 8, the many buckets of 9–32 ids of 1e5 timers each paid a malloc (+50 instructions per
/// set+fire).
const MAX_SMALL: usize = if cfg!(test) { 4 } else { 32 };
/// Bits of the index in a page: a page holds `PAGE` ids (8 KiB; 8 ids in unit tests, so the
/// timer queue's property tests reach a full arena of two pages).
const PAGE_BITS: u32 = if cfg!(test) { 3 } else { 10 };
const PAGE: usize = 1 << PAGE_BITS;
/// Size classes of small chunks: 2, 4, … `MAX_SMALL` ids.
const CLASSES: usize = MAX_SMALL.trailing_zeros() as usize;
/// The offset bit of a big chunk.
const BIG: u32 = 1 << 31;
/// Pages a small offset can name (below `BIG`, and `off + 1` fits for the free lists); two in
/// unit tests.
const MAX_PAGES: usize = if cfg!(test) { 2 } else { 1 << (31 - PAGE_BITS) };

/// Free-list index of a chunk of `cap` ids.
#[inline]
fn class_of(cap: u16) -> usize {
    debug_assert!(cap.is_power_of_two() && cap >= 2 && cap as usize <= MAX_SMALL, "chunk of {cap}");
    cap.trailing_zeros() as usize - 1
}

#[inline]
fn page_of(off: u32) -> usize {
    (off >> PAGE_BITS) as usize
}

#[inline]
fn index_of(off: u32) -> usize {
    off as usize & (PAGE - 1)
}

/// Chunks of ids (see the module docs).
#[derive(Debug, Clone)]
pub(crate) struct IdArena {
    /// Every page but the first is `PAGE` ids long from the start (zeroed by the allocator,
    /// which can map fresh zero pages without writing them); the first grows to `PAGE`.
    pages: Vec<Vec<u64>>,
    /// Pages in use: after `clear`, the first page is kept (empty) for reuse.
    used: usize,
    /// Ids of the last page in use that are in chunks (the rest of it is not).
    tail: usize,
    /// Per class, `1 +` the offset of the first free chunk, or 0 when none is; the first word of
    /// a free chunk links to the next the same way.
    free: [u32; CLASSES],
    /// Ids' worth of free chunks.
    free_words: usize,
    max_pages: usize,
    /// Big chunks: capacity its size, length the ids written (`push`); an empty `Vec` where
    /// none is.
    bigs: Vec<Vec<u64>>,
    /// Indices of `bigs` without a chunk.
    big_free: Vec<u32>,
    /// Ids' worth of big chunks.
    big_words: usize,
}

impl Default for IdArena {
    fn default() -> Self {
        Self {
            pages: Vec::new(),
            used: 0,
            tail: 0,
            free: [0; CLASSES],
            free_words: 0,
            max_pages: MAX_PAGES,
            bigs: Vec::new(),
            big_free: Vec::new(),
            big_words: 0,
        }
    }
}

/// True when a chunk of `cap` ids is big.
#[inline]
pub(crate) fn is_big(cap: u16) -> bool {
    cap as usize > MAX_SMALL
}

impl IdArena {
    /// Ids in small chunks, in use or free.
    pub(crate) fn len(&self) -> usize {
        self.used.saturating_sub(1) * PAGE + self.tail
    }

    /// Ids in free (small) chunks.
    pub(crate) fn free_words(&self) -> usize {
        self.free_words
    }

    /// Bytes of heap memory held (capacity).
    pub(crate) fn heap_bytes(&self) -> usize {
        let ids = self.pages.first().map_or(0, |p| p.capacity() + (self.pages.len() - 1) * PAGE);
        self.pages.capacity() * std::mem::size_of::<Vec<u64>>()
            + self.bigs.capacity() * std::mem::size_of::<Vec<u64>>()
            + self.big_free.capacity() * std::mem::size_of::<u32>()
            + (ids + self.big_words) * std::mem::size_of::<u64>()
    }

    /// Frees every chunk and every page but the first (kept for reuse). Keeping them all was
    /// measured: no fewer page faults in the timers bench, and a queue that had a million
    /// timers once would hold their pages for good.
    pub(crate) fn clear(&mut self) {
        self.pages.truncate(1);
        self.used = 0;
        self.tail = 0;
        self.free = [0; CLASSES];
        self.free_words = 0;
        self.bigs.clear();
        self.big_free.clear();
        self.big_words = 0;
    }

    /// The first `len` ids of the chunk at `off` (all written).
    #[inline(always)]
    pub(crate) fn get(&self, off: u32, len: usize) -> &[u64] {
        if off & BIG != 0 {
            &self.bigs[(off & !BIG) as usize][..len]
        } else {
            &self.pages[page_of(off)][index_of(off)..][..len]
        }
    }

    /// The first `len` ids of the chunk at `off` (all written), to change.
    #[inline(always)]
    pub(crate) fn get_mut(&mut self, off: u32, len: usize) -> &mut [u64] {
        if off & BIG != 0 {
            &mut self.bigs[(off & !BIG) as usize][..len]
        } else {
            &mut self.pages[page_of(off)][index_of(off)..][..len]
        }
    }

    /// The id at position `pos` (written) of the chunk at `off`.
    #[inline(always)]
    pub(crate) fn at(&mut self, off: u32, pos: usize) -> &mut u64 {
        if off & BIG != 0 {
            &mut self.bigs[(off & !BIG) as usize][pos]
        } else {
            &mut self.pages[page_of(off)][index_of(off) + pos]
        }
    }

    /// Writes `id` at position `pos` of the chunk at `off`, where the ids before it are written
    /// (appends to a big chunk, without zeroing it first).
    #[inline(always)]
    pub(crate) fn push(&mut self, off: u32, pos: usize, id: u64) {
        if off & BIG != 0 {
            let v = &mut self.bigs[(off & !BIG) as usize];
            debug_assert!(v.len() == pos && pos < v.capacity());
            v.push(id);
        } else {
            self.pages[page_of(off)][index_of(off) + pos] = id;
        }
    }

    /// Forgets the ids of the chunk at `off` from position `len` on.
    #[inline(always)]
    pub(crate) fn truncate(&mut self, off: u32, len: usize) {
        if off & BIG != 0 {
            self.bigs[(off & !BIG) as usize].truncate(len);
        }
    }

    /// A chunk of `cap` ids (a power of two, at least 2): a free one of its class or new at the
    /// end of the pages for a small one, else an allocation; `None` when the pages are at their
    /// limit. No id of it is written yet.
    pub(crate) fn alloc(&mut self, cap: u16) -> Option<u32> {
        if is_big(cap) {
            return self.alloc_big(cap);
        }
        let class = class_of(cap);
        let head = self.free[class];
        if head != 0 {
            let off = head - 1;
            self.free[class] = *self.at(off, 0) as u32;
            self.free_words -= cap as usize;
            return Some(off);
        }
        let cap = cap as usize;
        if self.used == 0 || PAGE - self.tail < cap {
            if self.used >= self.max_pages {
                return None;
            }
            // The rest of the last page becomes free chunks (it is a sum of chunk sizes, as
            // every chunk size is even); then the next page: the first one kept by `clear`, or
            // a new one at its full size unless it is the first.
            self.free_rest();
            if self.used == self.pages.len() {
                self.pages.push(if self.pages.is_empty() { Vec::new() } else { vec![0; PAGE] });
            }
            self.used += 1;
            self.tail = 0;
        }
        let page = self.used - 1;
        let index = self.tail;
        let p = &mut self.pages[page];
        if p.len() < index + cap {
            // Only the first page grows, by a quarter (its capacity is counted).
            let len = (index + cap).max(p.len() + p.len() / 4).clamp(8, PAGE);
            p.reserve_exact(len - p.len());
            p.resize(len, 0);
        }
        self.tail += cap;
        Some((page << PAGE_BITS | index) as u32)
    }

    #[cold]
    fn alloc_big(&mut self, cap: u16) -> Option<u32> {
        let index = match self.big_free.pop() {
            Some(i) => i as usize,
            None if self.bigs.len() >= BIG as usize - 1 => return None,
            None => {
                self.bigs.push(Vec::new());
                self.bigs.len() - 1
            }
        };
        self.bigs[index] = Vec::with_capacity(cap as usize);
        self.big_words += self.bigs[index].capacity();
        Some(BIG | index as u32)
    }

    /// Moves the chunk of `cap` ids at `off` to one of `new_cap` ids, keeping its first `len`
    /// ids (`len <= new_cap`); returns the new offset (a big chunk stays where it is and is
    /// reallocated), or `None`, changing nothing, when no chunk can be had.
    pub(crate) fn resize(&mut self, off: u32, cap: u16, len: usize, new_cap: u16) -> Option<u32> {
        debug_assert!(len <= new_cap as usize && len <= cap as usize);
        if off & BIG != 0 && is_big(new_cap) {
            let v = &mut self.bigs[(off & !BIG) as usize];
            let before = v.capacity();
            v.truncate(len);
            if new_cap > cap {
                v.reserve_exact(new_cap as usize - len);
            } else {
                v.shrink_to(new_cap as usize);
            }
            self.big_words = self.big_words + v.capacity() - before;
            return Some(off);
        }
        let to = self.alloc(new_cap)?;
        self.copy(off, to, len);
        self.free(off, cap);
        Some(to)
    }

    /// Fills the last page with free chunks.
    fn free_rest(&mut self) {
        let Some(page) = self.used.checked_sub(1) else { return };
        self.pages[page].resize(PAGE, 0);
        let from = std::mem::replace(&mut self.tail, PAGE);
        self.free_range(page, from, PAGE);
    }

    /// Makes ids `from..to` of `page` free chunks (the span is even: a sum of chunk sizes).
    fn free_range(&mut self, page: usize, mut from: usize, to: usize) {
        while from < to {
            // The largest chunk size that fits (the span's binary digits, from the top).
            let cap = (1usize << (usize::BITS - 1 - (to - from).leading_zeros())).min(MAX_SMALL);
            self.free((page << PAGE_BITS | from) as u32, cap as u16);
            from += cap;
        }
    }

    /// Frees the chunk of `cap` ids at `off`: a small one goes on its free list.
    #[inline]
    pub(crate) fn free(&mut self, off: u32, cap: u16) {
        if off & BIG != 0 {
            let v = std::mem::take(&mut self.bigs[(off & !BIG) as usize]);
            self.big_words -= v.capacity();
            self.big_free.push(off & !BIG);
            return;
        }
        let class = class_of(cap);
        *self.at(off, 0) = self.free[class] as u64;
        self.free[class] = off + 1;
        self.free_words += cap as usize;
    }

    /// Copies the first `len` ids of the chunk at `from` (written) over the first `len` of the
    /// chunk at `to` (two small chunks may overlap).
    pub(crate) fn copy(&mut self, from: u32, to: u32, len: usize) {
        if to & BIG != 0 {
            let j = (to & !BIG) as usize;
            let (src, dst): (&[u64], &mut Vec<u64>) = if from & BIG == 0 {
                (&self.pages[page_of(from)][index_of(from)..][..len], &mut self.bigs[j])
            } else {
                let i = (from & !BIG) as usize;
                let (a, b) = self.bigs.split_at_mut(i.max(j));
                if i < j {
                    (&a[i][..len], &mut b[0])
                } else {
                    (&b[0][..len], &mut a[j])
                }
            };
            let n = dst.len().min(len);
            dst[..n].copy_from_slice(&src[..n]);
            return dst.extend_from_slice(&src[n..]);
        }
        if from & BIG != 0 {
            let src = &self.bigs[(from & !BIG) as usize][..len];
            return self.pages[page_of(to)][index_of(to)..][..len].copy_from_slice(src);
        }
        let (pf, pt) = (page_of(from), page_of(to));
        let (i, j) = (index_of(from), index_of(to));
        if pf == pt {
            self.pages[pf].copy_within(i..i + len, j);
        } else {
            let (src, dst) = if pf < pt {
                let (a, b) = self.pages.split_at_mut(pt);
                (&a[pf], &mut b[0])
            } else {
                let (a, b) = self.pages.split_at_mut(pf);
                (&b[0], &mut a[pt])
            };
            dst[j..j + len].copy_from_slice(&src[i..i + len]);
        }
    }

    /// Slides the small chunks in use (`(offset, size, ids in use)` each; every small chunk in
    /// use must be listed, big ones are left as they are) down in offset order, rewriting their
    /// offsets, and drops the free chunks and the pages left empty (A3). O(chunks log chunks +
    /// ids in use).
    pub(crate) fn compact(&mut self, chunks: &mut [(u32, u16, u16)]) {
        debug_assert_eq!(
            chunks.iter().filter(|c| !is_big(c.1)).map(|c| c.1 as usize).sum::<usize>(),
            self.len() - self.free_words,
            "every small chunk in use is listed"
        );
        let mut order: Vec<u32> =
            (0..chunks.len() as u32).filter(|&i| !is_big(chunks[i as usize].1)).collect();
        order.sort_unstable_by_key(|&i| chunks[i as usize].0);
        self.free = [0; CLASSES];
        self.free_words = 0;
        // Each chunk lands at or below where it was: a chunk that does not fit the rest of the
        // page `to` is in a later page, so the next page is not past it either.
        let (mut page, mut index) = (0, 0);
        for i in order {
            let (off, cap, len) = chunks[i as usize];
            if index + cap as usize > PAGE {
                self.free_range(page, index, PAGE);
                (page, index) = (page + 1, 0);
            }
            let to = (page << PAGE_BITS | index) as u32;
            debug_assert!(to <= off);
            self.copy(off, to, len as usize);
            chunks[i as usize].0 = to;
            index += cap as usize;
        }
        self.used = if index == 0 && page == 0 { 0 } else { page + 1 };
        self.pages.truncate(self.used.max(1));
        self.tail = index;
    }

    /// The free chunks as `(offset, size)`, for tests.
    #[cfg(test)]
    pub(crate) fn free_chunks(&self) -> Vec<(u32, u16)> {
        let mut out = vec![];
        for class in 0..CLASSES {
            let mut link = self.free[class];
            while link != 0 {
                out.push((link - 1, 2u16 << class));
                link = self.pages[page_of(link - 1)][index_of(link - 1)] as u32;
            }
        }
        out
    }

    /// Offsets of every id in chunks, in order, for tests.
    #[cfg(test)]
    pub(crate) fn offsets(&self) -> Vec<u32> {
        (0..self.len()).map(|i| (((i / PAGE) << PAGE_BITS) | (i % PAGE)) as u32).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    /// Checks A1, A2 and the memory count against the chunks in use (`offset → size`).
    fn check(a: &IdArena, used: &BTreeMap<u32, u16>) {
        assert!(a.used <= a.pages.len() && a.used <= a.max_pages);
        for (p, page) in a.pages.iter().enumerate() {
            assert!(page.len() == PAGE || p == 0, "page {p} is {} ids long", page.len());
            assert!(a.tail <= page.len() || p + 1 < a.used, "tail {} past page {p}", a.tail);
        }
        let held = a.pages.capacity() * std::mem::size_of::<Vec<u64>>()
            + a.pages.iter().map(|p| p.capacity() * 8).sum::<usize>()
            + a.bigs.capacity() * std::mem::size_of::<Vec<u64>>()
            + a.bigs.iter().map(|b| b.capacity() * 8).sum::<usize>()
            + a.big_free.capacity() * 4;
        assert_eq!(a.heap_bytes(), held);
        let big: Vec<(u32, u16)> = used.iter().filter(|c| c.0 & BIG != 0).map(|(&o, &c)| (o, c)).collect();
        assert_eq!(a.big_words, big.iter().map(|c| c.1 as usize).sum::<usize>());
        for &(off, cap) in &big {
            assert!(is_big(cap) && cap.is_power_of_two());
            assert_eq!(a.bigs[(off & !BIG) as usize].capacity(), cap as usize);
        }
        assert_eq!(a.bigs.len() - a.big_free.len(), big.len(), "big chunks lost or doubled");
        let mut owner: BTreeMap<u32, u32> = BTreeMap::new();
        let free = a.free_chunks();
        assert_eq!(free.iter().map(|&(_, c)| c as usize).sum::<usize>(), a.free_words());
        let small = used.iter().filter(|c| c.0 & BIG == 0).map(|(&o, &c)| (o, c));
        for (off, cap) in small.chain(free.iter().copied()) {
            assert!(cap.is_power_of_two() && cap >= 2 && !is_big(cap));
            assert_eq!(page_of(off), page_of(off + cap as u32 - 1), "chunk {off}+{cap} crosses a page");
            for w in off..off + cap as u32 {
                assert!(owner.insert(w, off).is_none(), "word {w} in two chunks");
            }
        }
        assert_eq!(owner.keys().copied().collect::<Vec<_>>(), a.offsets(), "chunks do not tile the pages");
    }

    /// An arena of up to `pages` pages.
    fn arena(pages: usize) -> IdArena {
        IdArena { max_pages: pages, ..IdArena::default() }
    }

    const SMALL: u16 = MAX_SMALL as u16;

    #[test]
    fn free_chunks_are_reused_by_size() {
        let mut a = IdArena::default();
        let x = a.alloc(4).unwrap();
        let y = a.alloc(2).unwrap();
        a.free(x, 4);
        assert_eq!(a.alloc(2), Some(y + 2), "a chunk of 2 does not take the free chunk of 4");
        assert_eq!(a.alloc(4), Some(x));
        assert_eq!(a.free_words(), 0);
    }

    #[test]
    fn a_full_page_moves_on_and_frees_its_rest() {
        let mut a = arena(2);
        let mut used = BTreeMap::from([(a.alloc(2).unwrap(), 2)]);
        for _ in 0..PAGE / MAX_SMALL - 1 {
            used.insert(a.alloc(SMALL).unwrap(), SMALL);
        }
        assert_eq!(a.used, 1);
        let y = a.alloc(SMALL).unwrap();
        assert_eq!(page_of(y), 1);
        assert_eq!(a.free_words(), MAX_SMALL - 2);
        used.insert(y, SMALL);
        check(&a, &used);
    }

    #[test]
    fn compacting_slides_chunks_down_and_drops_empty_pages() {
        let mut a = arena(3);
        let chunks: Vec<u32> = (0..3 * PAGE / MAX_SMALL).map(|_| a.alloc(SMALL).unwrap()).collect();
        assert_eq!(a.used, 3);
        for (i, &off) in chunks.iter().enumerate() {
            a.get_mut(off, MAX_SMALL).fill(i as u64);
            if i % 3 != 0 {
                a.free(off, SMALL);
            }
        }
        let big = a.alloc(4 * SMALL).unwrap();
        let mut kept: Vec<(u32, u16, u16)> = chunks.iter().step_by(3).map(|&off| (off, SMALL, 1)).collect();
        kept.push((big, 4 * SMALL, 0));
        a.compact(&mut kept);
        assert_eq!((a.used, a.pages.len()), (1, 1), "a third of the chunks fit a page");
        assert_eq!(a.free_words(), 0);
        assert_eq!(kept.pop(), Some((big, 4 * SMALL, 0)), "a big chunk stays");
        for (k, c) in kept.iter().enumerate() {
            assert_eq!(c.0 as usize, k * MAX_SMALL, "in offset order, back to back");
            assert_eq!(a.get(c.0, 1), &[3 * k as u64]);
        }
        let mut used: BTreeMap<u32, u16> = kept.iter().map(|c| (c.0, c.1)).collect();
        used.insert(big, 4 * SMALL);
        check(&a, &used);
    }

    #[test]
    fn a_full_arena_refuses_small_chunks_only() {
        let mut a = arena(2);
        for _ in 0..2 * PAGE / MAX_SMALL {
            a.alloc(SMALL).unwrap();
        }
        assert_eq!(a.alloc(2), None);
        assert_eq!(a.alloc(SMALL), None);
        assert!(a.alloc(2 * SMALL).is_some_and(|off| off & BIG != 0));
    }

    #[test]
    fn a_big_chunk_grows_in_place_and_shrinks_back_to_a_small_one() {
        let mut a = IdArena::default();
        let s = a.alloc(SMALL).unwrap();
        for k in 0..MAX_SMALL {
            a.push(s, k, k as u64 + 1);
        }
        let b = a.resize(s, SMALL, MAX_SMALL, 2 * SMALL).unwrap();
        assert!(b & BIG != 0);
        assert_eq!(a.free_words(), MAX_SMALL, "the small chunk went back");
        assert_eq!(a.resize(b, 2 * SMALL, MAX_SMALL, 8 * SMALL), Some(b), "in place");
        assert_eq!(a.big_words, 8 * MAX_SMALL);
        let c = a.alloc(2 * SMALL).unwrap();
        a.copy(b, c, 3);
        a.push(c, 3, 9);
        a.copy(c, b, 1);
        assert_eq!(a.get(c, 4), &[1, 2, 3, 9]);
        a.truncate(c, 1);
        assert_eq!(a.bigs[(c & !BIG) as usize], [1]);
        a.free(c, 2 * SMALL);
        let s2 = a.resize(b, 8 * SMALL, 2, 2).unwrap();
        assert_eq!(a.get(s2, 2), &[1, 2]);
        assert_eq!((a.big_words, a.bigs.len() - a.big_free.len()), (0, 0));
    }

    #[derive(Debug, Clone)]
    enum Op {
        Alloc(u32),
        Free(usize),
        /// Resize a chunk to `2^k` ids.
        Resize(usize, u32),
        Compact,
        Clear,
    }

    proptest! {
        /// Chunks keep their contents through frees, moves, resizes, compaction and clearing;
        /// small ones always tile the pages, and compaction leaves free only the rests of pages.
        #[test]
        fn chunks_keep_their_ids_and_tile_the_pages(ops in proptest::collection::vec(prop_oneof![
            4 => (1u32..=MAX_SMALL.trailing_zeros() + 2).prop_map(Op::Alloc),
            2 => (0usize..64).prop_map(Op::Free),
            2 => (0usize..64, 1u32..=MAX_SMALL.trailing_zeros() + 2).prop_map(|(i, k)| Op::Resize(i, k)),
            1 => Just(Op::Compact),
            1 => Just(Op::Clear),
        ], 0..200)) {
            let mut a = arena(3);
            // (offset, size, contents)
            let mut live: Vec<(u32, u16, Vec<u64>)> = vec![];
            let mut next = 1u64;
            let mut fill = |a: &mut IdArena, off: u32, from: usize, to: usize| {
                let v: Vec<u64> = (next..next + (to - from) as u64).collect();
                next += (to - from) as u64;
                for (k, &id) in v.iter().enumerate() {
                    a.push(off, from + k, id);
                }
                v
            };
            for op in ops {
                match op {
                    Op::Alloc(bits) => {
                        let cap = 1u16 << bits;
                        if let Some(off) = a.alloc(cap) {
                            let v = fill(&mut a, off, 0, cap as usize);
                            live.push((off, cap, v));
                        } else {
                            prop_assert!(!is_big(cap) && a.used == 3);
                            prop_assert!(a.free_chunks().iter().all(|&(_, c)| c != cap));
                        }
                    }
                    Op::Free(i) if !live.is_empty() => {
                        let (off, cap, _) = live.swap_remove(i % live.len());
                        a.free(off, cap);
                    }
                    Op::Resize(i, bits) if !live.is_empty() => {
                        let i = i % live.len();
                        let (off, cap, _) = live[i];
                        let new_cap = 1u16 << bits;
                        let keep = live[i].2.len().min(new_cap as usize);
                        if let Some(to) = a.resize(off, cap, keep, new_cap) {
                            live[i].2.truncate(keep);
                            let extra = fill(&mut a, to, keep, new_cap as usize);
                            live[i].2.extend(extra);
                            (live[i].0, live[i].1) = (to, new_cap);
                        }
                    }
                    Op::Compact => {
                        let mut chunks: Vec<(u32, u16, u16)> =
                            live.iter().map(|(o, c, v)| (*o, *c, v.len() as u16)).collect();
                        a.compact(&mut chunks);
                        // A3: only the rests of pages a chunk did not fit are free.
                        prop_assert!(a.free_words() <= a.used.saturating_sub(1) * (MAX_SMALL - 2));
                        for (l, c) in live.iter_mut().zip(chunks) {
                            l.0 = c.0;
                        }
                    }
                    Op::Clear => {
                        a.clear();
                        live.clear();
                    }
                    _ => {}
                }
                check(&a, &live.iter().map(|(o, c, _)| (*o, *c)).collect());
                for (off, cap, v) in &live {
                    prop_assert_eq!(a.get(*off, *cap as usize), &v[..]);
                }
            }
        }
    }
}
