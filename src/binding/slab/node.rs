//! The JS class `NumaSlab`: one node's slot allocator (bookkeeping only).

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::super::args;
use super::super::error::{Coded, ThrowExt};
use crate::slab::{self as core};

use super::handle::{handle_from_js, handle_to_js, node_id, JsSlabHandle};

/// One NUMA node's slot allocator (bookkeeping only, no memory): generation-checked handles,
/// fresh slots in order, freed slots reused most-recent-first.
#[napi]
pub struct NumaSlab {
    inner: core::NumaSlab,
}

#[napi]
impl NumaSlab {
    /// A slab of `capacity` slots (0 is clamped to 1) for `nodeId`.
    #[napi(constructor, ts_args_type = "nodeId: number, capacity: number")]
    pub fn new(env: Env, node: Unknown, capacity: Unknown) -> Result<Self> {
        let node = node_id(&node, "nodeId").or_throw(&env)?;
        let cap = args::u53(&capacity, "capacity").or_throw(&env)?;
        let cap = u32::try_from(cap)
            .map_err(|_| Coded::out_of_range("capacity", ">= 0 and <= 4294967295", cap))
            .or_throw(&env)?;
        Ok(Self { inner: core::NumaSlab::new(node, cap) })
    }

    /// A handle `{ nodeId, slotIndex, generation }`, or null when full.
    #[napi]
    pub fn allocate(&mut self) -> Option<JsSlabHandle> {
        self.inner.allocate().as_ref().map(handle_to_js)
    }

    /// Frees a live handle: false for another node, a slot out of range, a free slot or a stale
    /// generation.
    #[napi(ts_args_type = "handle: SlabHandle")]
    pub fn deallocate(&mut self, env: Env, handle: Unknown) -> Result<bool> {
        Ok(match handle_from_js(&handle, "handle").or_throw(&env)? {
            Some(h) => self.inner.deallocate(&h),
            None => false,
        })
    }

    /// Slots currently allocated.
    #[napi(getter)]
    pub fn in_use(&self) -> u32 {
        self.inner.in_use()
    }

    /// Number of slots.
    #[napi(getter)]
    pub fn capacity(&self) -> u32 {
        self.inner.capacity()
    }

    /// The largest `inUse` seen (never decreases).
    #[napi(getter)]
    pub fn high_water_mark(&self) -> u32 {
        self.inner.high_water_mark()
    }

    /// The node id.
    #[napi(getter)]
    pub fn node_id(&self) -> u32 {
        self.inner.node_id().0
    }

    /// Whether another allocation would succeed.
    #[napi]
    pub fn has_capacity(&self) -> bool {
        self.inner.has_capacity()
    }
}
