//! `TopologySnapshot`: the (core, NUMA node) pairs the planner works from, in normal form (T1).

use super::{hwloc, CoreId, NodeId, TopoError};

/// One core and the NUMA node it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CoreInfo {
    /// The core (OS index of its first processing unit). Field order makes `Ord` sort by core
    /// first, then node (T1).
    pub core_id: CoreId,
    /// Its NUMA node (0 on machines without NUMA information).
    pub numa_node: NodeId,
}

/// Where a snapshot came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TopologySource {
    /// The real machine, read by hwloc.
    Hwloc,
    /// An hwloc synthetic description.
    Synthetic,
    /// Explicit (core, node) pairs.
    Pairs,
}

impl TopologySource {
    /// The snake_case code (`hwloc`, `synthetic`, `pairs`).
    pub fn code(self) -> &'static str {
        match self {
            Self::Hwloc => "hwloc",
            Self::Synthetic => "synthetic",
            Self::Pairs => "pairs",
        }
    }
}

/// A set of cores with their NUMA nodes, sorted by (core, node) and de-duplicated (T1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologySnapshot {
    cores: Vec<CoreInfo>,
    source: TopologySource,
}

impl TopologySnapshot {
    fn normalized(mut cores: Vec<CoreInfo>, source: TopologySource) -> Self {
        // T1: sort + dedup gives the same snapshot for any input order.
        cores.sort_unstable();
        cores.dedup();
        Self { cores, source }
    }

    /// The real machine: one entry per core, `core_id` = OS index of the core's first PU,
    /// `numa_node` = OS index of its NUMA node (0 when hwloc reports none).
    ///
    /// # Errors
    /// [`TopoError::Detection`] when hwloc cannot load the machine's topology.
    pub fn detect() -> Result<Self, TopoError> {
        Ok(Self::normalized(hwloc::detect()?, TopologySource::Hwloc))
    }

    /// A topology built by hwloc from a synthetic description such as
    /// `"pack:4 numa:2 core:16 pu:2"` (one entry per core, as for [`detect`](Self::detect)).
    ///
    /// Linear in the size of the description's topology, which is bounded (see
    /// [`super::synthetic`]).
    ///
    /// # Errors
    /// [`TopoError::InvalidSynthetic`] when hwloc rejects the description;
    /// [`TopoError::SyntheticTooLarge`] beyond the bounds.
    pub fn synthetic(description: &str) -> Result<Self, TopoError> {
        Ok(Self::normalized(hwloc::synthetic(description)?, TopologySource::Synthetic))
    }

    /// A snapshot of explicit `(core, node)` pairs, sorted and de-duplicated (TP1).
    pub fn from_core_node_pairs(pairs: impl IntoIterator<Item = (u64, u32)>) -> Self {
        let cores =
            pairs.into_iter().map(|(c, n)| CoreInfo { core_id: CoreId(c), numa_node: NodeId(n) }).collect();
        Self::normalized(cores, TopologySource::Pairs)
    }

    /// The cores in normal form (T1).
    pub fn cores(&self) -> &[CoreInfo] {
        &self.cores
    }

    /// Where this snapshot came from.
    pub fn source(&self) -> TopologySource {
        self.source
    }

    /// True when there are no cores.
    pub fn is_empty(&self) -> bool {
        self.cores.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(s: &TopologySnapshot) -> Vec<(u64, u32)> {
        s.cores().iter().map(|c| (c.core_id.0, c.numa_node.0)).collect()
    }

    #[test]
    fn pairs_are_sorted_and_deduplicated() {
        // TP1
        let s = TopologySnapshot::from_core_node_pairs([(7, 5), (2, 1), (4, 2), (2, 1), (1, 1), (4, 2)]);
        assert_eq!(pairs(&s), vec![(1, 1), (2, 1), (4, 2), (7, 5)]);
        assert_eq!(s.source(), TopologySource::Pairs);
    }

    #[test]
    fn same_core_on_two_nodes_is_kept_twice() {
        let s = TopologySnapshot::from_core_node_pairs([(3, 1), (3, 0)]);
        assert_eq!(pairs(&s), vec![(3, 0), (3, 1)]);
    }

    #[test]
    fn synthetic_reports_one_entry_per_core() {
        let s = TopologySnapshot::synthetic("pack:2 numa:2 core:4 pu:2").expect("valid description");
        assert_eq!(s.source(), TopologySource::Synthetic);
        assert_eq!(s.cores().len(), 16);
        // First PU of each core: PUs are numbered 0.., two per core.
        assert_eq!(s.cores()[0], CoreInfo { core_id: CoreId(0), numa_node: NodeId(0) });
        assert_eq!(s.cores()[1].core_id, CoreId(2));
        let nodes: std::collections::BTreeSet<u32> = s.cores().iter().map(|c| c.numa_node.0).collect();
        assert_eq!(nodes.into_iter().collect::<Vec<_>>(), vec![0, 1, 2, 3]);
        for c in s.cores() {
            // Four cores (eight PUs) per NUMA node, in order.
            assert_eq!(u64::from(c.numa_node.0), c.core_id.0 / 8);
        }
    }

    #[test]
    fn synthetic_matches_hwloc_for_many_shapes() {
        // The direct computation against hwloc's own build, on shapes with 3-sibling levels
        // (the shape check itself only ever compares counts of at most 2).
        for d in [
            "pack:3 numa:2 core:3 pu:2",
            "pack:2 core:3 pu:3",
            "numa:3 pack:2 core:2 pu:1",
            "pack:3 pu:2",
            "pu:5",
            "core:3 pu:3",
            "pack:2 l3:2 core:3 pu:2",
            "pack:2 group:3 numa:1 core:2 pu:2",
            "pack:2 die:2 numa:2 l2:1 core:3 pu:1",
            "Package:2 NUMANode:3 Core:2 PU:2",
        ] {
            let Ok(super::super::synthetic::Plan::Direct(levels)) = super::super::synthetic::plan(d) else {
                panic!("{d} is a simple description")
            };
            assert_eq!(super::super::hwloc::shape_agrees(&levels), Ok(true), "{d}: the direct path is taken");
            let direct = TopologySnapshot::synthetic(d).expect(d);
            let hw = super::hwloc::build_synthetic_for_tests(d).expect(d);
            assert_eq!(
                direct.cores(),
                TopologySnapshot::normalized(hw, TopologySource::Synthetic).cores(),
                "{d}"
            );
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(96))]

        /// Random simple descriptions (levels in hwloc's order, counts 1–3): whatever hwloc's
        /// own build says, `synthetic` says the same (same cores, or an error for both).
        #[test]
        fn synthetic_agrees_with_hwloc(
            picks in proptest::collection::vec((0usize..7, 1u64..4), 0..5),
            pus in 1u64..4,
        ) {
            const TYPES: [&str; 7] = ["pack", "die", "l3", "group", "numa", "l2", "core"];
            let mut levels = picks;
            levels.sort_by_key(|l| l.0);
            levels.dedup_by_key(|l| l.0);
            let d = levels
                .iter()
                .map(|(t, n)| format!("{}:{n}", TYPES[*t]))
                .chain(std::iter::once(format!("pu:{pus}")))
                .collect::<Vec<_>>()
                .join(" ");
            let hw = super::super::hwloc::build_synthetic_for_tests(&d);
            match (hw, TopologySnapshot::synthetic(&d)) {
                (Ok(hw), Ok(direct)) => {
                    let hw = TopologySnapshot::normalized(hw, TopologySource::Synthetic);
                    proptest::prop_assert_eq!(direct.cores(), hw.cores(), "{}", d);
                }
                (Err(_), Err(_)) => {}
                (hw, direct) => proptest::prop_assert!(false, "{d}: hwloc {hw:?}, synthetic {direct:?}"),
            }
        }

        /// The bound check reads any string without panicking.
        #[test]
        fn plan_reads_any_string(s in "[a-z0-9:()\\[\\] =]{0,40}") {
            let _ = super::super::synthetic::plan(&s);
        }
    }

    #[test]
    fn huge_synthetic_is_refused_and_big_is_linear() {
        let big = TopologySnapshot::synthetic("pack:1000 core:1000 pu:1").expect("a million cores");
        assert_eq!(big.cores().len(), 1_000_000);
        assert_eq!(big.cores()[999_999].core_id, CoreId(999_999));
        for d in ["pack:1000 core:1000 pu:2", "pack:99999999999999999999 pu:1", "pack:80 [numa] core:80 pu:1"]
        {
            assert!(
                matches!(TopologySnapshot::synthetic(d), Err(TopoError::SyntheticTooLarge { .. })),
                "{d}"
            );
        }
    }

    #[test]
    fn bad_synthetic_description_is_an_error() {
        for bad in ["", "nonsense", "pack:0", "core:abc", "pu:2 core:4", "pack:2\0core:2"] {
            match TopologySnapshot::synthetic(bad) {
                Err(TopoError::InvalidSynthetic { description, .. }) => assert_eq!(description, bad),
                other => panic!("{bad:?} gave {other:?}"),
            }
        }
    }
}
