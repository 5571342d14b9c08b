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

mod handle;
mod node;
mod parse;
mod state;
mod telemetry;

pub(crate) use handle::{handle_from_js, handle_from_triple, handle_to_js, slot_args, write_triple};
pub use node::NumaSlab;
pub(crate) use state::PoolState;
pub use telemetry::NumaSlabTelemetry;

use std::rc::Rc;
use std::sync::atomic::Ordering;

use napi::bindgen_prelude::*;
use napi_derive::napi;

use super::error::{Coded, CodedResult, ThrowExt};
use super::ffi::fast;
use super::raw::{self, IntoJs};
use crate::slab::{self as core, NodeId, NumaBinding, SlabHandle, SlabRegion};

use super::hugepage::{status_from_js, HugepageStatus};
use handle::{node_id, stale};
use parse::{config_from_js_opts, manifest_from_js, parse_node_list, slab_error, uint8_bytes};
use state::{busy, LIVE_VIEWS};

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
        o.set("buffer", raw::unknown(env.raw(), buffer))?;
        Ok(Some(o))
    }

    /// A `Uint8Array` over a live allocation's slot (same memory as `allocate().buffer`).
    /// Throws `ERR_SLAB_STALE_HANDLE` for a handle that is not live.
    #[napi(ts_args_type = "handle: SlabHandle", ts_return_type = "Uint8Array")]
    pub fn view<'e>(&self, env: &'e Env, handle: Unknown) -> Result<Unknown<'e>> {
        let h = self.live_handle(&handle).or_throw(env)?;
        let v = self.state.view_of(env, &h).or_throw(env)?;
        Ok(raw::unknown(env.raw(), v))
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
        Ok(raw::unknown(env.raw(), v))
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
    #[napi(ts_return_type = "HugepageStatus")]
    pub fn hugepage_status<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        HugepageStatus::to_js(env, self.pool(env)?.hugepage_status().clone())
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
