//! The timer queue's 4-ary key heap and its map of far deadlines.

use super::*;

/// A 4-ary min-heap of keys (half the depth of a binary heap; a node's four children share a
/// cache line).
#[derive(Debug, Clone, Default)]
pub(super) struct Heap {
    pub(super) v: Vec<Key>,
}

impl Heap {
    #[inline]
    pub(super) fn len(&self) -> usize {
        self.v.len()
    }

    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.v.is_empty()
    }

    #[inline]
    pub(super) fn peek(&self) -> Option<Key> {
        self.v.first().copied()
    }

    #[inline]
    pub(super) fn push(&mut self, k: Key) {
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
    pub(super) fn pop(&mut self) -> Option<Key> {
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
    pub(super) fn sift_down(&mut self, mut i: usize, k: Key) {
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

    pub(super) fn heapify(&mut self) {
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
pub(super) struct Far {
    pub(super) map: BTreeMap<(u64, u64), u64>,
    pub(super) ids: FxHashMap<u64, (u64, u64)>,
    /// Insertion counter: orders equal deadlines.
    pub(super) seq: u64,
}

impl Far {
    pub(super) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub(super) fn insert(&mut self, id: u64, deadline: u64) {
        let k = (deadline, self.seq);
        self.seq += 1;
        self.map.insert(k, id);
        self.ids.insert(id, k);
    }

    pub(super) fn cancel(&mut self, id: u64) -> bool {
        match self.ids.remove(&id) {
            Some(k) => {
                self.map.remove(&k);
                true
            }
            None => false,
        }
    }

    pub(super) fn first(&self) -> Option<u64> {
        self.map.keys().next().map(|k| k.0)
    }

    pub(super) fn count_at(&self, deadline: u64) -> usize {
        self.map.range((deadline, 0)..=(deadline, u64::MAX)).count()
    }

    /// Removes up to `max` timers due at `deadline`, in order, calling `fire` for each.
    pub(super) fn pop_at(&mut self, deadline: u64, max: usize, mut fire: impl FnMut(u64)) -> usize {
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

    pub(super) fn heap_bytes(&self) -> usize {
        // A B-tree node holds up to 11 entries and is at least half full (except the root):
        // count 2 × the entries' size per entry, plus one node.
        let entry = std::mem::size_of::<((u64, u64), u64)>();
        let map = if self.map.is_empty() { 0 } else { (self.map.len() * 2 + 11) * entry };
        map + self.ids.capacity() * (std::mem::size_of::<(u64, (u64, u64))>() + 1)
    }
}
