//! The WebAssembly build's receiver brand (chosen in `class.rs` by target): napi-rs stamps no
//! type tags on wasm, so the brand of an instance is the class napi-rs recorded when it wrapped
//! it, which its `ClassInstance` conversion checks after unwrapping.
//!
//! - R1w (brand before pointer, wasm): `ClassInstance::<T>::from_napi_value` unwraps `this` and
//!   succeeds only when the object's recorded class is `T`'s (a plain object, a Proxy, a
//!   prototype-spoofed object or another class's instance fails it), so a pointer it gives is a
//!   live `Box<T>` of the right `T`. The conversion never frees what it unwraps (napi-rs frees it
//!   only in the object's finalizer), so dropping the `ClassInstance` leaves the instance alone.
//!   `class.rs`'s R2 and R3 then hold as on native builds.

use napi::bindgen_prelude::*;
use napi::sys;

use super::super::error::Coded;
use super::fast;

/// The `T` wrapped in `v`, if `v` is an instance of `T` (R1w).
fn instance<'a, T: TypeTag + 'static>(env: sys::napi_env, v: sys::napi_value) -> Option<&'a T> {
    if fast::type_of(env, v) != sys::ValueType::napi_object {
        return None;
    }
    // SAFETY: G2: `v` is a live object of the current call; R1w: the conversion unwraps it and
    // checks the class napi-rs recorded for it, failing cleanly for anything else.
    let instance = unsafe { ClassInstance::<T>::from_napi_value(env, v) }.ok()?;
    let p: *const T = &*instance;
    // SAFETY: R1w: `p` is the live `Box<T>` napi-rs wrapped in `v` (the conversion does not free
    // it); R2: `v` keeps it alive for the whole call; R3: no `&mut T` exists meanwhile.
    Some(unsafe { &*p })
}

/// True when `v` is an instance of `T` (the brand `receiver.rs` checks).
pub(crate) fn has_tag<T: TypeTag + 'static>(env: sys::napi_env, v: sys::napi_value) -> bool {
    instance::<T>(env, v).is_some()
}

/// The `T` wrapped in `this` (R1w, R2, R3), or the TypeError for a foreign receiver.
pub(super) fn receiver<'a, T: TypeTag + 'static>(
    env: sys::napi_env,
    this: sys::napi_value,
    class: &str,
) -> std::result::Result<&'a T, Coded> {
    instance::<T>(env, this)
        .ok_or_else(|| Coded::arg_type("this", &format!("an instance of {class}"), fast::describe(env, this)))
}
