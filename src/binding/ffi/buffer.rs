//! External ArrayBuffers over slab regions and the napi references of the slab binding's view
//! tables (V1–V4 in `binding/slab/mod.rs`).
//!
//! - V3 (the region outlives its buffers): an external buffer's finalize hint owns one `Arc` of
//!   the region it points into, released by Node's finalizer (once, when V8 frees the backing
//!   store), so the mapping stays valid for as long as any JS view of it exists.
//! - X1 (in-bounds): a buffer's bytes are `SlabRegion::range(offset, len)`, which checks that the
//!   range lies inside the region's mapping.
//! - X2 (one owner per reference): a `napi_ref` passed here was made by [`create_reference`] in
//!   this env and is deleted once: its table cell is cleared when it is.

use std::ffi::c_void;
use std::ptr;
use std::sync::Arc;

use napi::sys;

use super::super::error::{Code, Coded, CodedResult};
use super::value::TypedOut;
use crate::slab::SlabRegion;

/// `Ok` for `napi_ok`, else the slab's coded error for `what` (external buffers refused by the
/// runtime have their own code).
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

/// The finalize hint of one external buffer (V3): the region, and the caller's token, dropped
/// together when the buffer is released.
struct ViewHint<H> {
    _region: Arc<SlabRegion>,
    _token: H,
}

/// Called by Node exactly once per external buffer, when V8 releases its backing store.
unsafe extern "C" fn finalize_view<H>(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: V3: `hint` is the `Box<ViewHint<H>>` leaked in `external_view::<H>` for this
    // buffer, and Node calls the finalizer once; dropping it releases the buffer's share of the
    // region (and runs the token's Drop).
    drop(unsafe { Box::from_raw(hint.cast::<ViewHint<H>>()) });
}

/// A new external ArrayBuffer over `region[offset .. offset + len]`, owning one `Arc` of
/// `region` and `token` until Node releases it (V3, X1). `token` is dropped at once when the
/// buffer could not be made.
pub(crate) fn external_view<H: 'static>(
    env: sys::napi_env,
    region: &Arc<SlabRegion>,
    offset: usize,
    len: usize,
    token: H,
) -> CodedResult<sys::napi_value> {
    let data = region
        .range(offset, len)
        .ok_or_else(|| Coded::new(Code::SlabViewFailed, "the view's range is outside its region"))?;
    let hint = Box::into_raw(Box::new(ViewHint { _region: Arc::clone(region), _token: token }));
    let mut ab = ptr::null_mut();
    // The WebAssembly build cannot give JS a view of a slot that a free can detach (emnapi
    // copies external buffers, and a view of the module's shared memory cannot be detached), so
    // it refuses the way a V8 sandbox does (docs/wasm.md), before Node sees the hint.
    let status = if cfg!(target_family = "wasm") {
        sys::Status::napi_no_external_buffers_allowed
    } else {
        // SAFETY: X1: `data .. data + len` lies inside `region`'s mapping, and V3: the hint keeps
        // the region mapped until `finalize_view` runs; G1: env is the live env of the current
        // call.
        unsafe {
            sys::napi_create_external_arraybuffer(
                env,
                data.as_ptr().cast(),
                len,
                Some(finalize_view::<H>),
                hint.cast(),
                &mut ab,
            )
        }
    };
    if status == sys::Status::napi_ok {
        return Ok(ab);
    }
    if status == sys::Status::napi_no_external_buffers_allowed {
        // Refused before any finalizer was registered: the hint is still ours.
        // SAFETY: V3: `hint` came from Box::into_raw above and Node did not take it (no finalizer
        // was registered), so it is ours to free.
        drop(unsafe { Box::from_raw(hint) });
    }
    // Any other failure may or may not have registered the finalizer; leaking the hint (and so
    // keeping the region mapped) is the safe choice.
    napi_status(status, "napi_create_external_arraybuffer")?;
    Ok(ab)
}

/// A `Uint8Array` over the whole of `ab` (`len` bytes).
pub(crate) fn uint8_view(
    env: sys::napi_env,
    ab: sys::napi_value,
    len: usize,
) -> CodedResult<sys::napi_value> {
    let mut out = ptr::null_mut();
    // SAFETY: G2: `ab` is a live ArrayBuffer value of this env of exactly `len` bytes.
    let status =
        unsafe { sys::napi_create_typedarray(env, sys::TypedarrayType::uint8_array, len, ab, 0, &mut out) };
    napi_status(status, "napi_create_typedarray")?;
    Ok(out)
}

/// A reference to `v` with `count` (1: strong, 0: weak).
pub(crate) fn create_reference(
    env: sys::napi_env,
    v: sys::napi_value,
    count: u32,
) -> CodedResult<sys::napi_ref> {
    let mut r = ptr::null_mut();
    // SAFETY: G2: `v` is a live object value of this env; the out-pointer is a valid local.
    let status = unsafe { sys::napi_create_reference(env, v, count, &mut r) };
    napi_status(status, "napi_create_reference")?;
    Ok(r)
}

/// The value a reference points to, `None` once a weak one's target was collected.
pub(crate) fn reference_value(env: sys::napi_env, r: sys::napi_ref) -> Option<sys::napi_value> {
    let mut v = ptr::null_mut();
    // SAFETY: X2: `r` is a live reference of this env.
    let ok = unsafe { sys::napi_get_reference_value(env, r, &mut v) } == sys::Status::napi_ok;
    (ok && !v.is_null()).then_some(v)
}

/// Deletes a reference (X2: once; the caller clears its cell).
pub(crate) fn delete_reference(env: sys::napi_env, r: sys::napi_ref) {
    // SAFETY: X2: `r` was created by `create_reference` in this env and is deleted once.
    unsafe { sys::napi_delete_reference(env, r) };
}

/// The buffer a reference points to and whether it is detached; `None` if it is gone.
pub(crate) fn buffer_state(env: sys::napi_env, r: sys::napi_ref) -> Option<(sys::napi_value, bool)> {
    let v = reference_value(env, r)?;
    let mut detached = false;
    // SAFETY: G2: `v` is a live ArrayBuffer value of this env.
    let ok = unsafe { sys::napi_is_detached_arraybuffer(env, v, &mut detached) } == sys::Status::napi_ok;
    ok.then_some((v, detached))
}

/// Detaches an attached ArrayBuffer (its JS views then have length 0); the failing status.
pub(crate) fn detach(env: sys::napi_env, ab: sys::napi_value) -> Result<(), sys::napi_status> {
    // SAFETY: G2: `ab` is a live, attached external ArrayBuffer of this env.
    match unsafe { sys::napi_detach_arraybuffer(env, ab) } {
        sys::Status::napi_ok => Ok(()),
        st => Err(st),
    }
}

/// Copies `min(len, js.len)` bytes between `region[offset .. offset + len]` and a JS
/// `Uint8Array` (`into_js`: region → array); `None` when the range is not in the region.
pub(crate) fn copy_slot(
    region: &SlabRegion,
    offset: usize,
    len: usize,
    js: &TypedOut<u8>,
    into_js: bool,
) -> Option<usize> {
    let slot = region.range(offset, len)?;
    let n = len.min(js.len);
    let (src, dst) = if into_js { (slot.as_ptr(), js.as_ptr()) } else { (js.as_ptr(), slot.as_ptr()) };
    // SAFETY: X1: `slot .. slot + len` lies inside the region's mapping, which `region` keeps
    // alive; T1: the JS array holds `js.len` bytes for this call; n is at most both. The two may
    // overlap (the array can be a view of the same region), so this is a memmove, and no Rust
    // reference to either side is formed. No JS runs during the copy.
    unsafe { ptr::copy(src, dst, n) };
    Some(n)
}

/// A new `Uint8Array` (over a fresh, non-external ArrayBuffer) holding a copy of `bytes`.
#[cfg(not(target_family = "wasm"))]
pub(crate) fn uint8_copy(env: sys::napi_env, bytes: &[u8]) -> CodedResult<sys::napi_value> {
    let mut data = ptr::null_mut();
    let mut ab = ptr::null_mut();
    // SAFETY: G1: env is the live env of the current call; out-pointers are valid locals.
    let status = unsafe { sys::napi_create_arraybuffer(env, bytes.len(), &mut data, &mut ab) };
    napi_status(status, "napi_create_arraybuffer")?;
    if !bytes.is_empty() {
        // SAFETY: napi_create_arraybuffer succeeded, so `data` points to `bytes.len()` fresh
        // bytes that nothing else references yet; `bytes` is a Rust slice, so they cannot overlap.
        unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), data.cast::<u8>(), bytes.len()) };
    }
    uint8_view(env, ab, bytes.len())
}
