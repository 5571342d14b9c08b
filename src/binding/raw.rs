//! The unsafe N-API glue of the mesh and slab classes: their hot methods as raw N-API callbacks
//! on the class prototypes.
//!
//! napi-rs's method glue costs ~300 ns a call (a native-borrow registry, argument conversion, a
//! type-tag check, an unwrap); a raw callback ~50 ns. So `ReactorMesh.prototype.enqueueSlot`,
//! `NumaSlabPool.prototype.allocateMany` and the other methods listed in [`ReactorMesh`]'s and
//! [`NumaSlabPool`]'s [`RawClass::METHODS`] are plain N-API callbacks, defined on the prototypes
//! napi-rs built, once, when the addon is loaded ([`install`]). A prototype method reads its
//! receiver itself:
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
//!   unwind into N-API.
//!
//! Checking the tag and unwrapping cost ~50 ns each, twice the rest of a call. So the first call
//! of any raw method on an instance also gives that instance its own copies of them (R5): the
//! same callbacks' bound twins (`fast::raw_fn!`), non-enumerable own properties whose N-API
//! `data` is a strong `Rc` of the instance's state (F1 in `fast.rs`), so later calls skip the
//! receiver work and cost what the old `fastPaths()` functions cost. They act on that state
//! whatever `this` is (`const f = mesh.drainSlots; f(0, 1, out)` drains `mesh`), and keep the state
//! alive after the instance is collected (the pool's last holder releases its napi references,
//! `fast::EnvRelease`). An instance that cannot take own properties (frozen) keeps the prototype
//! methods.

// napi-derive registers the module-exports hook only outside `cfg(test)`, so the unit-test build
// sees [`install`] (and what only it reaches) as unused.
#![cfg_attr(test, allow(dead_code, reason = "reached through napi's module registration"))]

use std::cell::Cell;
use std::ffi::CStr;
use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

#[cfg(not(target_family = "wasm"))]
use super::error::Coded;
use super::fast::{self, Ret};
use super::mesh::{MeshState, ReactorMesh};
use super::slab::{NumaSlabPool, PoolState};

/// A raw value of the current call as napi-rs's `Unknown` (for the shared argument parsers).
pub(crate) fn unknown<'e>(env: sys::napi_env, v: sys::napi_value) -> Unknown<'e> {
    // SAFETY: `v` is a live value of `env` for the whole current call (an argument), and the
    // `Unknown` is only used within that call.
    unsafe { Unknown::from_raw_unchecked(env, v) }
}

#[cfg(target_family = "wasm")]
use super::raw_wasm::receiver;

/// The `T` wrapped in `this` (R1–R3), or the TypeError for a foreign receiver.
#[cfg(not(target_family = "wasm"))]
fn receiver<'a, T: TypeTag>(
    env: sys::napi_env,
    this: sys::napi_value,
    class: &str,
) -> std::result::Result<&'a T, Coded> {
    let refuse =
        || Coded::arg_type("this", &format!("an instance of {class}"), super::fast::describe(env, this));
    let mut tagged = false;
    // SAFETY: `this` is the receiver of the current call; the tag is a local copy. A non-object
    // fails with a status, which reads as "not tagged".
    let st = unsafe { sys::napi_check_object_type_tag(env, this, &T::type_tag(), &mut tagged) };
    if st != sys::Status::napi_ok || !tagged {
        return Err(refuse());
    }
    let mut p = ptr::null_mut();
    // SAFETY: `this` is an object carrying T's tag (checked above).
    let st = unsafe { sys::napi_unwrap(env, this, &mut p) };
    if st != sys::Status::napi_ok || p.is_null() {
        return Err(refuse());
    }
    // SAFETY: R1: an object with T's tag wraps a live `Box<T>`; R2: it outlives this call;
    // R3: no `&mut T` exists meanwhile.
    Ok(unsafe { &*p.cast::<T>() })
}

/// A class with raw methods: its wrapped struct, its state and its methods.
trait RawClass: TypeTag + 'static {
    type State: 'static;
    /// The JS class name (for errors and for the lookup in the exports).
    const NAME: &'static CStr;
    /// `(name, prototype callback, bound twin)` of every raw method.
    const METHODS: &'static [(&'static CStr, RawCb, RawCb)];
    fn state(&self) -> &Rc<Self::State>;
    fn bound(&self) -> &Cell<bool>;
    /// `fast::bind` or `fast::bind_releasing` for `Self::State`.
    fn bind(env: sys::napi_env, name: &CStr, state: &Rc<Self::State>, cb: RawCb) -> Result<sys::napi_value>;
}

impl RawClass for ReactorMesh {
    type State = MeshState;
    const NAME: &'static CStr = c"ReactorMesh";
    const METHODS: &'static [(&'static CStr, RawCb, RawCb)] = &[
        (c"enqueueSlot", mesh_enqueue_slot, bound_mesh_enqueue_slot),
        (c"tryEnqueueSlot", mesh_try_enqueue_slot, bound_mesh_try_enqueue_slot),
        (c"enqueueSlots", mesh_enqueue_slots, bound_mesh_enqueue_slots),
        (c"drainSlots", mesh_drain_slots, bound_mesh_drain_slots),
        (c"drainSlotsGlobalOrder", mesh_drain_slots_global, bound_mesh_drain_slots_global),
    ];
    fn state(&self) -> &Rc<MeshState> {
        ReactorMesh::state(self)
    }
    fn bound(&self) -> &Cell<bool> {
        ReactorMesh::bound(self)
    }
    fn bind(env: sys::napi_env, name: &CStr, state: &Rc<MeshState>, cb: RawCb) -> Result<sys::napi_value> {
        fast::bind(env, name, state, cb)
    }
}

impl RawClass for NumaSlabPool {
    type State = PoolState;
    const NAME: &'static CStr = c"NumaSlabPool";
    const METHODS: &'static [(&'static CStr, RawCb, RawCb)] = &[
        (c"allocateInto", pool_allocate_into, bound_pool_allocate_into),
        (c"allocateMany", pool_allocate_many, bound_pool_allocate_many),
        (c"deallocate", pool_deallocate, bound_pool_deallocate),
        (c"deallocateMany", pool_deallocate_many, bound_pool_deallocate_many),
        (c"isLive", pool_is_live, bound_pool_is_live),
        (c"offsetOf", pool_offset_of, bound_pool_offset_of),
        (c"readInto", pool_read_into, bound_pool_read_into),
        (c"writeFrom", pool_write_from, bound_pool_write_from),
    ];
    fn state(&self) -> &Rc<PoolState> {
        NumaSlabPool::state(self)
    }
    fn bound(&self) -> &Cell<bool> {
        NumaSlabPool::bound(self)
    }
    fn bind(env: sys::napi_env, name: &CStr, state: &Rc<PoolState>, cb: RawCb) -> Result<sys::napi_value> {
        fast::bind_releasing(env, name, state, cb)
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

/// R5: gives `this` (an instance of `T`, checked) its own bound methods, once.
fn bind_own<T: RawClass>(env: sys::napi_env, this: sys::napi_value, t: &T) {
    if t.bound().replace(true) {
        return;
    }
    let mut props = Vec::with_capacity(T::METHODS.len());
    for &(name, _, twin) in T::METHODS {
        match T::bind(env, name, t.state(), twin) {
            Ok(f) => props.push(descriptor(name, f)),
            Err(_) => return,
        }
    }
    // SAFETY: `this` is the live receiver of the current call; each descriptor names a 'static C
    // string and a function value created just above.
    let st = unsafe { sys::napi_define_properties(env, this, props.len(), props.as_ptr()) };
    if st != sys::Status::napi_ok {
        // A frozen instance keeps the prototype methods; leave no exception behind.
        let mut e = ptr::null_mut();
        // SAFETY: env is live; this only clears a pending exception, if any.
        unsafe { sys::napi_get_and_clear_last_exception(env, &mut e) };
    }
}

/// Runs a prototype method of class `T` with its first `N` arguments (missing ones are
/// `undefined`) after checking the receiver (R1–R4), and binds the instance's own methods (R5).
///
/// # Safety
/// `env` and `info` must be the ones N-API passed to the callback.
unsafe fn method<T: RawClass, const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    body: impl FnOnce(&T::State, sys::napi_env, &[sys::napi_value; N]) -> Ret,
) -> sys::napi_value {
    let mut argc = 0usize;
    let mut this = ptr::null_mut();
    // SAFETY: env and info come from N-API for this call; no argument is copied (argc 0).
    unsafe { sys::napi_get_cb_info(env, info, &mut argc, ptr::null_mut(), &mut this, ptr::null_mut()) };
    // SAFETY: forwarded contract; `call_unbound` reads the arguments and gives R4.
    unsafe {
        fast::call_unbound::<N>(env, info, |env, args| {
            let t = receiver::<T>(env, this, T::NAME.to_str().unwrap_or("?"))?;
            bind_own(env, this, t);
            body(t.state(), env, &args.argv)
        })
    }
}

/// Defines a raw method of `$class` taking `$n` arguments: `$name`, the prototype callback
/// (R1–R5), and `$twin`, its bound twin (F1–F3 in `fast.rs`).
macro_rules! raw_method {
    ($name:ident / $twin:ident: $class:ident, $n:literal, |$s:ident, $env:ident, $a:ident| $body:expr) => {
        unsafe extern "C" fn $name(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
            // SAFETY: installed by `install` as a method of `$class`, so N-API calls it with its
            // own env and info.
            unsafe {
                method::<$class, $n>(env, info, |$s, $env, argv| {
                    let $a: &[sys::napi_value] = argv;
                    $body
                })
            }
        }
        fast::raw_fn!($twin: <$class as RawClass>::State, $n, |$s, $env, args| {
            let $a: &[sys::napi_value] = &args.argv;
            $body
        });
    };
}

raw_method!(mesh_enqueue_slot / bound_mesh_enqueue_slot: ReactorMesh, 4, |s, env, a| s.raw_enqueue_slot(env, a, true));
raw_method!(mesh_try_enqueue_slot / bound_mesh_try_enqueue_slot: ReactorMesh, 4, |s, env, a| s.raw_enqueue_slot(env, a, false));
raw_method!(mesh_enqueue_slots / bound_mesh_enqueue_slots: ReactorMesh, 3, |s, env, a| s.raw_enqueue_slots(env, a));
raw_method!(mesh_drain_slots / bound_mesh_drain_slots: ReactorMesh, 3, |s, env, a| s.raw_drain_slots(env, a));
raw_method!(mesh_drain_slots_global / bound_mesh_drain_slots_global: ReactorMesh, 2, |s, env, a| s.raw_drain_slots_global(env, a));

raw_method!(pool_allocate_into / bound_pool_allocate_into: NumaSlabPool, 3, |s, env, a| s.raw_allocate_into(env, a));
raw_method!(pool_allocate_many / bound_pool_allocate_many: NumaSlabPool, 3, |s, env, a| s.raw_allocate_many(env, a));
raw_method!(pool_deallocate / bound_pool_deallocate: NumaSlabPool, 3, |s, env, a| s.raw_deallocate(env, a));
raw_method!(pool_deallocate_many / bound_pool_deallocate_many: NumaSlabPool, 2, |s, env, a| s.raw_deallocate_many(env, a));
raw_method!(pool_is_live / bound_pool_is_live: NumaSlabPool, 3, |s, env, a| s.raw_is_live(env, a));
raw_method!(pool_offset_of / bound_pool_offset_of: NumaSlabPool, 3, |s, env, a| s.raw_offset_of(env, a));
raw_method!(pool_read_into / bound_pool_read_into: NumaSlabPool, 4, |s, env, a| s.raw_copy(env, a, true));
raw_method!(pool_write_from / bound_pool_write_from: NumaSlabPool, 4, |s, env, a| s.raw_copy(env, a, false));

type RawCb = fast::RawCb;

/// Defines `T`'s raw methods on `exports[T::NAME].prototype`.
fn define_methods<T: RawClass>(env: &Env, exports: &Object<'_>) -> Result<()> {
    let ctor = named(env, exports.raw(), T::NAME)?;
    let proto = named(env, ctor, c"prototype")?;
    // Functions made here (not by `napi_define_properties`) so that they carry their names.
    let props = T::METHODS
        .iter()
        .map(|&(name, cb, _)| Ok(descriptor(name, fast::unbound(env.raw(), name, cb)?)))
        .collect::<Result<Vec<_>>>()?;
    // SAFETY: `proto` is a live object of this env; every descriptor names a 'static C string
    // and a function value created just above.
    let st = unsafe { sys::napi_define_properties(env.raw(), proto, props.len(), props.as_ptr()) };
    if st == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::from_status(Status::from(st)))
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
    // SAFETY: `object` is a live object of this env (an instance made or being constructed in
    // the current call); every descriptor names a 'static C string and a value of this env.
    let st = unsafe { sys::napi_define_properties(env.raw(), object, props.len(), props.as_ptr()) };
    if st == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::from_status(Status::from(st)))
    }
}

/// A value converted to a raw JS value of `env` (for [`define_fields`]).
pub(crate) trait IntoJs {
    fn into_js(self, env: &Env) -> Result<sys::napi_value>;
}

impl<T: ToNapiValue> IntoJs for T {
    fn into_js(self, env: &Env) -> Result<sys::napi_value> {
        // SAFETY: env is the live env of the current call.
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
    let mut v = ptr::null_mut();
    // SAFETY: `object` is a live object of this env (the exports or a class napi-rs defined on
    // them); `name` is NUL-terminated.
    let st = unsafe { sys::napi_get_named_property(env.raw(), object, name.as_ptr(), &mut v) };
    if st == sys::Status::napi_ok && !v.is_null() {
        Ok(v)
    } else {
        Err(Error::from_status(Status::from(st)))
    }
}

/// Runs once per env when the addon is loaded, after napi-rs registered the classes.
#[napi(module_exports)]
pub fn install(exports: Object, env: Env) -> Result<()> {
    define_methods::<ReactorMesh>(&env, &exports)?;
    define_methods::<NumaSlabPool>(&env, &exports)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The methods of `interface <class> { … }` in the declarations header.
    fn declared(header: &str, class: &str) -> Vec<String> {
        let start = header.find(&format!("export interface {class} {{")).expect("interface declared");
        let body = &header[start..];
        let body = &body[..body.find("\n}").expect("interface closed")];
        let mut names: Vec<String> = body
            .lines()
            .filter_map(|l| {
                let l = l.trim_start();
                let end = l.find('(')?;
                let name = &l[..end];
                name.chars().all(|c| c.is_ascii_alphanumeric()).then(|| name.to_string())
            })
            .filter(|n| !n.is_empty())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    fn listed(methods: &[(&CStr, RawCb, RawCb)]) -> Vec<String> {
        let mut names: Vec<String> =
            methods.iter().map(|(n, _, _)| n.to_str().unwrap().to_string()).collect();
        names.sort();
        let len = names.len();
        names.dedup();
        assert_eq!(names.len(), len, "a method is listed twice");
        names
    }

    #[test]
    fn every_raw_method_is_declared_and_every_declared_one_exists() {
        let header = include_str!("header.d.ts");
        assert_eq!(listed(ReactorMesh::METHODS), declared(header, "ReactorMesh"));
        assert_eq!(listed(NumaSlabPool::METHODS), declared(header, "NumaSlabPool"));
    }
}
