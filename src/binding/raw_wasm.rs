//! The WebAssembly build's receiver check for `raw.rs` (chosen there by target): napi-rs stamps
//! no type tags on wasm, so the brand is the class napi-rs recorded at wrap time
//! (`receiver::tagged`), then the same unwrap as on native builds.

use std::ptr;

use napi::bindgen_prelude::*;
use napi::sys;

use super::error::Coded;

/// The `T` wrapped in `this` (raw.rs R1–R3), or the TypeError for a foreign receiver.
pub(super) fn receiver<'a, T: TypeTag + 'static>(
    env: sys::napi_env,
    this: sys::napi_value,
    class: &str,
) -> std::result::Result<&'a T, Coded> {
    let refuse =
        || Coded::arg_type("this", &format!("an instance of {class}"), super::fast::describe(env, this));
    if !super::receiver::tagged::<T>(env, this) {
        return Err(refuse());
    }
    let mut p = ptr::null_mut();
    // SAFETY: `this` is an object napi-rs wrapped for T (checked above).
    let st = unsafe { sys::napi_unwrap(env, this, &mut p) };
    if st != sys::Status::napi_ok || p.is_null() {
        return Err(refuse());
    }
    // SAFETY: R1: an object napi-rs wrapped for T holds a live `Box<T>`; R2: it outlives this
    // call; R3: no `&mut T` exists meanwhile.
    Ok(unsafe { &*p.cast::<T>() })
}
