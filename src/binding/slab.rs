//! JS classes `NumaSlab`, `NumaSlabPool` and `NumaSlabTelemetry` (API.md §7).
//!
//! # Zero-copy views and why they are safe
//! `allocate()` and `view()` hand out a `Uint8Array` over the slot's own bytes: an *external*
//! ArrayBuffer whose data pointer is inside the node's [`SlabRegion`]. Three rules keep JS from
//! ever reaching memory it should not:
//! - V1 (one buffer per allocation): each live allocation has at most one external ArrayBuffer
//!   at a time, held by a strong napi reference in `views[node][slot]` until the slot is freed.
//!   `view()` reuses it (new `Uint8Array`, same buffer), so the table is O(slots) however often
//!   `view()` is called. The table grows on demand (slots never viewed cost nothing).
//! - V2 (detach on free): a successful `deallocate` (one handle, or `deallocateMany`)
//!   first detaches that buffer, which empties every `Uint8Array` over it (`byteLength === 0`),
//!   then frees the slot. If detaching fails the slot is *not* freed (and the call throws), so a
//!   reused slot is never visible through an old view. Node marks external buffers
//!   untransferable, so no other realm can hold one.
//! - V2b (transferred views): on Node >= 22, `ArrayBuffer.prototype.transfer()` (or any other
//!   detach we did not do) moves the slot's memory into a new buffer this table cannot reach.
//!   Because the table holds its buffer strongly, such a move is always seen: the held buffer
//!   is detached although we never detached it. The allocation is then marked, and its free
//!   *retires* the slot (S7): it is never handed out again, so the moved buffer can only ever
//!   show its own allocation's bytes. `telemetry().retiredSlots` counts such slots.
//! - V3 (mapping outlives buffers): each external buffer's finalize hint owns an
//!   `Arc<SlabRegion>`, dropped in the finalizer, so the region stays mapped until the pool is
//!   gone *and* every buffer has been finalized, whatever order GC picks. Detaching does not run
//!   the finalizer early in a way that matters: the hint is freed exactly once, whenever V8
//!   releases the backing store.
//!
//! # Region views: the opt-in raw window
//! With `config.regionViews: true`, `regionView(nodeId)` returns one long-lived `Uint8Array`
//! over a node's whole region, so a consumer reads slot `s` at `s * entrySizeBytes` without a
//! new external buffer per message. It is *not* covered by V2: it shows every slot, live or
//! free, and a slot's old bytes stay visible there after its free. Its contents are meaningful
//! only at the offsets of handles that are live (check with `isLive`/`offsetOf`, or free after
//! reading and trust the bytes only when the free returned true). V3 holds for it (its hint owns
//! an `Arc`), and it is never detached: it keeps its region mapped until it is collected.
//! - V4 (one region view per node): `regionViews[node]` is a weak reference to that node's
//!   `Uint8Array`; calls return the same object while it lives.
//!
//! # Hot methods
//! `allocateInto`, `allocateMany`, `deallocate`, `deallocateMany`, `isLive`, `offsetOf`,
//! `readInto` and `writeFrom` are raw N-API callbacks on the class (`raw.rs`, [`PoolState`]'s
//! `raw_*` methods): handles go in as a `SlabHandle` object or as three numbers and come out as
//! (nodeId, slotIndex, generation) triples in a caller-owned `Float64Array`, so a call allocates
//! nothing in JS. They report expected failures as values (`-1`, `false`, a short count) and
//! throw only for arguments of the wrong type or range. The pool's JS object and the bound copies
//! of these methods (R5 in `raw.rs`) share one `Rc<PoolState>`; whichever of them goes last
//! deletes the napi references (F1, `fast::EnvRelease`), so a `deallocate` taken off the pool
//! still detaches views (V2) after the pool object itself was collected.
//!
//! Handles from JS are parsed strictly (non-negative safe integers) and then go through the
//! core's liveness check (S3) before any pointer is formed, so no JS value can steer a read or
//! write outside a live slot. The one exception is the region view, which is bounds-checked by
//! V8 alone and therefore opt-in.

use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;
use std::rc::Rc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::{sys, JsValue, ValueType};
use napi_derive::napi;

use super::args;
use super::error::{Code, Coded, CodedResult, ThrowExt};
use super::fast;
use super::hugepage::{config_from_js, status_from_js, HugepageStatus};
use super::raw::{self, IntoJs};
use super::topo::ReactorPlacementManifest;
use crate::slab::{self as core, NodeId, NumaBinding, SlabError, SlabHandle, SlabRegion, SlotIndex};

/// External buffers whose finalizer has not run yet (diagnostics).
static LIVE_VIEWS: AtomicUsize = AtomicUsize::new(0);

/// The finalize hint of one external buffer (V3).
struct ViewHint {
    _region: Arc<SlabRegion>,
}

/// Called by Node exactly once per external buffer, when V8 releases its backing store.
unsafe extern "C" fn finalize_view(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: V3: `hint` is the `Box<ViewHint>` leaked in `create_external_view` for this buffer,
    // and Node calls the finalizer once; dropping it releases that buffer's share of the region.
    drop(unsafe { Box::from_raw(hint.cast::<ViewHint>()) });
    LIVE_VIEWS.fetch_sub(1, Ordering::Relaxed);
}

fn napi_status(status: sys::napi_status, what: &str) -> CodedResult<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else if status == sys::Status::napi_no_external_buffers_allowed {
        Err(Coded::new(Code::SlabExternalBuffersUnsupported,
            "this runtime does not allow external ArrayBuffers (V8 sandbox), so slots cannot be shared without copying",
        ))
    } else {
        Err(Coded::new(Code::SlabViewFailed, format!("{what} failed (napi status {status})")))
    }
}

/// A new external ArrayBuffer over `len` bytes at `data`, owning one `Arc` of `region` (V3).
fn create_external_view(
    env: &Env,
    region: &Arc<SlabRegion>,
    data: *mut u8,
    len: usize,
) -> CodedResult<sys::napi_value> {
    let hint = Box::into_raw(Box::new(ViewHint { _region: Arc::clone(region) }));
    let mut ab = ptr::null_mut();
    // SAFETY: `data .. data + len` is a live slot inside `region` (the caller located it through
    // the core, P2/P3), and the hint keeps the region mapped until `finalize_view` runs (V3).
    let status = unsafe {
        sys::napi_create_external_arraybuffer(
            env.raw(),
            data.cast(),
            len,
            Some(finalize_view),
            hint.cast(),
            &mut ab,
        )
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
fn uint8_view(env: &Env, ab: sys::napi_value, len: usize) -> CodedResult<sys::napi_value> {
    let mut out = ptr::null_mut();
    // SAFETY: `ab` is a live ArrayBuffer value of this env of exactly `len` bytes.
    let status = unsafe {
        sys::napi_create_typedarray(env.raw(), sys::TypedarrayType::uint8_array, len, ab, 0, &mut out)
    };
    napi_status(status, "napi_create_typedarray")?;
    Ok(out)
}

/// The buffer a reference points to and whether it is detached; `None` if it is gone.
fn buffer_state(env: &Env, r: sys::napi_ref) -> Option<(sys::napi_value, bool)> {
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

fn delete_ref(env: &Env, r: sys::napi_ref) {
    // SAFETY: `r` was created by this module in this env and is deleted once (taken out of the
    // table before this call).
    unsafe { sys::napi_delete_reference(env.raw(), r) };
}

/// Maps a core error to its JS error (the one place for slab errors).
fn slab_error(e: &SlabError) -> Coded {
    match e {
        SlabError::ZeroEntrySize => Coded::out_of_range("config.entrySizeBytes", ">= 1", 0),
        SlabError::CapacityTooLarge(n) => Coded::out_of_range("config.slabCapacity", "<= 4294967295", n),
        SlabError::FootprintOverflow { .. } => Coded::new(Code::OutOfRange, e.to_string()),
        SlabError::Map { .. } => Coded::new(Code::SlabRegionFailed, e.to_string()),
        SlabError::NodeIdTooLarge(n) => Coded::out_of_range("manifest numaNode", "<= 4294967295", n),
    }
}

/// A node id argument: a safe integer that fits in u32.
fn node_id(v: &Unknown<'_>, name: &str) -> CodedResult<NodeId> {
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

fn stale(h: Option<&SlabHandle>) -> Coded {
    let what = match h {
        Some(h) => format!("node {} slot {} generation {}", h.node_id.0, h.slot_index.0, h.generation),
        None => "a handle outside every slab".into(),
    };
    Coded::new(Code::SlabStaleHandle, format!("{what} is not a live allocation of this pool"))
}

/// `{ slabCapacity = 256, entrySizeBytes = 512, hugepage: { enabled = true, pageSizeBytes = 2097152 } }`.
/// Plus the binding's own `regionViews = false` (opt-in raw region windows).
fn config_from_js_opts(v: Option<Unknown<'_>>) -> CodedResult<(core::NumaSlabConfig, bool)> {
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

fn busy() -> Coded {
    Coded::new(Code::ReentrantCall, "the slab pool is busy with another call (a reentrant call)")
}

/// What a pool's JS object and its fast functions share (one `Rc`, see the module docs).
pub(crate) struct PoolState {
    pool: RefCell<core::NumaSlabPool>,
    /// `views[node_index][slot]`: strong reference to the external buffer of that slot's live
    /// allocation (V1), grown on demand.
    views: RefCell<Vec<Vec<sys::napi_ref>>>,
    /// Live allocations whose buffer was detached by someone else (V2b): retired on free.
    moved: RefCell<std::collections::HashSet<(usize, u32)>>,
    /// `region_views[node_index]`: weak reference to the node's region `Uint8Array` (V4).
    region_views: RefCell<Vec<sys::napi_ref>>,
    /// `config.regionViews`: whether `regionView` may hand out raw windows.
    region_views_enabled: bool,
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

fn delete_raw_ref(env: sys::napi_env, r: sys::napi_ref) {
    // SAFETY: `r` was created by this module in this env and is deleted once (taken out of its
    // table before this call).
    unsafe { sys::napi_delete_reference(env, r) };
}

impl PoolState {
    fn new(pool: core::NumaSlabPool, region_views_enabled: bool) -> Self {
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

    fn entry_size(&self) -> usize {
        self.pool.try_borrow().map(|p| p.config().entry_size_bytes).unwrap_or(0)
    }

    /// A `Uint8Array` over a live handle's slot, reusing the slot's buffer while it lives (V1).
    fn view_of(&self, env: &Env, h: &SlabHandle) -> CodedResult<sys::napi_value> {
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
    fn mark_moved(&self, node_index: usize, slot: SlotIndex) -> CodedResult<()> {
        self.moved.try_borrow_mut().map_err(|_| busy())?.insert((node_index, slot.0));
        Ok(())
    }

    /// Detaches the slot's buffer, if any (V2). On failure the reference is kept.
    fn detach_views(&self, env: &Env, node_index: usize, slot: SlotIndex) -> CodedResult<()> {
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
    fn deallocate(&self, env: &Env, h: &SlabHandle) -> CodedResult<bool> {
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
    fn allocate_bare(&self, preferred: NodeId) -> CodedResult<Option<core::PoolAllocation>> {
        Ok(self.pool.try_borrow_mut().map_err(|_| busy())?.allocate(preferred))
    }

    /// The byte offset of a live handle's slot in its node's region.
    fn offset_of(&self, h: &SlabHandle) -> CodedResult<Option<usize>> {
        Ok(self.pool.try_borrow().map_err(|_| busy())?.locate(h).map(|l| l.offset))
    }

    /// Copies between a live slot and a JS `Uint8Array` (`into_js`: slot → target); returns the
    /// bytes copied (`min(entrySizeBytes, array length)`), `None` for a handle that is not live.
    fn copy_slot(
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
    fn deallocate_many(&self, env: &Env, handles: &fast::TypedOut<f64>, count: u64) -> CodedResult<usize> {
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        if count > handles.len / 3 {
            return Err(Coded::out_of_range(
                "count",
                &format!("<= {} (handles.length / 3)", handles.len / 3),
                count,
            ));
        }
        let mut freed = 0;
        for i in 0..count {
            if let Some(h) = handle_from_triple(handles, 3 * i, "handles")? {
                freed += usize::from(self.deallocate(env, &h)?);
            }
        }
        Ok(freed)
    }

    /// The node's region `Uint8Array` (V4), `None` for a node that is not in the pool.
    fn region_view(&self, env: &Env, node: NodeId) -> CodedResult<Option<sys::napi_value>> {
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

/// One slab per NUMA node over real memory, with zero-copy `Uint8Array` views of the slots.
/// See the module docs (V1–V4) for how views are detached on free and what a region view is.
#[napi(custom_finalize)]
pub struct NumaSlabPool {
    state: Rc<PoolState>,
    /// Whether this instance got its own bound methods (`raw.rs`, R5).
    bound: std::cell::Cell<bool>,
}

impl ObjectFinalize for NumaSlabPool {
    fn finalize(self, env: Env) -> Result<()> {
        // F1: if bound methods still hold the state, the last of them releases the references.
        if Rc::strong_count(&self.state) == 1 {
            fast::EnvRelease::release_env(&*self.state, env.raw());
        }
        Ok(())
    }
}

impl NumaSlabPool {
    /// The body of every static constructor: one slab per distinct node, ascending.
    fn build(env: &Env, nodes: &[NodeId], config: Option<Unknown<'_>>) -> Result<Self> {
        let (config, region_views) = config_from_js_opts(config).or_throw(env)?;
        let inner = core::NumaSlabPool::new(nodes, config).map_err(|e| slab_error(&e).throw(env))?;
        Ok(Self { state: Rc::new(PoolState::new(inner, region_views)), bound: std::cell::Cell::new(false) })
    }

    /// The state the raw methods work on (`raw.rs`).
    pub(crate) fn state(&self) -> &Rc<PoolState> {
        &self.state
    }

    /// Set once this instance got its own bound methods (`raw.rs`, R5).
    pub(crate) fn bound(&self) -> &std::cell::Cell<bool> {
        &self.bound
    }

    fn pool(&self, env: &Env) -> Result<std::cell::Ref<'_, core::NumaSlabPool>> {
        self.state.pool.try_borrow().map_err(|_| busy().throw(env))
    }

    fn live_handle(&self, handle: &Unknown<'_>) -> CodedResult<SlabHandle> {
        let h = handle_from_js(handle, "handle")?;
        let pool = self.state.pool.try_borrow().map_err(|_| busy())?;
        match h {
            Some(h) if pool.is_live(&h) => Ok(h),
            other => Err(stale(other.as_ref())),
        }
    }
}

#[napi]
impl NumaSlabPool {
    /// A pool with one slab per distinct node id in `nodeIds` (ascending; `[]` means node 0).
    /// Each slab is one memory region of `slabCapacity * entrySizeBytes` bytes, bound to its node
    /// where the host allows and hugepage-backed where possible (see `regions()`).
    /// `regionViews: true` enables `regionView()` (a raw window over every slot; see there).
    #[napi(
        factory,
        ts_args_type = "nodeIds: number[], config?: { slabCapacity?: number; entrySizeBytes?: number; hugepage?: { enabled?: boolean; pageSizeBytes?: number }; regionViews?: boolean }"
    )]
    pub fn from_nodes(env: Env, node_ids: Unknown, config: Option<Unknown>) -> Result<Self> {
        let nodes = parse_node_list(&node_ids).or_throw(&env)?;
        Self::build(&env, &nodes, config)
    }

    /// A pool with one slab per distinct NUMA node of `manifest.bindings`, ascending; a manifest
    /// without bindings gives a single node 0. `config` as for `fromNodes`.
    #[napi(
        factory,
        ts_args_type = "manifest: ReactorPlacementManifest, config?: { slabCapacity?: number; entrySizeBytes?: number; hugepage?: { enabled?: boolean; pageSizeBytes?: number }; regionViews?: boolean }"
    )]
    pub fn from_manifest(env: Env, manifest: Unknown, config: Option<Unknown>) -> Result<Self> {
        let nodes = manifest_from_js(&manifest).or_throw(&env)?;
        Self::build(&env, &nodes, config)
    }

    /// Allocates a slot, preferring `preferredNode` and falling back to the other nodes in
    /// ascending order (`crossNodeReason: 'local_exhausted'`). `buffer` is a view of the slot's
    /// own memory (`entrySizeBytes` long), detached when the slot is freed. Null when every
    /// slab is full.
    #[napi(
        ts_args_type = "preferredNode: number",
        ts_return_type = "{ handle: SlabHandle; crossNodeReason: 'local_exhausted' | null; buffer: Uint8Array } | null"
    )]
    pub fn allocate<'e>(&self, env: &'e Env, preferred_node: Unknown) -> Result<Option<Object<'e>>> {
        let node = node_id(&preferred_node, "preferredNode").or_throw(env)?;
        let Some(a) = self.state.allocate_bare(node).or_throw(env)? else { return Ok(None) };
        let buffer = match self.state.view_of(env, &a.handle) {
            Ok(b) => b,
            Err(e) => {
                // Roll back: the caller never saw the handle or a buffer.
                let _ = self.state.deallocate(env, &a.handle);
                return Err(e.throw(env));
            }
        };
        let mut o = Object::new(env)?;
        o.set("handle", handle_to_js(&a.handle))?;
        o.set("crossNodeReason", a.cross_node_reason.map(|r| r.code()))?;
        // SAFETY: `buffer` is a live value of this env created just above.
        o.set("buffer", unsafe { Unknown::from_raw_unchecked(env.raw(), buffer) })?;
        Ok(Some(o))
    }

    /// A `Uint8Array` over a live allocation's slot (same memory as `allocate().buffer`).
    /// Throws `ERR_SLAB_STALE_HANDLE` for a handle that is not live.
    #[napi(ts_args_type = "handle: SlabHandle", ts_return_type = "Uint8Array")]
    pub fn view<'e>(&self, env: &'e Env, handle: Unknown) -> Result<Unknown<'e>> {
        let h = self.live_handle(&handle).or_throw(env)?;
        let v = self.state.view_of(env, &h).or_throw(env)?;
        // SAFETY: `v` is a live value of this env created just above.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), v) })
    }

    /// Opt-in raw window (pool created with `regionViews: true`, else throws
    /// `ERR_SLAB_REGION_VIEWS_DISABLED`): one long-lived `Uint8Array` over node `nodeId`'s whole
    /// region (`slabCapacity * entrySizeBytes` bytes; slot `s` at `s * entrySizeBytes`), the same
    /// object on every call while it lives; null for a node not in the pool. Unlike
    /// `allocate().buffer` it is never detached: it shows every slot, live or free, including a
    /// freed slot's old bytes and the next tenant's, so its contents are meaningful only at the
    /// offsets of live handles. It keeps the region mapped until it is collected.
    #[napi(ts_args_type = "nodeId: number", ts_return_type = "Uint8Array | null")]
    pub fn region_view<'e>(&self, env: &'e Env, node: Unknown) -> Result<Unknown<'e>> {
        let node = node_id(&node, "nodeId").or_throw(env)?;
        let v = match self.state.region_view(env, node).or_throw(env)? {
            Some(v) => v,
            None => fast::null(env.raw()).or_throw(env)?,
        };
        // SAFETY: `v` is a live value of this env.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), v) })
    }

    /// Bytes per slot.
    #[napi(getter)]
    pub fn entry_size_bytes(&self) -> f64 {
        self.state.entry_size() as f64
    }

    /// Slots per node (after clamping 0 to 1).
    #[napi(getter)]
    pub fn slab_capacity(&self) -> f64 {
        self.state.pool.try_borrow().map(|p| p.config().slab_capacity.max(1) as f64).unwrap_or(0.0)
    }

    /// Whether `regionView()` is enabled (`config.regionViews`).
    #[napi(getter)]
    pub fn region_views_enabled(&self) -> bool {
        self.state.region_views_enabled
    }

    /// Number of nodes (slabs).
    #[napi(getter)]
    pub fn node_count(&self, env: Env) -> Result<u32> {
        Ok(self.pool(&env)?.node_count() as u32)
    }

    /// The node ids, ascending.
    #[napi(getter)]
    pub fn node_ids(&self, env: Env) -> Result<Vec<u32>> {
        Ok(self.pool(&env)?.node_ids().map(|n| n.0).collect())
    }

    /// Replaces the hugepage status under the pool's rules: a disabled config reports
    /// `hugepage_disabled` and keeps the given counts; an enabled but misaligned config reports
    /// `alignment_mismatch` with zero counts; otherwise the status is stored as given.
    #[napi(
        ts_args_type = "status: HugepageStatus | { totalPages: number; freePages: number; pageSizeBytes: number; active: boolean; fallbackReason?: string | null }"
    )]
    pub fn set_hugepage_status(&self, env: Env, status: Unknown) -> Result<()> {
        let s = status_from_js(&status, "status").or_throw(&env)?;
        self.state.pool.try_borrow_mut().map_err(|_| busy()).or_throw(&env)?.set_hugepage_status(&s);
        Ok(())
    }

    /// The current hugepage status.
    #[napi]
    pub fn hugepage_status(&self, env: Env) -> Result<HugepageStatus> {
        Ok(HugepageStatus { inner: self.pool(&env)?.hugepage_status().clone() })
    }

    /// A telemetry snapshot.
    #[napi(ts_return_type = "NumaSlabTelemetry")]
    pub fn telemetry<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        let t = NumaSlabTelemetry { inner: self.pool(env)?.telemetry() };
        let fields = [
            (c"nodeCount", t.node_count().into_js(env)?),
            (c"totalAllocs", t.total_allocs().into_js(env)?),
            (c"totalFrees", t.total_frees().into_js(env)?),
            (c"totalInUse", t.total_in_use().into_js(env)?),
            (c"retiredSlots", t.retired_slots().into_js(env)?),
            (c"crossNodeAllocs", t.cross_node_allocs().into_js(env)?),
            (c"hugepageBackedAllocs", t.hugepage_backed_allocs().into_js(env)?),
        ];
        raw::plain_instance(env, t, &fields)
    }

    /// Diagnostics: per node, what backs the region and what the kernel really did, read from
    /// `/proc/self/smaps` now (`anonHugePagesBytes` is null when the mapping was not found).
    #[napi(
        ts_return_type = "Array<{ nodeId: number; bytes: number; mappedBytes: number; backing: 'explicit_hugepages' | 'transparent_hugepages' | 'base_pages'; hugepageReason: string | null; numaBound: boolean; numaReason: string | null; anonHugePagesBytes: number | null; thpAdvised: boolean | null; kernelPageSize: number | null }>"
    )]
    pub fn regions<'e>(&self, env: &'e Env) -> Result<Array<'e>> {
        let reports = self.pool(env)?.region_reports();
        let mut arr = env.create_array(reports.len() as u32)?;
        for (i, r) in reports.iter().enumerate() {
            let mut o = Object::new(env)?;
            o.set("nodeId", r.node.0)?;
            o.set("bytes", r.bytes as f64)?;
            o.set("mappedBytes", r.mapped_bytes as f64)?;
            o.set("backing", r.backing.code())?;
            o.set("hugepageReason", r.hugepage_reason.as_deref())?;
            let (bound, why) = match &r.numa {
                NumaBinding::Preferred(_) => (true, None),
                NumaBinding::NotBound(why) => (false, Some(why.as_str())),
            };
            o.set("numaBound", bound)?;
            o.set("numaReason", why)?;
            o.set("anonHugePagesBytes", r.anon_huge_pages_bytes.map(|v| v as f64))?;
            o.set("thpAdvised", r.thp_advised)?;
            o.set("kernelPageSize", r.kernel_page_size.map(|v| v as f64))?;
            arr.set(i as u32, o)?;
        }
        Ok(arr)
    }

    /// Diagnostics: a copy of a live slot's bytes, read by Rust (not through a JS view).
    /// Throws `ERR_SLAB_STALE_HANDLE` for a handle that is not live.
    #[napi(ts_args_type = "handle: SlabHandle", ts_return_type = "Uint8Array")]
    pub fn read_slot(&self, env: Env, handle: Unknown) -> Result<Buffer> {
        let h = self.live_handle(&handle).or_throw(&env)?;
        let pool = self.state.pool.try_borrow().map_err(|_| busy()).or_throw(&env)?;
        let bytes = pool.slot_bytes(&h).ok_or_else(|| stale(Some(&h))).or_throw(&env)?;
        Ok(Buffer::from(bytes.to_vec()))
    }

    /// Diagnostics: Rust copies `bytes` (at most `entrySizeBytes`) to the start of a live slot.
    /// Throws `ERR_SLAB_STALE_HANDLE` for a handle that is not live.
    #[napi(ts_args_type = "handle: SlabHandle, bytes: Uint8Array")]
    pub fn write_slot(&self, env: Env, handle: Unknown, bytes: Unknown) -> Result<()> {
        let h = self.live_handle(&handle).or_throw(&env)?;
        let src = uint8_bytes(&env, &bytes, "bytes").or_throw(&env)?;
        let mut pool = self.state.pool.try_borrow_mut().map_err(|_| busy()).or_throw(&env)?;
        let dst = pool.slot_bytes_mut(&h).ok_or_else(|| stale(Some(&h))).or_throw(&env)?;
        if src.len() > dst.len() {
            return Err(
                Coded::out_of_range("bytes.length", &format!("<= {}", dst.len()), src.len()).throw(&env)
            );
        }
        dst[..src.len()].copy_from_slice(&src);
        Ok(())
    }

    /// Diagnostics (tests, soak): slab regions currently mapped in this process. A region is
    /// unmapped once its pool is collected and every buffer over it has been finalized.
    #[napi(skip_typescript)]
    pub fn live_regions() -> u32 {
        SlabRegion::live_count() as u32
    }

    /// Diagnostics (tests, soak): external slot buffers whose finalizer has not run yet.
    #[napi(skip_typescript)]
    pub fn live_views() -> u32 {
        LIVE_VIEWS.load(Ordering::Relaxed) as u32
    }
}

/// A `ReactorPlacementManifest` argument: the NUMA nodes of its bindings.
fn manifest_from_js(v: &Unknown<'_>) -> CodedResult<Vec<NodeId>> {
    const EXPECTED: &str = "an instance of ReactorPlacementManifest";
    if args::ty(v) != ValueType::Object {
        return Err(Coded::arg_type("manifest", EXPECTED, args::describe(v)));
    }
    // SAFETY: the value is an object; the class conversion checks napi's type tag and fails
    // cleanly for other objects. (A `&T` cast is refused inside a callback body: napi-rs only
    // registers native borrows during argument conversion, so the instance form is used.)
    let m = unsafe { v.cast::<ClassInstance<ReactorPlacementManifest>>() }
        .map_err(|_| Coded::arg_type("manifest", EXPECTED, "another object"))?;
    core::manifest_nodes(&m.inner).map_err(|e| slab_error(&e))
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
    if fast::type_of(env, a[at]) == sys::ValueType::napi_object {
        return Ok((handle_from_js(&raw::unknown(env, a[at]), "handle")?, at + 1));
    }
    let part = |k: usize, name| fast::u53(env, a[at + k], name);
    Ok((handle_from_parts(part(0, "nodeId")?, part(1, "slotIndex")?, part(2, "generation")?), at + 3))
}

/// A napi-rs `Env` for a raw callback's env (for helpers shared with the methods).
fn env_of(env: sys::napi_env) -> Env {
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

/// A copy of a `Uint8Array`'s bytes (any `Uint8Array`, including a `Buffer`).
fn uint8_bytes(env: &Env, v: &Unknown<'_>, name: &str) -> CodedResult<Vec<u8>> {
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
fn parse_node_list(v: &Unknown<'_>) -> CodedResult<Vec<NodeId>> {
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

/// A pool telemetry snapshot (`asJson()` has the keys of API.md §7).
#[napi]
pub struct NumaSlabTelemetry {
    inner: core::SlabTelemetry,
}

#[napi]
impl NumaSlabTelemetry {
    /// Number of nodes.
    #[napi(getter)]
    pub fn node_count(&self) -> u32 {
        self.inner.per_node.len() as u32
    }
    /// Successful allocations, all nodes.
    #[napi(getter)]
    pub fn total_allocs(&self) -> f64 {
        self.inner.total_allocs() as f64
    }
    /// Successful frees, all nodes.
    #[napi(getter)]
    pub fn total_frees(&self) -> f64 {
        self.inner.total_frees() as f64
    }
    /// Live slots, all nodes.
    #[napi(getter)]
    pub fn total_in_use(&self) -> f64 {
        self.inner.total_in_use() as f64
    }
    /// Slots retired for good: freed after their view was moved out of reach (e.g. by
    /// `ArrayBuffer.prototype.transfer()`), or reused 2^32 − 1 times. Never handed out again.
    #[napi(getter)]
    pub fn retired_slots(&self) -> f64 {
        self.inner.total_retired() as f64
    }
    /// Allocations served away from the preferred node.
    #[napi(getter)]
    pub fn cross_node_allocs(&self) -> f64 {
        self.inner.cross_node_allocs as f64
    }
    /// Allocations made while the hugepage status was active.
    #[napi(getter)]
    pub fn hugepage_backed_allocs(&self) -> f64 {
        self.inner.hugepage_backed_allocs as f64
    }

    /// The stable diagnostic object (snake_case keys, ratios in basis points of 10000).
    #[napi(ts_return_type = "Record<string, unknown>")]
    pub fn as_json(&self) -> serde_json::Value {
        self.inner.to_json()
    }
}
