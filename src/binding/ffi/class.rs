//! The unsafe N-API glue of the classes: raw prototype methods with their receiver checks
//! (R1–R5, see `binding/raw.rs` for which methods), the bound twins an instance gets on its
//! first raw call, own data properties for plain-data instances, and type-tag brand checks.
//!
//! - R1 (brand before pointer): `this` must carry the napi type tag napi-rs stamps on every
//!   instance of that class right after wrapping its `Box<T>`; anything else (another class's
//!   instance, `Object.create(prototype)`, a primitive) is refused with a TypeError before any
//!   pointer is read. So an unwrapped pointer is always a live `Box<T>` of the right `T`.
//! - R2 (the receiver outlives the call): the wrapped box is freed by the object's finalizer,
//!   which cannot run while `this` is held by the current call; the `&T` never leaves the call.
//! - R3 (shared borrows only): every napi-rs method of these classes takes `&self` (mutation
//!   goes through the state's `RefCell`s), so no `&mut T` can exist while a raw method holds its
//!   `&T`; a reentrant call fails a `RefCell` borrow (`ERR_REENTRANT_CALL`) instead of aliasing.
//! - R4 (no unwinding): a panic in a method body becomes an `ERR_INTERNAL` error, never an
//!   unwind into N-API (`fast::call_unbound`).
//! - R5 (bound twins): the first raw call on an instance defines the same methods' bound twins
//!   (`fast::BoundCb`, F1) as its own non-enumerable properties, so later calls skip R1's checks.

use std::cell::Cell;
use std::ffi::CStr;
use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::*;
use napi::sys;

use super::super::error::Coded;
use super::fast::{self, Args, BoundCb, BoundFn, RawCb, UnboundCb};

/// A raw value of the current call as napi-rs's `Unknown` (for the shared argument parsers and
/// for returning values made by raw N-API calls from napi-rs methods).
pub(crate) fn unknown<'e>(env: sys::napi_env, v: sys::napi_value) -> Unknown<'e> {
    // SAFETY: G2 (see `ffi/mod.rs`): every raw `napi_value` the binding holds is a value of
    // `env` made or received during the current call, whose handle scope is still open; the
    // `Unknown` is only used within that call.
    unsafe { Unknown::from_raw_unchecked(env, v) }
}

/// True when `v` is an object carrying `T`'s type tag (R1's brand).
pub(crate) fn has_tag<T: TypeTag>(env: sys::napi_env, v: sys::napi_value) -> bool {
    if fast::type_of(env, v) != sys::ValueType::napi_object {
        return false;
    }
    let mut ok = false;
    // SAFETY: G2: v is a live object of this call; the tag is a local copy napi only reads.
    let st = unsafe { sys::napi_check_object_type_tag(env, v, &T::type_tag(), &mut ok) };
    st == sys::Status::napi_ok && ok
}

/// The `T` wrapped in `this` (R1–R3), or the TypeError for a foreign receiver.
fn receiver<'a, T: TypeTag>(
    env: sys::napi_env,
    this: sys::napi_value,
    class: &str,
) -> std::result::Result<&'a T, Coded> {
    let refuse = || Coded::arg_type("this", &format!("an instance of {class}"), fast::describe(env, this));
    let mut tagged = false;
    // SAFETY: G2: `this` is the receiver of the current call; the tag is a local copy. A
    // non-object fails with a status, which reads as "not tagged".
    let st = unsafe { sys::napi_check_object_type_tag(env, this, &T::type_tag(), &mut tagged) };
    if st != sys::Status::napi_ok || !tagged {
        return Err(refuse());
    }
    let mut p = ptr::null_mut();
    // SAFETY: G2: `this` is an object carrying T's tag (checked above).
    let st = unsafe { sys::napi_unwrap(env, this, &mut p) };
    if st != sys::Status::napi_ok || p.is_null() {
        return Err(refuse());
    }
    // SAFETY: R1: an object with T's tag wraps a live `Box<T>`; R2: it outlives this call;
    // R3: no `&mut T` exists meanwhile.
    Ok(unsafe { &*p.cast::<T>() })
}

/// A class with raw methods: its wrapped struct, its state and its methods.
pub(crate) trait RawClass: TypeTag + Sized + 'static {
    type State: 'static;
    /// The JS class name (for errors and for the lookup in the exports).
    const NAME: &'static CStr;
    /// `(name, method)` of every raw method.
    const METHODS: &'static [(&'static CStr, RawMethod<Self>)];
    fn state(&self) -> &Rc<Self::State>;
    /// Whether the instance got its bound twins (R5).
    fn bound(&self) -> &Cell<bool>;
    /// `fast::bind` or `fast::bind_releasing` for `Self::State`.
    fn bind(
        env: sys::napi_env,
        name: &CStr,
        state: &Rc<Self::State>,
        cb: BoundCb<Self::State>,
    ) -> Result<sys::napi_value>;
}

/// A raw method of class `C`: its prototype callback (R1–R5) and its bound twin (F1).
pub(crate) struct RawMethod<C: RawClass> {
    proto: RawCb,
    twin: BoundCb<C::State>,
}

impl<C: RawClass> RawMethod<C> {
    /// The method running `F::run` on the receiver's state (prototype) or the bound state (twin).
    pub(crate) const fn of<F: BoundFn<N, Target = C::State>, const N: usize>() -> Self {
        Self { proto: proto_trampoline::<C, F, N>, twin: BoundCb::of::<F, N>() }
    }
}

/// A method descriptor: writable, configurable, non-enumerable (like napi-rs's own methods).
fn descriptor(name: &CStr, value: sys::napi_value) -> sys::napi_property_descriptor {
    sys::napi_property_descriptor {
        utf8name: name.as_ptr(),
        name: ptr::null_mut(),
        method: None,
        getter: None,
        setter: None,
        value,
        attributes: sys::PropertyAttributes::writable | sys::PropertyAttributes::configurable,
        data: ptr::null_mut(),
    }
}

/// `napi_define_properties(object, props)` as a `Result`.
fn define_properties(
    env: sys::napi_env,
    object: sys::napi_value,
    props: &[sys::napi_property_descriptor],
) -> sys::napi_status {
    // SAFETY: G2: `object` is a live object of this env; every descriptor names a 'static C
    // string (or one that outlives this call) and a value of this env, and `props` holds
    // `props.len()` descriptors.
    unsafe { sys::napi_define_properties(env, object, props.len(), props.as_ptr()) }
}

/// R5: gives `this` (an instance of `T`, checked) its own bound methods, once.
fn bind_own<T: RawClass>(env: sys::napi_env, this: sys::napi_value, t: &T) {
    if t.bound().replace(true) {
        return;
    }
    let mut props = Vec::with_capacity(T::METHODS.len());
    for (name, m) in T::METHODS {
        match T::bind(env, name, t.state(), m.twin) {
            Ok(f) => props.push(descriptor(name, f)),
            Err(_) => return,
        }
    }
    if define_properties(env, this, &props) != sys::Status::napi_ok {
        // A frozen instance keeps the prototype methods; leave no exception behind.
        fast::take_exception(env);
    }
}

unsafe extern "C" fn proto_trampoline<C: RawClass, F: BoundFn<N, Target = C::State>, const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    let mut argc = 0usize;
    let mut this = ptr::null_mut();
    // SAFETY: G1, G2: installed by `define_methods::<C>` as a prototype method, so N-API calls it with
    // its own env and info; no argument is copied (argc 0).
    unsafe { sys::napi_get_cb_info(env, info, &mut argc, ptr::null_mut(), &mut this, ptr::null_mut()) };
    // SAFETY: same env and info; `call_unbound` reads the arguments and gives R4.
    unsafe {
        fast::call_unbound::<N>(env, info, |env, args: &Args<N>| {
            let t = receiver::<C>(env, this, C::NAME.to_str().unwrap_or("?"))?;
            bind_own(env, this, t);
            F::run(t.state(), env, args)
        })
    }
}

/// Defines `T`'s raw methods on `exports[T::NAME].prototype`.
pub(crate) fn define_methods<T: RawClass>(env: &Env, exports: &Object<'_>) -> Result<()> {
    let ctor = named(env, exports.raw(), T::NAME)?;
    let proto = named(env, ctor, c"prototype")?;
    // Functions made here (not by `napi_define_properties`) so that they carry their names.
    let props = T::METHODS
        .iter()
        .map(|(name, m)| Ok(descriptor(name, fast::unbound(env.raw(), name, UnboundCb::from_raw(m.proto))?)))
        .collect::<Result<Vec<_>>>()?;
    match define_properties(env.raw(), proto, &props) {
        sys::Status::napi_ok => Ok(()),
        st => Err(Error::from_status(Status::from(st))),
    }
}

/// Defines `fields` on `object` as own enumerable, read-only data properties, like the fields of
/// a plain object: spreading, `Object.keys` and `JSON.stringify` see them (they shadow the
/// class's prototype getters of the same names; read-only, so they never disagree with the
/// native value behind `asJson()`).
pub(crate) fn define_fields(
    env: &Env,
    object: sys::napi_value,
    fields: &[(&CStr, sys::napi_value)],
) -> Result<()> {
    let props: Vec<_> = fields
        .iter()
        .map(|&(name, value)| sys::napi_property_descriptor {
            attributes: sys::PropertyAttributes::enumerable,
            ..descriptor(name, value)
        })
        .collect();
    match define_properties(env.raw(), object, &props) {
        sys::Status::napi_ok => Ok(()),
        st => Err(Error::from_status(Status::from(st))),
    }
}

/// A value converted to a raw JS value of `env` (for [`define_fields`]).
pub(crate) trait IntoJs {
    fn into_js(self, env: &Env) -> Result<sys::napi_value>;
}

impl<T: ToNapiValue> IntoJs for T {
    fn into_js(self, env: &Env) -> Result<sys::napi_value> {
        // SAFETY: G1: env is the live env of the current call.
        unsafe { T::to_napi_value(env.raw(), self) }
    }
}

/// `value` as a new instance of its class whose `fields` are own enumerable read-only data
/// properties ([`define_fields`]): plain data that still has its class's methods (`asJson()`).
pub(crate) fn plain_instance<'e, T: JavaScriptClassExt + 'e>(
    env: &'e Env,
    value: T,
    fields: &[(&CStr, sys::napi_value)],
) -> Result<Unknown<'e>> {
    let inst = value.into_instance(env)?;
    define_fields(env, inst.value, fields)?;
    Ok(unknown(env.raw(), inst.value))
}

/// `object[name]` (a class constructor or its prototype, during module registration).
fn named(env: &Env, object: sys::napi_value, name: &CStr) -> Result<sys::napi_value> {
    match fast::named_property(env.raw(), object, name) {
        Some(v) if !v.is_null() => Ok(v),
        _ => Err(Error::from_status(Status::GenericFailure)),
    }
}

/// The `T` wrapped in `v` when it is an instance of class `T` (napi-rs checks the type tag;
/// any other object, or a non-object, gives `None`).
pub(crate) fn instance_of<'a, T: 'a>(v: &Unknown<'a>) -> Option<ClassInstance<'a, T>>
where
    ClassInstance<'a, T>: FromNapiValue,
{
    if fast::type_of(v.value().env, v.raw()) != sys::ValueType::napi_object {
        return None;
    }
    // SAFETY: G2: v is a live object of this call; the class conversion checks napi's type tag
    // and fails cleanly for other objects. (A `&T` cast is refused inside a callback body:
    // napi-rs only registers native borrows during argument conversion, so the instance form is
    // used.)
    unsafe { v.cast::<ClassInstance<T>>() }.ok()
}
