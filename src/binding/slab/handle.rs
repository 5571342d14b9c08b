//! Slot handles at the JS boundary: `SlabHandle` objects, three numbers, `Float64Array` triples.

use napi::bindgen_prelude::*;
use napi::{sys, ValueType};
use napi_derive::napi;

use super::super::args;
use super::super::error::{Code, Coded, CodedResult};
use super::super::ffi::fast;
use super::super::raw;
use crate::slab::{NodeId, SlabHandle, SlotIndex};

/// A node id argument: a safe integer that fits in u32.
pub(crate) fn node_id(v: &Unknown<'_>, name: &str) -> CodedResult<NodeId> {
    let n = args::u53(v, name)?;
    u32::try_from(n).map(NodeId).map_err(|_| Coded::out_of_range(name, ">= 0 and <= 4294967295", n))
}

/// `{ nodeId, slotIndex, generation }`. `Ok(None)` for well-formed numbers that no slab can hold
/// (ids above u32): such a handle is simply not live.
pub(crate) fn handle_from_js(v: &Unknown<'_>, name: &str) -> CodedResult<Option<SlabHandle>> {
    const EXPECTED: &str = "a slab handle { nodeId, slotIndex, generation }";
    if args::ty(v) != ValueType::Object {
        return Err(Coded::arg_type(name, EXPECTED, args::describe(v)));
    }
    let Some(obj) = args::options(Some(*v), name)? else {
        return Err(Coded::arg_type(name, EXPECTED, "undefined"));
    };
    let node = args::u53(&args::prop(&obj, "nodeId")?, &format!("{name}.nodeId"))?;
    let slot = args::u53(&args::prop(&obj, "slotIndex")?, &format!("{name}.slotIndex"))?;
    let generation = args::u53(&args::prop(&obj, "generation")?, &format!("{name}.generation"))?;
    match (u32::try_from(node), u32::try_from(slot)) {
        (Ok(n), Ok(s)) => Ok(Some(SlabHandle { node_id: NodeId(n), slot_index: SlotIndex(s), generation })),
        _ => Ok(None),
    }
}

/// A slot handle as JS sees it: live while the slot holds this generation.
#[napi(object, js_name = "SlabHandle")]
pub struct JsSlabHandle {
    /// The node whose slab owns the slot.
    pub node_id: u32,
    /// The slot within that slab.
    pub slot_index: u32,
    /// The allocation's generation (1 for a slot's first allocation).
    pub generation: f64,
}

pub(crate) fn handle_to_js(h: &SlabHandle) -> JsSlabHandle {
    JsSlabHandle { node_id: h.node_id.0, slot_index: h.slot_index.0, generation: h.generation as f64 }
}

pub(crate) fn stale(h: Option<&SlabHandle>) -> Coded {
    let what = match h {
        Some(h) => format!("node {} slot {} generation {}", h.node_id.0, h.slot_index.0, h.generation),
        None => "a handle outside every slab".into(),
    };
    Coded::new(Code::SlabStaleHandle, format!("{what} is not a live allocation of this pool"))
}

/// A handle given as three numbers (method arguments and `Float64Array` triples): `None` when the
/// numbers cannot name a slot (a node or slot above u32), which is simply "not live".
pub(crate) fn handle_from_parts(node: u64, slot: u64, generation: u64) -> Option<SlabHandle> {
    Some(SlabHandle {
        node_id: NodeId(u32::try_from(node).ok()?),
        slot_index: SlotIndex(u32::try_from(slot).ok()?),
        generation,
    })
}

/// A handle from a `Float64Array` triple at `at` (non-negative safe integers, else
/// `ERR_OUT_OF_RANGE` naming `name[at + k]`).
pub(crate) fn handle_from_triple(
    buf: &fast::TypedOut<f64>,
    at: usize,
    name: &str,
) -> CodedResult<Option<SlabHandle>> {
    let part = |k: usize| {
        let v = buf.read(at + k);
        // The common case without building an error name (this runs once per freed handle).
        if (0.0..=args::MAX_SAFE_INTEGER).contains(&v) {
            Ok(v as u64)
        } else {
            args::check_u53(v, &format!("{name}[{}]", at + k))
        }
    };
    Ok(handle_from_parts(part(0)?, part(1)?, part(2)?))
}

/// Writes a handle as a (nodeId, slotIndex, generation) triple at `at`.
pub(crate) fn write_triple(buf: &fast::TypedOut<f64>, at: usize, h: &SlabHandle) {
    buf.write(at, f64::from(h.node_id.0));
    buf.write(at + 1, f64::from(h.slot_index.0));
    buf.write(at + 2, h.generation as f64);
}

/// A slot handle given to a hot method at `a[at]`: a handle object `{ nodeId, slotIndex,
/// generation }`, or three numbers `nodeId, slotIndex, generation`. Returns the handle (`None`
/// when the numbers cannot name a slot: not live) and the index of the next argument.
/// Reading an object may run JS (getters): call it before taking any typed array (T1).
pub(crate) fn slot_args(
    env: sys::napi_env,
    a: &[sys::napi_value],
    at: usize,
) -> CodedResult<(Option<SlabHandle>, usize)> {
    // Three numbers (the common case) without asking for the first one's type.
    let node = match fast::number(env, a[at]) {
        Some(n) => args::check_u53(n, "nodeId")?,
        None if fast::type_of(env, a[at]) == sys::ValueType::napi_object => {
            return Ok((handle_from_js(&raw::unknown(env, a[at]), "handle")?, at + 1));
        }
        None => fast::u53(env, a[at], "nodeId")?,
    };
    let part = |k: usize, name| fast::u53(env, a[at + k], name);
    Ok((handle_from_parts(node, part(1, "slotIndex")?, part(2, "generation")?), at + 3))
}
