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
//! - U5: a function pointer in [`Api`] is libuv's exported function of that name (resolved from
//!   the node process with `dlsym`), called with the signature libuv 1.x declares in uv.h.

use std::ffi::{c_int, c_void, CStr};
use std::sync::OnceLock;

use napi::sys;

type TimerCb = unsafe extern "C" fn(handle: *mut c_void);
type CloseCb = unsafe extern "C" fn(handle: *mut c_void);

/// `UV_TIMER` in libuv's `uv_handle_type` enum (stable across libuv 1.x).
const UV_TIMER: c_int = 13;
/// `UV_IDLE` in the same enum.
const UV_IDLE: c_int = 6;

struct Api {
    handle_size: unsafe extern "C" fn(c_int) -> usize,
    timer_init: unsafe extern "C" fn(*mut sys::uv_loop_s, *mut c_void) -> c_int,
    timer_start: unsafe extern "C" fn(*mut c_void, TimerCb, u64, u64) -> c_int,
    timer_stop: unsafe extern "C" fn(*mut c_void) -> c_int,
    close: unsafe extern "C" fn(*mut c_void, Option<CloseCb>),
    r#ref: unsafe extern "C" fn(*mut c_void),
    unref: unsafe extern "C" fn(*mut c_void),
    idle_init: unsafe extern "C" fn(*mut sys::uv_loop_s, *mut c_void) -> c_int,
    idle_start: unsafe extern "C" fn(*mut c_void, TimerCb) -> c_int,
    idle_stop: unsafe extern "C" fn(*mut c_void) -> c_int,
}

fn sym(name: &CStr) -> Option<*mut c_void> {
    // SAFETY: U5: dlsym with RTLD_DEFAULT and a NUL-terminated name only reads the symbol tables.
    let p = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
    (!p.is_null()).then_some(p)
}

fn api() -> Option<&'static Api> {
    static API: OnceLock<Option<Api>> = OnceLock::new();
    API.get_or_init(|| {
        // SAFETY: U5: each symbol is libuv's public function of that name, and the transmuted
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
                idle_init: std::mem::transmute::<
                    *mut c_void,
                    unsafe extern "C" fn(*mut sys::uv_loop_s, *mut c_void) -> c_int,
                >(sym(c"uv_idle_init")?),
                idle_start: std::mem::transmute::<
                    *mut c_void,
                    unsafe extern "C" fn(*mut c_void, TimerCb) -> c_int,
                >(sym(c"uv_idle_start")?),
                idle_stop: std::mem::transmute::<*mut c_void, unsafe extern "C" fn(*mut c_void) -> c_int>(
                    sym(c"uv_idle_stop")?,
                ),
            })
        }
    })
    .as_ref()
}

/// An initialised `uv_timer_t` on the env's loop, with a `uv_idle_t` beside it for
/// [`UvTimer::yield_now`].
///
/// - U3: the handles are closed exactly once: by [`UvTimer::close`] (the run finished), or by
///   the env's async cleanup hook when the env tears down first (a worker terminated or exiting
///   while a run sleeps or waits for a hostcall). A live handle at teardown would make Node abort
///   the worker ("uv_loop_close() while having open handles"). The hook holds off the env's
///   teardown until libuv's close callbacks have run (`napi_remove_async_cleanup_hook` there).
/// - U4: the idle handle's data field is the `Guard`; the idle is one-shot (stopped before its
///   callback runs the timer's callback with the timer handle, so `data_of` works the same).
#[derive(Debug)]
pub(crate) struct UvTimer {
    guard: *mut Guard,
}

/// The handles and their teardown hook, shared by the `UvTimer` and the hook (U3).
#[derive(Debug)]
struct Guard {
    handle: *mut c_void,
    idle: *mut c_void,
    /// The callback `yield_now` runs from the idle handle.
    idle_cb: Option<TimerCb>,
    hook: sys::napi_async_cleanup_hook_handle,
    /// Set once the handles are closed (by either side); the other side then does nothing.
    closed: bool,
    /// Close callbacks still to come at teardown.
    closing: u8,
}

unsafe extern "C" fn free_handle(handle: *mut c_void) {
    // SAFETY: (U1) libuv is done with the handle; it was allocated by `libc::calloc` in `new`.
    unsafe { libc::free(handle) };
}

/// Allocates and initialises a handle of `kind` with `init`; null on failure.
fn new_handle(
    uv_loop: *mut sys::uv_loop_s,
    kind: c_int,
    init: unsafe extern "C" fn(*mut sys::uv_loop_s, *mut c_void) -> c_int,
) -> *mut c_void {
    let Some(api) = api() else { return std::ptr::null_mut() };
    // SAFETY: U5: uv_handle_size is libuv's (resolved by `api`), a pure query.
    let size = unsafe { (api.handle_size)(kind) };
    // SAFETY: U1: calloc of a non-zero size; zeroed memory is a valid starting state for an init.
    let handle = unsafe { libc::calloc(1, size.max(std::mem::size_of::<*mut c_void>())) };
    if handle.is_null() {
        return handle;
    }
    // SAFETY: U1: handle is a fresh allocation of the handle type's size, on the loop's thread.
    if unsafe { init(uv_loop, handle) } != 0 {
        // SAFETY: U1: never handed to libuv successfully, so we still own it.
        unsafe { libc::free(handle) };
        return std::ptr::null_mut();
    }
    handle
}

/// The env is tearing down with the handles still open: close them, and let the env finish its
/// teardown only once libuv is done with them (U3).
unsafe extern "C" fn on_teardown(hook: sys::napi_async_cleanup_hook_handle, data: *mut c_void) {
    let guard = data.cast::<Guard>();
    // SAFETY: (U3) data is the Guard made in `new`; `close` removes this hook before it frees
    // the Guard, so a hook that runs finds it live and not yet closed.
    let g = unsafe { &mut *guard };
    g.closed = true;
    g.hook = hook;
    g.closing = 2;
    let api = api().expect("a UvTimer exists only where libuv was found");
    // SAFETY: U1, U3: both handles are initialised and not closed; from now on their data fields are
    // the Guard (no callback can run after the stops), read by the close callback.
    unsafe {
        (api.timer_stop)(g.handle);
        (api.idle_stop)(g.idle);
        for h in [g.handle, g.idle] {
            *(h as *mut *mut c_void) = guard.cast();
            (api.close)(h, Some(closed_at_teardown));
        }
    }
}

unsafe extern "C" fn closed_at_teardown(handle: *mut c_void) {
    // SAFETY: U3: `on_teardown` stored the Guard in the handle's data field before closing it; the
    // Guard stays owned by its `UvTimer` (freed by `close`, or with the loop state if that is
    // never dropped).
    let g = unsafe { &mut *(*(handle as *mut *mut Guard)) };
    g.closing -= 1;
    // SAFETY: the handle memory came from calloc (U1) and libuv is done with it. Once both
    // handles are closed, removing the hook tells the env this hook is done.
    unsafe {
        libc::free(handle);
        if g.closing == 0 {
            sys::napi_remove_async_cleanup_hook(g.hook);
        }
    }
}

unsafe extern "C" fn on_idle(idle: *mut c_void) {
    // SAFETY: (U4) the idle handle's data is its live Guard (the idle cannot run once closed).
    let g = unsafe { &*(*(idle as *mut *mut Guard)) };
    let Some(api) = api() else { return };
    // SAFETY: (U4) one-shot: stopped before the callback, which may start it again.
    unsafe { (api.idle_stop)(idle) };
    if let Some(cb) = g.idle_cb {
        // SAFETY: the callback expects the timer handle (U2), which is open.
        unsafe { cb(g.handle) };
    }
}

impl UvTimer {
    /// Allocates and initialises a timer on `env`'s loop with `data` in its `data` field (U2).
    /// Returns `None` when libuv cannot be found or initialised (e.g. not running inside node).
    pub(crate) fn new(env: sys::napi_env, data: *mut c_void) -> Option<Self> {
        let api = api()?;
        let mut uv_loop = std::ptr::null_mut();
        // SAFETY: G1: env is the live env of the current call; out-pointer is a valid local.
        if unsafe { sys::napi_get_uv_event_loop(env, &mut uv_loop) } != sys::Status::napi_ok
            || uv_loop.is_null()
        {
            return None;
        }
        let handle = new_handle(uv_loop, UV_TIMER, api.timer_init);
        if handle.is_null() {
            return None;
        }
        let idle = new_handle(uv_loop, UV_IDLE, api.idle_init);
        if idle.is_null() {
            // SAFETY: U1: the timer is initialised and closed once, here.
            unsafe { (api.close)(handle, Some(free_handle)) };
            return None;
        }
        let guard = Box::into_raw(Box::new(Guard {
            handle,
            idle,
            idle_cb: None,
            hook: std::ptr::null_mut(),
            closed: false,
            closing: 0,
        }));
        // SAFETY: (U2, U4) `data` is the first field of uv_handle_t.
        unsafe {
            *(handle as *mut *mut c_void) = data;
            *(idle as *mut *mut c_void) = guard.cast();
        }
        let mut hook = std::ptr::null_mut();
        // SAFETY: env is live; the Guard outlives the hook (U3: removed before it is freed).
        let st = unsafe { sys::napi_add_async_cleanup_hook(env, Some(on_teardown), guard.cast(), &mut hook) };
        if st != sys::Status::napi_ok {
            // SAFETY: U1, U3: no hook owns the Guard; the handles are initialised and closed once, here.
            unsafe {
                drop(Box::from_raw(guard));
                (api.close)(handle, Some(free_handle));
                (api.close)(idle, Some(free_handle));
            }
            return None;
        }
        // SAFETY: U3: the Guard is live (freed only by `close`) and only this thread touches it.
        unsafe { (*guard).hook = hook };
        Some(Self { guard })
    }

    /// The Guard while the handles are open (None once the env closed them at teardown).
    fn open(&self) -> Option<&Guard> {
        // SAFETY: (U3) the Guard lives until `close`, which consumes self; the teardown side
        // only marks it closed.
        let g = unsafe { &*self.guard };
        (!g.closed).then_some(g)
    }

    /// Reads back the `data` pointer from a handle libuv passed to a callback.
    ///
    /// # Safety
    /// `handle` must be a handle created by [`UvTimer::new`] that has not been closed.
    pub(crate) unsafe fn data_of(handle: *mut c_void) -> *mut c_void {
        // SAFETY: U2 and this fn's contract: handle points to a live uv handle whose first field is
        // data.
        unsafe { *(handle as *mut *mut c_void) }
    }

    /// (Re)starts the timer to call `cb` once after `timeout_ms` (a pending yield is dropped).
    pub(crate) fn start(&self, cb: TimerCb, timeout_ms: u64) {
        if let (Some(api), Some(g)) = (api(), self.open()) {
            // SAFETY: the handles are initialised and not closed (U1, U3).
            unsafe {
                (api.idle_stop)(g.idle);
                (api.timer_start)(g.handle, cb, timeout_ms, 0);
            }
        }
    }

    /// Calls `cb` (with the timer handle) in the idle phase of the next turn of the event loop:
    /// after Node's own timers, and followed by I/O polling (without waiting) and
    /// `setImmediate` callbacks. A 0 ms timer would not do: libuv may run a timer re-armed
    /// from its own callback again in the same timers phase, starving everything else.
    pub(crate) fn yield_now(&self, cb: TimerCb) {
        let (Some(api), Some((handle, idle))) = (api(), self.open().map(|g| (g.handle, g.idle))) else {
            return;
        };
        // SAFETY: (U3) the Guard is live and only this thread touches it; no reference to it is
        // held here.
        unsafe { (*self.guard).idle_cb = Some(cb) };
        // SAFETY: the handles are initialised and not closed (U1, U3, U4).
        unsafe {
            (api.timer_stop)(handle);
            (api.idle_start)(idle, on_idle);
        }
    }

    /// Whether the timer keeps the process alive.
    pub(crate) fn set_ref(&self, keep_alive: bool) {
        if let (Some(api), Some(g)) = (api(), self.open()) {
            // SAFETY: the handle is initialised and not closed (U1, U3).
            unsafe {
                if keep_alive {
                    (api.r#ref)(g.handle)
                } else {
                    (api.unref)(g.handle)
                }
            };
        }
    }

    /// Stops and closes the handles; libuv frees them after their close callbacks (U1). After
    /// an env teardown closed them already, only forgets them.
    pub(crate) fn close(self) {
        let open = self.open().map(|g| (g.handle, g.idle));
        // SAFETY: (U3) the Guard is owned by this UvTimer, consumed here.
        let guard = unsafe { Box::from_raw(self.guard) };
        let Some((handle, idle)) = open else { return };
        // SAFETY: U3: not closed yet, so the hook has not run: removing it now means it never will.
        // The hook handle came from napi_add_async_cleanup_hook and is removed once.
        unsafe { sys::napi_remove_async_cleanup_hook(guard.hook) };
        if let Some(api) = api() {
            // SAFETY: U1: the handles are initialised; close is called once because `self` is consumed.
            unsafe {
                (api.timer_stop)(handle);
                (api.idle_stop)(idle);
                (api.close)(handle, Some(free_handle));
                (api.close)(idle, Some(free_handle));
            }
        }
    }
}
