//! N-API functions the WebAssembly build must import from emnapi's `napi` import module.
//! `napi::sys` declares every function as an import of the default `env` module, which is
//! where emnapi provides most of them; the env cleanup hooks live under `napi` (emnapi's own
//! archive binds them there, so an `env` import of the same symbol fails the link with "import
//! module mismatch"). napi-rs does the same for its own hooks (`napi::napi_add_env_cleanup_hook`,
//! private to it).
//!
//! - S1 (emnapi's signatures): the functions declared here are emnapi's exports of those names,
//!   with the signatures of Node-API's `node_api.h` and emnapi's `emnapi.h`.

use std::ffi::c_void;

use napi::sys;

#[link(wasm_import_module = "napi")]
extern "C" {
    /// Node-API's `napi_add_env_cleanup_hook`, same contract.
    pub(crate) fn napi_add_env_cleanup_hook(
        env: sys::napi_env,
        fun: Option<unsafe extern "C" fn(arg: *mut c_void)>,
        arg: *mut c_void,
    ) -> sys::napi_status;
}

extern "C" {
    /// emnapi's `emnapi_sync_memory`: copies between a JS `ArrayBuffer` (or view) and emnapi's
    /// copy of it in the module's memory (`js_to_wasm` picks the direction), `len` bytes from
    /// `offset` into the view. May replace `*arraybuffer_or_view` with a fresh handle.
    fn emnapi_sync_memory(
        env: sys::napi_env,
        js_to_wasm: bool,
        arraybuffer_or_view: *mut sys::napi_value,
        offset: usize,
        len: usize,
    ) -> sys::napi_status;
}

/// The elements of the typed array `v` for `value.rs`'s `TypedOut` on wasm: its type and length,
/// and a pointer to emnapi's copy of them in the module's memory, refreshed from JS by this call;
/// plus the [`SyncBack`] that writes the copy back to JS.
///
/// Why not `napi_get_typedarray_info` with a data pointer, as on native builds: under emnapi
/// every call that looks at a view's pointer probes its buffer with a throwing
/// `SharedArrayBuffer` check, and a throw costs ~15 µs with the module's frames on the stack.
/// Type and length cost one such probe; the pointer is then taken from the view's `ArrayBuffer`
/// (`napi_get_arraybuffer_info`, which copies the buffer into the module's memory without one),
/// and the write-back goes through the `ArrayBuffer` too.
pub(crate) fn typedarray_elements(
    env: sys::napi_env,
    v: sys::napi_value,
    ty: &mut sys::napi_typedarray_type,
    len: &mut usize,
    data: &mut *mut c_void,
    elem_size: usize,
) -> (sys::napi_status, SyncBack) {
    let mut ab = std::ptr::null_mut();
    let mut offset = 0usize;
    let mut sync = SyncBack { env, buffer: std::ptr::null_mut(), bytes: 0 };
    // SAFETY: G2: v is a live value of the current call (napi_get_typedarray_info fails cleanly
    // for anything but a typed array); out-pointers are valid locals.
    let st =
        unsafe { sys::napi_get_typedarray_info(env, v, ty, len, std::ptr::null_mut(), &mut ab, &mut offset) };
    *data = std::ptr::null_mut();
    if st != sys::Status::napi_ok || *len == 0 || ab.is_null() {
        return (st, sync);
    }
    let mut p = std::ptr::null_mut();
    let mut ab_len = 0usize;
    // SAFETY: G2: ab is the view's own ArrayBuffer (read through its internal slot), a value of
    // the current call; out-pointers are valid locals.
    let st2 = unsafe { sys::napi_get_arraybuffer_info(env, ab, &mut p, &mut ab_len) };
    let end = len.checked_mul(elem_size).and_then(|b| b.checked_add(offset));
    match end {
        Some(end) if st2 == sys::Status::napi_ok && !p.is_null() && end <= ab_len => {
            // SAFETY: T1: offset + len * elem_size <= ab_len, the size of emnapi's copy at p.
            *data = unsafe { p.cast::<u8>().add(offset) }.cast();
            // From the buffer's start: emnapi applies an offset to the JS side only.
            sync = SyncBack { env, buffer: ab, bytes: end };
        }
        // Detached, or a copy emnapi could not make: nothing to read or write.
        _ => *len = 0,
    }
    (st, sync)
}

/// Writes emnapi's copy of a typed array's buffer back to JS when dropped.
///
/// Under emnapi, a pointer to the memory of a JS `ArrayBuffer` (every array a caller passes) is
/// a pointer to a copy in the module's memory, refreshed from JS when it is taken; writes
/// through it reach JS only when synced. A `TypedOut` holds one of these, so what a call wrote
/// (`drainTimers`, `popDue`, `allocateInto`, …) is in the caller's array when the call returns.
/// The sync runs no user JS, only emnapi's copy; bytes the call did not write go back as they
/// were read (no JS ran in between, `value.rs` T1).
#[derive(Debug)]
pub(crate) struct SyncBack {
    env: sys::napi_env,
    buffer: sys::napi_value,
    bytes: usize,
}

impl Drop for SyncBack {
    fn drop(&mut self) {
        // emnapi throws "Unknown ArrayBuffer address" for an empty or detached buffer.
        if self.bytes == 0 || self.buffer.is_null() {
            return;
        }
        let mut buffer = self.buffer;
        // SAFETY: S1; G1: the env is the live env of the callback that made this value (a
        // TypedOut lives within one callback, `value.rs` T1); G2: `buffer` is an ArrayBuffer of
        // its scope with at least `bytes` bytes. A failure only leaves the JS array unsynced.
        unsafe { emnapi_sync_memory(self.env, false, &mut buffer, 0, self.bytes) };
    }
}
