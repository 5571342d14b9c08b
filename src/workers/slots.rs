//! Message slots: fixed-size entries in one [`SlabRegion`] per NUMA node, mapped once per
//! process and shared by every thread of a [`super::Hub`].
//!
//! # Layout
//! A node's region is cut into *partitions* of `slab_capacity` slots, two per shard placed on
//! that node: the shard's *down* partition (slots the main thread fills and sends to the shard)
//! and its *up* partition (slots the shard fills and sends back). A partition has exactly one
//! allocating thread (main for down, the shard for up); frees come from either side.
//!
//! # Algorithm
//! Next-fit over a per-partition owner table, under one mutex per partition: an allocation scans
//! forward from a cursor for a free slot and moves the cursor past it. Messages leave a lane in
//! the order they were allocated, so a burst sent to one shard occupies *consecutive* slots, and
//! the consumer can hand a run of them to JS as one window (`SlotPool::run_len`). A generation
//! per slot (bumped on every allocation) makes a slot reference of a former tenant stale.
//!
//! # Invariants
//! - P1 (one owner): every slot is free or owned by exactly one side ([`Owner`]); only the owner
//!   reads or writes its bytes, so bytes never race. Ownership changes under the partition
//!   mutex, and bytes written before a lane push are published by the lane's release/acquire.
//! - P2 (generations): a [`SlotRef`] is live iff its partition, index and generation match an
//!   owned slot; every operation checks it and changes nothing for a stale reference.
//! - P3 (partition-local runs): a window never spans two partitions, so it never covers a slot
//!   of another shard or direction.
//! - P4 (mapping lifetime): regions are `Arc`s; whoever hands their memory to JS keeps a clone
//!   alive until the last view's finalizer has run (SlabRegion R2).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::slab::{HostMemory, NodeId, SlabError, SlabRegion};
use crate::topo::hugepage::HugepageConfig;

/// Who holds a slot (P1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The main thread (allocated there, or received from a shard).
    Main,
    /// The shard whose partition this is (in its lane, being handled, retained or allocated).
    Shard,
}

const FREE: u8 = 0;
const MAIN: u8 = 1;
const SHARD: u8 = 2;

fn code(o: Owner) -> u8 {
    match o {
        Owner::Main => MAIN,
        Owner::Shard => SHARD,
    }
}

/// A slot: partition, index inside it, generation (P2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlotRef {
    /// Partition number: `2 * shard + direction` (0 down, 1 up).
    pub part: u32,
    /// Index inside the partition.
    pub index: u32,
    /// The tenant's generation (>= 1).
    pub generation: u32,
}

/// Which lane a partition feeds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Main thread → shard.
    Down,
    /// Shard → main thread.
    Up,
}

impl SlotRef {
    /// The partition of `shard`'s `dir` lane.
    pub fn part_of(shard: usize, dir: Direction) -> u32 {
        (shard * 2 + usize::from(dir == Direction::Up)) as u32
    }
}

#[derive(Debug)]
struct Table {
    generation: Vec<u32>,
    owner: Vec<u8>,
    cursor: u32,
    in_use: u32,
}

#[derive(Debug)]
struct Partition {
    /// Index of the node (into `SlotPool::regions`).
    node_index: usize,
    /// First slot of the partition inside its region.
    base: usize,
    table: Mutex<Table>,
}

/// Every slot of a hub (P1–P4).
#[derive(Debug)]
pub struct SlotPool {
    entry_size: usize,
    capacity: u32,
    nodes: Vec<NodeId>,
    regions: Vec<Arc<SlabRegion>>,
    parts: Vec<Partition>,
}

/// A locked partition: allocation and frees without relocking per slot.
pub struct PartGuard<'a> {
    table: MutexGuard<'a, Table>,
}

impl SlotPool {
    /// Maps one region per distinct node of `shard_nodes` (shard s lives on `shard_nodes[s]`),
    /// with two partitions of `capacity` slots of `entry_size` bytes per shard.
    ///
    /// # Errors
    /// [`SlabError`] when a size overflows or a region cannot be mapped.
    pub fn new(
        shard_nodes: &[NodeId],
        capacity: u32,
        entry_size: usize,
        hugepages: &HugepageConfig,
    ) -> Result<Self, SlabError> {
        if entry_size == 0 {
            return Err(SlabError::ZeroEntrySize);
        }
        let capacity = capacity.max(1);
        let mut nodes: Vec<NodeId> = shard_nodes.to_vec();
        nodes.sort_unstable();
        nodes.dedup();
        let mut host = HostMemory::detect(hugepages);
        let mut regions = Vec::with_capacity(nodes.len());
        let mut parts: Vec<Option<Partition>> = (0..shard_nodes.len() * 2).map(|_| None).collect();
        for (node_index, node) in nodes.iter().enumerate() {
            let shards: Vec<usize> = (0..shard_nodes.len()).filter(|s| shard_nodes[*s] == *node).collect();
            let slots = (capacity as usize)
                .checked_mul(2 * shards.len())
                .ok_or(SlabError::CapacityTooLarge(capacity as usize))?;
            let bytes = slots
                .checked_mul(entry_size)
                .ok_or(SlabError::FootprintOverflow { capacity: slots, entry_size })?;
            let region = SlabRegion::map(*node, bytes, hugepages, &mut host)?;
            // SAFETY: the region was just mapped; no reference to its bytes exists and no other
            // thread can reach it yet. Faulting it in now keeps page faults out of the sends.
            unsafe { region.prefault() };
            regions.push(Arc::new(region));
            for (i, s) in shards.iter().enumerate() {
                for d in 0..2 {
                    let table = Table {
                        generation: vec![0; capacity as usize],
                        owner: vec![FREE; capacity as usize],
                        cursor: 0,
                        in_use: 0,
                    };
                    parts[s * 2 + d] = Some(Partition {
                        node_index,
                        base: (i * 2 + d) * capacity as usize,
                        table: Mutex::new(table),
                    });
                }
            }
        }
        let parts = parts.into_iter().map(|p| p.ok_or(SlabError::ZeroEntrySize)).collect::<Result<_, _>>()?;
        Ok(Self { entry_size, capacity, nodes, regions, parts })
    }

    /// Bytes per slot.
    pub fn entry_size(&self) -> usize {
        self.entry_size
    }

    /// Slots per partition.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// The node ids that have a region, ascending.
    pub fn nodes(&self) -> &[NodeId] {
        &self.nodes
    }

    /// The region of a partition and the byte offset of its slot `index` in it.
    pub fn place(&self, part: u32, index: u32) -> Option<(&Arc<SlabRegion>, usize)> {
        let p = self.parts.get(part as usize)?;
        if index >= self.capacity {
            return None;
        }
        Some((&self.regions[p.node_index], (p.base + index as usize) * self.entry_size))
    }

    /// The node a partition's memory is on.
    pub fn node_of(&self, part: u32) -> Option<NodeId> {
        self.parts.get(part as usize).map(|p| self.nodes[p.node_index])
    }

    /// The region-absolute slot index of `slot` (what JS handles carry as `slotIndex`).
    pub fn absolute_index(&self, slot: &SlotRef) -> Option<u32> {
        let p = self.parts.get(slot.part as usize)?;
        u32::try_from(p.base + slot.index as usize).ok()
    }

    /// The inverse of [`SlotPool::absolute_index`] for a partition known to be on `node`.
    pub fn from_absolute(&self, node: NodeId, absolute: u32, generation: u32) -> Option<SlotRef> {
        let node_index = self.nodes.iter().position(|n| *n == node)?;
        let (part, p) = self.parts.iter().enumerate().find(|(_, p)| {
            p.node_index == node_index
                && (absolute as usize) >= p.base
                && (absolute as usize) < p.base + self.capacity as usize
        })?;
        Some(SlotRef { part: part as u32, index: (absolute as usize - p.base) as u32, generation })
    }

    /// Locks a partition (`None` for an unknown one).
    pub fn lock(&self, part: u32) -> Option<PartGuard<'_>> {
        let p = self.parts.get(part as usize)?;
        Some(PartGuard { table: p.table.lock().unwrap_or_else(PoisonError::into_inner) })
    }

    /// Slots in use in a partition.
    pub fn in_use(&self, part: u32) -> u32 {
        self.lock(part).map_or(0, |g| g.table.in_use)
    }

    /// Length of the run of consecutive slots starting at `refs[0]`: the number of leading
    /// entries whose index is the previous one plus one, in the same partition (P3).
    pub fn run_len(refs: &[SlotRef]) -> usize {
        let Some(first) = refs.first() else { return 0 };
        let mut n = 1;
        while n < refs.len()
            && refs[n].part == first.part
            && refs[n].index as usize == first.index as usize + n
        {
            n += 1;
        }
        n
    }

    /// Copies `src` into an owned slot (P1: the caller owns `slot`, checked by `guard`).
    /// Returns false for a stale slot or `src` longer than a slot.
    pub fn write(&self, guard: &PartGuard<'_>, slot: &SlotRef, owner: Owner, src: &[u8]) -> bool {
        if src.len() > self.entry_size || !guard.owns(slot, owner) {
            return false;
        }
        let Some((region, offset)) = self.place(slot.part, slot.index) else { return false };
        let Some(dst) = region.range(offset, src.len()) else { return false };
        // SAFETY: P1: `owner` owns the slot (checked under the partition lock), so no other
        // thread reads or writes these bytes; the range is inside the region (SlabRegion R1).
        unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), dst.as_ptr(), src.len()) };
        true
    }

    /// A copy of the first `len` bytes of a slot owned by `owner` (`None` when stale).
    pub fn read(&self, slot: &SlotRef, owner: Owner, len: usize) -> Option<Vec<u8>> {
        let guard = self.lock(slot.part)?;
        if len > self.entry_size || !guard.owns(slot, owner) {
            return None;
        }
        let (region, offset) = self.place(slot.part, slot.index)?;
        let src = region.range(offset, len.max(1))?;
        // SAFETY: P1: the slot is owned by `owner`, whose thread is the caller or is gone (the
        // caller holds the partition lock, so no transfer happens meanwhile); in range (R1).
        Some(unsafe { std::slice::from_raw_parts(src.as_ptr(), len) }.to_vec())
    }

    /// Frees every slot of `part` owned by `owner`; returns how many.
    pub fn free_owned_by(&self, part: u32, owner: Owner) -> usize {
        let Some(mut g) = self.lock(part) else { return 0 };
        let c = code(owner);
        let mut n = 0;
        for i in 0..g.table.owner.len() {
            if g.table.owner[i] == c {
                g.table.owner[i] = FREE;
                n += 1;
            }
        }
        g.table.in_use -= n as u32;
        n
    }
}

impl PartGuard<'_> {
    /// Takes the next free slot for `owner` (next-fit), or `None` when the partition is full.
    pub fn allocate(&mut self, part: u32, owner: Owner) -> Option<SlotRef> {
        let t = &mut *self.table;
        let cap = t.owner.len() as u32;
        if t.in_use >= cap {
            return None;
        }
        let mut i = t.cursor;
        for _ in 0..cap {
            if t.owner[i as usize] == FREE {
                t.owner[i as usize] = code(owner);
                let g = t.generation[i as usize].wrapping_add(1).max(1);
                t.generation[i as usize] = g;
                t.in_use += 1;
                t.cursor = if i + 1 == cap { 0 } else { i + 1 };
                return Some(SlotRef { part, index: i, generation: g });
            }
            i = if i + 1 == cap { 0 } else { i + 1 };
        }
        None
    }

    /// Whether `slot` is live and owned by `owner` (P2).
    pub fn owns(&self, slot: &SlotRef, owner: Owner) -> bool {
        let i = slot.index as usize;
        self.table.owner.get(i) == Some(&code(owner)) && self.table.generation[i] == slot.generation
    }

    /// Moves a live slot from `from` to `to`; false (no change) when not owned by `from`.
    pub fn transfer(&mut self, slot: &SlotRef, from: Owner, to: Owner) -> bool {
        if !self.owns(slot, from) {
            return false;
        }
        self.table.owner[slot.index as usize] = code(to);
        true
    }

    /// Frees a slot owned by `owner`; false (no change) for any other reference.
    pub fn free(&mut self, slot: &SlotRef, owner: Owner) -> bool {
        if !self.owns(slot, owner) {
            return false;
        }
        self.table.owner[slot.index as usize] = FREE;
        self.table.in_use -= 1;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(shards: usize, cap: u32) -> SlotPool {
        let nodes = vec![NodeId(0); shards];
        let hp = HugepageConfig { enabled: false, ..HugepageConfig::default() };
        SlotPool::new(&nodes, cap, 64, &hp).unwrap()
    }

    #[test]
    fn next_fit_gives_consecutive_runs_and_skips_held_slots() {
        let p = pool(2, 8);
        let part = SlotRef::part_of(1, Direction::Down);
        let mut g = p.lock(part).unwrap();
        let a: Vec<SlotRef> = (0..4).map(|_| g.allocate(part, Owner::Main).unwrap()).collect();
        assert_eq!(SlotPool::run_len(&a), 4);
        assert!(g.free(&a[0], Owner::Main));
        assert!(!g.free(&a[0], Owner::Main), "double free refused");
        assert!(g.transfer(&a[1], Owner::Main, Owner::Shard));
        assert!(!g.free(&a[1], Owner::Main), "the shard owns it now");
        // Next-fit continues at 4..7, then wraps to the freed slot 0, skipping held 1..3.
        let b: Vec<SlotRef> = (0..5).map(|_| g.allocate(part, Owner::Main).unwrap()).collect();
        assert_eq!(b.iter().map(|s| s.index).collect::<Vec<_>>(), vec![4, 5, 6, 7, 0]);
        assert_eq!(SlotPool::run_len(&b), 4);
        assert!(g.allocate(part, Owner::Main).is_none(), "full");
        assert_eq!(b[4].generation, 2, "P2: a reused slot has a new generation");
        assert!(!g.owns(&a[0], Owner::Main), "the old tenant is stale");
    }

    #[test]
    fn partitions_do_not_overlap_and_bytes_round_trip() {
        let p = pool(3, 4);
        let mut seen = std::collections::HashSet::new();
        for part in 0..6 {
            for i in 0..4 {
                let (region, off) = p.place(part, i).unwrap();
                assert!(seen.insert((Arc::as_ptr(region) as usize, off)));
            }
        }
        let part = SlotRef::part_of(2, Direction::Up);
        let s = p.lock(part).unwrap().allocate(part, Owner::Shard).unwrap();
        assert!(p.write(&p.lock(part).unwrap(), &s, Owner::Shard, b"hello"));
        assert!(!p.write(&p.lock(part).unwrap(), &s, Owner::Main, b"x"), "not the owner");
        assert_eq!(p.read(&s, Owner::Shard, 5).unwrap(), b"hello");
        let abs = p.absolute_index(&s).unwrap();
        assert_eq!(p.from_absolute(NodeId(0), abs, s.generation), Some(s));
        assert_eq!(p.free_owned_by(part, Owner::Shard), 1);
        assert_eq!(p.in_use(part), 0);
    }
}
