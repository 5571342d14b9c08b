//! N-API functions the WebAssembly build must import from emnapi's `napi` import module.
//! `napi::sys` declares every function as an import of the default `env` module, which is
//! where emnapi provides most of them; the env cleanup hooks live under `napi` (emnapi's own
//! archive binds them there, so an `env` import of the same symbol fails the link with "import
//! module mismatch"). napi-rs does the same for its own hooks (`napi::napi_add_env_cleanup_hook`,
//! private to it).

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

/// Writes emnapi's copy of a typed array back to the JS array when dropped.
///
/// Under emnapi, `napi_get_typedarray_info` on an array whose memory is JS's (every array a
/// caller passes) hands out a pointer to a copy in the module's memory, refreshed from JS on
/// each call; writes through it reach JS only when synced. A `TypedOut` holds one of these, so
/// what a call wrote (`drainTimers`, `popDue`, `allocateInto`, …) is in the caller's array when
/// the call returns. The sync runs no user JS, only emnapi's copy.
#[derive(Debug)]
pub(crate) struct SyncBack {
    env: sys::napi_env,
    view: sys::napi_value,
    bytes: usize,
}

impl SyncBack {
    /// `bytes` bytes of the typed array `view` (a value of the current callback's scope).
    pub(crate) fn new(env: sys::napi_env, view: sys::napi_value, bytes: usize) -> Self {
        Self { env, view, bytes }
    }
}

impl Drop for SyncBack {
    fn drop(&mut self) {
        // emnapi throws "Unknown ArrayBuffer address" for an empty or detached array.
        if self.bytes == 0 {
            return;
        }
        let mut view = self.view;
        // SAFETY: the env is the live env of the callback that made this value (a TypedOut
        // lives within one callback, args.rs T1), and `view` is a typed array of its scope; the
        // range is the view's own bytes. A failure only leaves the JS array unsynced.
        unsafe { emnapi_sync_memory(self.env, false, &mut view, 0, self.bytes) };
    }
}
