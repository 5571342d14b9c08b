//! A pool's state (`PoolState`): the view table behind V1–V4 (see the module docs of
//! `binding::slab`) and the bodies of the hot methods that `raw.rs` installs.

use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::sys;

use super::super::error::{Code, Coded, CodedResult};
use super::super::fast;
use crate::slab::{self as core, NodeId, SlabHandle, SlabRegion, SlotIndex};

use super::handle::{handle_from_triple, slot_args, stale, write_triple};

/// External buffers whose finalizer has not run yet (diagnostics).
pub(crate) static LIVE_VIEWS: AtomicUsize = AtomicUsize::new(0);

/// The finalize hint of one external buffer (V3).
struct ViewHint {
    _region: Arc<SlabRegion>,
}

/// Called by Node exactly once per external buffer, when V8 releases its backing store.
pub(crate) unsafe extern "C" fn finalize_view(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: V3: `hint` is the `Box<ViewHint>` leaked in `create_external_view` for this buffer,
    // and Node calls the finalizer once; dropping it releases that buffer's share of the region.
    drop(unsafe { Box::from_raw(hint.cast::<ViewHint>()) });
    LIVE_VIEWS.fetch_sub(1, Ordering::Relaxed);
}

pub(crate) fn napi_status(status: sys::napi_status, what: &str) -> CodedResult<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else if status == sys::Status::napi_no_external_buffers_allowed {
        Err(Coded::new(
            Code::SlabExternalBuffersUnsupported,
            if cfg!(target_family = "wasm") {
                "the WebAssembly build of seqloop cannot share slot memory with JS (no external ArrayBuffers a free can detach); use readSlot()/writeSlot() and the handle APIs"
            } else {
                "this runtime does not allow external ArrayBuffers (V8 sandbox), so slots cannot be shared without copying"
            },
        ))
    } else {
        Err(Coded::new(Code::SlabViewFailed, format!("{what} failed (napi status {status})")))
    }
}

/// A new external ArrayBuffer over `len` bytes at `data`, owning one `Arc` of `region` (V3).
pub(crate) fn create_external_view(
    env: &Env,
    region: &Arc<SlabRegion>,
    data: *mut u8,
    len: usize,
) -> CodedResult<sys::napi_value> {
    let hint = Box::into_raw(Box::new(ViewHint { _region: Arc::clone(region) }));
    let mut ab = ptr::null_mut();
    // The WebAssembly build cannot give JS a view of a slot that a free can detach (emnapi
    // copies external buffers, and a view of the module's shared memory cannot be detached), so
    // it refuses the way a V8 sandbox does (docs/wasm.md).
    let status = if cfg!(target_family = "wasm") {
        sys::Status::napi_no_external_buffers_allowed
    } else {
        // SAFETY: `data .. data + len` is a live slot inside `region` (the caller located it
        // through the core, P2/P3), and the hint keeps the region mapped until `finalize_view`
        // runs (V3).
        unsafe {
            sys::napi_create_external_arraybuffer(
                env.raw(),
                data.cast(),
                len,
                Some(finalize_view),
                hint.cast(),
                &mut ab,
            )
        }
    };
    if status == sys::Status::napi_ok {
        LIVE_VIEWS.fetch_add(1, Ordering::Relaxed);
        return Ok(ab);
    }
    if status == sys::Status::napi_no_external_buffers_allowed {
        // Refused before any finalizer was registered: the hint is still ours.
        // SAFETY: `hint` came from Box::into_raw above and Node did not take it.
        drop(unsafe { Box::from_raw(hint) });
    }
    // Any other failure may or may not have registered the finalizer; leaking the hint (and so
    // keeping the region mapped) is the safe choice.
    napi_status(status, "napi_create_external_arraybuffer")?;
    Ok(ab)
}

/// A `Uint8Array` over the whole of `ab`.
pub(crate) fn uint8_view(env: &Env, ab: sys::napi_value, len: usize) -> CodedResult<sys::napi_value> {
    let mut out = ptr::null_mut();
    // SAFETY: `ab` is a live ArrayBuffer value of this env of exactly `len` bytes.
    let status = unsafe {
        sys::napi_create_typedarray(env.raw(), sys::TypedarrayType::uint8_array, len, ab, 0, &mut out)
    };
    napi_status(status, "napi_create_typedarray")?;
    Ok(out)
}

/// The buffer a reference points to and whether it is detached; `None` if it is gone.
pub(crate) fn buffer_state(env: &Env, r: sys::napi_ref) -> Option<(sys::napi_value, bool)> {
    let mut v = ptr::null_mut();
    // SAFETY: `r` is a reference this module created in this env and has not deleted.
    let ok = unsafe { sys::napi_get_reference_value(env.raw(), r, &mut v) } == sys::Status::napi_ok;
    if !ok || v.is_null() {
        return None;
    }
    let mut detached = false;
    // SAFETY: `v` is a live ArrayBuffer value of this env.
    let ok =
        unsafe { sys::napi_is_detached_arraybuffer(env.raw(), v, &mut detached) } == sys::Status::napi_ok;
    ok.then_some((v, detached))
}

pub(crate) fn delete_ref(env: &Env, r: sys::napi_ref) {
    // SAFETY: `r` was created by this module in this env and is deleted once (taken out of the
    // table before this call).
    unsafe { sys::napi_delete_reference(env.raw(), r) };
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
                delete_raw_ref(env, std::mem::replace(r, ptr::null_mut()));
            }
        }
    }
}

pub(crate) fn delete_raw_ref(env: sys::napi_env, r: sys::napi_ref) {
    // SAFETY: `r` was created by this module in this env and is deleted once (taken out of its
    // table before this call).
    unsafe { sys::napi_delete_reference(env, r) };
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
        let data = region.range(loc.offset, loc.len).ok_or_else(|| stale(Some(h)))?;
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
            match buffer_state(env, *cell) {
                Some((ab, false)) => return uint8_view(env, ab, loc.len),
                Some((_, true)) => self.mark_moved(loc.node_index, loc.slot)?,
                None => {}
            }
            delete_ref(env, std::mem::replace(cell, ptr::null_mut()));
        }
        let ab = create_external_view(env, &region, data.as_ptr(), loc.len)?;
        let mut r = ptr::null_mut();
        // SAFETY: `ab` is a live value of this env; refcount 1 keeps it until the free (V1, V2b).
        let status = unsafe { sys::napi_create_reference(env.raw(), ab, 1, &mut r) };
        napi_status(status, "napi_create_reference")?;
        *cell = r;
        uint8_view(env, ab, loc.len)
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
        let state = buffer_state(env, *cell);
        if matches!(state, Some((_, true))) {
            self.mark_moved(node_index, slot)?;
        }
        if let Some((ab, false)) = state {
            // SAFETY: `ab` is a live, attached external ArrayBuffer of this env.
            let status = unsafe { sys::napi_detach_arraybuffer(env.raw(), ab) };
            if status != sys::Status::napi_ok {
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
        let Some(slot) = region.range(loc.offset, loc.len) else { return Ok(None) };
        let n = loc.len.min(js.len);
        let (src, dst) = if into_js { (slot.as_ptr(), js.as_ptr()) } else { (js.as_ptr(), slot.as_ptr()) };
        // SAFETY: P2/P3: `slot .. slot + len` is a live slot inside a mapped region; T1: the JS
        // array holds `js.len` bytes for this call; n is at most both. The two may overlap (the
        // array can be a view of the same region), so this is a memmove, and no Rust reference
        // to either side is formed. No JS runs during the copy.
        unsafe { ptr::copy(src, dst, n) };
        Ok(Some(n))
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
            let mut v = ptr::null_mut();
            // SAFETY: `*cell` is a reference this module created in this env and has not deleted.
            let ok =
                unsafe { sys::napi_get_reference_value(env.raw(), *cell, &mut v) } == sys::Status::napi_ok;
            if ok && !v.is_null() {
                return Ok(Some(v));
            }
            delete_ref(env, std::mem::replace(cell, ptr::null_mut()));
        }
        let len = region.len();
        let ab = create_external_view(env, &region, region.as_ptr(), len)?;
        let view = uint8_view(env, ab, len)?;
        let mut r = ptr::null_mut();
        // SAFETY: `view` is a live value of this env; refcount 0 makes the reference weak.
        let status = unsafe { sys::napi_create_reference(env.raw(), view, 0, &mut r) };
        napi_status(status, "napi_create_reference")?;
        *cell = r;
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
        let at = if fast::type_of(env, a[2]) == sys::ValueType::napi_undefined {
            0
        } else {
            fast::u53(env, a[2], "at")?
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
