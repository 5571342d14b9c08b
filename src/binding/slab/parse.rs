//! Arguments of the pool's constructors and diagnostics, and the mapping of core slab errors.

use std::ffi::c_void;
use std::ptr;

use napi::bindgen_prelude::*;
use napi::{sys, JsValue, ValueType};

use super::super::args;
use super::super::error::{Code, Coded, CodedResult};
use crate::slab::{self as core, NodeId, SlabError};

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
    // SAFETY: the value is an object; the class conversion checks napi's type tag and fails
    // cleanly for other objects. (A `&T` cast is refused inside a callback body: napi-rs only
    // registers native borrows during argument conversion, so the instance form is used.)
    let m = unsafe { v.cast::<ClassInstance<ReactorPlacementManifest>>() }
        .map_err(|_| Coded::arg_type("manifest", EXPECTED, "another object"))?;
    Ok(core::manifest_nodes(&m.inner))
}

/// A copy of a `Uint8Array`'s bytes (any `Uint8Array`, including a `Buffer`).
pub(crate) fn uint8_bytes(env: &Env, v: &Unknown<'_>, name: &str) -> CodedResult<Vec<u8>> {
    let not = || Coded::arg_type(name, "an instance of Uint8Array", args::describe(v));
    let raw = v.value().value;
    let mut is_ta = false;
    // SAFETY: `raw` is a value of this env (an argument of the current call).
    if unsafe { sys::napi_is_typedarray(env.raw(), raw, &mut is_ta) } != sys::Status::napi_ok || !is_ta {
        return Err(not());
    }
    let (mut ty, mut len, mut data, mut ab, mut off) =
        (0, 0usize, ptr::null_mut::<c_void>(), ptr::null_mut(), 0usize);
    // SAFETY: `raw` is a typed array (checked above); all out-pointers are valid locals.
    let status = unsafe {
        sys::napi_get_typedarray_info(env.raw(), raw, &mut ty, &mut len, &mut data, &mut ab, &mut off)
    };
    if status != sys::Status::napi_ok || ty != sys::TypedarrayType::uint8_array {
        return Err(not());
    }
    if len == 0 || data.is_null() {
        return Ok(Vec::new());
    }
    // SAFETY: napi reports `len` readable bytes at `data` for this attached typed array, and no
    // JS runs while we copy.
    Ok(unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }.to_vec())
}

/// `nodeIds`: an array of node ids (non-negative integers <= 2^32 - 1).
pub(crate) fn parse_node_list(v: &Unknown<'_>) -> CodedResult<Vec<NodeId>> {
    let not_array = || Coded::arg_type("nodeIds", "an Array of node ids", args::describe(v));
    if args::ty(v) != ValueType::Object {
        return Err(not_array());
    }
    let mut is_array = false;
    // SAFETY: `v` is an object value of the current call.
    if unsafe { sys::napi_is_array(v.value().env, v.value().value, &mut is_array) } != sys::Status::napi_ok
        || !is_array
    {
        return Err(not_array());
    }
    // SAFETY: checked to be an array just above.
    let arr = unsafe { v.cast::<Array>() }.map_err(|_| not_array())?;
    let mut out = Vec::with_capacity(arr.len().min(1024) as usize);
    for i in 0..arr.len() {
        let name = format!("nodeIds[{i}]");
        let item: Unknown =
            arr.get(i).ok().flatten().ok_or_else(|| Coded::arg_type(&name, "of type number", "a hole"))?;
        out.push(node_id(&item, &name)?);
    }
    Ok(out)
}
