//! NUMA slabs: fixed-size slots in real memory, one region per NUMA node, handed out by
//! generation-checked handles (API.md §7, behaviours §8–§9).
//!
//! # What it owns
//! - [`NumaSlab`]: the slot bookkeeping of one node (which slots are live, their generations,
//!   counters). It holds no memory itself, so it is also the plain `NumaSlab` of the JS API.
//! - [`NumaSlabPool`] (pool.rs): one slab plus one [`SlabRegion`] per node, allocation routing,
//!   hugepage status rules and telemetry.
//! - [`SlabRegion`] (region.rs): the mapping. It is the only code that calls mmap/madvise/mbind.
//!
//! # Algorithm
//! A slab is a free list over slot indices with a per-slot generation counter, the classic
//! generational-index scheme (as in generational arenas and ECS entity ids): a handle is
//! (node, slot, generation) and is live only while the slot is allocated with that exact
//! generation, so a handle kept past its free (ABA) is refused rather than aliasing the next
//! tenant. Fresh slots are handed out in index order; freed ones go on a LIFO stack, so the most
//! recently used (cache-warm) slot is reused first.
//!
//! # Invariants
//! - S1 (capacity): a slab has at least one slot (capacity 0 is clamped to 1).
//! - S2 (generations): a slot's own count starts at 0 and goes up by one on every allocation of
//!   that slot, so the first handle of a slot has count 1 (generation `tag × 2^32 + 1`, S6).
//! - S3 (liveness): a handle is live iff its node is the slab's, its slot is in range, the slot
//!   is allocated, and the generations are equal. Deallocate checks in that order and changes
//!   nothing when any check fails.
//! - S4 (order): fresh slots go out as 0, 1, 2, …; freed slots are reused most recently freed
//!   first; a slot is never on the free stack and allocated at once.
//! - S5 (counters): `in_use` = allocated slots; `high_water_mark` = the largest `in_use` ever
//!   seen (never decreases); `total_allocs` / `total_frees` count successful calls.
//! - S6 (identity): every slab gets a tag (1 ..= 2^21 − 1, from a process-wide counter) and a
//!   handle's generation is `tag × 2^32 + n`, where n is the slot's own allocation count. A
//!   handle of another slab or pool with the same node and slot numbers therefore carries
//!   another generation and is refused by S3, and every generation is a safe JS integer. Tags
//!   repeat only after 2^21 − 1 slabs have been created.
//! - S7 (retirement): a slot whose own count reached 2^32 − 1, or that [`NumaSlab::retire`] was
//!   asked to free, is never handed out again (no generation could tell its next tenant from an
//!   old handle, or memory of it may still be reachable); `retired` counts them and capacity
//!   shrinks by one for each.
//! - S8 (lazy bookkeeping): per-slot state exists only for slots handed out at least once, so a
//!   slab's capacity costs nothing until it is used; growth uses `try_reserve`, and a slab whose
//!   bookkeeping cannot grow reports itself full.

pub mod pool;
pub mod region;

use std::sync::atomic::{AtomicU64, Ordering};

use thiserror::Error;

pub use pool::{
    bps, manifest_nodes, CrossNodeReason, NodeTelemetry, NumaSlabConfig, NumaSlabPool, PoolAllocation,
    PressureBand, SlabTelemetry, SlotLocation, BPS_SCALE,
};
pub use region::{HostMemory, NumaBinding, RegionBacking, RegionReport, SlabRegion};

pub use crate::topo::NodeId;

/// A slot's index within its node's slab.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct SlotIndex(pub u32);

/// A slot reference: live only while the slot holds this generation (S3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SlabHandle {
    /// The node whose slab owns the slot.
    pub node_id: NodeId,
    /// The slot within that slab.
    pub slot_index: SlotIndex,
    /// The allocation's generation (1 for the first allocation of a slot, S2).
    pub generation: u64,
}

/// Errors of the slab core.
#[derive(Debug, Error)]
pub enum SlabError {
    /// `capacity × entry_size` does not fit in `usize`.
    #[error("slab footprint {capacity} × {entry_size} bytes overflows")]
    FootprintOverflow {
        /// Slots per slab.
        capacity: usize,
        /// Bytes per slot.
        entry_size: usize,
    },
    /// A slab holds at most `u32::MAX` slots (slot indices are `u32`).
    #[error("slab capacity {0} exceeds {max}", max = u32::MAX)]
    CapacityTooLarge(usize),
    /// Slots must hold at least one byte.
    #[error("entry size must be at least 1 byte")]
    ZeroEntrySize,
    /// The kernel refused the mapping.
    #[error("mapping {bytes} bytes for {node} failed: {source}")]
    Map {
        /// The node the region was for.
        node: NodeId,
        /// The requested length.
        bytes: usize,
        /// The OS error.
        source: std::io::Error,
    },
}

#[derive(Debug, Clone, Copy, Default)]
struct SlotState {
    generation: u64,
    live: bool,
}

/// Largest per-slot allocation count (S7): the low 32 bits of a generation.
const LOCAL_GENERATION_MAX: u64 = u32::MAX as u64;
/// Tags are 1 ..= 2^21 − 1, so `tag × 2^32 + n` stays below 2^53 (S6).
const TAG_LIMIT: u64 = 1 << 21;

static NEXT_TAG: AtomicU64 = AtomicU64::new(0);

/// The next slab tag (S6), `tag × 2^32` ready to be or-ed into generations.
fn next_tag_base() -> u64 {
    let n = NEXT_TAG.fetch_add(1, Ordering::Relaxed);
    (n % (TAG_LIMIT - 1) + 1) << 32
}

/// One node's slot bookkeeping (invariants S1–S8).
#[derive(Debug, Clone)]
pub struct NumaSlab {
    node_id: NodeId,
    /// `tag × 2^32` (S6): or-ed into every generation this slab hands out.
    tag_base: u64,
    /// Number of slots (S1); `slots` grows up to it on demand (S8).
    capacity: u32,
    /// Slots retired for good (S7).
    retired: u32,
    /// State of the slots handed out so far (`next_fresh` of them, S8).
    slots: Vec<SlotState>,
    /// Freed slots, most recently freed last (S4).
    free: Vec<u32>,
    /// The next never-used slot; slots `>= next_fresh` have never been handed out.
    next_fresh: u32,
    in_use: u32,
    high_water_mark: u32,
    total_allocs: u64,
    total_frees: u64,
}

impl NumaSlab {
    /// A slab of `capacity` slots for `node_id`; capacity 0 becomes 1 (S1). Allocates nothing
    /// up front (S8), so any `u32` capacity is cheap until used.
    pub fn new(node_id: NodeId, capacity: u32) -> Self {
        Self {
            node_id,
            tag_base: next_tag_base(),
            capacity: capacity.max(1),
            retired: 0,
            slots: Vec::new(),
            free: Vec::new(),
            next_fresh: 0,
            in_use: 0,
            high_water_mark: 0,
            total_allocs: 0,
            total_frees: 0,
        }
    }

    /// The node this slab belongs to.
    pub fn node_id(&self) -> NodeId {
        self.node_id
    }

    /// Number of slots (>= 1, S1), retired ones included.
    pub fn capacity(&self) -> u32 {
        self.capacity
    }

    /// Slots retired for good (S7).
    pub fn retired(&self) -> u32 {
        self.retired
    }

    /// Slots currently allocated.
    pub fn in_use(&self) -> u32 {
        self.in_use
    }

    /// Whether another allocation would succeed.
    pub fn has_capacity(&self) -> bool {
        self.in_use + self.retired < self.capacity
    }

    /// The largest `in_use` seen so far (S5).
    pub fn high_water_mark(&self) -> u32 {
        self.high_water_mark
    }

    /// Successful allocations.
    pub fn total_allocs(&self) -> u64 {
        self.total_allocs
    }

    /// Successful deallocations.
    pub fn total_frees(&self) -> u64 {
        self.total_frees
    }

    /// Takes a slot: the most recently freed one, else the next fresh one (S4); `None` when full.
    #[inline]
    pub fn allocate(&mut self) -> Option<SlabHandle> {
        let slot = match self.free.pop() {
            Some(s) => s,
            None if self.next_fresh < self.capacity => self.fresh_slot()?,
            None => return None,
        };
        let state = &mut self.slots[slot as usize];
        debug_assert!(!state.live, "S4: a free slot is never live");
        debug_assert!(state.generation < LOCAL_GENERATION_MAX, "S7: an exhausted slot is never free");
        state.generation += 1;
        state.live = true;
        let generation = self.tag_base | state.generation;
        self.in_use += 1;
        self.high_water_mark = self.high_water_mark.max(self.in_use);
        self.total_allocs += 1;
        Some(SlabHandle { node_id: self.node_id, slot_index: SlotIndex(slot), generation })
    }

    /// Whether `handle` is live in this slab (S3).
    #[inline]
    pub fn is_live(&self, handle: &SlabHandle) -> bool {
        handle.node_id == self.node_id
            && self
                .slots
                .get(handle.slot_index.0 as usize)
                .is_some_and(|s| s.live && (self.tag_base | s.generation) == handle.generation)
    }

    /// The next never-used slot, growing the bookkeeping with `try_reserve` (S8); `None` when
    /// the host cannot provide it (the slab then reports itself full).
    #[cold]
    fn fresh_slot(&mut self) -> Option<u32> {
        if self.slots.len() == self.slots.capacity() {
            // Amortised doubling, capped at the slab's capacity.
            let want = self.slots.len().max(16).min(self.capacity as usize - self.slots.len());
            self.slots.try_reserve(want).ok()?;
        }
        self.slots.push(SlotState::default());
        self.next_fresh += 1;
        Some(self.next_fresh - 1)
    }

    /// Frees the slot of a live handle; false (and no change) otherwise (S3). A slot whose
    /// count is exhausted is retired instead of reused (S7).
    #[inline]
    pub fn deallocate(&mut self, handle: &SlabHandle) -> bool {
        self.release(handle, false)
    }

    /// Frees a live handle's slot for good: it is never handed out again (S7). False (and no
    /// change) for a handle that is not live.
    pub fn retire(&mut self, handle: &SlabHandle) -> bool {
        self.release(handle, true)
    }

    #[inline]
    fn release(&mut self, handle: &SlabHandle, retire: bool) -> bool {
        if !self.is_live(handle) {
            return false;
        }
        let state = &mut self.slots[handle.slot_index.0 as usize];
        state.live = false;
        if retire || state.generation >= LOCAL_GENERATION_MAX {
            self.retired += 1;
        } else {
            self.free.push(handle.slot_index.0);
        }
        self.in_use -= 1;
        self.total_frees += 1;
        true
    }

    /// The generation the slot's latest handle carried (the slab's tag alone before its first
    /// allocation), `None` out of range.
    pub fn generation(&self, slot: SlotIndex) -> Option<u64> {
        if slot.0 >= self.capacity {
            return None;
        }
        Some(self.tag_base | self.slots.get(slot.0 as usize).map_or(0, |s| s.generation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ns1_first_handle_has_generation_1() {
        let mut s = NumaSlab::new(NodeId(0), 4);
        let h = s.allocate().expect("capacity");
        assert_eq!((h.node_id, h.generation & 0xffff_ffff), (NodeId(0), 1));
        assert!(h.generation >> 32 >= 1 && h.generation < 1 << 53, "S6: tagged, a safe JS integer");
        assert!(s.deallocate(&h));
        assert_eq!(s.in_use(), 0);
    }

    #[test]
    fn ns2_full_slab_refuses() {
        let mut s = NumaSlab::new(NodeId(0), 2);
        assert!(s.allocate().is_some());
        assert!(s.allocate().is_some());
        assert!(s.allocate().is_none());
    }

    #[test]
    fn ns3_stale_handle_after_reuse() {
        let mut s = NumaSlab::new(NodeId(0), 2);
        let v1 = s.allocate().expect("slot");
        assert!(s.deallocate(&v1));
        let v2 = s.allocate().expect("slot");
        assert_eq!((v2.slot_index, v2.generation), (v1.slot_index, v1.generation + 1));
        assert!(!s.deallocate(&v1));
        assert!(s.is_live(&v2));
    }

    #[test]
    fn ns4_double_free() {
        let mut s = NumaSlab::new(NodeId(0), 2);
        let h = s.allocate().expect("slot");
        assert!(s.deallocate(&h));
        assert!(!s.deallocate(&h));
        assert_eq!(s.total_frees(), 1);
    }

    #[test]
    fn ns5_wrong_node_keeps_slot_allocated() {
        let mut s = NumaSlab::new(NodeId(0), 2);
        let h = s.allocate().expect("slot");
        let foreign = SlabHandle { node_id: NodeId(99), ..h };
        assert!(!s.deallocate(&foreign));
        assert_eq!(s.in_use(), 1);
        assert!(s.is_live(&h));
    }

    #[test]
    fn ns6_high_water_mark_never_decreases() {
        let mut s = NumaSlab::new(NodeId(0), 8);
        let a = s.allocate().expect("a");
        let b = s.allocate().expect("b");
        let c = s.allocate().expect("c");
        assert_eq!(s.high_water_mark(), 3);
        assert!(s.deallocate(&a) && s.deallocate(&b));
        assert_eq!(s.high_water_mark(), 3);
        assert!(s.deallocate(&c));
        let _d = s.allocate().expect("d");
        assert_eq!(s.high_water_mark(), 3);
    }

    #[test]
    fn ns7_in_use_and_has_capacity() {
        let mut s = NumaSlab::new(NodeId(0), 3);
        assert_eq!((s.in_use(), s.has_capacity()), (0, true));
        let h1 = s.allocate().expect("1");
        assert_eq!((s.in_use(), s.has_capacity()), (1, true));
        let h2 = s.allocate().expect("2");
        let _h3 = s.allocate().expect("3");
        assert_eq!((s.in_use(), s.has_capacity()), (3, false));
        assert!(s.allocate().is_none());
        assert!(s.deallocate(&h1));
        assert_eq!((s.in_use(), s.has_capacity()), (2, true));
        assert!(s.deallocate(&h2));
        assert_eq!(s.in_use(), 1);
    }

    #[test]
    fn ns8_capacity_zero_is_one() {
        let mut s = NumaSlab::new(NodeId(3), 0);
        assert_eq!(s.capacity(), 1);
        assert!(s.allocate().is_some());
        assert!(s.allocate().is_none());
    }

    #[test]
    fn s4_fresh_in_order_then_lifo_reuse() {
        let mut s = NumaSlab::new(NodeId(0), 4);
        let hs: Vec<_> = (0..4).map(|_| s.allocate().expect("slot")).collect();
        assert_eq!(hs.iter().map(|h| h.slot_index.0).collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert!(s.deallocate(&hs[1]) && s.deallocate(&hs[3]) && s.deallocate(&hs[0]));
        let order: Vec<_> = (0..3).map(|_| s.allocate().expect("slot").slot_index.0).collect();
        assert_eq!(order, [0, 3, 1]);
    }

    #[test]
    fn s3_checks_range_and_generation() {
        let mut s = NumaSlab::new(NodeId(0), 2);
        let h = s.allocate().expect("slot");
        assert!(!s.deallocate(&SlabHandle { slot_index: SlotIndex(u32::MAX), ..h }));
        assert!(!s.deallocate(&SlabHandle { slot_index: SlotIndex(1), ..h }));
        assert!(!s.deallocate(&SlabHandle { generation: h.generation + 7, ..h }));
        assert!(!s.deallocate(&SlabHandle { generation: 1, ..h }), "S6: the untagged count");
        assert!(!s.deallocate(&SlabHandle { generation: 0, ..h }));
        assert_eq!(s.in_use(), 1);
        assert!(s.deallocate(&h));
    }

    #[test]
    fn s7_exhausted_slot_is_retired_not_reused() {
        let mut s = NumaSlab::new(NodeId(0), 2);
        let first = s.allocate().expect("slot");
        assert!(s.deallocate(&first));
        s.slots[0].generation = LOCAL_GENERATION_MAX - 1;
        let h = s.allocate().expect("slot");
        assert_eq!(h.generation & 0xffff_ffff, LOCAL_GENERATION_MAX);
        assert!(s.deallocate(&h));
        assert_eq!(s.retired(), 1);
        // Slot 0 never comes back: the next allocation is slot 1, then the slab is full.
        assert_eq!(s.allocate().expect("slot 1").slot_index, SlotIndex(1));
        assert!(s.allocate().is_none());
        assert!(!s.has_capacity());
    }

    #[test]
    fn s6_handles_of_another_slab_are_refused() {
        let mut a = NumaSlab::new(NodeId(0), 4);
        let mut b = NumaSlab::new(NodeId(0), 4);
        let ha = a.allocate().expect("a");
        let hb = b.allocate().expect("b");
        assert_eq!((ha.node_id, ha.slot_index), (hb.node_id, hb.slot_index));
        assert_ne!(ha.generation, hb.generation);
        assert!(!b.deallocate(&ha), "a foreign handle with matching numbers");
        assert!(b.is_live(&hb));
        assert!(a.deallocate(&ha));
    }

    #[test]
    fn s7_retire_frees_for_good() {
        let mut s = NumaSlab::new(NodeId(0), 1);
        let h = s.allocate().expect("slot");
        assert!(s.retire(&h));
        assert!(!s.retire(&h));
        assert_eq!((s.in_use(), s.retired(), s.total_frees()), (0, 1, 1));
        assert!(s.allocate().is_none());
    }

    #[test]
    fn s8_huge_capacity_costs_nothing_up_front() {
        let mut s = NumaSlab::new(NodeId(0), u32::MAX);
        assert_eq!(s.capacity(), u32::MAX);
        assert_eq!(s.slots.capacity(), 0);
        let hs: Vec<_> = (0..100).map(|_| s.allocate().expect("slot")).collect();
        assert_eq!(hs[99].slot_index, SlotIndex(99));
        assert!(s.slots.capacity() < 1024);
        assert_eq!(s.generation(SlotIndex(u32::MAX - 1)), Some(s.tag_base));
        assert!(!s.is_live(&SlabHandle { slot_index: SlotIndex(500), ..hs[0] }));
    }

    #[test]
    fn counters_per_slab() {
        let mut s = NumaSlab::new(NodeId(1), 2);
        let a = s.allocate().expect("a");
        let _ = s.allocate();
        let _ = s.allocate(); // refused: not counted
        assert!(s.deallocate(&a));
        assert!(!s.deallocate(&a)); // refused: not counted
        assert_eq!((s.total_allocs(), s.total_frees(), s.in_use(), s.high_water_mark()), (2, 1, 1, 2));
    }
}
