//! The raw N-API glue of `ShardedWorkers` (all of this binding's `unsafe`): callbacks bound to a
//! thread's [`Side`](super::side::Side), value conversion, external slot views and their
//! detachment, references, and the threadsafe function that wakes a parked consumer.
//!
//! Invariants:
//! - N1 (bound data): a method's `data` is `Rc::into_raw` of its side, owned by the function
//!   object and given back by that function's finalizer, so the side outlives every call.
//! - N2 (no unwinding): a panic in a method body becomes an `ERR_INTERNAL` error.
//! - N3 (mapped memory): an external view's finalizer hint owns an `Arc<Hub>`, which owns the
//!   regions, so slot memory stays mapped until the last view is collected (slots P4).
//! - N4 (one thread per env): values, references and views are only touched on the thread of
//!   the env that made them; only [`Tsfn`] crosses threads, through N-API's threadsafe calls.
//! - N5 (no call after finalize): a threadsafe function is called or released only under its
//!   cell's mutex and only while the cell holds it; its finalizer empties the cell under that
//!   mutex before N-API frees it.

use std::ffi::{c_void, CStr};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;
use std::rc::Rc;
use std::sync::{Arc, Mutex, PoisonError};

use napi::sys;

use super::super::error::{Code, Coded};
use crate::workers::{Hub, Owner, SlotRef};

/// A raw value of the current call.
pub(crate) type Value = sys::napi_value;
/// A method's outcome: a value, or the error to throw.
pub(crate) type Ret = Result<Value, Coded>;
/// The signature of a raw callback.
pub(crate) type RawCb = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> Value;

/// An env plus helpers, valid for one callback (N4).
#[derive(Clone, Copy)]
pub(crate) struct Env(pub(crate) sys::napi_env);

fn status(st: sys::napi_status, what: &str) -> Result<(), Coded> {
    if st == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Coded::new(Code::Internal, format!("N-API {what} failed (status {st})")))
    }
}

/// Runs a method body for a raw callback bound to a `T` (N1, N2) and converts its outcome.
///
/// # Safety
/// `env` and `info` are the ones N-API passed to a callback made by [`object`] with a `T`.
pub(crate) unsafe fn call<T, const N: usize>(
    env: sys::napi_env,
    info: sys::napi_callback_info,
    body: impl FnOnce(&T, Env, &[Value; N]) -> Ret,
) -> Value {
    let mut argc = N;
    let mut argv = [ptr::null_mut(); N];
    let mut data = ptr::null_mut();
    // SAFETY: the out-pointers are valid locals; argv has room for `argc` values.
    let st =
        unsafe { sys::napi_get_cb_info(env, info, &mut argc, argv.as_mut_ptr(), ptr::null_mut(), &mut data) };
    if st != sys::Status::napi_ok || data.is_null() {
        return ptr::null_mut();
    }
    let e = Env(env);
    for v in argv.iter_mut().skip(argc) {
        *v = e.undefined();
    }
    // SAFETY: N1: data is the `Rc<T>` pointer this function owns, alive for the call.
    let target = unsafe { &*(data as *const T) };
    let err = match catch_unwind(AssertUnwindSafe(|| body(target, e, &argv))) {
        Ok(Ok(v)) => return v,
        Ok(Err(err)) => err,
        Err(_) => Coded::new(Code::Internal, "seqloop hit an internal error (a bug); the call had no effect"),
    };
    if err.code() == Code::Pending {
        return ptr::null_mut();
    }
    if let Ok(v) = err.to_raw(env) {
        // SAFETY: v is an error object of this env.
        unsafe { sys::napi_throw(env, v) };
    }
    ptr::null_mut()
}

unsafe extern "C" fn release_rc<T>(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: N1: gives back the count taken in `object`; runs once, when the function is collected.
    drop(unsafe { Rc::from_raw(data as *const T) });
}

/// `{ name: function, … }`, each function bound to `target` (N1).
pub(crate) fn object<T: 'static>(env: Env, target: &Rc<T>, methods: &[(&CStr, RawCb)]) -> Ret {
    let obj = env.object()?;
    for (name, cb) in methods {
        let data = Rc::into_raw(Rc::clone(target)) as *mut c_void;
        let mut f = ptr::null_mut();
        // SAFETY: env is live; name is NUL-terminated; cb has the callback signature.
        let st = unsafe {
            sys::napi_create_function(
                env.0,
                name.as_ptr(),
                name.to_bytes().len() as isize,
                Some(*cb),
                data,
                &mut f,
            )
        };
        let st = if st == sys::Status::napi_ok {
            // SAFETY: f was just created; release_rc::<T> matches the data's type (N1).
            unsafe {
                sys::napi_add_finalizer(
                    env.0,
                    f,
                    data,
                    Some(release_rc::<T>),
                    ptr::null_mut(),
                    ptr::null_mut(),
                )
            }
        } else {
            st
        };
        if st != sys::Status::napi_ok {
            // SAFETY: the count taken above was not handed to any finalizer.
            drop(unsafe { Rc::from_raw(data as *const T) });
            return Err(Coded::new(Code::Internal, "could not create a native function"));
        }
        // SAFETY: obj and f are live values; name is NUL-terminated.
        status(unsafe { sys::napi_set_named_property(env.0, obj, name.as_ptr(), f) }, "set_named_property")?;
    }
    Ok(obj)
}

impl Env {
    pub(crate) fn undefined(self) -> Value {
        let mut v = ptr::null_mut();
        // SAFETY: env is live (N4); v is a valid out-pointer.
        unsafe { sys::napi_get_undefined(self.0, &mut v) };
        v
    }

    pub(crate) fn null(self) -> Value {
        let mut v = ptr::null_mut();
        // SAFETY: as in `undefined`.
        unsafe { sys::napi_get_null(self.0, &mut v) };
        v
    }

    pub(crate) fn object(self) -> Ret {
        let mut v = ptr::null_mut();
        // SAFETY: as in `undefined`.
        status(unsafe { sys::napi_create_object(self.0, &mut v) }, "create_object")?;
        Ok(v)
    }

    pub(crate) fn number(self, n: f64) -> Ret {
        let mut v = ptr::null_mut();
        // SAFETY: as in `undefined`.
        status(unsafe { sys::napi_create_double(self.0, n, &mut v) }, "create_double")?;
        Ok(v)
    }

    pub(crate) fn boolean(self, b: bool) -> Ret {
        let mut v = ptr::null_mut();
        // SAFETY: as in `undefined`.
        status(unsafe { sys::napi_get_boolean(self.0, b, &mut v) }, "get_boolean")?;
        Ok(v)
    }

    pub(crate) fn string(self, s: &str) -> Ret {
        let mut v = ptr::null_mut();
        // SAFETY: the pointer and length describe a live `&str`.
        let st = unsafe { sys::napi_create_string_utf8(self.0, s.as_ptr().cast(), s.len() as isize, &mut v) };
        status(st, "create_string")?;
        Ok(v)
    }

    pub(crate) fn array(self, len: usize) -> Ret {
        let mut v = ptr::null_mut();
        // SAFETY: as in `undefined`.
        status(unsafe { sys::napi_create_array_with_length(self.0, len, &mut v) }, "create_array")?;
        Ok(v)
    }

    pub(crate) fn set(self, obj: Value, key: &CStr, v: Value) -> Result<(), Coded> {
        // SAFETY: obj and v are live values of this call; key is NUL-terminated.
        status(unsafe { sys::napi_set_named_property(self.0, obj, key.as_ptr(), v) }, "set_named_property")
    }

    pub(crate) fn get(self, obj: Value, key: &CStr) -> Option<Value> {
        let mut v = ptr::null_mut();
        // SAFETY: a non-object `obj` fails with a status (None); key is NUL-terminated.
        let st = unsafe { sys::napi_get_named_property(self.0, obj, key.as_ptr(), &mut v) };
        (st == sys::Status::napi_ok).then_some(v)
    }

    pub(crate) fn set_index(self, arr: Value, i: u32, v: Value) -> Result<(), Coded> {
        // SAFETY: arr and v are live values of this call.
        status(unsafe { sys::napi_set_element(self.0, arr, i, v) }, "set_element")
    }

    pub(crate) fn index(self, arr: Value, i: u32) -> Option<Value> {
        let mut v = ptr::null_mut();
        // SAFETY: a non-object fails with a status.
        let st = unsafe { sys::napi_get_element(self.0, arr, i, &mut v) };
        (st == sys::Status::napi_ok).then_some(v)
    }

    /// The length of a JS array, `None` for anything else.
    pub(crate) fn array_len(self, v: Value) -> Option<u32> {
        let mut is = false;
        // SAFETY: any value may be asked.
        unsafe { sys::napi_is_array(self.0, v, &mut is) };
        if !is {
            return None;
        }
        let mut n = 0;
        // SAFETY: v is an array.
        let st = unsafe { sys::napi_get_array_length(self.0, v, &mut n) };
        (st == sys::Status::napi_ok).then_some(n)
    }

    /// `a === b`.
    pub(crate) fn strict_equals(self, a: Value, b: Value) -> bool {
        let mut eq = false;
        // SAFETY: both are live values of this call; the out-pointer is a valid local.
        unsafe { sys::napi_strict_equals(self.0, a, b, &mut eq) };
        eq
    }

    pub(crate) fn type_of(self, v: Value) -> sys::napi_valuetype {
        let mut t = sys::ValueType::napi_undefined;
        // SAFETY: any value has a type.
        unsafe { sys::napi_typeof(self.0, v, &mut t) };
        t
    }

    /// A JS number, `None` for anything else.
    pub(crate) fn to_f64(self, v: Value) -> Option<f64> {
        let mut n = 0.0;
        // SAFETY: a non-number fails with a status.
        let st = unsafe { sys::napi_get_value_double(self.0, v, &mut n) };
        (st == sys::Status::napi_ok).then_some(n)
    }

    /// A JS boolean's value; anything else is its truthiness (for internal flags).
    pub(crate) fn truthy(self, v: Value) -> bool {
        let mut b = ptr::null_mut();
        let mut out = false;
        // SAFETY: coercion of a live value; out-pointers are valid locals.
        unsafe {
            sys::napi_coerce_to_bool(self.0, v, &mut b);
            sys::napi_get_value_bool(self.0, b, &mut out);
        }
        out
    }

    /// Reads a JS string as UTF-8 into `buf` (cleared first); false for a non-string.
    pub(crate) fn read_string(self, v: Value, buf: &mut Vec<u8>) -> bool {
        buf.clear();
        let mut stack = [0u8; 64];
        let mut len = 0usize;
        // SAFETY: the buffer pointer and size describe `stack`; a non-string fails with a status.
        let st = unsafe {
            sys::napi_get_value_string_utf8(self.0, v, stack.as_mut_ptr().cast(), stack.len(), &mut len)
        };
        if st != sys::Status::napi_ok {
            return false;
        }
        if len + 1 < stack.len() {
            buf.extend_from_slice(&stack[..len]);
            return true;
        }
        // Possibly truncated: ask the length, then read it whole.
        // SAFETY: a null buffer asks for the length only.
        unsafe { sys::napi_get_value_string_utf8(self.0, v, ptr::null_mut(), 0, &mut len) };
        buf.resize(len + 1, 0);
        // SAFETY: buf has len + 1 bytes.
        unsafe { sys::napi_get_value_string_utf8(self.0, v, buf.as_mut_ptr().cast(), len + 1, &mut len) };
        buf.truncate(len);
        true
    }

    /// The bytes of a TypedArray, DataView or ArrayBuffer as `(pointer, length)`; `None` for
    /// anything else. Valid until JS runs again (N4).
    pub(crate) fn bytes(self, v: Value) -> Option<(*const u8, usize)> {
        let mut is = false;
        let mut data = ptr::null_mut();
        let mut len = 0usize;
        // SAFETY: each query accepts any value and reports through valid out-pointers.
        unsafe {
            sys::napi_is_typedarray(self.0, v, &mut is);
            if is {
                let mut ty = 0;
                let mut count = 0usize;
                let mut ab = ptr::null_mut();
                let mut off = 0usize;
                if sys::napi_get_typedarray_info(self.0, v, &mut ty, &mut count, &mut data, &mut ab, &mut off)
                    != sys::Status::napi_ok
                {
                    return None;
                }
                let width = match ty {
                    sys::TypedarrayType::int16_array | sys::TypedarrayType::uint16_array => 2,
                    sys::TypedarrayType::int32_array
                    | sys::TypedarrayType::uint32_array
                    | sys::TypedarrayType::float32_array => 4,
                    sys::TypedarrayType::float64_array
                    | sys::TypedarrayType::bigint64_array
                    | sys::TypedarrayType::biguint64_array => 8,
                    _ => 1,
                };
                len = count * width;
            } else {
                sys::napi_is_dataview(self.0, v, &mut is);
                if is {
                    let mut ab = ptr::null_mut();
                    let mut off = 0usize;
                    if sys::napi_get_dataview_info(self.0, v, &mut len, &mut data, &mut ab, &mut off)
                        != sys::Status::napi_ok
                    {
                        return None;
                    }
                } else {
                    sys::napi_is_arraybuffer(self.0, v, &mut is);
                    if !is
                        || sys::napi_get_arraybuffer_info(self.0, v, &mut data, &mut len)
                            != sys::Status::napi_ok
                    {
                        return None;
                    }
                }
            }
        }
        Some((if len == 0 { ptr::NonNull::<u8>::dangling().as_ptr() } else { data.cast::<u8>() }, len))
    }

    /// A TypedArray's element type, data pointer and element count.
    pub(crate) fn typed(self, v: Value) -> Option<(sys::napi_typedarray_type, *mut c_void, usize)> {
        let mut is = false;
        // SAFETY: any value may be asked.
        unsafe { sys::napi_is_typedarray(self.0, v, &mut is) };
        if !is {
            return None;
        }
        let (mut ty, mut count, mut data, mut ab, mut off) =
            (0, 0usize, ptr::null_mut(), ptr::null_mut(), 0usize);
        // SAFETY: v is a typed array; out-pointers are valid locals.
        let st = unsafe {
            sys::napi_get_typedarray_info(self.0, v, &mut ty, &mut count, &mut data, &mut ab, &mut off)
        };
        (st == sys::Status::napi_ok).then_some((ty, data, count))
    }

    /// A `Uint8Array` over `len` bytes at `ptr` inside hub memory, with its `ArrayBuffer`.
    /// The finalizer hint owns a clone of `hub` (N3) and, with `owned`, frees that slot when the
    /// view is collected while the slot is still the owner's with that generation.
    pub(crate) fn view(
        self,
        hub: &Arc<Hub>,
        data: *mut u8,
        len: usize,
        owned: Option<(SlotRef, Owner)>,
    ) -> Result<(Value, Value), Coded> {
        let hint = Box::into_raw(Box::new(ViewHint { hub: Arc::clone(hub), owned }));
        let mut ab = ptr::null_mut();
        // SAFETY: N3: `data .. data + len` lies in a region the hint keeps mapped; the finalizer
        // drops exactly that hint.
        let st = unsafe {
            sys::napi_create_external_arraybuffer(
                self.0,
                data.cast(),
                len,
                Some(drop_hub),
                hint.cast(),
                &mut ab,
            )
        };
        if st != sys::Status::napi_ok {
            // SAFETY: the hint was not handed to any finalizer.
            drop(unsafe { Box::from_raw(hint) });
            return Err(if st == sys::Status::napi_no_external_buffers_allowed {
                Coded::new(Code::SlabExternalBuffersUnsupported, "this runtime forbids external ArrayBuffers")
            } else {
                Coded::new(Code::SlabViewFailed, format!("could not make a slot view (status {st})"))
            });
        }
        let mut ta = ptr::null_mut();
        // SAFETY: ab is the buffer just made, `len` bytes long.
        let st = unsafe {
            sys::napi_create_typedarray(self.0, sys::TypedarrayType::uint8_array, len, ab, 0, &mut ta)
        };
        status(st, "create_typedarray")?;
        Ok((ta, ab))
    }

    /// A strong (`count` 1) or weak (0) reference.
    pub(crate) fn reference(self, v: Value, count: u32) -> Result<Ref, Coded> {
        let mut r = ptr::null_mut();
        // SAFETY: v is a live object of this env.
        status(unsafe { sys::napi_create_reference(self.0, v, count, &mut r) }, "create_reference")?;
        Ok(Ref(r))
    }

    /// The referenced value, `None` once collected.
    pub(crate) fn deref(self, r: &Ref) -> Option<Value> {
        let mut v = ptr::null_mut();
        // SAFETY: r is a live reference of this env (N4).
        let st = unsafe { sys::napi_get_reference_value(self.0, r.0, &mut v) };
        (st == sys::Status::napi_ok && !v.is_null()).then_some(v)
    }

    /// Deletes a reference.
    pub(crate) fn unref(self, r: Ref) {
        // SAFETY: r is a live reference of this env, deleted once (consumed).
        unsafe { sys::napi_delete_reference(self.0, r.0) };
    }

    /// Detaches the ArrayBuffer behind `r` (if still alive) and deletes the reference.
    pub(crate) fn detach(self, r: Ref) {
        if let Some(ab) = self.deref(&r) {
            // SAFETY: ab is an external ArrayBuffer made by `view` (detachable); detaching a
            // detached buffer is a no-op.
            unsafe { sys::napi_detach_arraybuffer(self.0, ab) };
        }
        self.unref(r);
    }

    /// Copies `bytes` into a fresh `Uint8Array`.
    pub(crate) fn copy(self, bytes: &[u8]) -> Ret {
        let mut data = ptr::null_mut();
        let mut ab = ptr::null_mut();
        // SAFETY: out-pointers are valid locals.
        let st = unsafe { sys::napi_create_arraybuffer(self.0, bytes.len(), &mut data, &mut ab) };
        status(st, "create_arraybuffer")?;
        if !bytes.is_empty() {
            // SAFETY: data points at `bytes.len()` fresh bytes.
            unsafe { ptr::copy_nonoverlapping(bytes.as_ptr(), data.cast::<u8>(), bytes.len()) };
        }
        let mut ta = ptr::null_mut();
        // SAFETY: ab is the buffer just made.
        let st = unsafe {
            sys::napi_create_typedarray(self.0, sys::TypedarrayType::uint8_array, bytes.len(), ab, 0, &mut ta)
        };
        status(st, "create_typedarray")?;
        Ok(ta)
    }
}

/// What an external view's finalizer owns (N3).
struct ViewHint {
    hub: Arc<Hub>,
    owned: Option<(SlotRef, Owner)>,
}

unsafe extern "C" fn drop_hub(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
    // SAFETY: N3: hint is the `Box<ViewHint>` made in `view`, dropped once here.
    let hint = unsafe { Box::from_raw(hint.cast::<ViewHint>()) };
    if let Some((slot, owner)) = hint.owned {
        // A no-op unless the slot is still that owner's with that generation (P2).
        hint.hub.free(&slot, owner);
    }
}

/// A napi reference (N4: used and deleted on its env's thread only).
#[derive(Debug)]
pub(crate) struct Ref(sys::napi_ref);

/// A raw typed array registered once (internal scratch arrays of a side): a strong reference
/// keeps it, so its data pointer stays valid.
pub(crate) struct Scratch<T> {
    pub(crate) _keep: Ref,
    data: *mut T,
    len: usize,
}

impl<T: Copy> Scratch<T> {
    pub(crate) fn new(env: Env, v: Value, ty: sys::napi_typedarray_type) -> Result<Self, Coded> {
        let Some((t, data, len)) = env.typed(v) else {
            return Err(Coded::new(Code::Internal, "scratch array expected"));
        };
        if t != ty {
            return Err(Coded::new(Code::Internal, "scratch array of the wrong type"));
        }
        Ok(Self { _keep: env.reference(v, 1)?, data: data.cast(), len })
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn write(&self, i: usize, v: T) {
        if i < self.len {
            // SAFETY: i is in bounds; the array is kept alive by `_keep` and never detached
            // (internal), and only this thread touches it (N4).
            unsafe { self.data.add(i).write(v) };
        }
    }
}

/// A threadsafe-function pointer (N5).
struct TsfnPtr(sys::napi_threadsafe_function);

// SAFETY: N-API's threadsafe-function calls (call, release) may be made from any thread; the
// pointer is only used under the cell's mutex (N5).
unsafe impl Send for TsfnPtr {}

/// The wake-up of a parked consumer: a threadsafe function calling a JS function with no
/// arguments on its env's thread (N5).
#[derive(Clone)]
pub(crate) struct Tsfn {
    cell: Arc<Mutex<Option<TsfnPtr>>>,
}

unsafe extern "C" fn tsfn_finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: data is the `Arc` cell pointer handed over in `Tsfn::new`, given back once here.
    let cell = unsafe { Arc::from_raw(data as *const Mutex<Option<TsfnPtr>>) };
    *cell.lock().unwrap_or_else(PoisonError::into_inner) = None;
}

impl Tsfn {
    /// A threadsafe function that calls `func` (no arguments) on `env`'s thread. `keep_alive`:
    /// whether it keeps the env's event loop alive.
    pub(crate) fn new(env: Env, func: Value, keep_alive: bool) -> Result<Self, Coded> {
        let cell = Arc::new(Mutex::new(None));
        let data = Arc::into_raw(Arc::clone(&cell)) as *mut c_void;
        let name = env.string("seqloop.workers.wake")?;
        let mut t = ptr::null_mut();
        // SAFETY: func is a function of this env; no queue limit (producers only call it on an
        // idle transition); one initial thread; the finalizer gets back `data` (N5). A null
        // call_js_cb makes N-API call `func` with no arguments.
        let st = unsafe {
            sys::napi_create_threadsafe_function(
                env.0,
                func,
                ptr::null_mut(),
                name,
                0,
                1,
                data,
                Some(tsfn_finalize),
                ptr::null_mut(),
                None,
                &mut t,
            )
        };
        if st != sys::Status::napi_ok {
            // SAFETY: the count was not handed to a finalizer.
            drop(unsafe { Arc::from_raw(data as *const Mutex<Option<TsfnPtr>>) });
            return Err(Coded::new(Code::Internal, format!("could not create a wake-up (status {st})")));
        }
        if !keep_alive {
            // SAFETY: t was made on this env's thread just now.
            unsafe { sys::napi_unref_threadsafe_function(env.0, t) };
        }
        *cell.lock().unwrap_or_else(PoisonError::into_inner) = Some(TsfnPtr(t));
        Ok(Self { cell })
    }

    /// Queues a call (from any thread); a no-op once released or finalized (N5).
    pub(crate) fn call(&self) {
        if let Some(p) = &*self.cell.lock().unwrap_or_else(PoisonError::into_inner) {
            // SAFETY: N5: the function is alive while the cell holds it; nonblocking never waits.
            unsafe {
                sys::napi_call_threadsafe_function(
                    p.0,
                    ptr::null_mut(),
                    sys::ThreadsafeFunctionCallMode::nonblocking,
                )
            };
        }
    }

    /// Releases it (from any thread): no later call reaches JS, and its env may exit.
    pub(crate) fn release(&self) {
        if let Some(p) = self.cell.lock().unwrap_or_else(PoisonError::into_inner).take() {
            // SAFETY: N5: still alive (the cell held it); released once (taken out of the cell).
            unsafe {
                sys::napi_release_threadsafe_function(p.0, sys::ThreadsafeFunctionReleaseMode::release)
            };
        }
    }
}
