//! Arguments of the pool's constructors and diagnostics, and the mapping of core slab errors.

use napi::bindgen_prelude::*;
use napi::{JsValue, ValueType};

use super::super::args;
use super::super::error::{Code, Coded, CodedResult};
use super::super::ffi::fast;
use crate::slab::{self as core, NodeId, SlabError};

use super::super::ffi::class::instance_of;
use super::super::hugepage::config_from_js;
use super::super::topo::ReactorPlacementManifest;
use super::handle::node_id;

/// Maps a core error to its JS error (the one place for slab errors).
pub(crate) fn slab_error(e: &SlabError) -> Coded {
    match e {
        SlabError::ZeroEntrySize => Coded::out_of_range("config.entrySizeBytes", ">= 1", 0),
        SlabError::CapacityTooLarge(n) => Coded::out_of_range("config.slabCapacity", "<= 4294967295", n),
        SlabError::FootprintOverflow { .. } => Coded::new(Code::OutOfRange, e.to_string()),
        SlabError::Map { .. } => Coded::new(Code::SlabRegionFailed, e.to_string()),
    }
}

/// `{ slabCapacity = 256, entrySizeBytes = 512, hugepage: { enabled = true, pageSizeBytes = 2097152 } }`.
/// Plus the binding's own `regionViews = false` (opt-in raw region windows).
pub(crate) fn config_from_js_opts(v: Option<Unknown<'_>>) -> CodedResult<(core::NumaSlabConfig, bool)> {
    let mut config = core::NumaSlabConfig::default();
    let Some(obj) = args::options(v, "config")? else { return Ok((config, false)) };
    let cap = args::prop(&obj, "slabCapacity")?;
    if !args::is_undefined(&cap) {
        let n = args::u53(&cap, "config.slabCapacity")?;
        if n > u64::from(u32::MAX) {
            return Err(Coded::out_of_range("config.slabCapacity", ">= 0 and <= 4294967295", n));
        }
        config.slab_capacity = n as usize;
    }
    let entry = args::prop(&obj, "entrySizeBytes")?;
    if !args::is_undefined(&entry) {
        let n = args::u53(&entry, "config.entrySizeBytes")?;
        if n == 0 || n > u64::from(u32::MAX) {
            return Err(Coded::out_of_range("config.entrySizeBytes", ">= 1 and <= 4294967295", n));
        }
        config.entry_size_bytes = n as usize;
    }
    let hp = args::prop(&obj, "hugepage")?;
    config.hugepage = config_from_js(Some(hp), "config.hugepage")?;
    let region_views = args::opt_bool(&obj, "regionViews", "config.regionViews", false)?;
    Ok((config, region_views))
}

/// A `ReactorPlacementManifest` argument: the NUMA nodes of its bindings.
pub(crate) fn manifest_from_js(v: &Unknown<'_>) -> CodedResult<Vec<NodeId>> {
    const EXPECTED: &str = "an instance of ReactorPlacementManifest";
    if args::ty(v) != ValueType::Object {
        return Err(Coded::arg_type("manifest", EXPECTED, args::describe(v)));
    }
    let m = instance_of::<ReactorPlacementManifest>(v)
        .ok_or_else(|| Coded::arg_type("manifest", EXPECTED, "another object"))?;
    Ok(core::manifest_nodes(&m.inner))
}

/// A copy of a `Uint8Array`'s bytes (any `Uint8Array`, including a `Buffer`).
pub(crate) fn uint8_bytes(env: &Env, v: &Unknown<'_>, name: &str) -> CodedResult<Vec<u8>> {
    Ok(fast::uint8_array(env.raw(), v.raw(), name)?.to_vec())
}

/// `nodeIds`: an array of node ids (non-negative integers <= 2^32 - 1).
pub(crate) fn parse_node_list(v: &Unknown<'_>) -> CodedResult<Vec<NodeId>> {
    let not_array = || Coded::arg_type("nodeIds", "an Array of node ids", args::describe(v));
    if args::ty(v) != ValueType::Object {
        return Err(not_array());
    }
    let arr = args::array(v).ok_or_else(not_array)?;
    let mut out = Vec::with_capacity(arr.len().min(1024) as usize);
    for i in 0..arr.len() {
        let name = format!("nodeIds[{i}]");
        let item: Unknown =
            arr.get(i).ok().flatten().ok_or_else(|| Coded::arg_type(&name, "of type number", "a hole"))?;
        out.push(node_id(&item, &name)?);
    }
    Ok(out)
}
