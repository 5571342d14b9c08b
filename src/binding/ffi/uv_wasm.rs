//! The WebAssembly build's stand-in for `uv.rs` (selected in `ffi/mod.rs` by target): the
//! same `UvTimer` interface over JS timers, because a module run by emnapi on Node's WASI has
//! no libuv to resolve. `start` arms a `setTimeout`, `yield_now` a `setImmediate`, `set_ref`
//! calls the armed timer's `ref()`/`unref()` (and is remembered for the next one), `close`
//! clears it. Each fires one N-API function whose data is the timer's `Guard`, which calls the
//! driver's callback with the Guard as its "handle" ([`UvTimer::data_of`] reads the run's
//! pointer back from it).
//!
//! Ordering: the driver decides what runs and in which order (the core `RunPolicy` and the
//! scheduler, I1–I5); this file only decides when the next slice starts. `setTimeout`
//! for a sleep and `setImmediate` for a yield are what the libuv timer and idle handle give on
//! a native build (a sleep wakes after Node's own timers due by then; a yield lets Node run a
//! full turn). The difference: a Node timer callback is not "no JS on the stack", so the wasm
//! glue drains `process.nextTick` and microtasks itself after each macrotask
//! (`ffi/loop_glue_wasm.rs`), as Node's timer list does between its own timers (I2).
//!
//! Invariants:
//! - J1: the Guard is owned by its `UvTimer` from `new` to `close`, which clears the armed JS
//!   timer before freeing it, so the N-API function (whose data is the Guard) can never run on
//!   a freed Guard.
//! - J2: at most one JS timer is armed per `UvTimer`: arming clears the previous one, and firing
//!   forgets it before the callback runs (the callback may arm the next or close the timer, so
//!   the trampoline touches the Guard only before calling it).
//! - J3: every `napi_ref` the Guard holds is deleted exactly once (on clear, or in `close`).
//! - J4: the timer functions come from the object `lib/event-loop.js` hands over when the
//!   package loads (`set_real_timers`), held by one strong reference per thread, so a fake
//!   clock installed later does not capture a run's wake-ups.

use std::cell::Cell;
use std::ffi::{c_void, CStr};
use std::ptr;

use napi::sys;

type TimerCb = unsafe extern "C" fn(handle: *mut c_void);

/// `setTimeout` clamps longer delays to 1 ms; a longer sleep wakes early and the driver sleeps
/// again (it recomputes the next deadline on every wake-up).
const MAX_TIMEOUT_MS: u64 = 2_147_483_647;

/// A run's timer: a `setTimeout`/`setImmediate` armed at a time.
#[derive(Debug)]
pub(crate) struct UvTimer {
    guard: *mut Guard,
}

#[derive(Debug)]
struct Guard {
    env: sys::napi_env,
    /// The caller's pointer (the driver's leaked `Rc`), returned by `data_of`.
    data: *mut c_void,
    /// The N-API function the JS timers call (a strong reference, J3).
    func: sys::napi_ref,
    /// The armed `Timeout` or `Immediate` object, null when none (J2).
    armed: sys::napi_ref,
    /// Whether `armed` is an `Immediate` (cleared with `clearImmediate`).
    immediate: bool,
    /// The callback the armed timer runs.
    cb: Option<TimerCb>,
    /// The last `set_ref`: whether armed timers keep the process alive.
    keep_alive: bool,
}

fn ok(status: sys::napi_status) -> Option<()> {
    (status == sys::Status::napi_ok).then_some(())
}

thread_local! {
    /// J4: the object `set_real_timers` was last given (a strong reference, deleted only when a
    /// later call replaces it; else it lives as long as the thread's env), or null.
    static REAL_TIMERS: Cell<sys::napi_ref> = const { Cell::new(ptr::null_mut()) };
}

/// Keeps `timers` (`{ setTimeout, clearTimeout, setImmediate, clearImmediate }`, the real ones as
/// the package loads) as the functions every run arms, instead of the globals of the moment: a
/// fake clock installed later (sinon's, seqloop's) must not capture a run's wake-ups, as it
/// cannot capture libuv's on a native build. False when no reference could be made.
pub(crate) fn set_real_timers(env: sys::napi_env, timers: sys::napi_value) -> bool {
    let mut r = ptr::null_mut();
    // SAFETY: G1: env is the live env of the calling method; G2: `timers` is an argument of it.
    if unsafe { sys::napi_create_reference(env, timers, 1, &mut r) } != sys::Status::napi_ok {
        return false;
    }
    let old = REAL_TIMERS.with(|t| t.replace(r));
    if !old.is_null() {
        // SAFETY: J4: `old` was made above by an earlier call in this env and is deleted once, here,
        // after it was replaced.
        unsafe { sys::napi_delete_reference(env, old) };
    }
    true
}

/// `timers[name]` of [`set_real_timers`], else `globalThis[name]`, with `globalThis` (the `this`
/// of the call).
fn global_fn(env: sys::napi_env, name: &CStr) -> Option<(sys::napi_value, sys::napi_value)> {
    let mut global = ptr::null_mut();
    let mut holder = ptr::null_mut();
    let mut f = ptr::null_mut();
    let real = REAL_TIMERS.with(Cell::get);
    // SAFETY: G1: env is the live env of the current call (the timer's owner is a run of this
    // env, and every caller is an N-API method or timer callback with an open handle scope); J4:
    // `real` is null or a live reference of this env; the name is NUL-terminated; out-pointers
    // are valid locals.
    unsafe {
        ok(sys::napi_get_global(env, &mut global))?;
        if real.is_null() || sys::napi_get_reference_value(env, real, &mut holder) != sys::Status::napi_ok {
            holder = global;
        }
        ok(sys::napi_get_named_property(env, holder, name.as_ptr(), &mut f))?;
    }
    Some((global, f))
}

/// Calls `recv[method]()` if it is there, ignoring the result (`ref`/`unref` of a timer).
fn call_method(env: sys::napi_env, recv: sys::napi_value, method: &CStr) {
    let mut f = ptr::null_mut();
    let mut ty = sys::ValueType::napi_undefined;
    let mut out = ptr::null_mut();
    // SAFETY: G1 (see `global_fn`); G2: recv is a value of the current handle scope; the call
    // passes no arguments.
    unsafe {
        if sys::napi_get_named_property(env, recv, method.as_ptr(), &mut f) == sys::Status::napi_ok
            && sys::napi_typeof(env, f, &mut ty) == sys::Status::napi_ok
            && ty == sys::ValueType::napi_function
        {
            sys::napi_call_function(env, recv, f, 0, ptr::null(), &mut out);
        }
    }
}

/// The N-API function every JS timer of this file calls: runs the Guard's callback once.
unsafe extern "C" fn fired(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
    let mut data = ptr::null_mut();
    let mut argc = 0usize;
    // SAFETY: G1: N-API calls this function with its env and this call's callback info; no
    // arguments are read.
    unsafe { sys::napi_get_cb_info(env, info, &mut argc, ptr::null_mut(), ptr::null_mut(), &mut data) };
    if data.is_null() {
        return ptr::null_mut();
    }
    let guard = data.cast::<Guard>();
    // SAFETY: J1: a JS timer runs only while its Guard lives (close clears it first); J2: this
    // is the armed timer, forgotten here before the callback runs.
    let cb = unsafe {
        let g = &mut *guard;
        disarm(g, false);
        g.cb.take()
    };
    if let Some(cb) = cb {
        // SAFETY: the callback expects the handle `data_of` reads, which the Guard is; the Guard
        // is not touched after this call (it may close the timer, J2).
        unsafe { cb(guard.cast()) };
    }
    ptr::null_mut()
}

/// Forgets the armed timer (J2, J3), clearing it first when `clear` (it has not fired).
fn disarm(g: &mut Guard, clear: bool) {
    if g.armed.is_null() {
        return;
    }
    let env = g.env;
    if clear {
        let mut timer = ptr::null_mut();
        let clear_fn = if g.immediate { c"clearImmediate" } else { c"clearTimeout" };
        // SAFETY: G1 (see `global_fn`); J3: the reference is live until deleted below.
        let got = unsafe { sys::napi_get_reference_value(env, g.armed, &mut timer) } == sys::Status::napi_ok;
        if let (true, Some((global, f))) = (got, global_fn(env, clear_fn)) {
            let mut out = ptr::null_mut();
            // SAFETY: G1, G2: f is the global clear function, called with the timer object, both
            // values of the current handle scope.
            unsafe { sys::napi_call_function(env, global, f, 1, &timer, &mut out) };
        }
    }
    // SAFETY: J3: the reference is deleted once, then nulled.
    unsafe { sys::napi_delete_reference(env, g.armed) };
    g.armed = ptr::null_mut();
}

/// Arms `setTimeout(func, ms)` (or `setImmediate(func)`) to run `cb` (J2).
fn arm(g: &mut Guard, cb: TimerCb, timeout_ms: Option<u64>) {
    disarm(g, true);
    g.cb = Some(cb);
    let env = g.env;
    let name = if timeout_ms.is_some() { c"setTimeout" } else { c"setImmediate" };
    let Some((global, set)) = global_fn(env, name) else { return };
    let mut func = ptr::null_mut();
    let mut ms = ptr::null_mut();
    let mut timer = ptr::null_mut();
    // SAFETY: G1 (see `global_fn`); J3: `func` is the Guard's live strong reference; G2: argv
    // holds the values just created in the current handle scope.
    unsafe {
        if sys::napi_get_reference_value(env, g.func, &mut func) != sys::Status::napi_ok {
            return;
        }
        let delay = timeout_ms.unwrap_or(0).min(MAX_TIMEOUT_MS) as f64;
        if sys::napi_create_double(env, delay, &mut ms) != sys::Status::napi_ok {
            return;
        }
        let argv = [func, ms];
        let argc = if timeout_ms.is_some() { 2 } else { 1 };
        if sys::napi_call_function(env, global, set, argc, argv.as_ptr(), &mut timer) != sys::Status::napi_ok
        {
            return;
        }
        if sys::napi_create_reference(env, timer, 1, &mut g.armed) != sys::Status::napi_ok {
            g.armed = ptr::null_mut();
            return;
        }
    }
    g.immediate = timeout_ms.is_none();
    if !g.keep_alive {
        call_method(env, timer, c"unref");
    }
}

impl UvTimer {
    /// A timer for `env` with `data` for [`data_of`](Self::data_of). `None` when the JS
    /// function cannot be made.
    pub(crate) fn new(env: sys::napi_env, data: *mut c_void) -> Option<Self> {
        let guard = Box::into_raw(Box::new(Guard {
            env,
            data,
            func: ptr::null_mut(),
            armed: ptr::null_mut(),
            immediate: false,
            cb: None,
            keep_alive: true,
        }));
        let name = c"seqloopRunTimer";
        let mut func = ptr::null_mut();
        // SAFETY: G1: env is the live env of the calling method; J1: the function's data is the
        // Guard, which outlives every call of it; the name is NUL-terminated.
        let made = unsafe {
            sys::napi_create_function(env, name.as_ptr(), 15, Some(fired), guard.cast(), &mut func)
                == sys::Status::napi_ok
                && sys::napi_create_reference(env, func, 1, &mut (*guard).func) == sys::Status::napi_ok
        };
        if !made {
            // SAFETY: J1: the Guard came from Box::into_raw above and nothing else saw it (the
            // function, if made, is unreachable from JS and never called).
            drop(unsafe { Box::from_raw(guard) });
            return None;
        }
        Some(Self { guard })
    }

    /// Reads back the `data` pointer from the handle a callback received.
    ///
    /// # Safety
    /// `handle` must be the Guard of a live [`UvTimer`] (what `fired` passes).
    pub(crate) unsafe fn data_of(handle: *mut c_void) -> *mut c_void {
        // SAFETY: J1 and this fn's contract: handle is the live Guard of an open UvTimer.
        unsafe { (*handle.cast::<Guard>()).data }
    }

    fn with<R>(&self, f: impl FnOnce(&mut Guard) -> R) -> R {
        // SAFETY: J1: the Guard lives until `close` consumes self. Single-threaded (the env's
        // JS thread), and `f` calls no JS that could reach this timer (only setTimeout,
        // setImmediate, their clear functions and ref/unref), so the borrow is unique.
        f(unsafe { &mut *self.guard })
    }

    /// (Re)arms the timer to call `cb` once after `timeout_ms` (a pending yield is dropped).
    pub(crate) fn start(&self, cb: TimerCb, timeout_ms: u64) {
        self.with(|g| arm(g, cb, Some(timeout_ms)));
    }

    /// Calls `cb` from a `setImmediate`: after Node's I/O polling of this turn, so a long run
    /// lets Node's own timers, I/O and immediates in.
    pub(crate) fn yield_now(&self, cb: TimerCb) {
        self.with(|g| arm(g, cb, None));
    }

    /// Whether the armed timer (and the next ones) keep the process alive.
    pub(crate) fn set_ref(&self, keep_alive: bool) {
        self.with(|g| {
            g.keep_alive = keep_alive;
            if g.armed.is_null() {
                return;
            }
            let mut timer = ptr::null_mut();
            // SAFETY: G1 (see `global_fn`); J3: the reference is live.
            if unsafe { sys::napi_get_reference_value(g.env, g.armed, &mut timer) } == sys::Status::napi_ok {
                call_method(g.env, timer, if keep_alive { c"ref" } else { c"unref" });
            }
        });
    }

    /// Clears the armed timer and frees the Guard (J1).
    pub(crate) fn close(self) {
        // SAFETY: J1: the Guard is owned by this UvTimer, consumed here.
        let mut guard = unsafe { Box::from_raw(self.guard) };
        if super::fast::env_closing() {
            return;
        }
        disarm(&mut guard, true);
        // SAFETY: J3: the function's reference is deleted once, here.
        unsafe { sys::napi_delete_reference(guard.env, guard.func) };
    }
}
