//! Raw N-API functions for hot paths (`setTimeout`, `clearTimeout`, …).
//!
//! napi-rs methods cost ~300 ns per call here (a native-borrow registry, a type-tag check and an
//! unwrap on every call); a plain N-API callback costs ~40 ns. Hot methods are therefore also
//! offered as functions created with `napi_create_function`, each carrying a strong `Rc` to the
//! native object in its `data` pointer (the JS classes in lib/ and the raw prototype methods of
//! `class.rs` route their hot methods through them).
//!
//! The rest of the binding writes only the bodies, as safe code: `raw_fn!` / `handle_fn!` (and
//! `raw_method!` in `binding/raw.rs`) expand to a unit type implementing [`BoundFn`],
//! [`HandleFn`] or [`UnboundFn`], and this file instantiates the `extern "C"` trampoline for it.
//! A [`BoundCb<T>`] can only be made from a body written for a `T`, and only [`bind`] /
//! [`bind_releasing`] install it, with an `Rc<T>` as its data: F1's pairing is checked by types.
//!
//! Invariants:
//! - F1: a bound function's `data` is `Rc::into_raw` of its target, owned by the function and
//!   given back by the function's finalizer, so the target outlives every call of it.
//! - F2: callbacks never unwind into N-API: panics are caught and become `ERR_INTERNAL` errors.
//! - F3: a callback only takes `&T`; mutation goes through the target's own `RefCell`s, so a
//!   reentrant call (JS calling back in) fails a borrow instead of aliasing.
//!
//! Creating a function costs ~3 µs (V8 builds a template per `napi_create_function`), and
//! per-object functions give JS call sites a new target per object. Where many objects are made
//! (event loops, fake clocks' queues), one set of unbound functions serves the whole process and
//! takes a *handle* first: an External owning the target, registered by address and type
//! (H1–H2 at [`new_handle`]), so a foreign value is refused before its pointer is used.

use std::ffi::{c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::rc::Rc;

use napi::sys;

use super::super::error::{Code, Coded};

thread_local! {
    /// Set by the env cleanup hook of this thread's env: from then on, Drop code must not call
    /// napi (the env frees its own handles at teardown).
    static ENV_CLOSING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    static HOOK_SET: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

unsafe extern "C" fn on_env_cleanup(_arg: *mut c_void) {
    ENV_CLOSING.with(|c| c.set(true));
}

/// True once this thread's env has started tearing down.
pub(crate) fn env_closing() -> bool {
    ENV_CLOSING.with(std::cell::Cell::get)
}

/// Registers (once per thread) the cleanup hook behind [`env_closing`].
pub(crate) fn watch_env(env: sys::napi_env) {
    if !HOOK_SET.with(std::cell::Cell::get) {
        // SAFETY: G1; registers a plain function with a null argument; it only flips a flag.
        unsafe { sys::napi_add_env_cleanup_hook(env, Some(on_env_cleanup), ptr::null_mut()) };
        HOOK_SET.with(|h| h.set(true));
    }
}

/// The body of a raw N-API callback bound to an `Rc<Self::Target>` (F1), taking the first `N`
/// arguments. [`BoundCb::of`] turns it into a callback only [`bind`] / [`bind_releasing`] can
/// install, with a target of that type: the pairing F1 relies on is checked by the compiler.
pub(crate) trait BoundFn<const N: usize> {
    type Target: 'static;
    fn run(target: &Self::Target, env: sys::napi_env, args: &Args<N>) -> Ret;
}

/// A raw callback for functions bound to an `Rc<T>` (F1): made only by [`BoundCb::of`].
pub(crate) struct BoundCb<T> {
    cb: RawCb,
    _target: std::marker::PhantomData<fn(&T)>,
}

impl<T> Clone for BoundCb<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for BoundCb<T> {}

impl<T: 'static> BoundCb<T> {
    /// The callback running `F::run` on the function's target.
    pub(crate) const fn of<F: BoundFn<N, Target = T>, const N: usize>() -> Self {
        Self { cb: bound_trampoline::<F, N>, _target: std::marker::PhantomData }
    }
}

unsafe extern "C" fn bound_trampoline<F: BoundFn<N>, const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: F1: this callback is only reachable through a `BoundCb<F::Target>`, which only
    // `bind_with` installs, with `Rc::into_raw` of an `Rc<F::Target>` as the function's data;
    // env and info are the ones N-API passed to this call.
    unsafe { call::<F::Target, N>(env, info, F::run) }
}

/// Defines `const $name: BoundCb<$target>`, a raw N-API callback whose `data` is an
/// `Rc<$target>` (installed through [`bound_object`] with [`bind`] or [`bind_releasing`]),
/// running `$body` with the first `$n` arguments. Expands to safe code only.
macro_rules! raw_fn {
    ($name:ident: $target:ty, $n:literal, |$s:ident, $env:ident, $a:ident| $body:expr) => {
        #[allow(non_upper_case_globals)]
        const $name: $crate::binding::ffi::fast::BoundCb<$target> = {
            struct F;
            impl $crate::binding::ffi::fast::BoundFn<$n> for F {
                type Target = $target;
                fn run(
                    $s: &$target,
                    $env: napi::sys::napi_env,
                    $a: &$crate::binding::ffi::fast::Args<$n>,
                ) -> $crate::binding::ffi::fast::Ret {
                    $body
                }
            }
            $crate::binding::ffi::fast::BoundCb::of::<F, $n>()
        };
    };
}
pub(crate) use raw_fn;

/// Arguments of a raw call: the first `N` (missing ones are `undefined`).
pub(crate) struct Args<const N: usize> {
    pub(crate) argv: [sys::napi_value; N],
    data: *mut c_void,
}

/// What a raw callback returns: a value, or an error to throw.
pub(crate) type Ret = Result<sys::napi_value, Coded>;

unsafe fn read_args<const N: usize>(env: sys::napi_env, info: sys::napi_callback_info) -> Option<Args<N>> {
    let mut argv = [ptr::null_mut(); N];
    let mut argc = N;
    let mut data = ptr::null_mut();
    // SAFETY: G1: called with the env and info N-API passed to the callback; argv has room for N.
    let st =
        unsafe { sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), &mut data) };
    if st != sys::Status::napi_ok {
        return None;
    }
    if argc < N {
        let mut undef = ptr::null_mut();
        // SAFETY: G1: env is the live env of the current call.
        unsafe { sys::napi_get_undefined(env, &mut undef) };
        for slot in argv.iter_mut().skip(argc) {
            *slot = undef;
        }
    }
    Some(Args { argv, data })
}

/// Runs `body` for a raw callback bound to a `T` (F1–F3) and converts its outcome.
///
/// # Safety
/// `info` must come from a function created by [`bind`] with the same `T`.
unsafe fn call<T, const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    body: impl FnOnce(&T, sys::napi_env, &Args<N>) -> Ret,
) -> sys::napi_value {
    // SAFETY: G1: this function's contract (env and info are the ones N-API passed to the
    // callback), forwarded.
    unsafe {
        call_unbound(env, info, |env, args: &Args<N>| {
            // SAFETY: (F1) data is the Rc pointer of a live T, kept alive by this function object.
            let target = &*(args.data as *const T);
            body(target, env, args)
        })
    }
}

/// Runs `body` for a raw callback with no bound target (its `data` is unused) and converts its
/// outcome, with F2.
///
/// # Safety
/// `env` and `info` must be the ones N-API passed to the callback.
pub(super) unsafe fn call_unbound<const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    body: impl FnOnce(sys::napi_env, &Args<N>) -> Ret,
) -> sys::napi_value {
    // SAFETY: G1: this function's contract (env and info are the ones N-API passed to the
    // callback), forwarded.
    let Some(args) = (unsafe { read_args::<N>(env, info) }) else { return ptr::null_mut() };
    let out = catch_unwind(AssertUnwindSafe(|| body(env, &args)));
    let err = match out {
        Ok(Ok(v)) => return v,
        Ok(Err(e)) => e,
        Err(_) => Coded::new(Code::Internal, "seqloop hit an internal error (a bug); the call had no effect"),
    };
    if let Ok(v) = err.to_raw(env) {
        // SAFETY: G2: v is an error object made in this env during the current call.
        unsafe { sys::napi_throw(env, v) };
    }
    ptr::null_mut()
}

unsafe extern "C" fn release<T>(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: (F1) gives back the count taken in `bind`; runs once, when the function is collected.
    drop(unsafe { Rc::from_raw(data as *const T) });
}

/// A bound target that owns env resources (napi references) to give back when its last strong
/// reference goes, whoever holds that last reference: its JS object or one of its functions.
pub(crate) trait EnvRelease {
    /// Deletes the env resources. Called once, by the holder of the last `Rc`, with a live env.
    fn release_env(&self, env: sys::napi_env);
}

unsafe extern "C" fn release_env<T: EnvRelease>(env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: (F1) gives back the count taken in `bind_releasing`; runs once.
    let target = unsafe { Rc::from_raw(data as *const T) };
    if Rc::strong_count(&target) == 1 {
        target.release_env(env);
    }
}

/// Creates a JS function `name` that calls `cb` with a strong reference to `target` (F1).
pub(crate) fn bind<T: 'static>(
    env: sys::napi_env,
    name: &CStr,
    target: &Rc<T>,
    cb: BoundCb<T>,
) -> napi::Result<sys::napi_value> {
    bind_with(env, name, target, cb.cb, release::<T>)
}

/// [`bind`] for a target with env resources: the function that drops the last `Rc` calls
/// [`EnvRelease::release_env`] first.
pub(crate) fn bind_releasing<T: EnvRelease + 'static>(
    env: sys::napi_env,
    name: &CStr,
    target: &Rc<T>,
    cb: BoundCb<T>,
) -> napi::Result<sys::napi_value> {
    bind_with(env, name, target, cb.cb, release_env::<T>)
}

fn bind_with<T: 'static>(
    env: sys::napi_env,
    name: &CStr,
    target: &Rc<T>,
    cb: unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value,
    finalize: unsafe extern "C" fn(sys::napi_env, *mut c_void, *mut c_void),
) -> napi::Result<sys::napi_value> {
    let data = Rc::into_raw(target.clone()) as *mut c_void;
    let made = create_function(env, name, cb, data).and_then(|f| {
        // SAFETY: G1, G2: f is the function just created; F1: the finalizer gets back exactly `data`.
        let st = unsafe {
            sys::napi_add_finalizer(env, f, data, Some(finalize), ptr::null_mut(), ptr::null_mut())
        };
        if st == sys::Status::napi_ok {
            Ok(f)
        } else {
            Err(st)
        }
    });
    made.map_err(|st| {
        // SAFETY: F1: no finalizer owns `data`, so the count taken above is ours to give back.
        drop(unsafe { Rc::from_raw(data as *const T) });
        napi::Error::from_status(napi::Status::from(st))
    })
}

thread_local! {
    /// Addresses of this thread's live handle boxes (see [`new_handle`]) and the type each holds.
    static HANDLES: std::cell::RefCell<rustc_hash::FxHashMap<usize, std::any::TypeId>> =
        std::cell::RefCell::new(rustc_hash::FxHashMap::default());
}

unsafe extern "C" fn release_handle<T: 'static>(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    HANDLES.with(|h| h.borrow_mut().remove(&(data as usize)));
    // SAFETY: (H2) data is the Box made in `new_handle::<T>`, owned by this External; its
    // finalizer runs once.
    drop(unsafe { Box::from_raw(data as *mut T) });
}

/// A handle for process-wide raw functions (H1–H2): an External owning `value`, registered with
/// its type so [`handle_of`] can check any value a caller passes before using its pointer.
/// - H1: a registered address is exactly a live `Box<T>` owned by an External of this thread.
/// - H2: the box lives until its External is collected; an External passed as an argument of
///   the current call is not collected before the call returns.
pub(crate) fn new_handle<'e, T: 'static>(
    env: &'e napi::Env,
    value: T,
) -> napi::Result<napi::bindgen_prelude::Unknown<'e>> {
    let env_raw = env.raw();
    let data = Box::into_raw(Box::new(value));
    HANDLES.with(|h| h.borrow_mut().insert(data as usize, std::any::TypeId::of::<T>()));
    let mut v = ptr::null_mut();
    // SAFETY: G1; H1: the finalizer gets back exactly `data` with its type.
    let st = unsafe {
        sys::napi_create_external(env_raw, data.cast(), Some(release_handle::<T>), ptr::null_mut(), &mut v)
    };
    if st != sys::Status::napi_ok {
        HANDLES.with(|h| h.borrow_mut().remove(&(data as usize)));
        // SAFETY: H1: no External owns `data`, so it is ours to free.
        drop(unsafe { Box::from_raw(data) });
        return Err(napi::Error::from_status(napi::Status::from(st)));
    }
    // SAFETY: G2: v is the External just created in this env.
    Ok(unsafe { napi::bindgen_prelude::Unknown::from_raw_unchecked(env_raw, v) })
}

/// The `T` behind a handle argument; a TypeError for anything that is not a live `T` handle
/// (another type's handle, a foreign External, any other value).
pub(crate) fn handle_of<'a, T: 'static>(
    env: sys::napi_env,
    v: sys::napi_value,
    what: &str,
) -> Result<&'a T, Coded> {
    let mut p = ptr::null_mut();
    // SAFETY: G2: v is a live value of this call; a non-External fails cleanly.
    let ok = unsafe { sys::napi_get_value_external(env, v, &mut p) } == sys::Status::napi_ok;
    let registered =
        ok && HANDLES.with(|h| h.borrow().get(&(p as usize)) == Some(&std::any::TypeId::of::<T>()));
    if !registered {
        return Err(Coded::arg_type("handle", what, describe(env, v)));
    }
    // SAFETY: (H1, H2) p is a live Box<T> for the whole current call.
    Ok(unsafe { &*(p as *const T) })
}

/// The body of a process-wide raw N-API callback (no bound data), taking the first `N`
/// arguments; [`UnboundCb::plain`] makes its callback.
pub(crate) trait UnboundFn<const N: usize> {
    fn run(env: sys::napi_env, args: &Args<N>) -> Ret;
}

/// The body of a process-wide raw N-API callback whose first argument is a handle to a
/// `Self::Target` (see [`new_handle`]), refused with a TypeError naming `WHAT` when it is not
/// one; [`UnboundCb::handle`] makes its callback.
pub(crate) trait HandleFn<const N: usize> {
    type Target: 'static;
    const WHAT: &'static str;
    fn run(handle: &Self::Target, env: sys::napi_env, args: &Args<N>) -> Ret;
}

/// A process-wide raw callback (no bound data), for [`unbound`] / [`unbound_object`].
#[derive(Clone, Copy)]
pub(crate) struct UnboundCb(RawCb);

impl UnboundCb {
    /// The callback running `F::run`.
    pub(crate) const fn plain<F: UnboundFn<N>, const N: usize>() -> Self {
        Self(unbound_trampoline::<F, N>)
    }

    /// The callback checking its first argument is a `F::Target` handle, then running `F::run`.
    pub(crate) const fn handle<F: HandleFn<N>, const N: usize>() -> Self {
        Self(handle_trampoline::<F, N>)
    }

    /// The raw callback (for [`super::class`]'s prototype methods).
    pub(super) const fn from_raw(cb: RawCb) -> Self {
        Self(cb)
    }
}

unsafe extern "C" fn unbound_trampoline<F: UnboundFn<N>, const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: env and info are the ones N-API passed to this callback (F2 in `call_unbound`).
    unsafe { call_unbound::<N>(env, info, F::run) }
}

unsafe extern "C" fn handle_trampoline<F: HandleFn<N>, const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
) -> sys::napi_value {
    // SAFETY: G1: env and info are the ones N-API passed to this callback; `handle_of` checks the
    // handle (H1–H2) before its pointer is used.
    unsafe {
        call_unbound::<N>(env, info, |env, a| {
            let h = handle_of::<F::Target>(env, a.argv[0], F::WHAT)?;
            F::run(h, env, a)
        })
    }
}

/// Defines `const $name: UnboundCb`, a process-wide raw N-API callback whose first argument is
/// a handle to a `$target` (see [`new_handle`]), running `$body` with the first `$n` arguments
/// (the handle included). Expands to safe code only.
macro_rules! handle_fn {
    ($name:ident: $target:ty, $what:literal, $n:literal, |$h:ident, $env:ident, $a:ident| $body:expr) => {
        #[allow(non_upper_case_globals)]
        const $name: $crate::binding::ffi::fast::UnboundCb = {
            struct F;
            impl $crate::binding::ffi::fast::HandleFn<$n> for F {
                type Target = $target;
                const WHAT: &'static str = $what;
                fn run(
                    $h: &$target,
                    $env: napi::sys::napi_env,
                    $a: &$crate::binding::ffi::fast::Args<$n>,
                ) -> $crate::binding::ffi::fast::Ret {
                    $body
                }
            }
            $crate::binding::ffi::fast::UnboundCb::handle::<F, $n>()
        };
    };
}
pub(crate) use handle_fn;

/// `{ name: function, … }` of process-wide raw functions (no bound data).
pub(crate) fn unbound_object<'e>(
    env: &'e napi::Env,
    entries: &[(&CStr, UnboundCb)],
) -> napi::Result<napi::bindgen_prelude::Object<'e>> {
    functions_object(env, entries, unbound)
}

/// Creates a JS function `name` that calls `cb` with no bound data (see [`call_unbound`]).
pub(crate) fn unbound(env: sys::napi_env, name: &CStr, cb: UnboundCb) -> napi::Result<sys::napi_value> {
    create_function(env, name, cb.0, ptr::null_mut())
        .map_err(|st| napi::Error::from_status(napi::Status::from(st)))
}

/// `napi_create_function` with `data`; the failing status on error.
fn create_function(
    env: sys::napi_env,
    name: &CStr,
    cb: RawCb,
    data: *mut c_void,
) -> Result<sys::napi_value, sys::napi_status> {
    let mut f = ptr::null_mut();
    // SAFETY: G1; name is NUL-terminated; cb has the N-API callback signature.
    let st = unsafe {
        sys::napi_create_function(env, name.as_ptr(), name.to_bytes().len() as isize, Some(cb), data, &mut f)
    };
    if st == sys::Status::napi_ok {
        Ok(f)
    } else {
        Err(st)
    }
}

/// The signature of a raw N-API callback.
pub(super) type RawCb = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// `{ name: function, … }` where each function is `cb` bound to `target` by `bind_fn` ([`bind`]
/// or [`bind_releasing`]) and named by its C string: what every `fastPaths()` returns.
pub(crate) fn bound_object<'e, T: 'static>(
    env: &'e napi::Env,
    target: &Rc<T>,
    bind_fn: fn(sys::napi_env, &CStr, &Rc<T>, BoundCb<T>) -> napi::Result<sys::napi_value>,
    entries: &[(&CStr, BoundCb<T>)],
) -> napi::Result<napi::bindgen_prelude::Object<'e>> {
    functions_object(env, entries, |raw, name, cb| bind_fn(raw, name, target, cb))
}

/// `{ name: make(name, cb), … }` for each entry: the one loop behind [`bound_object`] and
/// [`unbound_object`].
fn functions_object<'e, C: Copy>(
    env: &'e napi::Env,
    entries: &[(&CStr, C)],
    mut make: impl FnMut(sys::napi_env, &CStr, C) -> napi::Result<sys::napi_value>,
) -> napi::Result<napi::bindgen_prelude::Object<'e>> {
    let raw = env.raw();
    let mut o = napi::bindgen_prelude::Object::new(env)?;
    for &(name, cb) in entries {
        let f = make(raw, name, cb)?;
        let key = name.to_str().map_err(|_| napi::Error::from_status(napi::Status::InvalidArg))?;
        // SAFETY: G2: f is a function value of this env, created just above.
        o.set(key, unsafe { napi::bindgen_prelude::Unknown::from_raw_unchecked(raw, f) })?;
    }
    Ok(o)
}

/// A JS number value.
pub(crate) fn to_number(env: sys::napi_env, n: f64) -> Ret {
    let mut v = ptr::null_mut();
    // A small integer (counts, offsets, shard ids: the common results) as an int32, which V8
    // makes without a double-to-integer check; the same JS value either way (-0 stays a double).
    let small = n as i32;
    let st = if f64::from(small) == n && !(n == 0.0 && n.is_sign_negative()) {
        // SAFETY: G1: env is the live env of the current call.
        unsafe { sys::napi_create_int32(env, small, &mut v) }
    } else {
        // SAFETY: G1: env is the live env of the current call.
        unsafe { sys::napi_create_double(env, n, &mut v) }
    };
    if st == sys::Status::napi_ok {
        Ok(v)
    } else {
        Err(Coded::new(Code::Internal, "could not create a number"))
    }
}

/// A JS boolean value.
pub(crate) fn to_bool(env: sys::napi_env, b: bool) -> Ret {
    let mut v = ptr::null_mut();
    // SAFETY: G1: env is the live env of the current call.
    if unsafe { sys::napi_get_boolean(env, b, &mut v) } == sys::Status::napi_ok {
        Ok(v)
    } else {
        Err(Coded::new(Code::Internal, "could not create a boolean"))
    }
}

/// Argument reads live in `value.rs` (argument conversion exists once); re-exported here for
/// the raw callbacks.
pub(crate) use super::value::{
    describe, float64_array, number, string, type_of, u53, uint8_array, with_string, TypedOut,
};

/// JS `undefined`.
pub(crate) fn undefined(env: sys::napi_env) -> sys::napi_value {
    let mut v = ptr::null_mut();
    // SAFETY: G1 (a callback's env); napi_get_undefined cannot fail on a live env.
    unsafe { sys::napi_get_undefined(env, &mut v) };
    v
}

/// A raw callback's outcome as a napi-rs method's: the value, or its error thrown.
pub(crate) fn to_unknown(env: &napi::Env, r: Ret) -> napi::Result<napi::bindgen_prelude::Unknown<'_>> {
    match r {
        // SAFETY: G2: v was created in this env during the current call (every `Ret` value is).
        Ok(v) => Ok(unsafe { napi::bindgen_prelude::Unknown::from_raw_unchecked(env.raw(), v) }),
        Err(e) => Err(e.throw(env)),
    }
}

/// Takes and clears the pending exception: the thrown value, or `None` when nothing (or
/// `undefined`) was thrown.
pub(crate) fn take_exception(env: sys::napi_env) -> Option<sys::napi_value> {
    let mut pending = ptr::null_mut();
    // SAFETY: G1; clearing works whether or not an exception is pending (none gives
    // `undefined`).
    unsafe { sys::napi_get_and_clear_last_exception(env, &mut pending) };
    (!pending.is_null() && type_of(env, pending) != sys::ValueType::napi_undefined).then_some(pending)
}

/// Throws `err`, with `cause` (a value of this call) as its `cause` property when given.
pub(crate) fn throw_with_cause(
    env: sys::napi_env,
    err: &Coded,
    cause: Option<sys::napi_value>,
) -> napi::Error {
    if let Ok(raw) = err.to_raw(env) {
        if let Some(cause) = cause {
            // SAFETY: G2: raw and cause are values of this call; the key is a C literal.
            unsafe { sys::napi_set_named_property(env, raw, c"cause".as_ptr(), cause) };
        }
        // SAFETY: G2: raw is an error object made in this call.
        unsafe { sys::napi_throw(env, raw) };
    }
    napi::Error::new(napi::Status::PendingException, "a coded error is pending")
}

/// The `T` an External made by napi-rs's `External::new::<T>` holds, if `v` is one.
pub(crate) fn external_ref<T: 'static>(
    v: napi::bindgen_prelude::Unknown<'_>,
) -> Option<napi::bindgen_prelude::ExternalRef<T>> {
    // SAFETY: G2 for v; ExternalRef's conversion checks the External's Rust type id and fails
    // otherwise.
    unsafe { v.cast::<napi::bindgen_prelude::ExternalRef<T>>() }.ok()
}

/// `obj[key]` (`None` when the read throws; the exception stays pending).
pub(crate) fn named_property(
    env: sys::napi_env,
    obj: sys::napi_value,
    key: &CStr,
) -> Option<sys::napi_value> {
    let mut v = ptr::null_mut();
    // SAFETY: G1, G2: obj is a value of this call, key NUL-terminated; a non-object or a
    // throwing getter fails with a status.
    (unsafe { sys::napi_get_named_property(env, obj, key.as_ptr(), &mut v) } == sys::Status::napi_ok)
        .then_some(v)
}

/// `array[index] = value`.
pub(crate) fn set_element(
    env: sys::napi_env,
    array: sys::napi_value,
    index: u32,
    value: sys::napi_value,
) -> napi::Result<()> {
    // SAFETY: G1, G2: both values belong to the current call; setting an element of a
    // non-object fails cleanly with a status.
    let st = unsafe { sys::napi_set_element(env, array, index, value) };
    if st == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::from_status(napi::Status::from(st)))
    }
}

/// JS `null`.
pub(crate) fn null(env: sys::napi_env) -> Ret {
    let mut v = ptr::null_mut();
    // SAFETY: G1: env is the live env of the current call.
    if unsafe { sys::napi_get_null(env, &mut v) } == sys::Status::napi_ok {
        Ok(v)
    } else {
        Err(Coded::new(Code::Internal, "could not create null"))
    }
}
