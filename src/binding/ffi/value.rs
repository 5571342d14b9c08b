//! Reads and makes of JS values through raw N-API calls: numbers, strings, booleans, typed
//! arrays, object casts and the property reads the JSON conversion needs. Every function takes
//! values of the current call (G2 in `ffi/mod.rs`: a raw `napi_value` the binding holds
//! belongs to the live env of the current call and to a handle scope that is still open).

use std::ptr;

use napi::bindgen_prelude::{Array, Object, Unknown};
use napi::sys;
use napi::JsValue;

use super::super::args::{check_u53, no_memory};
use super::super::error::{check, Coded, CodedResult, ErrorClass};

/// The UTF-8 length of a JS string (0 for anything else).
pub(crate) fn utf8_len(env: sys::napi_env, v: sys::napi_value) -> usize {
    let mut len = 0usize;
    // SAFETY: G2: v is a live value of this call; a null buffer asks napi for the length only, and
    // napi fails cleanly for a non-string.
    unsafe { sys::napi_get_value_string_utf8(env, v, std::ptr::null_mut(), 0, &mut len) };
    len
}

/// Reads a JS string of UTF-8 length `len` into memory reserved with `try_reserve`.
pub(crate) fn read_utf8(
    env: sys::napi_env,
    v: sys::napi_value,
    len: usize,
    name: &str,
) -> CodedResult<String> {
    let mut buf = Vec::new();
    buf.try_reserve_exact(len + 1).map_err(|_| no_memory(name, &format!("a string of {len} bytes")))?;
    buf.resize(len + 1, 0u8);
    let mut written = 0usize;
    // SAFETY: G2 for v; buf has len + 1 bytes, room for the string and its NUL.
    let st =
        unsafe { sys::napi_get_value_string_utf8(env, v, buf.as_mut_ptr().cast(), buf.len(), &mut written) };
    if st != sys::Status::napi_ok {
        return Err(Coded::arg_type(name, "of type string", "an invalid string"));
    }
    buf.truncate(written);
    // napi writes valid UTF-8 (lone surrogates become U+FFFD); lossy only as a fallback.
    Ok(String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// Reads a JS number (or `None` for another type).
pub(crate) fn number(env: sys::napi_env, v: sys::napi_value) -> Option<f64> {
    let mut n = 0f64;
    // SAFETY: G2: v is a live value; napi_get_value_double fails cleanly for non-numbers.
    (unsafe { sys::napi_get_value_double(env, v, &mut n) } == sys::Status::napi_ok).then_some(n)
}

/// The N-API type of `v`.
pub(crate) fn type_of(env: sys::napi_env, v: sys::napi_value) -> sys::napi_valuetype {
    let mut t = 0;
    // SAFETY: G2: v is a live value of env.
    unsafe { sys::napi_typeof(env, v, &mut t) };
    t
}

/// Describes a raw value for error messages.
pub(crate) fn describe(env: sys::napi_env, v: sys::napi_value) -> String {
    match type_of(env, v) {
        sys::ValueType::napi_undefined => "undefined".into(),
        sys::ValueType::napi_null => "null".into(),
        sys::ValueType::napi_number => format!("type number ({})", number(env, v).unwrap_or(f64::NAN)),
        sys::ValueType::napi_string => "type string".into(),
        sys::ValueType::napi_boolean => "type boolean".into(),
        sys::ValueType::napi_function => "function".into(),
        sys::ValueType::napi_object => "an instance of Object".into(),
        sys::ValueType::napi_bigint => "type bigint".into(),
        sys::ValueType::napi_symbol => "type symbol".into(),
        _ => "an unknown value".into(),
    }
}

/// A time or id argument: a non-negative safe integer (fractions truncated), with the coded
/// errors of API.md §Conventions.
pub(crate) fn u53(env: sys::napi_env, v: sys::napi_value, name: &str) -> Result<u64, Coded> {
    match number(env, v) {
        Some(n) => check_u53(n, name),
        None => Err(Coded::arg_type(name, "of type number", describe(env, v))),
    }
}

/// A JS string argument as UTF-8 (`None` for another type).
pub(crate) fn string(env: sys::napi_env, v: sys::napi_value) -> Option<String> {
    with_string(env, v, str::to_owned)
}

/// `f` of a JS string argument as UTF-8 (`None` for another type), without a copy of its own
/// for a short string.
pub(crate) fn with_string<R>(env: sys::napi_env, v: sys::napi_value, f: impl FnOnce(&str) -> R) -> Option<R> {
    // Short keys (the common case) are read in one call through a stack buffer.
    let mut stack = [0u8; 64];
    let mut len = 0usize;
    // SAFETY: G2: v is a live value; the buffer holds `stack.len()` bytes including the NUL napi
    // writes; napi fails cleanly for non-strings.
    let st =
        unsafe { sys::napi_get_value_string_utf8(env, v, stack.as_mut_ptr().cast(), stack.len(), &mut len) };
    if st != sys::Status::napi_ok {
        return None;
    }
    if len + 1 < stack.len() {
        return std::str::from_utf8(&stack[..len]).ok().map(f);
    }
    // Possibly truncated: read it all (a failed allocation reads as "not a string").
    read_utf8(env, v, utf8_len(env, v), "string").ok().map(|s| f(&s))
}

/// The elements of a typed array argument of one element type, read and written element by
/// element through a raw pointer.
///
/// Invariant T1: `data` points to `len` elements of `E`, suitably aligned, for as long as the
/// current callback runs no JS: the caller's frame keeps the array alive, and only JS can detach
/// or resize its buffer. So a `TypedOut` is taken after the last call into JS of the callback
/// (a custom clock's `nowMs()`, a getter), never before one, and dropped before the next. No Rust reference to the
/// memory is ever formed (JS may alias it), only element reads/writes and `ptr::copy`.
pub(crate) struct TypedOut<E> {
    data: *mut E,
    pub(crate) len: usize,
    /// wasm: `data` is emnapi's copy of the array, written back to JS on drop.
    #[cfg(target_family = "wasm")]
    _sync: super::wasm_napi::SyncBack,
}

impl<E: Copy> TypedOut<E> {
    /// Writes element `i` (`i < len`).
    pub(crate) fn write(&self, i: usize, v: E) {
        assert!(i < self.len, "index checked by callers");
        // SAFETY: T1, and i < len.
        unsafe { self.data.add(i).write(v) };
    }

    /// Reads element `i` (`i < len`).
    pub(crate) fn read(&self, i: usize) -> E {
        assert!(i < self.len, "index checked by callers");
        // SAFETY: T1, and i < len.
        unsafe { self.data.add(i).read() }
    }

    /// The start of the elements (valid for `len` elements under T1).
    pub(crate) fn as_ptr(&self) -> *mut E {
        self.data
    }

    /// `count` as a number of (nodeId, slotIndex, generation) triples this array holds:
    /// `ERR_OUT_OF_RANGE` past `len / 3` (the mesh's and the slab pool's batch methods).
    pub(crate) fn triple_count(&self, count: u64) -> Result<usize, Coded> {
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        if count > self.len / 3 {
            return Err(Coded::out_of_range(
                "count",
                &format!("<= {} (handles.length / 3)", self.len / 3),
                count,
            ));
        }
        Ok(count)
    }
}

/// The elements of a typed array of type `want` (`what` names it in errors).
fn typed_array<E>(
    env: sys::napi_env,
    v: sys::napi_value,
    want: sys::napi_typedarray_type,
    name: &str,
    what: &str,
) -> Result<TypedOut<E>, Coded> {
    let bad = || Coded::arg_type(name, what, describe(env, v));
    let mut ty = 0;
    let mut len = 0usize;
    let mut data = ptr::null_mut();
    #[cfg(target_family = "wasm")]
    let (st, sync) =
        super::wasm_napi::typedarray_elements(env, v, &mut ty, &mut len, &mut data, std::mem::size_of::<E>());
    #[cfg(not(target_family = "wasm"))]
    // SAFETY: G2: v is a live value of this call (napi_get_typedarray_info checks it is a typed
    // array first and fails with napi_invalid_arg otherwise); out-pointers are valid locals; we
    // do not need the buffer.
    let st = unsafe {
        sys::napi_get_typedarray_info(env, v, &mut ty, &mut len, &mut data, ptr::null_mut(), ptr::null_mut())
    };
    if st != sys::Status::napi_ok || ty != want {
        return Err(bad());
    }
    // A detached buffer reports no data and length 0: nothing can be read or written. A typed
    // array's data is aligned for its element type (its byteOffset must be a multiple of it).
    let len = if data.is_null() { 0 } else { len };
    Ok(TypedOut {
        data: data.cast::<E>(),
        len,
        #[cfg(target_family = "wasm")]
        _sync: sync,
    })
}

/// A `Float64Array` argument.
pub(crate) fn float64_array(
    env: sys::napi_env,
    v: sys::napi_value,
    name: &str,
) -> Result<TypedOut<f64>, Coded> {
    typed_array(env, v, sys::TypedarrayType::float64_array, name, "a Float64Array")
}

/// A `Uint8Array` argument (a `Buffer` is one).
pub(crate) fn uint8_array(env: sys::napi_env, v: sys::napi_value, name: &str) -> Result<TypedOut<u8>, Coded> {
    typed_array(env, v, sys::TypedarrayType::uint8_array, name, "an instance of Uint8Array")
}

impl TypedOut<u8> {
    /// A copy of the bytes (T1: no JS runs during the copy).
    pub(crate) fn to_vec(&self) -> Vec<u8> {
        if self.len == 0 {
            return Vec::new();
        }
        // SAFETY: T1: `data` points to `len` readable bytes for this call, and no JS runs while
        // they are copied; the slice does not outlive this expression.
        unsafe { std::slice::from_raw_parts(self.data, self.len) }.to_vec()
    }
}

/// `v` as napi-rs's typed number, once its JS type is known to be a number.
pub(crate) fn as_f64(v: &Unknown<'_>) -> Option<f64> {
    number(v.value().env, v.raw())
}

/// `v` as a boolean (`None` for another type).
pub(crate) fn as_bool(v: &Unknown<'_>) -> Option<bool> {
    let mut b = false;
    // SAFETY: G2: v is a live value of this call; napi fails cleanly for non-booleans.
    (unsafe { sys::napi_get_value_bool(v.value().env, v.raw(), &mut b) } == sys::Status::napi_ok).then_some(b)
}

/// `v` as an object (`None` for a non-object; functions are not objects here).
pub(crate) fn as_object<'a>(v: &Unknown<'a>) -> Option<Object<'a>> {
    if type_of(v.value().env, v.raw()) != sys::ValueType::napi_object {
        return None;
    }
    // SAFETY: G2: v is a live object of this call (type checked just above).
    unsafe { v.cast::<Object>() }.ok()
}

/// `v` as an array (`None` for anything that is not an `Array`).
pub(crate) fn as_array<'a>(v: &Unknown<'a>) -> Option<Array<'a>> {
    if !is_array(v.value().env, v.raw()) {
        return None;
    }
    // SAFETY: G2: v is a live array of this call (checked just above).
    unsafe { v.cast::<Array>() }.ok()
}

/// `Array.isArray(v)`.
pub(crate) fn is_array(env: sys::napi_env, v: sys::napi_value) -> bool {
    let mut is = false;
    // SAFETY: G2: v is a live value of this call.
    (unsafe { sys::napi_is_array(env, v, &mut is) } == sys::Status::napi_ok) && is
}

/// The length of an array (0 for anything else).
pub(crate) fn array_length(env: sys::napi_env, v: sys::napi_value) -> u32 {
    let mut len = 0u32;
    // SAFETY: G2: v is a live value of this call; napi fails cleanly for non-arrays.
    unsafe { sys::napi_get_array_length(env, v, &mut len) };
    len
}

/// `v[i]` (`None` when the read throws; the exception stays pending).
pub(crate) fn element(env: sys::napi_env, v: sys::napi_value, i: u32) -> Option<sys::napi_value> {
    let mut e = ptr::null_mut();
    // SAFETY: G2: v is a live value of this call; a throwing getter or a non-object fails with
    // a status.
    (unsafe { sys::napi_get_element(env, v, i, &mut e) } == sys::Status::napi_ok).then_some(e)
}

/// `v[key]` (`None` when the read throws; the exception stays pending).
pub(crate) fn property(
    env: sys::napi_env,
    v: sys::napi_value,
    key: sys::napi_value,
) -> Option<sys::napi_value> {
    let mut out = ptr::null_mut();
    // SAFETY: G2: v and key are live values of this call; a throwing getter fails with a status.
    (unsafe { sys::napi_get_property(env, v, key, &mut out) } == sys::Status::napi_ok).then_some(out)
}

/// `Object.keys(v)`-like: own enumerable string keys, as an array (`None` if they cannot be read).
pub(crate) fn property_names(env: sys::napi_env, v: sys::napi_value) -> Option<sys::napi_value> {
    let mut keys = ptr::null_mut();
    // SAFETY: G2: v is a live object of this call.
    (unsafe { sys::napi_get_property_names(env, v, &mut keys) } == sys::Status::napi_ok).then_some(keys)
}

/// `Object.getPrototypeOf(v)` (null when it cannot be read).
pub(crate) fn prototype_of(env: sys::napi_env, v: sys::napi_value) -> sys::napi_value {
    let mut proto = ptr::null_mut();
    // SAFETY: G2: v is a live object of this call.
    unsafe { sys::napi_get_prototype(env, v, &mut proto) };
    proto
}

/// `a === b`.
pub(crate) fn strict_equals(env: sys::napi_env, a: sys::napi_value, b: sys::napi_value) -> bool {
    let mut eq = false;
    // SAFETY: G2: a and b are live values of this call.
    unsafe { sys::napi_strict_equals(env, a, b, &mut eq) };
    eq
}

/// This env's `Object.prototype` (null if the global `Object` was replaced by a non-object).
pub(crate) fn object_prototype(env: sys::napi_env) -> sys::napi_value {
    let mut global = ptr::null_mut();
    // SAFETY: G1: env is the live env of the current call; the global object always exists.
    unsafe { sys::napi_get_global(env, &mut global) };
    super::fast::named_property(env, global, c"Object")
        .and_then(|ctor| super::fast::named_property(env, ctor, c"prototype"))
        .unwrap_or(ptr::null_mut())
}

/// A raw value of the current call as napi-rs's `Unknown` (see [`super::class::unknown`]).
pub(crate) use super::class::unknown;

/// True while a JS exception is pending in `env`.
pub(crate) fn exception_pending(env: sys::napi_env) -> bool {
    let mut pending = false;
    // SAFETY: G1: env is the live env of the current call.
    unsafe { sys::napi_is_exception_pending(env, &mut pending) };
    pending
}

/// A new `Error`, `TypeError` or `RangeError` with `message` and a `code` property.
pub(crate) fn new_error(
    env: sys::napi_env,
    class: ErrorClass,
    code: &str,
    message: &str,
) -> napi::Result<sys::napi_value> {
    let code = super::loop_glue::js_str(env, code)?;
    let msg = super::loop_glue::js_str(env, message)?;
    let create = match class {
        ErrorClass::Error => sys::napi_create_error,
        ErrorClass::Type => sys::napi_create_type_error,
        ErrorClass::Range => sys::napi_create_range_error,
    };
    let mut err = ptr::null_mut();
    // SAFETY: G1: env is the live env of the current call; code and msg are strings of it; the
    // out-pointer is a valid local.
    check(unsafe { create(env, code, msg, &mut err) })?;
    Ok(err)
}

/// Throws `v` (any value of this env) as the pending exception.
pub(crate) fn throw(env: sys::napi_env, v: sys::napi_value) {
    // SAFETY: G1, G2: v is a value of the live env of the current call; napi_throw takes any value.
    unsafe { sys::napi_throw(env, v) };
}

/// The bytes of a TypedArray (any element type), DataView or ArrayBuffer argument, under T1
/// (`None` for any other value; a detached buffer has no bytes).
#[cfg(not(target_family = "wasm"))]
pub(crate) fn buffer_bytes(env: sys::napi_env, v: sys::napi_value) -> Option<TypedOut<u8>> {
    let mut is = false;
    let mut data = ptr::null_mut();
    let mut len = 0usize;
    // SAFETY: G2: v is a live value of this call; each `is_*` query accepts any value, and each
    // info call is made only for its own kind of value; out-pointers are valid locals or null
    // (outputs not needed).
    let ok = unsafe {
        if sys::napi_is_typedarray(env, v, &mut is) == sys::Status::napi_ok && is {
            let (mut ty, mut count) = (0, 0usize);
            let st = sys::napi_get_typedarray_info(
                env,
                v,
                &mut ty,
                &mut count,
                &mut data,
                ptr::null_mut(),
                ptr::null_mut(),
            );
            len = count * element_size(ty);
            st == sys::Status::napi_ok
        } else if sys::napi_is_dataview(env, v, &mut is) == sys::Status::napi_ok && is {
            sys::napi_get_dataview_info(env, v, &mut len, &mut data, ptr::null_mut(), ptr::null_mut())
                == sys::Status::napi_ok
        } else if sys::napi_is_arraybuffer(env, v, &mut is) == sys::Status::napi_ok && is {
            sys::napi_get_arraybuffer_info(env, v, &mut data, &mut len) == sys::Status::napi_ok
        } else {
            false
        }
    };
    ok.then(|| TypedOut { data: data.cast::<u8>(), len: if data.is_null() { 0 } else { len } })
}

/// The width in bytes of one element of a typed array type.
#[cfg(not(target_family = "wasm"))]
fn element_size(ty: sys::napi_typedarray_type) -> usize {
    match ty {
        sys::TypedarrayType::int16_array | sys::TypedarrayType::uint16_array => 2,
        sys::TypedarrayType::int32_array
        | sys::TypedarrayType::uint32_array
        | sys::TypedarrayType::float32_array => 4,
        sys::TypedarrayType::float64_array
        | sys::TypedarrayType::bigint64_array
        | sys::TypedarrayType::biguint64_array => 8,
        _ => 1,
    }
}

#[cfg(not(target_family = "wasm"))]
impl TypedOut<u8> {
    /// `f` of the bytes as a slice (T1: `f` must not run JS; the slice does not outlive it).
    pub(crate) fn with_slice<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        if self.len == 0 {
            return f(&[]);
        }
        // SAFETY: T1: `data` points to `len` readable bytes for this call and no JS runs while
        // `f` holds the slice (the caller's contract, above); the slice ends with `f`.
        f(unsafe { std::slice::from_raw_parts(self.data, self.len) })
    }
}

/// A typed array argument's length and, when its elements are `Uint32`, `Int32`, `Uint16` or
/// `Float64`, its first `min(length, max)` elements as numbers (`None` inside for another
/// element type); `None` when `v` is not a typed array.
#[cfg(not(target_family = "wasm"))]
pub(crate) fn typed_numbers(
    env: sys::napi_env,
    v: sys::napi_value,
    max: usize,
) -> Option<(usize, Option<Vec<f64>>)> {
    let mut is = false;
    // SAFETY: G2: v is a live value of this call; any value may be asked.
    if unsafe { sys::napi_is_typedarray(env, v, &mut is) } != sys::Status::napi_ok || !is {
        return None;
    }
    let (mut ty, mut len, mut data) = (0, 0usize, ptr::null_mut());
    // SAFETY: G2: v is a typed array of this call; out-pointers are valid locals or null.
    let st = unsafe {
        sys::napi_get_typedarray_info(env, v, &mut ty, &mut len, &mut data, ptr::null_mut(), ptr::null_mut())
    };
    if st != sys::Status::napi_ok {
        return None;
    }
    let len = if data.is_null() { 0 } else { len };
    fn read<E: Copy>(data: *mut std::ffi::c_void, n: usize, to: impl Fn(E) -> f64) -> Vec<f64> {
        let t = TypedOut { data: data.cast::<E>(), len: n };
        (0..n).map(|i| to(t.read(i))).collect()
    }
    // T1: the elements are read here, with no JS run since the info call; n <= len.
    let n = len.min(max);
    let values = match ty {
        sys::TypedarrayType::uint32_array => Some(read::<u32>(data, n, f64::from)),
        sys::TypedarrayType::int32_array => Some(read::<i32>(data, n, f64::from)),
        sys::TypedarrayType::uint16_array => Some(read::<u16>(data, n, f64::from)),
        sys::TypedarrayType::float64_array => Some(read::<f64>(data, n, |x| x)),
        _ => None,
    };
    Some((len, values))
}

/// `Boolean(v)`: the truthiness of any value of this call (false if it cannot be read).
#[cfg(not(target_family = "wasm"))]
pub(crate) fn truthy(env: sys::napi_env, v: sys::napi_value) -> bool {
    let mut b = ptr::null_mut();
    let mut out = false;
    // SAFETY: G2: v is a live value of this call; coercion to boolean runs no JS; out-pointers
    // are valid locals, and `b` is only read after a successful coercion.
    let ok = unsafe {
        sys::napi_coerce_to_bool(env, v, &mut b) == sys::Status::napi_ok
            && sys::napi_get_value_bool(env, b, &mut out) == sys::Status::napi_ok
    };
    ok && out
}

/// A new array of length `len` (holes until set).
#[cfg(not(target_family = "wasm"))]
pub(crate) fn new_array(env: sys::napi_env, len: usize) -> napi::Result<sys::napi_value> {
    let mut v = ptr::null_mut();
    // SAFETY: G1: env is the live env of the current call; the out-pointer is a valid local.
    check(unsafe { sys::napi_create_array_with_length(env, len, &mut v) })?;
    Ok(v)
}
