//! `IdIndex`: timer id → arena slot, an open-addressing table tuned for sequential ids.
//!
//! Timer ids are handed out by a counter, so the live ids are (almost always) a dense window of
//! consecutive integers. An identity hash (`id & mask`) places consecutive ids in consecutive
//! buckets: inserts are sequential writes and lookups are one probe, where a general-purpose
//! hasher would scatter them over the whole table (a cache miss per operation at 1e6 timers).
//!
//! Algorithm: linear probing in Robin Hood order (Celis, 1986) with backward-shift deletion.
//! Robin Hood keeps every cluster sorted by home bucket, so a deletion shifts back only the
//! entries displaced from their home and stops at the first empty bucket *or* the first entry
//! sitting at its home. Plain linear probing would have to scan to the end of the cluster, and
//! dense sequential ids make one cluster of every live id: O(n) per removal. Keys and values
//! live in two arrays (12 bytes per bucket). The table doubles when it would pass 7/8 load.
//!
//! Invariants:
//! - X1: `EMPTY` (0) is never a key; timer ids start at 1.
//! - X2: every stored key is reachable from its home bucket `key & mask` without crossing an
//!   empty bucket.
//! - X3 (Robin Hood): within a cluster, entries are in order of home bucket, so an entry's
//!   displacement `(pos - home) & mask` is at most one more than its predecessor's, and an entry
//!   at its home (displacement 0) is never preceded by an entry that belongs after it.

const EMPTY: u64 = 0;
const MIN_CAPACITY: usize = 16;

/// Maps live timer ids to their arena slot.
#[derive(Debug, Clone)]
pub(crate) struct IdIndex {
    keys: Vec<u64>,
    vals: Vec<u32>,
    len: usize,
    mask: usize,
}

impl Default for IdIndex {
    fn default() -> Self {
        Self::with_capacity(MIN_CAPACITY)
    }
}

impl IdIndex {
    fn with_capacity(cap: usize) -> Self {
        let cap = cap.next_power_of_two().max(MIN_CAPACITY);
        Self { keys: vec![EMPTY; cap], vals: vec![0; cap], len: 0, mask: cap - 1 }
    }

    #[inline]
    fn home(&self, key: u64) -> usize {
        // Identity hash: truncating to usize is the point (dense ids → dense buckets).
        (key as usize) & self.mask
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes held by the table's arrays.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.keys.capacity() * 8 + self.vals.capacity() * 4
    }

    #[inline]
    pub(crate) fn get(&self, key: u64) -> Option<u32> {
        self.find(key).map(|i| self.vals[i])
    }

    #[inline]
    pub(crate) fn contains(&self, key: u64) -> bool {
        self.get(key).is_some()
    }

    #[inline]
    fn dist(&self, pos: usize, key: u64) -> usize {
        pos.wrapping_sub(self.home(key)) & self.mask
    }

    /// Inserts `key → val`. The caller guarantees `key` is not present and non-zero (X1).
    #[inline]
    pub(crate) fn insert(&mut self, key: u64, val: u32) {
        debug_assert_ne!(key, EMPTY, "X1: id 0 is reserved");
        if (self.len + 1) * 8 > self.keys.len() * 7 {
            self.grow();
        }
        let (mut key, mut val) = (key, val);
        let mut i = self.home(key);
        let mut d = 0usize;
        loop {
            let k = self.keys[i];
            if k == EMPTY {
                self.keys[i] = key;
                self.vals[i] = val;
                self.len += 1;
                return;
            }
            debug_assert_ne!(k, key, "insert of a present key");
            // X3: the richer entry (closer to home) yields its bucket to the poorer one.
            let dk = self.dist(i, k);
            if dk < d {
                std::mem::swap(&mut self.keys[i], &mut key);
                std::mem::swap(&mut self.vals[i], &mut val);
                d = dk;
            }
            i = (i + 1) & self.mask;
            d += 1;
        }
    }

    fn find(&self, key: u64) -> Option<usize> {
        if key == EMPTY {
            return None;
        }
        let mut i = self.home(key);
        let mut d = 0usize;
        loop {
            let k = self.keys[i];
            if k == key {
                return Some(i);
            }
            // X3: past an empty bucket or a richer entry, `key` cannot be further on.
            if k == EMPTY || self.dist(i, k) < d {
                return None;
            }
            i = (i + 1) & self.mask;
            d += 1;
        }
    }

    /// Removes `key`, returning its value.
    #[inline]
    pub(crate) fn remove(&mut self, key: u64) -> Option<u32> {
        let mut hole = self.find(key)?;
        let val = self.vals[hole];
        self.len -= 1;
        // Backward shift: pull back displaced successors; stop at an empty bucket or an entry at
        // its home (X3 guarantees nothing after it belongs before it).
        loop {
            let next = (hole + 1) & self.mask;
            let k = self.keys[next];
            if k == EMPTY || self.dist(next, k) == 0 {
                break;
            }
            self.keys[hole] = k;
            self.vals[hole] = self.vals[next];
            hole = next;
        }
        self.keys[hole] = EMPTY;
        self.maybe_shrink();
        Some(val)
    }

    fn grow(&mut self) {
        self.rehash(self.keys.len() * 2);
    }

    fn maybe_shrink(&mut self) {
        // Give memory back after a burst, with hysteresis so set/clear at a boundary never thrashes.
        let cap = self.keys.len();
        if cap > MIN_CAPACITY && self.len * 8 < cap {
            self.rehash(cap / 4);
        }
    }

    fn rehash(&mut self, cap: usize) {
        let old = std::mem::replace(self, Self::with_capacity(cap));
        for (k, v) in old.keys.into_iter().zip(old.vals) {
            if k != EMPTY {
                self.insert(k, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[test]
    fn removing_from_a_dense_run_is_local() {
        // 200k consecutive ids form one cluster; removals in random order must stay correct
        // (and, with X3, cheap: this test would take minutes with full-cluster scans).
        let mut ix = IdIndex::default();
        let n = 200_000u64;
        for id in 1..=n {
            ix.insert(id, id as u32);
        }
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        let mut order: Vec<u64> = (1..=n).collect();
        for i in (1..order.len()).rev() {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            order.swap(i, (x % (i as u64 + 1)) as usize);
        }
        for (k, id) in order.iter().enumerate() {
            assert_eq!(ix.remove(*id), Some(*id as u32));
            if k % 50_000 == 0 {
                assert_eq!(ix.len(), (n as usize) - k - 1);
            }
        }
        assert_eq!(ix.len(), 0);
    }

    #[test]
    fn sequential_ids_round_trip() {
        let mut ix = IdIndex::default();
        for id in 1..=10_000u64 {
            ix.insert(id, id as u32 * 3);
        }
        assert_eq!(ix.len(), 10_000);
        for id in 1..=10_000u64 {
            assert_eq!(ix.get(id), Some(id as u32 * 3));
        }
        for id in (1..=10_000u64).step_by(2) {
            assert_eq!(ix.remove(id), Some(id as u32 * 3));
        }
        for id in 1..=10_000u64 {
            assert_eq!(ix.contains(id), id % 2 == 0, "id {id}");
        }
        assert_eq!(ix.get(0), None);
        assert_eq!(ix.remove(0), None);
    }

    proptest! {
        #[test]
        fn matches_hashmap_model(ops in proptest::collection::vec((0u8..3, 1u64..200, any::<u32>()), 0..600)) {
            let mut ix = IdIndex::default();
            let mut model: HashMap<u64, u32> = HashMap::new();
            for (op, key, val) in ops {
                // Keys spread over a few "wrap" regions to exercise clusters that cross the end.
                let key = if key % 3 == 0 { u64::MAX - key } else { key };
                match op {
                    0 if !model.contains_key(&key) => { ix.insert(key, val); model.insert(key, val); }
                    1 => prop_assert_eq!(ix.remove(key), model.remove(&key)),
                    _ => prop_assert_eq!(ix.get(key), model.get(&key).copied()),
                }
                prop_assert_eq!(ix.len(), model.len());
            }
            for (k, v) in &model {
                prop_assert_eq!(ix.get(*k), Some(*v));
            }
        }
    }
}
