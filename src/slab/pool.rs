//! `NumaSlabPool`: one [`NumaSlab`] and one [`SlabRegion`] per NUMA node, allocation routing,
//! the hugepage status rules and telemetry (behaviours §7.3, §9).
//!
//! # Routing
//! Try the preferred node; if it is full or not in the pool, scan the other nodes in ascending
//! id order. A success away from the preferred node is a cross-node allocation
//! (`local_exhausted`). Deallocation routes by the handle's node.
//!
//! # Invariants
//! - P1 (nodes): one slab per distinct node, ascending by id; an empty node list means node 0.
//! - P2 (memory): slot `s` of node `n` is the `entry_size` bytes at offset `s × entry_size` in
//!   `n`'s region; the region holds `capacity × entry_size` bytes, so every slot fits (R1).
//! - P3 (access): slot bytes are reachable only through a handle that is live (S3), so a stale or
//!   foreign handle never reaches memory, and a reused slot is never reachable through its
//!   previous tenant's handle.
//! - P4 (hugepage status): at creation, an enabled but misaligned config gives the
//!   alignment-mismatch status (H3), otherwise `evaluate(config, 0, 0)`. An override keeps the
//!   same rules: disabled → re-evaluated with the given counts; enabled but misaligned →
//!   the mismatch status (counts zeroed); otherwise stored exactly as given.
//! - P5 (counters): `cross_node_allocs` counts fallback successes; `hugepage_backed_allocs`
//!   counts successes made while the current status is active.
//! - P6 (ratios): basis points on a 10 000 scale, rounded down, 0 for a zero denominator.

use std::sync::Arc;

use serde_json::json;

use super::region::{HostMemory, RegionReport, SlabRegion};
use super::{NodeId, NumaSlab, SlabError, SlabHandle, SlotIndex};
use crate::topo::hugepage::{self, HugepageConfig, HugepageFallbackReason, HugepageStatus};
use crate::topo::PlacementManifest;

/// The basis-point scale.
pub const BPS_SCALE: u64 = 10_000;

/// A pool's configuration (API.md §7 `NumaSlabConfig`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NumaSlabConfig {
    /// Slots per node (0 is clamped to 1 for the slab, but counts as 0 for alignment, AL2).
    pub slab_capacity: usize,
    /// Bytes per slot.
    pub entry_size_bytes: usize,
    /// Hugepage preferences.
    pub hugepage: HugepageConfig,
}

impl Default for NumaSlabConfig {
    fn default() -> Self {
        Self { slab_capacity: 256, entry_size_bytes: 512, hugepage: HugepageConfig::default() }
    }
}

impl NumaSlabConfig {
    /// `slab_capacity × entry_size_bytes`, `None` on overflow.
    pub fn footprint(&self) -> Option<usize> {
        hugepage::slab_footprint(self.slab_capacity, self.entry_size_bytes)
    }

    /// Whether the footprint suits the hugepage config (H2).
    pub fn alignment_ok(&self) -> bool {
        hugepage::is_aligned(&self.hugepage, self.slab_capacity, self.entry_size_bytes)
    }

    /// The status a pool with this config reports when told `given` (P4); `None` means creation.
    pub fn resolve_hugepage_status(&self, given: Option<&HugepageStatus>) -> HugepageStatus {
        let hp = &self.hugepage;
        if hp.enabled && !self.alignment_ok() {
            return hugepage::alignment_mismatch_status(hp);
        }
        match given {
            None => hugepage::evaluate(hp, 0, 0),
            Some(s) if !hp.enabled => hugepage::evaluate(hp, s.total_pages, s.free_pages),
            Some(s) => s.clone(),
        }
    }
}

/// Why an allocation landed on another node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CrossNodeReason {
    /// The preferred node was full (or not in the pool).
    LocalExhausted,
}

impl CrossNodeReason {
    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::LocalExhausted => "local_exhausted",
        }
    }
}

/// A successful pool allocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolAllocation {
    /// The handle.
    pub handle: SlabHandle,
    /// Set when the slot is not on the preferred node.
    pub cross_node_reason: Option<CrossNodeReason>,
}

/// Where a live handle's bytes are: node position in the pool, byte offset and length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotLocation {
    /// Index of the node in the pool's ascending node list.
    pub node_index: usize,
    /// The slot.
    pub slot: SlotIndex,
    /// Byte offset in the node's region.
    pub offset: usize,
    /// Bytes in the slot.
    pub len: usize,
}

/// The pool (invariants P1–P6).
#[derive(Debug)]
pub struct NumaSlabPool {
    config: NumaSlabConfig,
    slabs: Vec<NumaSlab>,
    regions: Vec<Arc<SlabRegion>>,
    status: HugepageStatus,
    cross_node_allocs: u64,
    hugepage_backed_allocs: u64,
}

impl NumaSlabPool {
    /// One slab and region per distinct node in `node_ids` (ascending; empty → node 0), with
    /// the host's hugepage and NUMA facilities.
    ///
    /// # Errors
    /// See [`NumaSlabPool::with_host`].
    pub fn new(node_ids: &[NodeId], config: NumaSlabConfig) -> Result<Self, SlabError> {
        let mut host = HostMemory::detect(&config.hugepage);
        Self::with_host(node_ids, config, &mut host)
    }

    /// One slab per distinct NUMA node of `manifest`'s bindings, ascending; a manifest without
    /// bindings gives a single node 0 (P1, behaviours §9.1).
    ///
    /// # Errors
    /// As [`NumaSlabPool::with_host`].
    pub fn from_manifest(manifest: &PlacementManifest, config: NumaSlabConfig) -> Result<Self, SlabError> {
        Self::new(&manifest_nodes(manifest), config)
    }

    /// Like [`NumaSlabPool::new`] with an explicit host description (tests, baselines).
    ///
    /// # Errors
    /// [`SlabError::ZeroEntrySize`], [`SlabError::CapacityTooLarge`] (more than `u32::MAX`
    /// slots), [`SlabError::FootprintOverflow`], or [`SlabError::Map`] when a region cannot be
    /// mapped.
    pub fn with_host(
        node_ids: &[NodeId],
        config: NumaSlabConfig,
        host: &mut HostMemory,
    ) -> Result<Self, SlabError> {
        if config.entry_size_bytes == 0 {
            return Err(SlabError::ZeroEntrySize);
        }
        let capacity = config.slab_capacity.max(1);
        let capacity32 = u32::try_from(capacity).map_err(|_| SlabError::CapacityTooLarge(capacity))?;
        let bytes = capacity
            .checked_mul(config.entry_size_bytes)
            .ok_or(SlabError::FootprintOverflow { capacity, entry_size: config.entry_size_bytes })?;
        let mut nodes: Vec<NodeId> = node_ids.to_vec();
        nodes.sort_unstable();
        nodes.dedup();
        if nodes.is_empty() {
            nodes.push(NodeId(0));
        }
        let mut slabs = Vec::with_capacity(nodes.len());
        let mut regions = Vec::with_capacity(nodes.len());
        for node in nodes {
            regions.push(Arc::new(SlabRegion::map(node, bytes, &config.hugepage, host)?));
            slabs.push(NumaSlab::new(node, capacity32));
        }
        Ok(Self {
            config,
            slabs,
            regions,
            status: config.resolve_hugepage_status(None),
            cross_node_allocs: 0,
            hugepage_backed_allocs: 0,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &NumaSlabConfig {
        &self.config
    }

    /// Number of nodes (slabs).
    pub fn node_count(&self) -> usize {
        self.slabs.len()
    }

    /// The node ids, ascending (P1).
    pub fn node_ids(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.slabs.iter().map(NumaSlab::node_id)
    }

    /// The slab of a node.
    pub fn slab(&self, node: NodeId) -> Option<&NumaSlab> {
        self.node_index(node).map(|i| &self.slabs[i])
    }

    /// Position of `node` in the ascending node list.
    #[inline]
    pub fn node_index(&self, node: NodeId) -> Option<usize> {
        // Pools have a handful of nodes: a linear scan beats a binary search here.
        self.slabs.iter().position(|s| s.node_id() == node)
    }

    /// The region of the node at `node_index` (shared, so memory handed out elsewhere can keep
    /// it mapped, R2).
    pub fn region(&self, node_index: usize) -> Option<&Arc<SlabRegion>> {
        self.regions.get(node_index)
    }

    /// Reports of every node's region, ascending by node.
    pub fn region_reports(&self) -> Vec<RegionReport> {
        self.regions.iter().map(|r| r.report()).collect()
    }

    /// Faults in every page of every region (so smaps shows the real backing and later first
    /// touches cost nothing). Contents are unchanged.
    pub fn prefault(&mut self) {
        for r in &self.regions {
            // SAFETY: `&mut self` means no slice from slot_bytes/slot_bytes_mut is alive, and the
            // pool is not shared across threads while borrowed mutably.
            unsafe { r.prefault() };
        }
    }

    /// Allocates on `preferred`, else on the other nodes ascending (cross-node, P5).
    #[inline]
    pub fn allocate(&mut self, preferred: NodeId) -> Option<PoolAllocation> {
        // The local hit is the hot path: keep it small enough to inline into callers, so the
        // handle travels in registers; the fallback scan lives out of line.
        if let Some(slab) = self.slabs.iter_mut().find(|s| s.node_id() == preferred) {
            if let Some(handle) = slab.allocate() {
                self.hugepage_backed_allocs += u64::from(self.status.active);
                return Some(PoolAllocation { handle, cross_node_reason: None });
            }
        }
        self.allocate_elsewhere(preferred)
    }

    /// The fallback of [`NumaSlabPool::allocate`]: every node but `preferred`, ascending.
    #[cold]
    #[inline(never)]
    fn allocate_elsewhere(&mut self, preferred: NodeId) -> Option<PoolAllocation> {
        let handle =
            self.slabs.iter_mut().filter(|s| s.node_id() != preferred).find_map(NumaSlab::allocate)?;
        self.cross_node_allocs += 1;
        self.hugepage_backed_allocs += u64::from(self.status.active);
        Some(PoolAllocation { handle, cross_node_reason: Some(CrossNodeReason::LocalExhausted) })
    }

    /// Whether `handle` is live (S3).
    #[inline]
    pub fn is_live(&self, handle: &SlabHandle) -> bool {
        self.node_index(handle.node_id).is_some_and(|i| self.slabs[i].is_live(handle))
    }

    /// Frees a live handle; false for a stale generation, a double free, an unknown node or slot.
    #[inline]
    pub fn deallocate(&mut self, handle: &SlabHandle) -> bool {
        match self.node_index(handle.node_id) {
            Some(i) => self.slabs[i].deallocate(handle),
            None => false,
        }
    }

    /// Frees a live handle's slot for good (S7): it is never handed out again. False for any
    /// other handle.
    pub fn retire(&mut self, handle: &SlabHandle) -> bool {
        match self.node_index(handle.node_id) {
            Some(i) => self.slabs[i].retire(handle),
            None => false,
        }
    }

    /// Where a live handle's bytes are, `None` for any other handle (P2, P3).
    #[inline]
    pub fn locate(&self, handle: &SlabHandle) -> Option<SlotLocation> {
        let node_index = self.node_index(handle.node_id)?;
        if !self.slabs[node_index].is_live(handle) {
            return None;
        }
        let len = self.config.entry_size_bytes;
        // Cannot overflow: slot < capacity and capacity × len was checked at creation (P2).
        let offset = handle.slot_index.0 as usize * len;
        Some(SlotLocation { node_index, slot: handle.slot_index, offset, len })
    }

    /// The bytes of a live slot; `None` for a stale or foreign handle (P3).
    pub fn slot_bytes(&self, handle: &SlabHandle) -> Option<&[u8]> {
        let loc = self.locate(handle)?;
        let p = self.regions[loc.node_index].range(loc.offset, loc.len)?;
        // SAFETY: P2/R1: the range is inside the region, which lives as long as `&self`; R3: the
        // bytes are initialised; `&self` excludes `slot_bytes_mut` for the borrow's lifetime.
        Some(unsafe { std::slice::from_raw_parts(p.as_ptr(), loc.len) })
    }

    /// The bytes of a live slot, writable; `None` for a stale or foreign handle (P3).
    pub fn slot_bytes_mut(&mut self, handle: &SlabHandle) -> Option<&mut [u8]> {
        let loc = self.locate(handle)?;
        let p = self.regions[loc.node_index].range(loc.offset, loc.len)?;
        // SAFETY: as in slot_bytes; `&mut self` makes this the only Rust reference into the pool's
        // memory for the borrow's lifetime, and distinct live slots never overlap (P2).
        Some(unsafe { std::slice::from_raw_parts_mut(p.as_ptr(), loc.len) })
    }

    /// The current hugepage status.
    pub fn hugepage_status(&self) -> &HugepageStatus {
        &self.status
    }

    /// Replaces the status under the rules of P4.
    pub fn set_hugepage_status(&mut self, status: &HugepageStatus) {
        self.status = self.config.resolve_hugepage_status(Some(status));
    }

    /// A telemetry snapshot.
    pub fn telemetry(&self) -> SlabTelemetry {
        let per_node: Vec<NodeTelemetry> = self
            .slabs
            .iter()
            .map(|s| NodeTelemetry {
                node_id: s.node_id(),
                capacity: s.capacity(),
                in_use: s.in_use(),
                total_allocs: s.total_allocs(),
                total_frees: s.total_frees(),
                high_water_mark: s.high_water_mark(),
                retired: s.retired(),
            })
            .collect();
        SlabTelemetry {
            config: self.config,
            hugepage: self.status.clone(),
            cross_node_allocs: self.cross_node_allocs,
            hugepage_backed_allocs: self.hugepage_backed_allocs,
            per_node,
        }
    }
}

/// The NUMA nodes of a manifest's bindings as slab node ids (in binding order, duplicates kept:
/// the pool sorts and de-duplicates them, P1). Topology, placement and slabs share one
/// [`NodeId`], so every node a manifest names is one a slab can hold.
pub fn manifest_nodes(manifest: &PlacementManifest) -> Vec<NodeId> {
    manifest.bindings().iter().map(|b| b.numa_node).collect()
}

/// One node's counters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeTelemetry {
    /// The node.
    pub node_id: NodeId,
    /// Slots.
    pub capacity: u32,
    /// Live slots.
    pub in_use: u32,
    /// Successful allocations.
    pub total_allocs: u64,
    /// Successful frees.
    pub total_frees: u64,
    /// Peak `in_use`.
    pub high_water_mark: u32,
    /// Slots retired for good (S7); not part of `to_json`, whose keys API.md fixes.
    pub retired: u32,
}

/// Pressure band of a basis-point value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PressureBand {
    /// < 2500.
    Low,
    /// 2500 ..= 7499.
    Medium,
    /// >= 7500.
    High,
}

impl PressureBand {
    /// The band of `bps`.
    pub fn of(bps: u64) -> Self {
        if bps >= 7_500 {
            Self::High
        } else if bps >= 2_500 {
            Self::Medium
        } else {
            Self::Low
        }
    }

    /// The stable code.
    pub fn code(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// `num / den` in basis points, floored; 0 when `den` is 0 (P6).
pub fn bps(num: u64, den: u64) -> u64 {
    if den == 0 {
        0
    } else {
        (u128::from(num) * u128::from(BPS_SCALE) / u128::from(den)) as u64
    }
}

/// A telemetry snapshot; derived values are methods, `to_json` is the contract of API.md §7.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlabTelemetry {
    /// The pool's config.
    pub config: NumaSlabConfig,
    /// The hugepage status.
    pub hugepage: HugepageStatus,
    /// Fallback successes.
    pub cross_node_allocs: u64,
    /// Successes while hugepages were active.
    pub hugepage_backed_allocs: u64,
    /// Per node, ascending.
    pub per_node: Vec<NodeTelemetry>,
}

impl SlabTelemetry {
    /// Σ total_allocs.
    pub fn total_allocs(&self) -> u64 {
        self.per_node.iter().map(|n| n.total_allocs).sum()
    }
    /// Σ total_frees.
    pub fn total_frees(&self) -> u64 {
        self.per_node.iter().map(|n| n.total_frees).sum()
    }
    /// Σ retired slots (S7).
    pub fn total_retired(&self) -> u64 {
        self.per_node.iter().map(|n| u64::from(n.retired)).sum()
    }
    /// Σ in_use.
    pub fn total_in_use(&self) -> u64 {
        self.per_node.iter().map(|n| u64::from(n.in_use)).sum()
    }
    /// min(cross_node_allocs, total_allocs).
    pub fn remote_allocs(&self) -> u64 {
        self.cross_node_allocs.min(self.total_allocs())
    }
    /// total − remote.
    pub fn local_allocs(&self) -> u64 {
        self.total_allocs() - self.remote_allocs()
    }
    fn capacity(&self) -> u64 {
        self.per_node.iter().map(|n| u64::from(n.capacity)).sum()
    }
    /// The remote ratio (also the TLB-miss pressure proxy).
    pub fn remote_bps(&self) -> u64 {
        bps(self.remote_allocs(), self.total_allocs())
    }
    /// The local ratio.
    pub fn local_bps(&self) -> u64 {
        bps(self.local_allocs(), self.total_allocs())
    }
    /// min(backed, total) / total.
    pub fn hugepage_hit_rate_bps(&self) -> u64 {
        bps(self.hugepage_backed_allocs.min(self.total_allocs()), self.total_allocs())
    }
    /// Σ high_water / Σ capacity.
    pub fn cache_miss_pressure_bps(&self) -> u64 {
        bps(self.per_node.iter().map(|n| u64::from(n.high_water_mark)).sum(), self.capacity())
    }
    /// Σ in_use / Σ capacity.
    pub fn occupancy_pressure_bps(&self) -> u64 {
        bps(self.total_in_use(), self.capacity())
    }

    /// The telemetry JSON with exactly the keys of API.md §7.
    pub fn to_json(&self) -> serde_json::Value {
        let tlb = self.remote_bps();
        let cache = self.cache_miss_pressure_bps();
        let occ = self.occupancy_pressure_bps();
        let per_node: Vec<_> = self
            .per_node
            .iter()
            .map(|n| {
                json!({
                    "node_id": n.node_id.0,
                    "capacity": n.capacity,
                    "in_use": n.in_use,
                    "total_allocs": n.total_allocs,
                    "total_frees": n.total_frees,
                    "high_water_mark": n.high_water_mark,
                })
            })
            .collect();
        json!({
            "node_count": self.per_node.len(),
            "total_allocs": self.total_allocs(),
            "total_frees": self.total_frees(),
            "total_in_use": self.total_in_use(),
            "cross_node_allocs": self.cross_node_allocs,
            "hugepage_backed_allocs": self.hugepage_backed_allocs,
            "local_allocs": self.local_allocs(),
            "remote_allocs": self.remote_allocs(),
            "allocation_ratio_bps": { "scale": BPS_SCALE, "local": self.local_bps(), "remote": tlb },
            "hugepage_hit_rate_bps": { "scale": BPS_SCALE, "value": self.hugepage_hit_rate_bps() },
            "latency_proxies_bps": {
                "scale": BPS_SCALE,
                "tlb_miss_pressure": tlb,
                "cache_miss_pressure": cache,
                "occupancy_pressure": occ,
            },
            "pressure_bands": {
                "tlb_miss": PressureBand::of(tlb).code(),
                "cache_miss": PressureBand::of(cache).code(),
                "occupancy": PressureBand::of(occ).code(),
            },
            "fallback_reasons": {
                "cross_node": (self.cross_node_allocs > 0).then_some(CrossNodeReason::LocalExhausted.code()),
                "hugepage": self.hugepage.fallback_reason.map(HugepageFallbackReason::code),
            },
            "config": {
                "slab_capacity": self.config.slab_capacity,
                "entry_size_bytes": self.config.entry_size_bytes,
                "hugepage_enabled": self.config.hugepage.enabled,
                "hugepage_page_size_bytes": self.config.hugepage.page_size_bytes,
            },
            "hugepage": self.hugepage.to_json(),
            "per_node": per_node,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_and_bps() {
        assert_eq!(PressureBand::of(0), PressureBand::Low);
        assert_eq!(PressureBand::of(937), PressureBand::Low);
        assert_eq!(PressureBand::of(2_499), PressureBand::Low);
        assert_eq!(PressureBand::of(2_500), PressureBand::Medium);
        assert_eq!(PressureBand::of(5_000), PressureBand::Medium);
        assert_eq!(PressureBand::of(7_499), PressureBand::Medium);
        assert_eq!(PressureBand::of(7_500), PressureBand::High);
        assert_eq!(PressureBand::of(10_000), PressureBand::High);
        assert_eq!(bps(3, 32), 937);
        assert_eq!(bps(5, 0), 0);
        assert_eq!(bps(u64::MAX, u64::MAX), 10_000);
    }

    #[test]
    fn resolve_status_for_overflowing_config_hp_j() {
        // HP-j: 2 × usize::MAX cannot be mapped (see the integration tests for the pool error),
        // but the status rule itself must give the zeroed mismatch status without panicking.
        let cfg = NumaSlabConfig {
            slab_capacity: 2,
            entry_size_bytes: usize::MAX,
            hugepage: HugepageConfig { enabled: true, page_size_bytes: 4096 },
        };
        assert_eq!(cfg.footprint(), None);
        let given = HugepageStatus {
            total_pages: 512,
            free_pages: 256,
            page_size_bytes: 4096,
            active: true,
            fallback_reason: None,
            thp_mode: None,
        };
        let s = cfg.resolve_hugepage_status(Some(&given));
        assert_eq!(
            (s.active, s.fallback_reason, s.total_pages, s.free_pages),
            (false, Some(HugepageFallbackReason::AlignmentMismatch), 0, 0)
        );
    }
}
