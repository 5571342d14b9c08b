//! A pool's state (`PoolState`): the view table behind V1–V4 (see the module docs of
//! `binding::slab`) and the bodies of the hot methods that `raw.rs` installs.

use std::cell::RefCell;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::sys;

use super::super::args;
use super::super::error::{Code, Coded, CodedResult};
use super::super::ffi::{buffer, fast};
use crate::slab::{self as core, NodeId, SlabHandle, SlabRegion, SlotIndex};

use super::handle::{handle_from_triple, slot_args, stale, write_triple};

/// External buffers whose finalizer has not run yet (diagnostics).
pub(crate) static LIVE_VIEWS: AtomicUsize = AtomicUsize::new(0);

/// Counts one external buffer while it lives (the token of its finalize hint, V3).
struct LiveView;

impl LiveView {
    fn new() -> Self {
        LIVE_VIEWS.fetch_add(1, Ordering::Relaxed);
        LiveView
    }
}

impl Drop for LiveView {
    fn drop(&mut self) {
        LIVE_VIEWS.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A new external ArrayBuffer over `region[offset .. offset + len]`, owning one `Arc` of `region`
/// (V3).
fn create_external_view(
    env: &Env,
    region: &Arc<SlabRegion>,
    offset: usize,
    len: usize,
) -> CodedResult<sys::napi_value> {
    buffer::external_view(env.raw(), region, offset, len, LiveView::new())
}

pub(crate) fn delete_ref(env: &Env, r: sys::napi_ref) {
    buffer::delete_reference(env.raw(), r);
}

pub(crate) fn busy() -> Coded {
    Coded::new(Code::ReentrantCall, "the slab pool is busy with another call (a reentrant call)")
}

/// What a pool's JS object and its fast functions share (one `Rc`, see the module docs).
pub(crate) struct PoolState {
    pub(super) pool: RefCell<core::NumaSlabPool>,
    /// `views[node_index][slot]`: strong reference to the external buffer of that slot's live
    /// allocation (V1), grown on demand.
    views: RefCell<Vec<Vec<sys::napi_ref>>>,
    /// Live allocations whose buffer was detached by someone else (V2b): retired on free.
    moved: RefCell<std::collections::HashSet<(usize, u32)>>,
    /// `region_views[node_index]`: weak reference to the node's region `Uint8Array` (V4).
    region_views: RefCell<Vec<sys::napi_ref>>,
    /// `config.regionViews`: whether `regionView` may hand out raw windows.
    pub(super) region_views_enabled: bool,
}

impl fast::EnvRelease for PoolState {
    fn release_env(&self, env: sys::napi_env) {
        // The buffers stay valid (V3); only our weak references go.
        let mut views = self.views.borrow_mut();
        let mut regions = self.region_views.borrow_mut();
        for r in views.iter_mut().flatten().chain(regions.iter_mut()) {
            if !r.is_null() {
                buffer::delete_reference(env, std::mem::replace(r, ptr::null_mut()));
            }
        }
    }
}

impl PoolState {
    pub(super) fn new(pool: core::NumaSlabPool, region_views_enabled: bool) -> Self {
        let views = vec![Vec::new(); pool.node_count()];
        let region_views = vec![ptr::null_mut(); pool.node_count()];
        Self {
            pool: RefCell::new(pool),
            views: RefCell::new(views),
            moved: RefCell::new(std::collections::HashSet::new()),
            region_views: RefCell::new(region_views),
            region_views_enabled,
        }
    }

    pub(super) fn entry_size(&self) -> usize {
        self.pool.try_borrow().map(|p| p.config().entry_size_bytes).unwrap_or(0)
    }

    /// A `Uint8Array` over a live handle's slot, reusing the slot's buffer while it lives (V1).
    pub(super) fn view_of(&self, env: &Env, h: &SlabHandle) -> CodedResult<sys::napi_value> {
        let (loc, region) = {
            let pool = self.pool.try_borrow().map_err(|_| busy())?;
            let loc = pool.locate(h).ok_or_else(|| stale(Some(h)))?;
            (loc, Arc::clone(pool.region(loc.node_index).ok_or_else(|| stale(Some(h)))?))
        };
        region.range(loc.offset, loc.len).ok_or_else(|| stale(Some(h)))?;
        let mut views = self.views.try_borrow_mut().map_err(|_| busy())?;
        let node_views = views.get_mut(loc.node_index).ok_or_else(|| stale(Some(h)))?;
        let slot = loc.slot.0 as usize;
        if node_views.len() <= slot {
            // Grow on demand (V1); `try_reserve` so a huge slab cannot abort the process.
            let want = (slot + 1).max(node_views.len() * 2).min(slot + 1 + 65_536);
            node_views
                .try_reserve(want - node_views.len())
                .map_err(|_| Coded::new(Code::SlabViewFailed, "no memory for the slot's view bookkeeping"))?;
            node_views.resize(want, ptr::null_mut());
        }
        let cell = &mut node_views[slot];
        if !cell.is_null() {
            match buffer::buffer_state(env.raw(), *cell) {
                Some((ab, false)) => return buffer::uint8_view(env.raw(), ab, loc.len),
                Some((_, true)) => self.mark_moved(loc.node_index, loc.slot)?,
                None => {}
            }
            delete_ref(env, std::mem::replace(cell, ptr::null_mut()));
        }
        let ab = create_external_view(env, &region, loc.offset, loc.len)?;
        // Refcount 1 keeps the buffer until the free (V1, V2b).
        *cell = buffer::create_reference(env.raw(), ab, 1)?;
        buffer::uint8_view(env.raw(), ab, loc.len)
    }

    /// Notes that a live allocation's buffer was detached by someone else (V2b).
    pub(super) fn mark_moved(&self, node_index: usize, slot: SlotIndex) -> CodedResult<()> {
        self.moved.try_borrow_mut().map_err(|_| busy())?.insert((node_index, slot.0));
        Ok(())
    }

    /// Detaches the slot's buffer, if any (V2). On failure the reference is kept.
    pub(super) fn detach_views(&self, env: &Env, node_index: usize, slot: SlotIndex) -> CodedResult<()> {
        let mut views = self.views.try_borrow_mut().map_err(|_| busy())?;
        let Some(cell) = views.get_mut(node_index).and_then(|v| v.get_mut(slot.0 as usize)) else {
            return Ok(());
        };
        if cell.is_null() {
            return Ok(());
        }
        let state = buffer::buffer_state(env.raw(), *cell);
        if matches!(state, Some((_, true))) {
            self.mark_moved(node_index, slot)?;
        }
        if let Some((ab, false)) = state {
            if let Err(status) = buffer::detach(env.raw(), ab) {
                return Err(Coded::new(
                    Code::SlabDetachFailed,
                    format!(
                        "could not detach the slot's view (napi status {status}); the allocation stays live"
                    ),
                ));
            }
        }
        delete_ref(env, std::mem::replace(cell, ptr::null_mut()));
        Ok(())
    }

    /// Frees a live handle after detaching its views (V2); false for any other handle. A slot
    /// whose buffer was moved out of reach is retired rather than reused (V2b).
    pub(super) fn deallocate(&self, env: &Env, h: &SlabHandle) -> CodedResult<bool> {
        let loc = self.pool.try_borrow().map_err(|_| busy())?.locate(h);
        let Some(loc) = loc else { return Ok(false) };
        self.detach_views(env, loc.node_index, loc.slot)?;
        let moved = {
            let mut moved = self.moved.try_borrow_mut().map_err(|_| busy())?;
            !moved.is_empty() && moved.remove(&(loc.node_index, loc.slot.0))
        };
        let mut pool = self.pool.try_borrow_mut().map_err(|_| busy())?;
        Ok(if moved { pool.retire(h) } else { pool.deallocate(h) })
    }

    /// Allocates on `preferred` (else elsewhere, ascending) without creating a view.
    pub(super) fn allocate_bare(&self, preferred: NodeId) -> CodedResult<Option<core::PoolAllocation>> {
        Ok(self.pool.try_borrow_mut().map_err(|_| busy())?.allocate(preferred))
    }

    /// The byte offset of a live handle's slot in its node's region.
    pub(super) fn offset_of(&self, h: &SlabHandle) -> CodedResult<Option<usize>> {
        Ok(self.pool.try_borrow().map_err(|_| busy())?.locate(h).map(|l| l.offset))
    }

    /// Copies between a live slot and a JS `Uint8Array` (`into_js`: slot → target); returns the
    /// bytes copied (`min(entrySizeBytes, array length)`), `None` for a handle that is not live.
    pub(super) fn copy_slot(
        &self,
        h: &SlabHandle,
        js: &fast::TypedOut<u8>,
        into_js: bool,
    ) -> CodedResult<Option<usize>> {
        let pool = self.pool.try_borrow().map_err(|_| busy())?;
        let Some(loc) = pool.locate(h) else { return Ok(None) };
        let Some(region) = pool.region(loc.node_index) else { return Ok(None) };
        // P2/P3: a live handle's slot lies in its node's region.
        Ok(buffer::copy_slot(region, loc.offset, loc.len, js, into_js))
    }

    /// Frees every triple of `handles[0 .. 3 * count]`; returns how many were freed.
    pub(super) fn deallocate_many(
        &self,
        env: &Env,
        handles: &fast::TypedOut<f64>,
        count: u64,
    ) -> CodedResult<usize> {
        let count = handles.triple_count(count)?;
        let mut freed = 0;
        for i in 0..count {
            if let Some(h) = handle_from_triple(handles, 3 * i, "handles")? {
                freed += usize::from(self.deallocate(env, &h)?);
            }
        }
        Ok(freed)
    }

    /// The node's region `Uint8Array` (V4), `None` for a node that is not in the pool.
    pub(super) fn region_view(&self, env: &Env, node: NodeId) -> CodedResult<Option<sys::napi_value>> {
        if !self.region_views_enabled {
            return Err(Coded::new(Code::SlabRegionViewsDisabled,
                "regionView() needs a pool created with { regionViews: true }: it is a raw window over every slot, live or free",
            ));
        }
        let region = {
            let pool = self.pool.try_borrow().map_err(|_| busy())?;
            let Some(i) = pool.node_index(node) else { return Ok(None) };
            (i, Arc::clone(pool.region(i).ok_or_else(|| stale(None))?))
        };
        let (i, region) = region;
        let mut cells = self.region_views.try_borrow_mut().map_err(|_| busy())?;
        let cell = &mut cells[i];
        if !cell.is_null() {
            if let Some(v) = buffer::reference_value(env.raw(), *cell) {
                return Ok(Some(v));
            }
            delete_ref(env, std::mem::replace(cell, ptr::null_mut()));
        }
        let len = region.len();
        let ab = create_external_view(env, &region, 0, len)?;
        let view = buffer::uint8_view(env.raw(), ab, len)?;
        // Refcount 0: a weak reference.
        *cell = buffer::create_reference(env.raw(), view, 0)?;
        Ok(Some(view))
    }
}

/// A napi-rs `Env` for a raw callback's env (for helpers shared with the methods).
pub(crate) fn env_of(env: sys::napi_env) -> Env {
    Env::from_raw(env)
}

/// The hot methods of `NumaSlabPool`, installed on its prototype as raw callbacks (`raw.rs`).
/// Expected failures are values (`-1`, `false`, a short count); arguments of the wrong type or
/// range throw.
impl PoolState {
    /// `allocateInto(preferredNode, out, at = 0)`: the slot's byte offset, or -1 when full.
    pub(crate) fn raw_allocate_into(&self, env: sys::napi_env, a: &[sys::napi_value]) -> fast::Ret {
        let node = fast::u53(env, a[0], "preferredNode")?;
        let node =
            u32::try_from(node).map_err(|_| Coded::out_of_range("preferredNode", "<= 4294967295", node))?;
        let at = match fast::number(env, a[2]) {
            Some(n) => args::check_u53(n, "at")?,
            None if fast::type_of(env, a[2]) == sys::ValueType::napi_undefined => 0,
            None => fast::u53(env, a[2], "at")?,
        };
        let out = fast::float64_array(env, a[1], "out")?;
        let at = usize::try_from(at).unwrap_or(usize::MAX);
        if out.len < 3 || at > out.len - 3 {
            return Err(Coded::out_of_range(
                "at",
                &format!("<= out.length - 3 ({})", out.len as i64 - 3),
                at,
            ));
        }
        let mut pool = self.pool.try_borrow_mut().map_err(|_| busy())?;
        let Some(got) = pool.allocate(NodeId(node)) else { return fast::to_number(env, -1.0) };
        write_triple(&out, at, &got.handle);
        // P2: the slot's offset; cannot overflow (slot < capacity, capacity × entry checked).
        let off = got.handle.slot_index.0 as usize * pool.config().entry_size_bytes;
        fast::to_number(env, off as f64)
    }

    /// `allocateMany(preferredNode, out, count)`: how many triples were written.
    pub(crate) fn raw_allocate_many(&self, env: sys::napi_env, a: &[sys::napi_value]) -> fast::Ret {
        let node = fast::u53(env, a[0], "preferredNode")?;
        let node =
            u32::try_from(node).map_err(|_| Coded::out_of_range("preferredNode", "<= 4294967295", node))?;
        let count = usize::try_from(fast::u53(env, a[2], "count")?).unwrap_or(usize::MAX);
        let out = fast::float64_array(env, a[1], "out")?;
        if count > out.len / 3 {
            return Err(Coded::out_of_range("count", &format!("<= {} (out.length / 3)", out.len / 3), count));
        }
        let mut pool = self.pool.try_borrow_mut().map_err(|_| busy())?;
        let mut n = 0;
        while n < count {
            let Some(got) = pool.allocate(NodeId(node)) else { break };
            write_triple(&out, 3 * n, &got.handle);
            n += 1;
        }
        fast::to_number(env, n as f64)
    }

    /// `deallocate(handle | nodeId, slotIndex, generation)`.
    pub(crate) fn raw_deallocate(&self, env: sys::napi_env, a: &[sys::napi_value]) -> fast::Ret {
        let freed = match slot_args(env, a, 0)?.0 {
            Some(h) => self.deallocate(&env_of(env), &h)?,
            None => false,
        };
        fast::to_bool(env, freed)
    }

    /// `deallocateMany(handles, count)`.
    pub(crate) fn raw_deallocate_many(&self, env: sys::napi_env, a: &[sys::napi_value]) -> fast::Ret {
        let count = fast::u53(env, a[1], "count")?;
        let handles = fast::float64_array(env, a[0], "handles")?;
        let n = self.deallocate_many(&env_of(env), &handles, count)?;
        fast::to_number(env, n as f64)
    }

    /// `isLive(handle | nodeId, slotIndex, generation)`.
    pub(crate) fn raw_is_live(&self, env: sys::napi_env, a: &[sys::napi_value]) -> fast::Ret {
        let live = match slot_args(env, a, 0)?.0 {
            Some(h) => self.pool.try_borrow().map_err(|_| busy())?.is_live(&h),
            None => false,
        };
        fast::to_bool(env, live)
    }

    /// `offsetOf(handle | nodeId, slotIndex, generation)`: the byte offset, or -1 when not live.
    pub(crate) fn raw_offset_of(&self, env: sys::napi_env, a: &[sys::napi_value]) -> fast::Ret {
        let off = match slot_args(env, a, 0)?.0 {
            Some(h) => self.offset_of(&h)?,
            None => None,
        };
        fast::to_number(env, off.map_or(-1.0, |o| o as f64))
    }

    /// `readInto(handle…, target)` / `writeFrom(handle…, source)`: bytes copied, -1 when not live.
    pub(crate) fn raw_copy(&self, env: sys::napi_env, a: &[sys::napi_value], into_js: bool) -> fast::Ret {
        let (h, next) = slot_args(env, a, 0)?;
        let js = fast::uint8_array(env, a[next], if into_js { "target" } else { "source" })?;
        let n = match h {
            Some(h) => self.copy_slot(&h, &js, into_js)?,
            None => None,
        };
        fast::to_number(env, n.map_or(-1.0, |n| n as f64))
    }
}
