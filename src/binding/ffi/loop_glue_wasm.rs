//! The WebAssembly build's versions of three `loop_glue.rs` functions (chosen there by target).
//! emnapi, which runs the module on Node, implements `napi_async_init` and
//! `napi_make_callback` only with `@emnapi/node-binding` (not loaded by `@napi-rs/wasm-runtime`)
//! and has no callback scopes, and the run's timer is a JS timer (`ffi/uv_wasm.rs`), not a
//! libuv callback with no JS on the stack. So:
//! - no async contexts: `async_ctx` gives the null context, which `destroy_ctx` skips. Hostcall
//!   continuations and listeners then run in the async context of the run's timer, not of the
//!   call that made them (docs/wasm.md);
//! - `make_callback` calls the function and then drains `process.nextTick` callbacks and
//!   microtasks itself with `process._tickCallback()` (Node's `runNextTicks`), as Node's timer
//!   list does between two of its timers: the macrotask's microtasks all run before the driver
//!   takes the next one (I2);
//! - `settle_in_scope` settles and drains the same way, so the run's `await` continuations run
//!   before the driver goes on.
//!
//! Every function here relies on `loop_glue.rs`'s N1 (live env on its JS thread) and N2 (values
//! of an open handle scope), and N3 for the deferred; N4 (no JS on the stack) does not hold here,
//! which is why these functions drain the queues themselves.

use std::ptr;

use napi::bindgen_prelude::*;
use napi::sys;

use super::loop_glue::take_exception;

/// No async context on wasm (see the module doc).
pub(crate) fn async_ctx(_env: sys::napi_env, _name: &str) -> Result<sys::napi_async_context> {
    Ok(ptr::null_mut())
}

/// `process._tickCallback()`: runs the nextTick queue and the microtasks. A throw there (an
/// uncaught error of a nextTick callback) is handed back like the macrotask's own.
fn drain(env: sys::napi_env) -> std::result::Result<(), sys::napi_value> {
    let mut global = ptr::null_mut();
    let mut process = ptr::null_mut();
    let mut tick = ptr::null_mut();
    let mut ty = sys::ValueType::napi_undefined;
    let mut out = ptr::null_mut();
    // SAFETY: N1; names are NUL-terminated; out-pointers are valid locals; the call passes no
    // arguments.
    unsafe {
        if sys::napi_get_global(env, &mut global) != sys::Status::napi_ok
            || sys::napi_get_named_property(env, global, c"process".as_ptr(), &mut process)
                != sys::Status::napi_ok
            || sys::napi_get_named_property(env, process, c"_tickCallback".as_ptr(), &mut tick)
                != sys::Status::napi_ok
            || sys::napi_typeof(env, tick, &mut ty) != sys::Status::napi_ok
            || ty != sys::ValueType::napi_function
        {
            return Ok(());
        }
        if sys::napi_call_function(env, process, tick, 0, ptr::null(), &mut out) != sys::Status::napi_ok {
            return Err(take_exception(env));
        }
    }
    Ok(())
}

/// Calls `func(argv)` with `recv` as `this`, then drains the nextTick and microtask queues (I2).
pub(crate) fn make_callback(
    env: sys::napi_env,
    _ctx: sys::napi_async_context,
    recv: sys::napi_value,
    func: sys::napi_value,
    argv: &[sys::napi_value],
) -> std::result::Result<(), sys::napi_value> {
    let mut result = ptr::null_mut();
    // SAFETY: N1, N2: all values belong to the current handle scope; argv points to argv.len()
    // values.
    let status = unsafe { sys::napi_call_function(env, recv, func, argv.len(), argv.as_ptr(), &mut result) };
    if status != sys::Status::napi_ok {
        return Err(take_exception(env));
    }
    drain(env)
}

/// Settles `deferred`, then drains the queues so its reactions run now (I2).
pub(crate) fn settle_in_scope(
    env: sys::napi_env,
    _ctx: sys::napi_async_context,
    deferred: sys::napi_deferred,
    value: sys::napi_value,
    resolve: bool,
) {
    // SAFETY: N1, N2; N3: the deferred is settled exactly once (callers remove it from their
    // maps or consume the run).
    unsafe {
        if resolve {
            sys::napi_resolve_deferred(env, deferred, value);
        } else {
            sys::napi_reject_deferred(env, deferred, value);
        }
    }
    if let Err(exc) = drain(env) {
        // A nextTick callback threw: what Node does with an error thrown outside any
        // callback it could be handed to.
        // SAFETY: N1; exc is the exception just taken.
        unsafe { sys::napi_fatal_exception(env, exc) };
    }
}
