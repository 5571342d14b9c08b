//! Integration tests of the slab core against behaviours §7.3 and §9 (ids cited per test), plus
//! the real memory behind the slots and a THP smoke test that reports what the host gave.

use seqloop::slab::{
    CrossNodeReason, HostMemory, NodeId, NumaBinding, NumaSlabConfig, NumaSlabPool, RegionBacking, SlabError,
    SlabHandle, SlotIndex,
};
use seqloop::topo::hugepage::{self, HugepageConfig, HugepageFallbackReason, HugepageStatus};

const MIB2: usize = 2 * 1024 * 1024;

fn cfg(capacity: usize, entry: usize, page: usize, enabled: bool) -> NumaSlabConfig {
    NumaSlabConfig {
        slab_capacity: capacity,
        entry_size_bytes: entry,
        hugepage: HugepageConfig { enabled, page_size_bytes: page },
    }
}

fn nodes(ids: &[u32]) -> Vec<NodeId> {
    ids.iter().copied().map(NodeId).collect()
}

fn pool(ids: &[u32], config: NumaSlabConfig) -> NumaSlabPool {
    NumaSlabPool::new(&nodes(ids), config).expect("pool")
}

fn given(total: u64, free: u64, page: usize) -> HugepageStatus {
    HugepageStatus {
        total_pages: total,
        free_pages: free,
        page_size_bytes: page,
        active: true,
        fallback_reason: None,
        thp_mode: None,
    }
}

fn status(p: &NumaSlabPool) -> (bool, Option<HugepageFallbackReason>, u64, u64) {
    let s = p.hugepage_status();
    (s.active, s.fallback_reason, s.total_pages, s.free_pages)
}

use HugepageFallbackReason::{AlignmentMismatch, DetectionUnavailable, Disabled};

// ---- §9.1 construction -------------------------------------------------------------------

#[test]
fn po1_po3_one_slab_per_distinct_node_ascending() {
    // PO1: plan(4, {(0,0),(1,0),(2,1),(3,1)}) has nodes 0,0,1,1.
    assert_eq!(pool(&[0, 0, 1, 1], NumaSlabConfig::default()).node_count(), 2);
    // PO3
    let p = pool(&[2, 0, 1], NumaSlabConfig::default());
    assert_eq!(p.node_count(), 3);
    assert_eq!(p.node_ids().collect::<Vec<_>>(), nodes(&[0, 1, 2]));
}

#[test]
fn po2_empty_node_list_is_node_0() {
    let p = pool(&[], NumaSlabConfig::default());
    assert_eq!(p.node_count(), 1);
    assert_eq!(p.node_ids().collect::<Vec<_>>(), nodes(&[0]));
}

#[test]
fn construction_errors() {
    let err = NumaSlabPool::new(&nodes(&[0]), cfg(4, 0, 4096, false));
    assert!(matches!(err, Err(SlabError::ZeroEntrySize)));
    let err = NumaSlabPool::new(&nodes(&[0]), cfg(2, usize::MAX, 4096, true));
    assert!(matches!(err, Err(SlabError::FootprintOverflow { .. })));
    let err = NumaSlabPool::new(&nodes(&[0]), cfg(u32::MAX as usize + 1, 1, 4096, false));
    assert!(matches!(err, Err(SlabError::CapacityTooLarge(_))));
}

#[test]
fn capacity_zero_is_clamped_per_slab() {
    let mut p = pool(&[0], cfg(0, 1024, 2048, true));
    assert_eq!(p.slab(NodeId(0)).map(|s| s.capacity()), Some(1));
    assert!(p.allocate(NodeId(0)).is_some());
    assert!(p.allocate(NodeId(0)).is_none());
}

// ---- §9.2 allocation and routing --------------------------------------------------------

#[test]
fn pa1_preferred_node_is_used() {
    let mut p = pool(&[0, 1], cfg(8, 256, MIB2, false));
    let a = p.allocate(NodeId(1)).expect("alloc");
    assert_eq!(a.handle.node_id, NodeId(1));
    assert_eq!(a.cross_node_reason, None);
}

#[test]
fn pa2_tj1_cross_node_fallback_and_telemetry() {
    let mut p = pool(&[0, 1], cfg(1, 64, MIB2, false));
    let a = p.allocate(NodeId(0)).expect("first");
    assert_eq!((a.handle.node_id, a.cross_node_reason), (NodeId(0), None));
    let b = p.allocate(NodeId(0)).expect("second");
    assert_eq!((b.handle.node_id, b.cross_node_reason), (NodeId(1), Some(CrossNodeReason::LocalExhausted)));
    let t = p.telemetry();
    assert_eq!(t.cross_node_allocs, 1);
    let j = t.to_json();
    assert_eq!(j["total_allocs"], 2);
    assert_eq!(j["hugepage_backed_allocs"], 0);
    assert_eq!(j["local_allocs"], 1);
    assert_eq!(j["remote_allocs"], 1);
    assert_eq!(j["allocation_ratio_bps"]["local"], 5000);
    assert_eq!(j["allocation_ratio_bps"]["remote"], 5000);
    assert_eq!(j["allocation_ratio_bps"]["scale"], 10000);
    assert_eq!(j["hugepage_hit_rate_bps"]["value"], 0);
    assert_eq!(j["latency_proxies_bps"]["tlb_miss_pressure"], 5000);
    assert_eq!(j["latency_proxies_bps"]["cache_miss_pressure"], 10000);
    assert_eq!(j["latency_proxies_bps"]["occupancy_pressure"], 10000);
    assert_eq!(j["pressure_bands"]["tlb_miss"], "medium");
    assert_eq!(j["pressure_bands"]["cache_miss"], "high");
    assert_eq!(j["pressure_bands"]["occupancy"], "high");
    assert_eq!(j["fallback_reasons"]["cross_node"], "local_exhausted");
    assert_eq!(j["fallback_reasons"]["hugepage"], "hugepage_disabled");
}

#[test]
fn pa3_total_exhaustion() {
    let mut p = pool(&[0], cfg(1, 64, MIB2, false));
    assert!(p.allocate(NodeId(0)).is_some());
    assert!(p.allocate(NodeId(0)).is_none());
    assert_eq!(p.telemetry().cross_node_allocs, 0, "a failed fallback is not a cross-node allocation");
}

#[test]
fn pa4_deallocate_round_trip() {
    let mut p = pool(&[0, 1], NumaSlabConfig::default());
    let a = p.allocate(NodeId(1)).expect("alloc");
    assert!(p.deallocate(&a.handle));
    assert!(!p.deallocate(&a.handle));
}

#[test]
fn unknown_preferred_node_falls_back_and_counts() {
    let mut p = pool(&[0, 2], cfg(2, 64, MIB2, false));
    let a = p.allocate(NodeId(1)).expect("alloc");
    assert_eq!((a.handle.node_id, a.cross_node_reason), (NodeId(0), Some(CrossNodeReason::LocalExhausted)));
    assert_eq!(p.telemetry().cross_node_allocs, 1);
    let foreign = SlabHandle { node_id: NodeId(1), ..a.handle };
    assert!(!p.deallocate(&foreign));
    assert!(p.is_live(&a.handle));
}

// ---- §7.3 hugepage status at creation and on override ------------------------------------

#[test]
fn hp_a_misaligned_create() {
    let p = pool(&[0], cfg(3, 1024, 2048, true));
    assert_eq!(status(&p), (false, Some(AlignmentMismatch), 0, 0));
    let j = p.telemetry().to_json();
    assert_eq!(j["hugepage"]["fallback_reason"], "alignment_mismatch");
    assert_eq!(j["fallback_reasons"]["hugepage"], "alignment_mismatch");
}

#[test]
fn hp_b_aligned_create_is_detection_unavailable() {
    let p = pool(&[0], cfg(4, 1024, 4096, true));
    assert_eq!(status(&p), (false, Some(DetectionUnavailable), 0, 0));
}

#[test]
fn hp_c_misaligned_override_stays_mismatch() {
    let mut p = pool(&[0], cfg(3, 1024, 2048, true));
    let s = hugepage::evaluate(&HugepageConfig { enabled: true, page_size_bytes: 2048 }, 256, 64);
    assert!(s.active);
    p.set_hugepage_status(&s);
    assert_eq!(status(&p), (false, Some(AlignmentMismatch), 0, 0));
}

#[test]
fn hp_d_disabled_override_keeps_counts() {
    let mut p = pool(&[0], cfg(4, 1024, 4096, false));
    p.set_hugepage_status(&given(512, 256, 4096));
    assert_eq!(status(&p), (false, Some(Disabled), 512, 256));
    assert_eq!(p.telemetry().to_json()["hugepage"]["fallback_reason"], "hugepage_disabled");
}

#[test]
fn hp_e_disabled_beats_misaligned() {
    let p = pool(&[0], cfg(3, 1024, 2048, false));
    assert_eq!(status(&p), (false, Some(Disabled), 0, 0));
}

#[test]
fn hp_f_h_page_zero() {
    let mut p = pool(&[0], cfg(4, 1024, 0, true));
    assert_eq!(status(&p), (false, Some(AlignmentMismatch), 0, 0));
    p.set_hugepage_status(&given(128, 64, 0));
    assert_eq!(status(&p), (false, Some(AlignmentMismatch), 0, 0));
}

#[test]
fn hp_g_i_zero_capacity() {
    let mut p = pool(&[0], cfg(0, 1024, 2048, true));
    assert_eq!(status(&p), (false, Some(AlignmentMismatch), 0, 0));
    p.set_hugepage_status(&given(128, 64, 2048));
    assert_eq!(status(&p), (false, Some(AlignmentMismatch), 0, 0));
}

#[test]
fn hp_j_overflowing_config() {
    // The pool cannot exist (its memory would not fit the address space): creation is an error,
    // and the status rule the pool would apply gives the zeroed mismatch status.
    let c = cfg(2, usize::MAX, 4096, true);
    assert!(matches!(NumaSlabPool::new(&nodes(&[0]), c), Err(SlabError::FootprintOverflow { .. })));
    let s = c.resolve_hugepage_status(Some(&given(512, 256, 4096)));
    assert_eq!(
        (s.active, s.fallback_reason, s.total_pages, s.free_pages),
        (false, Some(AlignmentMismatch), 0, 0)
    );
    assert_eq!(s.page_size_bytes, 4096);
}

#[test]
fn hp_k_aligned_2mib_override_is_stored() {
    let c = cfg(4096, 512, MIB2, true);
    let mut p = pool(&[], c);
    assert_eq!(p.node_count(), 1);
    p.set_hugepage_status(&hugepage::evaluate(&c.hugepage, 512, 256));
    let j = p.telemetry().to_json();
    assert_eq!(j["hugepage"]["active"], true);
    assert_eq!(j["hugepage"]["free_pages"], 256);
}

#[test]
fn hp_l_tj3_hit_rate() {
    let mut p = pool(&[0], cfg(4, 1024, 4096, true));
    let g = given(128, 64, 4096);
    p.set_hugepage_status(&g);
    assert_eq!(p.hugepage_status(), &g, "stored exactly as given");
    assert!(p.allocate(NodeId(0)).is_some());
    assert!(p.allocate(NodeId(0)).is_some());
    let j = p.telemetry().to_json();
    assert_eq!(j["total_allocs"], 2);
    assert_eq!(j["hugepage_backed_allocs"], 2);
    assert_eq!(j["hugepage_hit_rate_bps"]["value"], 10000);
    assert_eq!(j["hugepage_hit_rate_bps"]["scale"], 10000);
    assert_eq!(j["hugepage"]["active"], true);
}

// ---- §9.3 telemetry -----------------------------------------------------------------------

#[test]
fn tj2_shape_scenario() {
    // plan(4, {(0,0),(1,0),(4,1),(5,1)}) → nodes 0 and 1.
    let mut p = pool(&[0, 0, 1, 1], cfg(16, 128, MIB2, false));
    for n in [0, 1, 0] {
        assert!(p.allocate(NodeId(n)).is_some());
    }
    let j = p.telemetry().to_json();
    assert_eq!(j["node_count"], 2);
    assert_eq!(j["total_allocs"], 3);
    assert_eq!(j["total_in_use"], 3);
    assert_eq!(j["cross_node_allocs"], 0);
    assert_eq!(j["hugepage_backed_allocs"], 0);
    assert_eq!(j["local_allocs"], 3);
    assert_eq!(j["remote_allocs"], 0);
    assert_eq!(j["allocation_ratio_bps"]["local"], 10000);
    assert_eq!(j["allocation_ratio_bps"]["remote"], 0);
    assert_eq!(j["allocation_ratio_bps"]["scale"], 10000);
    assert_eq!(j["hugepage_hit_rate_bps"]["value"], 0);
    assert_eq!(j["latency_proxies_bps"]["tlb_miss_pressure"], 0);
    assert_eq!(j["latency_proxies_bps"]["cache_miss_pressure"], 937);
    assert_eq!(j["latency_proxies_bps"]["occupancy_pressure"], 937);
    assert_eq!(j["latency_proxies_bps"]["scale"], 10000);
    for band in ["tlb_miss", "cache_miss", "occupancy"] {
        assert_eq!(j["pressure_bands"][band], "low");
    }
    assert!(j["fallback_reasons"]["cross_node"].is_null());
    assert_eq!(j["fallback_reasons"]["hugepage"], "hugepage_disabled");
    assert_eq!(j["config"]["slab_capacity"], 16);
    assert_eq!(j["per_node"].as_array().map(Vec::len), Some(2));
}

#[test]
fn telemetry_json_has_exactly_the_contract_keys() {
    let mut p = pool(&[0, 1], NumaSlabConfig::default());
    let a = p.allocate(NodeId(1)).expect("alloc");
    assert!(p.deallocate(&a.handle));
    let j = p.telemetry().to_json();
    let keys = |v: &serde_json::Value| {
        let mut k: Vec<String> = v.as_object().expect("object").keys().cloned().collect();
        k.sort();
        k
    };
    let sorted = |v: &[&str]| {
        let mut v: Vec<String> = v.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(
        keys(&j),
        sorted(&[
            "node_count",
            "total_allocs",
            "total_frees",
            "total_in_use",
            "cross_node_allocs",
            "hugepage_backed_allocs",
            "local_allocs",
            "remote_allocs",
            "allocation_ratio_bps",
            "hugepage_hit_rate_bps",
            "latency_proxies_bps",
            "pressure_bands",
            "fallback_reasons",
            "config",
            "hugepage",
            "per_node",
        ])
    );
    assert_eq!(keys(&j["allocation_ratio_bps"]), sorted(&["scale", "local", "remote"]));
    assert_eq!(keys(&j["hugepage_hit_rate_bps"]), sorted(&["scale", "value"]));
    assert_eq!(
        keys(&j["latency_proxies_bps"]),
        sorted(&["scale", "tlb_miss_pressure", "cache_miss_pressure", "occupancy_pressure"])
    );
    assert_eq!(keys(&j["pressure_bands"]), sorted(&["tlb_miss", "cache_miss", "occupancy"]));
    assert_eq!(keys(&j["fallback_reasons"]), sorted(&["cross_node", "hugepage"]));
    assert_eq!(
        keys(&j["config"]),
        sorted(&["slab_capacity", "entry_size_bytes", "hugepage_enabled", "hugepage_page_size_bytes"])
    );
    assert_eq!(
        keys(&j["hugepage"]),
        sorted(&["total_pages", "free_pages", "page_size_bytes", "active", "fallback_reason"])
    );
    assert_eq!(
        keys(&j["per_node"][1]),
        sorted(&["node_id", "capacity", "in_use", "total_allocs", "total_frees", "high_water_mark"])
    );
    assert_eq!(j["per_node"][1]["node_id"], 1);
    assert_eq!(j["per_node"][1]["total_frees"], 1);
    assert_eq!(j["total_frees"], 1);
    assert_eq!(j["config"]["entry_size_bytes"], 512);
    assert_eq!(j["config"]["hugepage_enabled"], true);
    assert_eq!(j["config"]["hugepage_page_size_bytes"], 2_097_152);
    // §12.10: the default config (128 KiB footprint) is not 2 MiB aligned.
    assert_eq!(j["hugepage"]["fallback_reason"], "alignment_mismatch");
}

// ---- real memory ------------------------------------------------------------------------

#[test]
fn slots_are_real_disjoint_memory() {
    let entry = 48;
    let mut p = pool(&[0, 1], cfg(8, entry, MIB2, false));
    let hs: Vec<_> = (0..16).map(|i| p.allocate(NodeId(i % 2)).expect("alloc").handle).collect();
    for (i, h) in hs.iter().enumerate() {
        let bytes = p.slot_bytes_mut(h).expect("live");
        assert_eq!(bytes.len(), entry);
        assert!(bytes.iter().all(|b| *b == 0), "fresh memory is zeroed");
        bytes.fill(i as u8 + 1);
    }
    for (i, h) in hs.iter().enumerate() {
        assert_eq!(p.slot_bytes(h).expect("live"), vec![i as u8 + 1; entry].as_slice());
    }
    // Slot s of a node sits at offset s × entry in that node's region.
    let h = hs[2];
    let loc = p.locate(&h).expect("live");
    assert_eq!((loc.offset, loc.len), (h.slot_index.0 as usize * entry, entry));
    let region = p.region(loc.node_index).expect("region");
    assert_eq!(
        p.slot_bytes(&h).expect("live").as_ptr(),
        region.range(loc.offset, entry).expect("in range").as_ptr()
    );
}

#[test]
fn stale_and_foreign_handles_reach_no_memory() {
    let mut p = pool(&[0], cfg(2, 16, MIB2, false));
    let a = p.allocate(NodeId(0)).expect("a").handle;
    p.slot_bytes_mut(&a).expect("live").fill(0xAA);
    assert!(p.deallocate(&a));
    assert!(p.slot_bytes(&a).is_none(), "freed");
    assert!(p.slot_bytes_mut(&a).is_none(), "freed");
    let b = p.allocate(NodeId(0)).expect("b").handle;
    assert_eq!(b.slot_index, a.slot_index, "LIFO reuse");
    assert!(p.slot_bytes(&a).is_none(), "old generation cannot see the new tenant");
    assert_eq!(p.slot_bytes(&b).expect("live"), &[0xAA; 16], "contents are not scrubbed on reuse");
    for bad in [
        SlabHandle { node_id: NodeId(5), ..b },
        SlabHandle { slot_index: SlotIndex(u32::MAX), ..b },
        SlabHandle { slot_index: SlotIndex(1), ..b },
        SlabHandle { generation: u64::MAX, ..b },
    ] {
        assert!(p.slot_bytes(&bad).is_none(), "{bad:?}");
        assert!(p.slot_bytes_mut(&bad).is_none(), "{bad:?}");
        assert!(p.locate(&bad).is_none(), "{bad:?}");
    }
}

#[test]
fn regions_outlive_the_pool_while_shared_and_are_unmapped_after() {
    // Other tests in this binary map regions concurrently, so compare against a region this
    // test holds rather than the global count alone.
    let mut p = pool(&[0], cfg(4, 64, MIB2, false));
    let h = p.allocate(NodeId(0)).expect("alloc").handle;
    p.slot_bytes_mut(&h).expect("live")[..4].copy_from_slice(b"keep");
    let loc = p.locate(&h).expect("live");
    let shared = std::sync::Arc::clone(p.region(loc.node_index).expect("region"));
    drop(p);
    let ptr = shared.range(loc.offset, 4).expect("in range");
    // SAFETY: `shared` keeps the region mapped (R2); the pool is gone, so nothing else touches it.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.as_ptr(), 4) };
    assert_eq!(bytes, b"keep");
    assert_eq!(std::sync::Arc::strong_count(&shared), 1);
    let addr = shared.as_ptr() as usize;
    drop(shared);
    // The last owner unmapped it: the address range is gone from smaps (unless a concurrent
    // test thread mapped something new there, which the range check would then show).
    let smaps = std::fs::read_to_string("/proc/self/smaps").expect("smaps");
    let still = smaps.lines().filter_map(|l| l.split_whitespace().next()?.split_once('-')).any(|(lo, hi)| {
        let lo = usize::from_str_radix(lo, 16).unwrap_or(usize::MAX);
        let hi = usize::from_str_radix(hi, 16).unwrap_or(0);
        lo <= addr && addr < hi
    });
    if still {
        eprintln!("address {addr:#x} was mapped again by another test thread");
    }
}

#[test]
fn region_reports_describe_backing_and_numa() {
    let p = pool(&[0], NumaSlabConfig::default());
    let reps = p.region_reports();
    assert_eq!(reps.len(), 1);
    let r = &reps[0];
    assert_eq!(r.bytes, 256 * 512);
    assert!(r.mapped_bytes >= r.bytes);
    assert!(r.anon_huge_pages_bytes.is_some(), "the mapping is found in /proc/self/smaps");
    // 128 KiB is smaller than a THP: base pages, with the reason recorded.
    if r.backing == RegionBacking::BasePages {
        assert!(r.hugepage_reason.as_deref().is_some_and(|s| !s.is_empty()));
    }
    eprintln!("default pool region: {r:?}");
}

#[test]
fn thp_smoke_reports_what_the_host_gave() {
    // 4096 × 512 B = 2 MiB: THP-sized; touch every slot through the safe accessors.
    let mut p = pool(&[0], cfg(4096, 512, MIB2, true));
    let hs: Vec<_> = (0..4096).map(|_| p.allocate(NodeId(0)).expect("alloc").handle).collect();
    for (i, h) in hs.iter().enumerate() {
        p.slot_bytes_mut(h).expect("live").fill((i % 251) as u8);
    }
    for (i, h) in hs.iter().enumerate().step_by(97) {
        assert!(p.slot_bytes(h).expect("live").iter().all(|b| *b == (i % 251) as u8));
    }
    let r = &p.region_reports()[0];
    eprintln!(
        "THP smoke: backing={:?} anon_huge_pages={:?} advised={:?} kernel_page={:?} numa={:?} reason={:?}",
        r.backing, r.anon_huge_pages_bytes, r.thp_advised, r.kernel_page_size, r.numa, r.hugepage_reason
    );
    let host = HostMemory::detect(&HugepageConfig::default());
    match r.backing {
        RegionBacking::TransparentHugepages { page_size } => {
            assert_eq!(p.region(0).map(|r| r.as_ptr() as usize % page_size), Some(0));
            assert_eq!(r.thp_advised, Some(true), "MADV_HUGEPAGE is visible in smaps");
            if r.anon_huge_pages_bytes.unwrap_or(0) == 0 {
                eprintln!(
                    "THP smoke: the kernel did not back the region with THP (fragmentation/defrag policy)"
                );
            }
        }
        RegionBacking::ExplicitHugepages { page_size } => {
            assert_eq!(r.kernel_page_size, Some(page_size as u64));
        }
        RegionBacking::BasePages => eprintln!("THP smoke: host offers no hugepages ({:?})", host.thp_mode),
    }
    match &r.numa {
        NumaBinding::Preferred(n) => assert_eq!(*n, NodeId(0)),
        NumaBinding::NotBound(why) => eprintln!("THP smoke: not NUMA-bound: {why}"),
    }
}
