//! A minimal libuv timer, resolved at run time from the host process.
//!
//! Node exports libuv's symbols, so inside `node` `dlsym(RTLD_DEFAULT, "uv_timer_init")` finds
//! them; resolving them lazily (instead of linking) keeps `cargo test` binaries, which have no
//! libuv, linkable. The EventLoop uses one timer handle per run: libuv calls back with no JS on
//! the stack, which is what lets each macrotask be entered with `napi_make_callback` and have
//! Node drain `process.nextTick` and microtasks after it (I2).
//!
//! Invariants:
//! - U1: a handle's memory is owned by this module from `UvTimer::new` until libuv's close
//!   callback, which frees it; `close` is called exactly once (it consumes the `UvTimer`).
//! - U2: `uv_handle_t.data` (the first field of every libuv handle) carries the caller's
//!   pointer; this module never dereferences it.

use std::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;

use napi::sys;

type TimerCb = unsafe extern "C" fn(handle: *mut c_void);
type CloseCb = unsafe extern "C" fn(handle: *mut c_void);

/// `UV_TIMER` in libuv's `uv_handle_type` enum (stable across libuv 1.x).
const UV_TIMER: c_int = 13;

struct Api {
    handle_size: unsafe extern "C" fn(c_int) -> usize,
    timer_init: unsafe extern "C" fn(*mut sys::uv_loop_s, *mut c_void) -> c_int,
    timer_start: unsafe extern "C" fn(*mut c_void, TimerCb, u64, u64) -> c_int,
    timer_stop: unsafe extern "C" fn(*mut c_void) -> c_int,
    close: unsafe extern "C" fn(*mut c_void, Option<CloseCb>),
    r#ref: unsafe extern "C" fn(*mut c_void),
    unref: unsafe extern "C" fn(*mut c_void),
}

fn sym(name: &CStr) -> Option<*mut c_void> {
    // SAFETY: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads the symbol tables.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    (!p.is_null()).then_some(p)
}

fn api() -> Option<&'static Api> {
    static API: OnceLock<Option<Api>> = OnceLock::new();
    API.get_or_init(|| {
        // SAFETY: each symbol is libuv's public function of that name, and the transmuted
        // signature is the one libuv 1.x declares for it in uv.h.
        unsafe {
            Some(Api {
                handle_size: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(c_int) -> usize>(sym(
                    c"uv_handle_size",
                )?),
                timer_init: std::mem::transmute::<
                    *mut c_void,
                    unsafe extern "C" fn(*mut sys::uv_loop_s, *mut c_void) -> c_int,
                >(sym(c"uv_timer_init")?),
                timer_start: std::mem::transmute::<
                    *mut c_void,
                    unsafe extern "C" fn(*mut c_void, TimerCb, u64, u64) -> c_int,
                >(sym(c"uv_timer_start")?),
                timer_stop: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*mut c_void) -> c_int>(
                    sym(c"uv_timer_stop")?,
                ),
                close: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*mut c_void, Option<CloseCb>)>(
                    sym(c"uv_close")?,
                ),
                r#ref: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*mut c_void)>(sym(c"uv_ref")?),
                unref: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*mut c_void)>(sym(
                    c"uv_unref",
                )?),
            })
        }
    })
    .as_ref()
}

/// An initialised `uv_timer_t` on the env's loop.
#[derive(Debug)]
pub(crate) struct UvTimer {
    handle: *mut c_void,
}

unsafe extern "C" fn free_handle(handle: *mut c_void) {
    // SAFETY: (U1) libuv is done with the handle; it was allocated by `libc::calloc` in `new`.
    unsafe { libc::free(handle) };
}

impl UvTimer {
    /// Allocates and initialises a timer on `env`'s loop with `data` in its `data` field (U2).
    /// Returns `None` when libuv cannot be found or initialised (e.g. not running inside node).
    pub(crate) fn new(env: sys::napi_env, data: *mut c_void) -> Option<Self> {
        let api = api()?;
        let mut uv_loop = std::ptr::null_mut();
        // SAFETY: env is the live env of the current call; out-pointer is a valid local.
        if unsafe { sys::napi_get_uv_event_loop(env, &mut uv_loop) } != sys::Status::napi_ok
            || uv_loop.is_null()
        {
            return None;
        }
        // SAFETY: uv_handle_size is a pure query.
        let size = unsafe { (api.handle_size)(UV_TIMER) };
        // SAFETY: calloc of a non-zero size; zeroed memory is a valid starting state for uv_timer_init.
        let handle = unsafe { libc::calloc(1, size.max(std::mem::size_of::<*mut c_void>())) };
        if handle.is_null() {
            return None;
        }
        // SAFETY: handle is a fresh allocation of uv_timer_t size on the loop's thread.
        if unsafe { (api.timer_init)(uv_loop, handle) } != 0 {
            // SAFETY: never handed to libuv successfully, so we still own it.
            unsafe { libc::free(handle) };
            return None;
        }
        // SAFETY: (U2) `data` is the first field of uv_handle_t.
        unsafe { *(handle as *mut *mut c_void) = data };
        Some(Self { handle })
    }

    /// Reads back the `data` pointer from a handle libuv passed to a callback.
    ///
    /// # Safety
    /// `handle` must be a handle created by [`UvTimer::new`] that has not been closed.
    pub(crate) unsafe fn data_of(handle: *mut c_void) -> *mut c_void {
        // SAFETY: per the contract, handle points to a live uv handle whose first field is data.
        unsafe { *(handle as *mut *mut c_void) }
    }

    /// (Re)starts the timer to call `cb` once after `timeout_ms`.
    pub(crate) fn start(&self, cb: TimerCb, timeout_ms: u64) {
        if let Some(api) = api() {
            // SAFETY: the handle is initialised and not closed (U1).
            unsafe { (api.timer_start)(self.handle, cb, timeout_ms, 0) };
        }
    }

    /// Whether the timer keeps the process alive.
    pub(crate) fn set_ref(&self, keep_alive: bool) {
        if let Some(api) = api() {
            // SAFETY: the handle is initialised and not closed (U1).
            unsafe {
                if keep_alive {
                    (api.r#ref)(self.handle)
                } else {
                    (api.unref)(self.handle)
                }
            };
        }
    }

    /// Stops and closes the timer; libuv frees it after its close callback (U1).
    pub(crate) fn close(self) {
        if let Some(api) = api() {
            // SAFETY: the handle is initialised; close is called once because `self` is consumed.
            unsafe {
                (api.timer_stop)(self.handle);
                (api.close)(self.handle, Some(free_handle));
            }
        }
    }
}
