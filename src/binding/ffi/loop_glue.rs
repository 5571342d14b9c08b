//! The EventLoop's unsafe N-API glue, all of it (libuv's is in `sys/uv.rs`): the value
//! stash, promises and deferreds, async contexts, callback and handle scopes, the runner table's
//! reference and the `Rc` the run's libuv timer owns. Everything in `binding/event_loop/` is safe
//! code over these functions.
//!
//! Every function here relies on one of these invariants (named in its `// SAFETY:` comment):
//! - N1 (live env): `env` is the env of the loop, on its JS thread, and it is not tearing down
//!   (`fast::env_closing()` is false) — callers are N-API method calls or libuv callbacks that
//!   checked it.
//! - N2 (scope): a `napi_value` passed in belongs to a handle scope that is still open.
//! - N3 (once): a deferred is settled, a reference deleted, an async context destroyed exactly
//!   once: its owner (a map entry, a `Run`, the `Hooks`) is removed or consumed when it is.
//! - N4 (no JS on the stack): `make_callback` and `settle_in_scope` run from a libuv callback (the
//!   driver), so Node drains `process.nextTick` and microtasks when they return (I2).
//! - N5 (E3): the pointer a run gives libuv is one strong count of the loop's `Rc`, owned by the
//!   run's [`RunTimer`] from its creation and given back once, when it closes.

use std::ffi::{c_void, CStr};
use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::*;
use napi::sys;

use super::super::error::check;
use super::fast::env_closing;
use super::uv::UvTimer;

/// A slot of the [`Stash`].
pub(crate) type Slot = u32;

/// What a run's libuv timer drives (N5): the loop state behind the leaked `Rc`.
pub(crate) trait UvDriven: 'static {
    /// The loop's env.
    fn env(&self) -> sys::napi_env;
    /// Runs the active run's next steps (called in a fresh handle scope).
    fn drive(self: &Rc<Self>);
}

/// JS values held by the loop, stored in one JS array so primitives can be kept too
/// (`napi_create_reference` only takes objects on older Node-API versions).
pub(crate) struct Stash {
    array: sys::napi_ref,
    free: Vec<Slot>,
    len: Slot,
}

impl Stash {
    pub(crate) fn new(env: sys::napi_env) -> Result<Self> {
        let mut arr = ptr::null_mut();
        let mut r = ptr::null_mut();
        // SAFETY: N1; out-pointers are valid locals.
        unsafe {
            check(sys::napi_create_array(env, &mut arr))?;
            check(sys::napi_create_reference(env, arr, 1, &mut r))?;
        }
        Ok(Self { array: r, free: Vec::new(), len: 0 })
    }

    pub(crate) fn array(&self, env: sys::napi_env) -> Result<sys::napi_value> {
        let mut arr = ptr::null_mut();
        // SAFETY: N1; the reference is strong and owned by this stash until `release` (N3).
        check(unsafe { sys::napi_get_reference_value(env, self.array, &mut arr) })?;
        Ok(arr)
    }

    pub(crate) fn put(&mut self, env: sys::napi_env, value: sys::napi_value) -> Result<Slot> {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.len += 1;
                self.len - 1
            }
        };
        let arr = self.array(env)?;
        // SAFETY: N1, N2: arr is a live JS array; value belongs to the current handle scope.
        check(unsafe { sys::napi_set_element(env, arr, slot, value) })?;
        Ok(slot)
    }

    pub(crate) fn get(&self, env: sys::napi_env, slot: Slot) -> Result<sys::napi_value> {
        let arr = self.array(env)?;
        Self::get_at(env, arr, slot)
    }

    /// `get` with the array already fetched (one reference lookup for several slots).
    pub(crate) fn get_at(env: sys::napi_env, arr: sys::napi_value, slot: Slot) -> Result<sys::napi_value> {
        let mut v = ptr::null_mut();
        // SAFETY: N1, N2: arr is a live JS array; reading any index is defined.
        check(unsafe { sys::napi_get_element(env, arr, slot, &mut v) })?;
        Ok(v)
    }

    /// Reads the value and frees the slot.
    pub(crate) fn take(&mut self, env: sys::napi_env, slot: Slot) -> Result<sys::napi_value> {
        let v = self.get(env, slot)?;
        self.clear(env, slot);
        Ok(v)
    }

    pub(crate) fn clear(&mut self, env: sys::napi_env, slot: Slot) {
        if let Ok(arr) = self.array(env) {
            let undef = undefined(env);
            // SAFETY: N1, N2: writing undefined releases the JS value for GC.
            unsafe { sys::napi_set_element(env, arr, slot, undef) };
        }
        self.free.push(slot);
    }

    pub(crate) fn release(&mut self, env: sys::napi_env) {
        if !self.array.is_null() {
            // SAFETY: N1, N3: the reference was created by `new` and is deleted once (nulled after).
            unsafe { sys::napi_delete_reference(env, self.array) };
            self.array = ptr::null_mut();
        }
    }
}

/// A weak reference to an object (the runner's callback table), made strong while a run is
/// active (like the `Rc` of E3: a strong one for the loop's whole life would be a cycle).
pub(crate) struct WeakRef(sys::napi_ref);

impl WeakRef {
    pub(crate) fn new(env: sys::napi_env, object: sys::napi_value) -> Result<Self> {
        let mut r = ptr::null_mut();
        // SAFETY: N1, N2: object is an object of this env; a weak (count 0) reference.
        check(unsafe { sys::napi_create_reference(env, object, 0, &mut r) })?;
        Ok(Self(r))
    }

    /// The object, or None once collected.
    pub(crate) fn get(&self, env: sys::napi_env) -> Option<sys::napi_value> {
        let mut v = ptr::null_mut();
        // SAFETY: N1; the reference is live until `delete` (N3); a collected target reads as null.
        let ok = unsafe { sys::napi_get_reference_value(env, self.0, &mut v) } == sys::Status::napi_ok;
        (ok && !v.is_null()).then_some(v)
    }

    /// Strong while a run is active.
    pub(crate) fn strengthen(&self, env: sys::napi_env) {
        // SAFETY: N1; the reference is live until `delete` (N3).
        unsafe { sys::napi_reference_ref(env, self.0, ptr::null_mut()) };
    }

    /// Weak again when the run is over.
    pub(crate) fn weaken(&self, env: sys::napi_env) {
        // SAFETY: N1; the reference is live until `delete` (N3).
        unsafe { sys::napi_reference_unref(env, self.0, ptr::null_mut()) };
    }

    pub(crate) fn delete(self, env: sys::napi_env) {
        // SAFETY: N1, N3: consumed here, so deleted once.
        unsafe { sys::napi_delete_reference(env, self.0) };
    }
}

/// A nested handle scope, closed on drop.
pub(crate) struct HandleScope {
    env: sys::napi_env,
    scope: sys::napi_handle_scope,
}

impl HandleScope {
    pub(crate) fn open(env: sys::napi_env) -> Option<Self> {
        let mut scope = ptr::null_mut();
        // SAFETY: N1; closed once, by Drop.
        let ok = unsafe { sys::napi_open_handle_scope(env, &mut scope) } == sys::Status::napi_ok;
        ok.then_some(Self { env, scope })
    }
}

impl Drop for HandleScope {
    fn drop(&mut self) {
        // SAFETY: N1; the scope opened in `open`, closed once (scopes nest: the values of a
        // macrotask are dropped with it, after any settle already happened).
        unsafe { sys::napi_close_handle_scope(self.env, self.scope) };
    }
}

pub(crate) fn async_ctx(env: sys::napi_env, name: &str) -> Result<sys::napi_async_context> {
    let mut n = ptr::null_mut();
    let mut ctx = ptr::null_mut();
    // SAFETY: N1; a null resource makes Node create the resource object; the name is a fresh
    // string; out-pointers are valid locals.
    unsafe {
        check(sys::napi_create_string_utf8(env, name.as_ptr().cast(), name.len() as isize, &mut n))?;
        check(sys::napi_async_init(env, ptr::null_mut(), n, &mut ctx))?;
    }
    Ok(ctx)
}

pub(crate) fn destroy_ctx(env: sys::napi_env, ctx: sys::napi_async_context) {
    if !env_closing() && !ctx.is_null() {
        // SAFETY: N1, N3: ctx came from napi_async_init on this env; destroyed once.
        unsafe { sys::napi_async_destroy(env, ctx) };
    }
}

/// A fresh promise and its deferred.
pub(crate) fn create_promise(env: sys::napi_env) -> Result<(sys::napi_deferred, sys::napi_value)> {
    let mut deferred = ptr::null_mut();
    let mut promise = ptr::null_mut();
    // SAFETY: N1; out-pointers are valid locals.
    check(unsafe { sys::napi_create_promise(env, &mut deferred, &mut promise) })?;
    Ok((deferred, promise))
}

/// Rejects a fresh deferred with `err` right away (a refused call).
pub(crate) fn reject_now(
    env: sys::napi_env,
    deferred: sys::napi_deferred,
    err: sys::napi_value,
) -> Result<()> {
    // SAFETY: N1, N2, N3: the deferred is fresh and settled once, here.
    check(unsafe { sys::napi_reject_deferred(env, deferred, err) })
}

/// Settles a deferred whose promise is never handed out (a call refused after creating it), so
/// its handle is freed; resolved, so it never shows up as an unhandled rejection.
pub(crate) fn release_deferred(env: sys::napi_env, deferred: sys::napi_deferred) {
    let u = undefined(env);
    // SAFETY: N1, N3: the deferred is settled once, here, and never used again.
    unsafe { sys::napi_resolve_deferred(env, deferred, u) };
}

/// A raw value of this env as napi-rs's `Unknown` (a method's return value).
pub(crate) fn unknown(env: &Env, v: sys::napi_value) -> Unknown<'_> {
    // SAFETY: N2: v is a value of this env in the method call's scope.
    unsafe { Unknown::from_raw_unchecked(env.raw(), v) }
}

/// Takes and clears any pending JS exception.
fn take_exception(env: sys::napi_env) -> sys::napi_value {
    let mut e = ptr::null_mut();
    // SAFETY: N1; if nothing is pending, e is set to undefined.
    unsafe { sys::napi_get_and_clear_last_exception(env, &mut e) };
    e
}

pub(crate) fn undefined(env: sys::napi_env) -> sys::napi_value {
    let mut u = ptr::null_mut();
    // SAFETY: N1.
    unsafe { sys::napi_get_undefined(env, &mut u) };
    u
}

pub(crate) fn null(env: sys::napi_env) -> sys::napi_value {
    let mut n = ptr::null_mut();
    // SAFETY: N1.
    unsafe { sys::napi_get_null(env, &mut n) };
    n
}

pub(crate) fn new_object(env: sys::napi_env) -> Result<sys::napi_value> {
    let mut o = ptr::null_mut();
    // SAFETY: N1; out-pointer is a valid local.
    check(unsafe { sys::napi_create_object(env, &mut o) })?;
    Ok(o)
}

pub(crate) fn set_prop(
    env: sys::napi_env,
    obj: sys::napi_value,
    key: &CStr,
    v: sys::napi_value,
) -> Result<()> {
    // SAFETY: N1, N2: obj is an object of this env; key is NUL-terminated.
    check(unsafe { sys::napi_set_named_property(env, obj, key.as_ptr(), v) })
}

pub(crate) fn js_f64(env: sys::napi_env, n: f64) -> Result<sys::napi_value> {
    let mut v = ptr::null_mut();
    // SAFETY: N1.
    check(unsafe { sys::napi_create_double(env, n, &mut v) })?;
    Ok(v)
}

pub(crate) fn js_str(env: sys::napi_env, s: &str) -> Result<sys::napi_value> {
    let mut v = ptr::null_mut();
    // SAFETY: N1; the pointer/length pair comes from a &str.
    check(unsafe { sys::napi_create_string_utf8(env, s.as_ptr().cast(), s.len() as isize, &mut v) })?;
    Ok(v)
}

pub(crate) fn js_bool(env: sys::napi_env, b: bool) -> Result<sys::napi_value> {
    let mut v = ptr::null_mut();
    // SAFETY: N1.
    check(unsafe { sys::napi_get_boolean(env, b, &mut v) })?;
    Ok(v)
}

pub(crate) fn error_value(env: sys::napi_env, code: &str, message: &str) -> sys::napi_value {
    let mut err = ptr::null_mut();
    if let (Ok(c), Ok(m)) = (js_str(env, code), js_str(env, message)) {
        // SAFETY: N1, N2: c and m are strings of this env.
        unsafe { sys::napi_create_error(env, c, m, &mut err) };
    }
    err
}

/// Calls `func(argv)` with `recv` as `this` as a top-level callback in `ctx`, with no JS on
/// the stack: Node drains `process.nextTick` callbacks and microtasks when it returns (I2).
pub(crate) fn make_callback(
    env: sys::napi_env,
    ctx: sys::napi_async_context,
    recv: sys::napi_value,
    func: sys::napi_value,
    argv: &[sys::napi_value],
) -> std::result::Result<(), sys::napi_value> {
    let mut result = ptr::null_mut();
    // SAFETY: N1, N2, N4: all values belong to the current handle scope; ctx is a live async
    // context; argv points to argv.len() values.
    let status =
        unsafe { sys::napi_make_callback(env, ctx, recv, func, argv.len(), argv.as_ptr(), &mut result) };
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(take_exception(env))
    }
}

/// Settles `deferred` inside a callback scope of `ctx`, so promise reactions (and `await`
/// continuations) run before the scope closes (I2).
pub(crate) fn settle_in_scope(
    env: sys::napi_env,
    ctx: sys::napi_async_context,
    deferred: sys::napi_deferred,
    value: sys::napi_value,
    resolve: bool,
) {
    let mut scope = ptr::null_mut();
    let resource = new_object(env).unwrap_or(ptr::null_mut());
    // SAFETY: N1, N4: no JS is on the stack; the resource object is fresh; N3: deferred is
    // settled exactly once (callers remove it from their maps or consume the run).
    unsafe {
        let opened = !resource.is_null()
            && sys::napi_open_callback_scope(env, resource, ctx, &mut scope) == sys::Status::napi_ok;
        if resolve {
            sys::napi_resolve_deferred(env, deferred, value);
        } else {
            sys::napi_reject_deferred(env, deferred, value);
        }
        if opened {
            sys::napi_close_callback_scope(env, scope);
        }
    }
}

/// A run's libuv timer (N5): it owns the strong count of the loop it gives libuv, and the only
/// callback it arms is [`on_uv_timer::<T>`](on_uv_timer), so the handle's data and the callback
/// that reads it always agree on `T`.
pub(crate) struct RunTimer<T: UvDriven> {
    timer: UvTimer,
    rc: *const T,
}

impl<T: UvDriven> RunTimer<T> {
    /// A timer on `env`'s loop holding one count of `inner` (`None` without libuv).
    pub(crate) fn new(env: sys::napi_env, inner: &Rc<T>) -> Option<Self> {
        let rc = Rc::into_raw(Rc::clone(inner));
        match UvTimer::new(env, rc as *mut c_void) {
            Some(timer) => Some(Self { timer, rc }),
            None => {
                // SAFETY: N5: libuv never saw `rc`, so the count taken just above is ours.
                drop(unsafe { Rc::from_raw(rc) });
                None
            }
        }
    }

    /// (Re)arms the timer to drive the run once after `ms`.
    pub(crate) fn start(&self, ms: u64) {
        self.timer.start(on_uv_timer::<T>, ms);
    }

    /// Drives the run in the idle phase of the next event-loop turn.
    pub(crate) fn yield_now(&self) {
        self.timer.yield_now(on_uv_timer::<T>);
    }

    /// Whether the timer keeps the process alive.
    pub(crate) fn set_ref(&self, keep_alive: bool) {
        self.timer.set_ref(keep_alive);
    }

    /// Closes the handles (no callback runs after this) and gives back the count (once: the
    /// timer is consumed). The caller holds its own `Rc` of the loop, so the loop outlives this.
    pub(crate) fn close(self) {
        self.timer.close();
        // SAFETY: N5: `rc` came from `Rc::into_raw` in `new` and is given back once, here; the
        // handles are closed, so libuv no longer calls back with it.
        drop(unsafe { Rc::from_raw(self.rc) });
    }
}

/// libuv's callback for a run's timer: drives the run (`driver::drive`) in a handle scope.
/// Armed only by [`RunTimer<T>`], whose handle's data is its `*const T`.
unsafe extern "C" fn on_uv_timer<T: UvDriven>(handle: *mut c_void) {
    // SAFETY: N5: the handle is live (libuv is calling it); its data is the `*const T` a
    // `RunTimer<T>` leaked (only it arms this callback), still owned by that timer, so bumping
    // the count and re-owning one is sound.
    let inner = unsafe {
        let p = UvTimer::data_of(handle) as *const T;
        Rc::increment_strong_count(p);
        Rc::from_raw(p)
    };
    if env_closing() {
        return;
    }
    let Some(_scope) = HandleScope::open(inner.env()) else { return };
    T::drive(&inner);
}
