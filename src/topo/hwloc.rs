//! The only hwlocality importer: reads cores and NUMA nodes from hwloc topologies and binds the
//! calling thread.
//!
//! Core ids are the OS index of the core's first PU (the first set bit of its cpuset), because
//! that is what `sched_setaffinity`/`sched_getcpu` speak. A core's NUMA node is the lowest OS
//! index in its nodeset (the nodes local to it), 0 when hwloc reports none. A topology without
//! a Core level (e.g. synthetic `"pack:2 pu:4"`) reports each PU as a core.

use std::sync::OnceLock;

use hwlocality::cpu::binding::CpuBindingFlags;
use hwlocality::object::types::ObjectType;
use hwlocality::object::TopologyObject;
use hwlocality::Topology;

use super::synthetic::{self, Plan, Refusal};
use super::{CoreId, CoreInfo, NodeId, TopoError};

/// The real machine's cores.
pub(super) fn detect() -> Result<Vec<CoreInfo>, TopoError> {
    let topology = Topology::new().map_err(|e| TopoError::Detection(e.to_string()))?;
    Ok(cores_of(&topology))
}

/// The cores of a synthetic topology, in time linear in its size (see `synthetic`, Y1–Y3).
pub(super) fn synthetic(description: &str) -> Result<Vec<CoreInfo>, TopoError> {
    let invalid =
        |reason: String| TopoError::InvalidSynthetic { description: description.to_owned(), reason };
    let too_large =
        |reason: String| TopoError::SyntheticTooLarge { description: description.to_owned(), reason };
    match synthetic::plan(description) {
        Err(Refusal::TooLarge(r)) => Err(too_large(r)),
        Err(Refusal::Invalid(r)) => Err(invalid(r)),
        Ok(Plan::Hwloc) => build_synthetic(description).map_err(invalid),
        Ok(Plan::Direct(levels)) => {
            if shape_agrees(&levels).map_err(invalid)? {
                return Ok(synthetic::cores(&levels));
            }
            let objects: u64 = levels
                .iter()
                .scan(1u64, |w, l| {
                    *w = w.saturating_mul(l.count);
                    Some(*w)
                })
                .fold(0u64, u64::saturating_add);
            if objects > synthetic::MAX_HWLOC_OBJECTS {
                return Err(too_large(format!(
                    "this shape is built by hwloc itself and may have at most {} objects; this one has {objects}",
                    synthetic::MAX_HWLOC_OBJECTS
                )));
            }
            build_synthetic(description).map_err(invalid)
        }
    }
}

/// Y2: hwloc judges the small form of `levels` (an error when it rejects it), and the direct
/// computation must give exactly hwloc's cores for it.
pub(super) fn shape_agrees(levels: &[synthetic::Level]) -> Result<bool, String> {
    let (small_text, small) = synthetic::small_form(levels);
    let mut judged = build_synthetic(&small_text)?;
    let mut expected = synthetic::cores(&small);
    judged.sort_unstable();
    expected.sort_unstable();
    Ok(judged == expected && synthetic::ends_with_pu(levels))
}

/// hwloc's own build (tests compare the direct computation against it).
#[cfg(test)]
pub(super) fn build_synthetic_for_tests(description: &str) -> Result<Vec<CoreInfo>, String> {
    build_synthetic(description)
}

/// hwloc's own build of a synthetic description.
fn build_synthetic(description: &str) -> Result<Vec<CoreInfo>, String> {
    let topology = Topology::builder()
        .from_synthetic(description)
        .map_err(|e| e.to_string())?
        .build()
        .map_err(|e| e.to_string())?;
    Ok(cores_of(&topology))
}

fn first_pu(obj: &TopologyObject) -> Option<u64> {
    let first = obj.cpuset()?.first_set()?;
    u64::try_from(usize::from(first)).ok()
}

fn cores_of(topology: &Topology) -> Vec<CoreInfo> {
    let ty = if topology.objects_with_type(ObjectType::Core).len() > 0 {
        ObjectType::Core
    } else {
        ObjectType::PU
    };
    topology
        .objects_with_type(ty)
        .filter_map(|obj| {
            let core = first_pu(obj)?;
            let node = obj
                .nodeset()
                .and_then(|ns| ns.first_set())
                .and_then(|i| u32::try_from(usize::from(i)).ok())
                .unwrap_or(0);
            Some(CoreInfo { core_id: CoreId(core), numa_node: NodeId(node) })
        })
        .collect()
}

/// The real machine's topology, loaded once for thread binding (binding needs a topology of
/// this system, and loading one costs milliseconds).
fn system() -> Result<&'static Topology, String> {
    static SYSTEM: OnceLock<Result<Topology, String>> = OnceLock::new();
    SYSTEM.get_or_init(|| Topology::new().map_err(|e| e.to_string())).as_ref().map_err(Clone::clone)
}

/// Binds the calling thread to every PU of `core`.
///
/// # Errors
/// A human-readable reason when the core does not exist here or the OS refuses the binding.
pub(super) fn bind_current_thread(core: CoreId) -> Result<(), String> {
    let topology = system().map_err(|e| format!("hwloc could not detect this machine's topology: {e}"))?;
    let ty = if topology.objects_with_type(ObjectType::Core).len() > 0 {
        ObjectType::Core
    } else {
        ObjectType::PU
    };
    let obj = topology
        .objects_with_type(ty)
        .find(|obj| first_pu(obj) == Some(core.0))
        .ok_or_else(|| format!("core {} does not exist on this machine", core.0))?;
    let cpuset = obj.cpuset().ok_or_else(|| format!("core {} has no cpuset", core.0))?;
    topology
        .bind_cpu(cpuset, CpuBindingFlags::THREAD)
        .map_err(|e| format!("hwloc could not bind the thread to core {}: {e}", core.0))
}
