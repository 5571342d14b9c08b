//! `IdIndex`: timer id → arena slot, an open-addressing table tuned for sequential ids.
//!
//! Timer ids are handed out by a counter, so the live ids are (almost always) a dense window of
//! consecutive integers. An identity hash (`id & mask`) places consecutive ids in consecutive
//! buckets: inserts are sequential writes and lookups are one probe, where a general-purpose
//! hasher would scatter them over the whole table (a cache miss per operation at 1e6 timers).
//!
//! Algorithm: linear probing with backward-shift deletion (Knuth, TAOCP vol. 3, 6.4, algorithm R),
//! so there are no tombstones and probe chains stay short after heavy churn. Keys and values live
//! in two arrays (12 bytes per bucket). The table doubles when it would pass 7/8 load.
//!
//! Invariants:
//! - X1: `EMPTY` (0) is never a key; timer ids start at 1.
//! - X2: every stored key is reachable from its home bucket `key & mask` without crossing an
//!   empty bucket (the linear-probing invariant that backward-shift deletion maintains).

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
        if key == EMPTY {
            return None;
        }
        let mut i = self.home(key);
        loop {
            let k = self.keys[i];
            if k == key {
                return Some(self.vals[i]);
            }
            if k == EMPTY {
                return None;
            }
            i = (i + 1) & self.mask;
        }
    }

    #[inline]
    pub(crate) fn contains(&self, key: u64) -> bool {
        self.get(key).is_some()
    }

    /// Inserts `key → val`. The caller guarantees `key` is not present and non-zero (X1).
    #[inline]
    pub(crate) fn insert(&mut self, key: u64, val: u32) {
        debug_assert_ne!(key, EMPTY, "X1: id 0 is reserved");
        if (self.len + 1) * 8 > self.keys.len() * 7 {
            self.grow();
        }
        let mut i = self.home(key);
        while self.keys[i] != EMPTY {
            debug_assert_ne!(self.keys[i], key, "insert of a present key");
            i = (i + 1) & self.mask;
        }
        self.keys[i] = key;
        self.vals[i] = val;
        self.len += 1;
    }

    /// Removes `key`, returning its value.
    #[inline]
    pub(crate) fn remove(&mut self, key: u64) -> Option<u32> {
        if key == EMPTY {
            return None;
        }
        let mut i = self.home(key);
        loop {
            let k = self.keys[i];
            if k == key {
                break;
            }
            if k == EMPTY {
                return None;
            }
            i = (i + 1) & self.mask;
        }
        let val = self.vals[i];
        self.len -= 1;
        // Backward-shift deletion keeps X2 without tombstones: walk the cluster after the hole
        // and move back every entry whose home does not lie cyclically in (hole, j].
        let mut hole = i;
        let mut j = i;
        loop {
            j = (j + 1) & self.mask;
            let k = self.keys[j];
            if k == EMPTY {
                break;
            }
            let home = self.home(k);
            let movable = if hole <= j { home <= hole || home > j } else { home <= hole && home > j };
            if movable {
                self.keys[hole] = k;
                self.vals[hole] = self.vals[j];
                hole = j;
            }
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
