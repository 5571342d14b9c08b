//! The WebAssembly build's receiver check for `raw.rs` (chosen there by target): napi-rs stamps
//! no type tags on wasm, so the brand is the class napi-rs recorded when it wrapped the instance,
//! which its `ClassInstance` conversion checks after unwrapping (as `receiver.rs` does on wasm).

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
    if super::fast::type_of(env, this) != sys::ValueType::napi_object {
        return Err(refuse());
    }
    // SAFETY: `this` is a live object of the current call; the conversion unwraps it and checks
    // the class napi-rs recorded for it, and fails cleanly for anything else.
    let instance = unsafe { ClassInstance::<T>::from_napi_value(env, this) }.map_err(|_| refuse())?;
    let p: *const T = &*instance;
    // SAFETY: R1: `p` is the live `Box<T>` napi-rs wrapped in `this` (never freed by the
    // conversion); R2: `this` keeps it alive for the whole call; R3: no `&mut T` exists meanwhile.
    Ok(unsafe { &*p })
}
