//! hwloc synthetic descriptions (`"pack:2 numa:2 core:4 pu:2"`) in linear time.
//!
//! hwloc builds a synthetic topology by inserting every object into the tree, which costs
//! O(siblings) per insertion (and bitmap work on top): 2 500 sibling cores take a second and
//! `"pack:1000 core:1000 pu:1"` never ends. This module computes the cores directly instead:
//! - Y1 (bound): a description names at most [`MAX_SYNTHETIC_PUS`] processing units and
//!   [`MAX_LEVELS`] levels, checked with overflow-safe arithmetic before anything is built.
//! - Y2 (shape check): hwloc still parses the description, but with every count capped at 2
//!   (at most 2^levels leaves, each with at most 2 siblings), and its cores must equal what this
//!   module computes for that small form. So hwloc stays the judge of what is valid, and the
//!   direct computation is used only for shapes where it provably agrees with hwloc.
//! - Y3 (fallback): a description this module does not model (attributes such as
//!   `(memory=…)`, memory children `[numa]`, other syntax) goes to hwloc as is, but only when it
//!   has at most [`MAX_HWLOC_OBJECTS`] objects; beyond that it is refused as too large.

use super::{CoreId, CoreInfo, NodeId};

/// The most processing units a synthetic description may name (Y1).
pub const MAX_SYNTHETIC_PUS: u64 = 1 << 20;
/// The most levels a synthetic description may have (Y1).
pub const MAX_LEVELS: usize = 12;
/// The most objects a description hwloc builds itself may have (Y3).
pub const MAX_HWLOC_OBJECTS: u64 = 4096;

/// What a description turned into.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Plan {
    /// Simple `type:count` levels: compute directly once hwloc agrees on the small form (Y2).
    Direct(Vec<Level>),
    /// Anything else: let hwloc build it (it has at most [`MAX_HWLOC_OBJECTS`] objects, Y3).
    Hwloc,
}

/// One `type:count` level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Level {
    /// The type as written.
    pub name: String,
    /// How many of it under each object of the level above.
    pub count: u64,
}

/// Why a description is refused before hwloc sees it.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Bigger than the bounds (Y1, Y3).
    TooLarge(String),
    /// Not a description at all (a count of 0, no levels, too many levels).
    Invalid(String),
}

fn level_kind(name: &str) -> Kind {
    match name.to_ascii_lowercase().as_str() {
        "core" => Kind::Core,
        "pu" => Kind::Pu,
        "numa" | "node" | "numanode" => Kind::Numa,
        _ => Kind::Other,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Core,
    Pu,
    Numa,
    Other,
}

/// Classifies a description and enforces the bounds (Y1, Y3), in one pass over its tokens.
pub(super) fn plan(description: &str) -> Result<Plan, Refusal> {
    let mut levels = Vec::new();
    let mut simple = true;
    let mut objects: u64 = 0;
    let mut width: u64 = 1;
    for token in description.split_ascii_whitespace() {
        if token.starts_with('[') || token.starts_with('(') {
            simple = false;
            continue;
        }
        let Some((name, rest)) = token.split_once(':') else {
            simple = false;
            continue;
        };
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            simple = false;
            continue;
        }
        if digits != rest.len() || name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
            simple = false;
        }
        let count: u64 = rest[..digits].parse().unwrap_or(u64::MAX);
        if count == 0 {
            return Err(Refusal::Invalid(format!("level {token:?} has a count of 0")));
        }
        width = width.saturating_mul(count);
        objects = objects.saturating_add(width);
        levels.push(Level { name: name.to_owned(), count });
        if levels.len() > MAX_LEVELS {
            return Err(Refusal::Invalid(format!("more than {MAX_LEVELS} levels")));
        }
    }
    if levels.is_empty() {
        return Err(Refusal::Invalid("no `type:count` level".into()));
    }
    if width > MAX_SYNTHETIC_PUS {
        return Err(Refusal::TooLarge(format!(
            "it describes {} processing units, more than the limit of {MAX_SYNTHETIC_PUS}",
            if width == u64::MAX { "more than 2^64".to_owned() } else { width.to_string() }
        )));
    }
    if simple {
        return Ok(Plan::Direct(levels));
    }
    if objects > MAX_HWLOC_OBJECTS {
        return Err(Refusal::TooLarge(format!(
            "a description with attributes or memory children is built by hwloc and may have at most {MAX_HWLOC_OBJECTS} objects; this one has {objects}"
        )));
    }
    Ok(Plan::Hwloc)
}

/// The same levels with every count capped at 2 (Y2), as a description.
pub(super) fn small_form(levels: &[Level]) -> (String, Vec<Level>) {
    let small: Vec<Level> = levels.iter().map(|l| Level { count: l.count.min(2), ..l.clone() }).collect();
    let text = small.iter().map(|l| format!("{}:{}", l.name, l.count)).collect::<Vec<_>>().join(" ");
    (text, small)
}

/// The cores of simple levels, as hwloc reports them (checked by Y2): core = the Core level if
/// there is one, else the last level; its id is the index of its first PU (PUs numbered in
/// order); its node is the index of the NUMA object above it, or of its first NUMA object
/// below it, or 0 without a NUMA level. Linear in the number of cores.
pub(super) fn cores(levels: &[Level]) -> Vec<CoreInfo> {
    let last = levels.len() - 1;
    let core_level = levels.iter().position(|l| level_kind(&l.name) == Kind::Core).unwrap_or(last);
    let numa_level = levels.iter().position(|l| level_kind(&l.name) == Kind::Numa);
    let product = |range: std::ops::Range<usize>| levels[range].iter().map(|l| l.count).product::<u64>();
    let n_cores = product(0..core_level + 1);
    let pus_per_core = product(core_level + 1..levels.len());
    let node_of = |core: u64| match numa_level {
        None => 0,
        Some(u) if u <= core_level => core / product(u + 1..core_level + 1),
        Some(u) => core * product(core_level + 1..u + 1),
    };
    (0..n_cores)
        .map(|c| CoreInfo {
            core_id: CoreId(c * pus_per_core),
            numa_node: NodeId(u32::try_from(node_of(c)).unwrap_or(u32::MAX)),
        })
        .collect()
}

/// Whether any level is a PU level last (hwloc requires one; Y2 checks the rest).
pub(super) fn ends_with_pu(levels: &[Level]) -> bool {
    levels.last().is_some_and(|l| level_kind(&l.name) == Kind::Pu)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(d: &str) -> Vec<Level> {
        match plan(d) {
            Ok(Plan::Direct(l)) => l,
            other => panic!("{d}: {other:?}"),
        }
    }

    #[test]
    fn y1_bounds_are_checked_before_building() {
        assert!(matches!(plan("pack:1000 core:1000 pu:1"), Ok(Plan::Direct(_))));
        assert!(matches!(plan("pack:1000 core:1000 pu:2"), Err(Refusal::TooLarge(_))));
        assert!(matches!(plan("pack:99999999999999999999999 pu:1"), Err(Refusal::TooLarge(_))));
        assert!(matches!(plan("pack:0 pu:1"), Err(Refusal::Invalid(_))));
        assert!(matches!(plan(""), Err(Refusal::Invalid(_))));
        let deep = vec!["group:1"; MAX_LEVELS + 1].join(" ");
        assert!(matches!(plan(&deep), Err(Refusal::Invalid(_))));
    }

    #[test]
    fn y3_attributes_go_to_hwloc_only_when_small() {
        assert_eq!(plan("pack:2 [numa] core:2 pu:2"), Ok(Plan::Hwloc));
        assert_eq!(plan("pack:2(memory=1GB) core:2 pu:1"), Ok(Plan::Hwloc));
        assert!(matches!(plan("pack:64 [numa] core:64 pu:1"), Err(Refusal::TooLarge(_))));
    }

    #[test]
    fn direct_cores_follow_the_layout() {
        let c = cores(&levels("pack:2 numa:2 core:4 pu:2"));
        assert_eq!(c.len(), 16);
        assert_eq!((c[5].core_id, c[5].numa_node), (CoreId(10), NodeId(1)));
        let c = cores(&levels("core:2 numa:3 pu:1"));
        assert_eq!(c.iter().map(|c| c.numa_node.0).collect::<Vec<_>>(), [0, 3]);
        let c = cores(&levels("pack:2 pu:3"));
        assert_eq!(c.iter().map(|c| c.core_id.0).collect::<Vec<_>>(), [0, 1, 2, 3, 4, 5]);
    }
}
