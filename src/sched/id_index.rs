//! `IdIndex`: timer id → arena slot, an open-addressing table tuned for sequential ids.
//!
//! Timer ids come from a counter. The home bucket is Fibonacci hashing (Knuth, TAOCP vol. 3,
//! 6.4): `(id × 2^64/φ) >> (64 − log2 capacity)`, which spreads any run of consecutive ids evenly
//! over the table. (An identity hash `id & mask` looks attractive for sequential ids, but
//! long-lived timers then occupy a run of buckets, and once the counter wraps around the table
//! onto that run every insert and removal walks or shifts the whole run: O(pending).)
//!
//! Algorithm: linear probing in Robin Hood order (Celis, 1986) with backward-shift deletion.
//! Robin Hood keeps every cluster sorted by home bucket, so a deletion shifts back only the
//! entries displaced from their home and stops at the first empty bucket *or* the first entry
//! sitting at its home. Plain linear probing would have to scan to the end of the cluster, and
//! dense sequential ids make one cluster of every live id: O(n) per removal.
//!
//! The table stores the arena slot and the entry's displacement from its home (6 bytes per
//! bucket), not the id: the id of a slot is read from the arena node itself through the
//! `key_of` function every operation takes, so an id is never stored twice. Robin Hood compares
//! only displacements, so inserts and removals read no arena node, and a lookup reads one only
//! for entries that share the probed key's home. The table doubles when it would pass 7/8 load
//! (or, defensively, when a displacement would not fit in 16 bits).
//!
//! Invariants:
//! - X1: `EMPTY` (`u32::MAX`) is never a stored slot (the arena never hands it out).
//! - X2: every stored entry is reachable from its home bucket `home(key_of(slot))` without
//!   crossing an empty bucket.
//! - X3 (Robin Hood): within a cluster, entries are in order of home bucket, so an entry's
//!   displacement `(pos - home) & mask` is at most one more than its predecessor's, and an entry
//!   at its home (displacement 0) is never preceded by an entry that belongs after it.
//! - X4: `key_of` returns, for every stored slot, the id it was inserted with (the caller does
//!   not change a node's id while it is indexed).

const EMPTY: u32 = u32::MAX;
const MIN_CAPACITY: usize = 16;

/// Maps live timer ids to their arena slot.
#[derive(Debug, Clone)]
pub(crate) struct IdIndex {
    slots: Vec<u32>,
    /// Displacement of the entry in each bucket from its home (meaningless when empty).
    dists: Vec<u16>,
    len: usize,
    mask: usize,
    /// Entries moved by inserts and removals so far (test diagnostics: the work done).
    #[cfg(test)]
    moves: usize,
}

impl Default for IdIndex {
    fn default() -> Self {
        Self::with_capacity(MIN_CAPACITY)
    }
}

impl IdIndex {
    fn with_capacity(cap: usize) -> Self {
        let cap = cap.next_power_of_two().max(MIN_CAPACITY);
        Self {
            slots: vec![EMPTY; cap],
            dists: vec![0; cap],
            len: 0,
            mask: cap - 1,
            #[cfg(test)]
            moves: 0,
        }
    }

    #[inline]
    fn home(&self, key: u64) -> usize {
        let bits = self.mask.count_ones();
        // Fibonacci hashing: the top `bits` bits of key × 2^64/φ. `bits` >= 4 (MIN_CAPACITY).
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - bits)) as usize
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Bytes held by the table.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.slots.capacity() * std::mem::size_of::<u32>()
            + self.dists.capacity() * std::mem::size_of::<u16>()
    }

    fn find(&self, key: u64, key_of: &impl Fn(u32) -> u64) -> Option<usize> {
        let mut i = self.home(key);
        let mut d = 0usize;
        loop {
            let s = self.slots[i];
            if s == EMPTY {
                return None;
            }
            let ds = usize::from(self.dists[i]);
            // X3: past a richer entry, `key` cannot be further on.
            if ds < d {
                return None;
            }
            // Only an entry with the same home (same displacement here) can be `key`.
            if ds == d && key_of(s) == key {
                return Some(i);
            }
            i = (i + 1) & self.mask;
            d += 1;
        }
    }

    #[cfg(test)]
    pub(crate) fn get(&self, key: u64, key_of: impl Fn(u32) -> u64) -> Option<u32> {
        self.find(key, &key_of).map(|i| self.slots[i])
    }

    #[inline]
    pub(crate) fn contains(&self, key: u64, key_of: impl Fn(u32) -> u64) -> bool {
        self.find(key, &key_of).is_some()
    }

    /// Inserts `slot`, whose id is `key_of(slot)`. The caller guarantees that id is not present.
    #[inline]
    pub(crate) fn insert(&mut self, slot: u32, key_of: impl Fn(u32) -> u64) {
        debug_assert_ne!(slot, EMPTY, "X1");
        if (self.len + 1) * 8 > self.slots.len() * 7 {
            self.rehash(self.slots.len() * 2, &key_of);
        }
        while !self.place(slot, &key_of) {
            self.rehash(self.slots.len() * 2, &key_of);
        }
        self.len += 1;
    }

    /// Places `slot` (Robin Hood). Returns false, placing nothing, if a displacement would
    /// overflow 16 bits (the caller then grows the table).
    fn place(&mut self, slot: u32, key_of: &impl Fn(u32) -> u64) -> bool {
        let mut slot = slot;
        let mut i = self.home(key_of(slot));
        let mut d = 0usize;
        loop {
            if d >= usize::from(u16::MAX) {
                return false;
            }
            let s = self.slots[i];
            if s == EMPTY {
                self.slots[i] = slot;
                self.dists[i] = d as u16;
                return true;
            }
            // X3: the richer entry (closer to home) yields its bucket to the poorer one.
            let ds = usize::from(self.dists[i]);
            if ds < d {
                self.slots[i] = slot;
                self.dists[i] = d as u16;
                slot = s;
                d = ds;
                #[cfg(test)]
                {
                    self.moves += 1;
                }
            }
            i = (i + 1) & self.mask;
            d += 1;
        }
    }

    /// Removes id `key`, returning its slot.
    #[inline]
    pub(crate) fn remove(&mut self, key: u64, key_of: impl Fn(u32) -> u64) -> Option<u32> {
        let mut hole = self.find(key, &key_of)?;
        let slot = self.slots[hole];
        self.len -= 1;
        // Backward shift: pull back displaced successors; stop at an empty bucket or an entry at
        // its home (X3 guarantees nothing after it belongs before it).
        loop {
            let next = (hole + 1) & self.mask;
            let s = self.slots[next];
            if s == EMPTY || self.dists[next] == 0 {
                break;
            }
            self.slots[hole] = s;
            self.dists[hole] = self.dists[next] - 1;
            hole = next;
            #[cfg(test)]
            {
                self.moves += 1;
            }
        }
        self.slots[hole] = EMPTY;
        // Give memory back after a burst, with hysteresis so set/clear at a boundary never thrashes.
        let cap = self.slots.len();
        if cap > MIN_CAPACITY && self.len * 8 < cap {
            self.rehash(cap / 4, &key_of);
        }
        Some(slot)
    }

    fn rehash(&mut self, cap: usize, key_of: &impl Fn(u32) -> u64) {
        let old_slots = std::mem::take(&mut self.slots);
        let len = self.len;
        #[cfg(test)]
        let moves = self.moves;
        let mut cap = cap;
        // A table at most 7/8 full will not reach a 16-bit displacement; if it ever did, use a
        // bigger one rather than fail.
        'grow: loop {
            *self = Self::with_capacity(cap);
            for &s in &old_slots {
                if s != EMPTY && !self.place(s, key_of) {
                    cap *= 2;
                    continue 'grow;
                }
            }
            break;
        }
        self.len = len;
        #[cfg(test)]
        {
            self.moves = moves;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    /// A stand-in for the timer arena: slot i holds key `keys[i]`.
    #[derive(Default)]
    struct Arena {
        keys: Vec<u64>,
    }

    impl Arena {
        fn add(&mut self, key: u64) -> u32 {
            self.keys.push(key);
            (self.keys.len() - 1) as u32
        }
    }

    #[test]
    fn sequential_ids_round_trip() {
        let mut ix = IdIndex::default();
        let mut a = Arena::default();
        for id in 1..=10_000u64 {
            let s = a.add(id);
            ix.insert(s, |s| a.keys[s as usize]);
        }
        assert_eq!(ix.len(), 10_000);
        for id in 1..=10_000u64 {
            assert_eq!(ix.get(id, |s| a.keys[s as usize]), Some(id as u32 - 1));
        }
        for id in (1..=10_000u64).step_by(2) {
            assert_eq!(ix.remove(id, |s| a.keys[s as usize]), Some(id as u32 - 1));
        }
        for id in 1..=10_000u64 {
            assert_eq!(ix.contains(id, |s| a.keys[s as usize]), id % 2 == 0, "id {id}");
        }
        assert_eq!(ix.get(0, |s| a.keys[s as usize]), None);
        assert_eq!(ix.remove(0, |s| a.keys[s as usize]), None);
    }

    #[test]
    fn removing_from_a_dense_run_is_local() {
        // 200k consecutive ids form one cluster; removals in random order must stay correct
        // (and, with X3, cheap: this test would take minutes with full-cluster scans).
        let mut ix = IdIndex::default();
        let mut a = Arena::default();
        let n = 200_000u64;
        for id in 1..=n {
            let s = a.add(id);
            ix.insert(s, |s| a.keys[s as usize]);
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
            assert_eq!(ix.remove(*id, |s| a.keys[s as usize]), Some(*id as u32 - 1));
            if k % 50_000 == 0 {
                assert_eq!(ix.len(), (n as usize) - k - 1);
            }
        }
        assert_eq!(ix.len(), 0);
    }

    #[test]
    fn long_lived_ids_do_not_build_long_runs() {
        // 10k long-lived timers, then 200k short ones set and cancelled one at a time: the id
        // counter laps the table many times. Probe distances must stay short throughout.
        let mut ix = IdIndex::default();
        let mut a = Arena::default();
        for id in 1..=10_000u64 {
            let s = a.add(id);
            ix.insert(s, |s| a.keys[s as usize]);
        }
        let before = ix.moves;
        for id in 10_001..=210_000u64 {
            let s = a.add(id);
            ix.insert(s, |s| a.keys[s as usize]);
            assert_eq!(ix.remove(id, |s| a.keys[s as usize]), Some(s));
        }
        assert_eq!(ix.len(), 10_000);
        // Each set/clear pair should move a handful of entries, not a run of pending ones.
        let per_pair = (ix.moves - before) as f64 / 200_000.0;
        assert!(per_pair < 4.0, "{per_pair} entries moved per insert+remove: ids are clustering");
        for id in 1..=10_000u64 {
            assert!(ix.contains(id, |s| a.keys[s as usize]));
        }
    }

    #[test]
    fn six_bytes_per_bucket() {
        let mut ix = IdIndex::default();
        let mut a = Arena::default();
        for id in 1..=1000u64 {
            let s = a.add(id);
            ix.insert(s, |s| a.keys[s as usize]);
        }
        assert_eq!(ix.heap_bytes(), 2048 * 6, "1000 ids at <= 7/8 load fit 2048 buckets of 6 bytes");
    }

    proptest! {
        #[test]
        fn matches_hashmap_model(ops in proptest::collection::vec((0u8..3, 1u64..200), 0..600)) {
            let mut ix = IdIndex::default();
            let mut a = Arena::default();
            let mut model: HashMap<u64, u32> = HashMap::new();
            for (op, key) in ops {
                // Keys spread over a few "wrap" regions to exercise clusters that cross the end.
                let key = if key % 3 == 0 { u64::MAX - key } else { key };
                match op {
                    0 if !model.contains_key(&key) => {
                        let s = a.add(key);
                        ix.insert(s, |s| a.keys[s as usize]);
                        model.insert(key, s);
                    }
                    1 => prop_assert_eq!(ix.remove(key, |s| a.keys[s as usize]), model.remove(&key)),
                    _ => prop_assert_eq!(ix.get(key, |s| a.keys[s as usize]), model.get(&key).copied()),
                }
                prop_assert_eq!(ix.len(), model.len());
            }
            for (k, v) in &model {
                prop_assert_eq!(ix.get(*k, |s| a.keys[s as usize]), Some(*v));
            }
        }
    }
}
