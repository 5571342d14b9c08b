//! JS classes `NumaSlab`, `NumaSlabPool` and `NumaSlabTelemetry` (API.md §7).
//!
//! # Zero-copy views and why they are safe
//! `allocate()` and `view()` hand out a `Uint8Array` over the slot's own bytes: an *external*
//! ArrayBuffer whose data pointer is inside the node's [`SlabRegion`]. Three rules keep JS from
//! ever reaching memory it should not:
//! - V1 (one buffer per allocation): each live allocation has at most one external ArrayBuffer
//!   at a time, tracked by a weak napi reference in `views[node][slot]`. `view()` reuses it while
//!   it is alive (new `Uint8Array`, same buffer) and creates a fresh one only after it was
//!   collected, so the table is O(slots) however often `view()` is called.
//! - V2 (detach on free): a successful `deallocate` first detaches that buffer, which empties
//!   every `Uint8Array` over it (`byteLength === 0`), then frees the slot. If detaching fails the
//!   slot is *not* freed (and the call throws), so a reused slot is never visible through an old
//!   view. Node marks external buffers untransferable, so no other realm can hold one.
//! - V3 (mapping outlives buffers): each external buffer's finalize hint owns an
//!   `Arc<SlabRegion>`, dropped in the finalizer, so the region stays mapped until the pool is
//!   gone *and* every buffer has been finalized, whatever order GC picks. Detaching does not run
//!   the finalizer early in a way that matters: the hint is freed exactly once, whenever V8
//!   releases the backing store.
//!
//! Handles from JS are parsed strictly (non-negative safe integers) and then go through the
//! core's liveness check (S3) before any pointer is formed, so no JS value can steer a read or
//! write outside a live slot.

use std::ffi::c_void;
use std::ptr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::{sys, JsValue, ValueType};
use napi_derive::napi;

use super::args;
use super::error::{Coded, CodedResult, ErrorClass, ThrowExt};
use super::hugepage::{config_from_js, status_from_js, HugepageStatus};
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
        Err(Coded::error(
            "ERR_SLAB_EXTERNAL_BUFFERS_UNSUPPORTED",
            "this runtime does not allow external ArrayBuffers (V8 sandbox), so slots cannot be shared without copying",
        ))
    } else {
        Err(Coded::error("ERR_SLAB_VIEW_FAILED", format!("{what} failed (napi status {status})")))
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

/// The value a weak reference still points to, if it was not collected and is not detached.
fn live_buffer(env: &Env, r: sys::napi_ref) -> Option<sys::napi_value> {
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
    (ok && !detached).then_some(v)
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
        SlabError::FootprintOverflow { .. } => {
            Coded::new(ErrorClass::Range, "ERR_OUT_OF_RANGE", e.to_string())
        }
        SlabError::Map { .. } => Coded::error("ERR_SLAB_REGION_FAILED", e.to_string()),
    }
}

/// A node id argument: a safe integer that fits in u32.
fn node_id(v: &Unknown<'_>, name: &str) -> CodedResult<NodeId> {
    let n = args::u53(v, name)?;
    u32::try_from(n).map(NodeId).map_err(|_| Coded::out_of_range(name, ">= 0 and <= 4294967295", n))
}

/// `{ nodeId, slotIndex, generation }`. `Ok(None)` for well-formed numbers that no slab can hold
/// (ids above u32): such a handle is simply not live.
fn handle_from_js(v: &Unknown<'_>, name: &str) -> CodedResult<Option<SlabHandle>> {
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

fn handle_to_js(h: &SlabHandle) -> JsSlabHandle {
    JsSlabHandle { node_id: h.node_id.0, slot_index: h.slot_index.0, generation: h.generation as f64 }
}

fn stale(h: Option<&SlabHandle>) -> Coded {
    let what = match h {
        Some(h) => format!("node {} slot {} generation {}", h.node_id.0, h.slot_index.0, h.generation),
        None => "a handle outside every slab".into(),
    };
    Coded::error("ERR_SLAB_STALE_HANDLE", format!("{what} is not a live allocation of this pool"))
}

/// `{ slabCapacity = 256, entrySizeBytes = 512, hugepage: { enabled = true, pageSizeBytes = 2097152 } }`.
fn config_from_js_opts(v: Option<Unknown<'_>>) -> CodedResult<core::NumaSlabConfig> {
    let mut config = core::NumaSlabConfig::default();
    let Some(obj) = args::options(v, "config")? else { return Ok(config) };
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
    Ok(config)
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

/// One slab per NUMA node over real memory, with zero-copy `Uint8Array` views of the slots.
/// See the module docs (V1–V3) for how views are detached on free.
#[napi(custom_finalize)]
pub struct NumaSlabPool {
    inner: core::NumaSlabPool,
    /// `views[node_index][slot]`: weak reference to the live external buffer of that slot (V1).
    views: Vec<Vec<sys::napi_ref>>,
}

impl ObjectFinalize for NumaSlabPool {
    fn finalize(self, env: Env) -> Result<()> {
        // The buffers stay valid (V3); only our weak references go.
        for r in self.views.iter().flatten().filter(|r| !r.is_null()) {
            delete_ref(&env, *r);
        }
        Ok(())
    }
}

impl NumaSlabPool {
    /// The body of every static constructor: one slab per distinct node, ascending.
    fn build(env: &Env, nodes: &[NodeId], config: Option<Unknown<'_>>) -> Result<Self> {
        let config = config_from_js_opts(config).or_throw(env)?;
        let inner = core::NumaSlabPool::new(nodes, config).map_err(|e| slab_error(&e).throw(env))?;
        let views = inner
            .node_ids()
            .filter_map(|n| inner.slab(n))
            .map(|s| vec![ptr::null_mut(); s.capacity() as usize])
            .collect();
        Ok(Self { inner, views })
    }

    fn view_slot(&mut self, node_index: usize, slot: SlotIndex) -> Option<&mut sys::napi_ref> {
        self.views.get_mut(node_index)?.get_mut(slot.0 as usize)
    }

    /// A `Uint8Array` over a live handle's slot, reusing the slot's buffer while it lives (V1).
    fn view_of(&mut self, env: &Env, h: &SlabHandle) -> CodedResult<sys::napi_value> {
        let loc = self.inner.locate(h).ok_or_else(|| stale(Some(h)))?;
        let region = Arc::clone(self.inner.region(loc.node_index).ok_or_else(|| stale(Some(h)))?);
        let data = region.range(loc.offset, loc.len).ok_or_else(|| stale(Some(h)))?;
        let cell = self.view_slot(loc.node_index, loc.slot).ok_or_else(|| stale(Some(h)))?;
        if !cell.is_null() {
            if let Some(ab) = live_buffer(env, *cell) {
                return uint8_view(env, ab, loc.len);
            }
            delete_ref(env, std::mem::replace(cell, ptr::null_mut()));
        }
        let ab = create_external_view(env, &region, data.as_ptr(), loc.len)?;
        let mut r = ptr::null_mut();
        // SAFETY: `ab` is a live value of this env; refcount 0 makes the reference weak.
        let status = unsafe { sys::napi_create_reference(env.raw(), ab, 0, &mut r) };
        napi_status(status, "napi_create_reference")?;
        *cell = r;
        uint8_view(env, ab, loc.len)
    }

    /// Detaches the slot's buffer, if any (V2). On failure the reference is kept.
    fn detach_views(&mut self, env: &Env, node_index: usize, slot: SlotIndex) -> CodedResult<()> {
        let Some(cell) = self.view_slot(node_index, slot) else { return Ok(()) };
        if cell.is_null() {
            return Ok(());
        }
        if let Some(ab) = live_buffer(env, *cell) {
            // SAFETY: `ab` is a live, attached external ArrayBuffer of this env.
            let status = unsafe { sys::napi_detach_arraybuffer(env.raw(), ab) };
            if status != sys::Status::napi_ok {
                return Err(Coded::error(
                    "ERR_SLAB_DETACH_FAILED",
                    format!(
                        "could not detach the slot's view (napi status {status}); the allocation stays live"
                    ),
                ));
            }
        }
        delete_ref(env, std::mem::replace(cell, ptr::null_mut()));
        Ok(())
    }

    fn live_handle(&self, handle: &Unknown<'_>) -> CodedResult<SlabHandle> {
        let h = handle_from_js(handle, "handle")?;
        match h {
            Some(h) if self.inner.is_live(&h) => Ok(h),
            other => Err(stale(other.as_ref())),
        }
    }
}

#[napi]
impl NumaSlabPool {
    /// A pool with one slab per distinct node id in `nodeIds` (ascending; `[]` means node 0).
    /// Each slab is one memory region of `slabCapacity * entrySizeBytes` bytes, bound to its node
    /// where the host allows and hugepage-backed where possible (see `regions()`).
    #[napi(
        factory,
        ts_args_type = "nodeIds: number[], config?: { slabCapacity?: number; entrySizeBytes?: number; hugepage?: { enabled?: boolean; pageSizeBytes?: number } }"
    )]
    pub fn from_nodes(env: Env, node_ids: Unknown, config: Option<Unknown>) -> Result<Self> {
        let nodes = parse_node_list(&node_ids).or_throw(&env)?;
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
    pub fn allocate<'e>(&mut self, env: &'e Env, preferred_node: Unknown) -> Result<Option<Object<'e>>> {
        let node = node_id(&preferred_node, "preferredNode").or_throw(env)?;
        let Some(a) = self.inner.allocate(node) else { return Ok(None) };
        let buffer = match self.view_of(env, &a.handle) {
            Ok(b) => b,
            Err(e) => {
                // Roll back: the caller never saw the handle or a buffer.
                if let Some(loc) = self.inner.locate(&a.handle) {
                    let _ = self.detach_views(env, loc.node_index, loc.slot);
                }
                self.inner.deallocate(&a.handle);
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

    /// Frees a live handle and detaches every view handed out for it (`byteLength === 0`).
    /// False for a stale generation, a double free, an unknown node or slot.
    #[napi(ts_args_type = "handle: SlabHandle")]
    pub fn deallocate(&mut self, env: Env, handle: Unknown) -> Result<bool> {
        let Some(h) = handle_from_js(&handle, "handle").or_throw(&env)? else { return Ok(false) };
        let Some(loc) = self.inner.locate(&h) else { return Ok(false) };
        self.detach_views(&env, loc.node_index, loc.slot).or_throw(&env)?;
        Ok(self.inner.deallocate(&h))
    }

    /// A `Uint8Array` over a live allocation's slot (same memory as `allocate().buffer`).
    /// Throws `ERR_SLAB_STALE_HANDLE` for a handle that is not live.
    #[napi(ts_args_type = "handle: SlabHandle", ts_return_type = "Uint8Array")]
    pub fn view<'e>(&mut self, env: &'e Env, handle: Unknown) -> Result<Unknown<'e>> {
        let h = self.live_handle(&handle).or_throw(env)?;
        let v = self.view_of(env, &h).or_throw(env)?;
        // SAFETY: `v` is a live value of this env created just above.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), v) })
    }

    /// Number of nodes (slabs).
    #[napi(getter)]
    pub fn node_count(&self) -> u32 {
        self.inner.node_count() as u32
    }

    /// The node ids, ascending.
    #[napi(getter)]
    pub fn node_ids(&self) -> Vec<u32> {
        self.inner.node_ids().map(|n| n.0).collect()
    }

    /// Replaces the hugepage status under the pool's rules: a disabled config reports
    /// `hugepage_disabled` and keeps the given counts; an enabled but misaligned config reports
    /// `alignment_mismatch` with zero counts; otherwise the status is stored as given.
    #[napi(
        ts_args_type = "status: HugepageStatus | { totalPages: number; freePages: number; pageSizeBytes: number; active: boolean; fallbackReason?: string | null }"
    )]
    pub fn set_hugepage_status(&mut self, env: Env, status: Unknown) -> Result<()> {
        let s = status_from_js(&status, "status").or_throw(&env)?;
        self.inner.set_hugepage_status(&s);
        Ok(())
    }

    /// The current hugepage status.
    #[napi]
    pub fn hugepage_status(&self) -> HugepageStatus {
        HugepageStatus { inner: self.inner.hugepage_status().clone() }
    }

    /// A telemetry snapshot.
    #[napi]
    pub fn telemetry(&self) -> NumaSlabTelemetry {
        NumaSlabTelemetry { inner: self.inner.telemetry() }
    }

    /// Diagnostics: per node, what backs the region and what the kernel really did, read from
    /// `/proc/self/smaps` now (`anonHugePagesBytes` is null when the mapping was not found).
    #[napi(
        ts_return_type = "Array<{ nodeId: number; bytes: number; mappedBytes: number; backing: 'explicit_hugepages' | 'transparent_hugepages' | 'base_pages'; hugepageReason: string | null; numaBound: boolean; numaReason: string | null; anonHugePagesBytes: number | null; thpAdvised: boolean | null; kernelPageSize: number | null }>"
    )]
    pub fn regions<'e>(&self, env: &'e Env) -> Result<Array<'e>> {
        let reports = self.inner.region_reports();
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
        let bytes = self.inner.slot_bytes(&h).ok_or_else(|| stale(Some(&h))).or_throw(&env)?;
        Ok(Buffer::from(bytes.to_vec()))
    }

    /// Diagnostics: Rust copies `bytes` (at most `entrySizeBytes`) to the start of a live slot.
    /// Throws `ERR_SLAB_STALE_HANDLE` for a handle that is not live.
    #[napi(ts_args_type = "handle: SlabHandle, bytes: Uint8Array")]
    pub fn write_slot(&mut self, env: Env, handle: Unknown, bytes: Unknown) -> Result<()> {
        let h = self.live_handle(&handle).or_throw(&env)?;
        let src = uint8_bytes(&env, &bytes, "bytes").or_throw(&env)?;
        let dst = self.inner.slot_bytes_mut(&h).ok_or_else(|| stale(Some(&h))).or_throw(&env)?;
        if src.len() > dst.len() {
            return Err(
                Coded::out_of_range("bytes.length", &format!("<= {}", dst.len()), src.len()).throw(&env)
            );
        }
        dst[..src.len()].copy_from_slice(&src);
        Ok(())
    }

    /// Diagnostics: slab regions currently mapped in this process. A region is unmapped once
    /// its pool is collected and every buffer over it has been finalized.
    #[napi]
    pub fn live_regions() -> u32 {
        SlabRegion::live_count() as u32
    }

    /// Diagnostics: external slot buffers whose finalizer has not run yet.
    #[napi]
    pub fn live_views() -> u32 {
        LIVE_VIEWS.load(Ordering::Relaxed) as u32
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
