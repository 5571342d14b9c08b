//! Argument conversion: JS values in, validated Rust values out, with the coded errors of
//! API.md §Conventions (`ERR_INVALID_ARG_TYPE` for a wrong type, `ERR_OUT_OF_RANGE` for a
//! negative, NaN, infinite or unsafe-integer number). Fractional times are truncated.

use napi::bindgen_prelude::*;
use napi::{sys, ValueType};

use super::error::{Code, Coded, CodedResult};

/// Marks the time a native object spends running the caller's JS on its behalf while it takes
/// its arguments (getters, proxy traps, a custom clock's `nowMs()`), before it touches its state.
/// A call into the same object meanwhile is refused with `ERR_REENTRANT_CALL` and changes
/// nothing, so the outer call sees the state its arguments were checked against.
#[derive(Debug, Default)]
pub(crate) struct Converting(std::cell::Cell<bool>);

impl Converting {
    /// `ERR_REENTRANT_CALL` while a conversion of this object's runs.
    pub(crate) fn check(&self) -> CodedResult<()> {
        if self.0.get() {
            Err(reentrant())
        } else {
            Ok(())
        }
    }

    /// Runs `f` (which may call the caller's JS) as a conversion of this object's.
    pub(crate) fn run<T>(&self, f: impl FnOnce() -> T) -> T {
        struct Reset<'a>(&'a std::cell::Cell<bool>, bool);
        impl Drop for Reset<'_> {
            fn drop(&mut self) {
                self.0.set(self.1);
            }
        }
        let _reset = Reset(&self.0, self.0.replace(true));
        f()
    }
}

/// `ERR_REENTRANT_CALL`: a call into an object that is in the middle of another call (running the
/// caller's JS to read its arguments, or borrowed by an outer call).
pub(crate) fn reentrant() -> Coded {
    Coded::new(
        Code::ReentrantCall,
        "this object is in use by an outer call (a getter, proxy or clock called back into it)",
    )
}

/// `Number.MAX_SAFE_INTEGER`.
pub(crate) const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A short description of a JS value for error messages, like Node's `ERR_INVALID_ARG_TYPE`.
pub(crate) fn describe(v: &Unknown<'_>) -> String {
    raw::describe(v.value().env, v.raw())
}

fn unsafe_number(v: &Unknown<'_>) -> Option<f64> {
    // SAFETY: only called after get_type returned Number.
    unsafe { v.cast::<f64>() }.ok()
}

/// A JS number, any value.
pub(crate) fn number(v: &Unknown<'_>, name: &str) -> CodedResult<f64> {
    match v.get_type() {
        Ok(ValueType::Number) => {
            unsafe_number(v).ok_or_else(|| Coded::arg_type(name, "of type number", describe(v)))
        }
        _ => Err(Coded::arg_type(name, "of type number", describe(v))),
    }
}

/// Checks a number is a non-negative safe integer after truncation.
pub(crate) fn check_u53(n: f64, name: &str) -> CodedResult<u64> {
    // Any negative input is out of range (API.md: "a negative … time throws"), even -0.5.
    if n.is_nan() || n.is_infinite() || n < 0.0 || n.trunc() > MAX_SAFE_INTEGER {
        return Err(Coded::out_of_range(
            name,
            ">= 0 and <= 2^53 - 1 (a finite, non-negative safe integer)",
            n,
        ));
    }
    Ok(n.trunc() as u64)
}

/// A time or id in milliseconds: a finite, non-negative safe integer (fractions truncated).
pub(crate) fn u53(v: &Unknown<'_>, name: &str) -> CodedResult<u64> {
    check_u53(number(v, name)?, name)
}

/// Like [`u53`] for an already-typed `f64` argument.
pub(crate) fn u53_f(n: f64, name: &str) -> CodedResult<u64> {
    check_u53(n, name)
}

/// A string argument (its memory reserved fallibly: a huge string is `ERR_OUT_OF_RANGE` when the
/// memory is not there, never an abort).
pub(crate) fn string(v: &Unknown<'_>, name: &str) -> CodedResult<String> {
    match v.get_type() {
        Ok(ValueType::String) => {
            let env = v.value().env;
            read_utf8(env, v.raw(), utf8_len(env, v.raw()), name)
        }
        _ => Err(Coded::arg_type(name, "of type string", describe(v))),
    }
}

/// The UTF-8 length of a JS string (0 for anything else).
fn utf8_len(env: sys::napi_env, v: sys::napi_value) -> usize {
    let mut len = 0usize;
    // SAFETY: v is a live value of this call; a null buffer asks napi for the length only, and
    // napi fails cleanly for a non-string.
    unsafe { sys::napi_get_value_string_utf8(env, v, std::ptr::null_mut(), 0, &mut len) };
    len
}

/// Reads a JS string of UTF-8 length `len` into memory reserved with `try_reserve`.
fn read_utf8(env: sys::napi_env, v: sys::napi_value, len: usize, name: &str) -> CodedResult<String> {
    let mut buf = Vec::new();
    buf.try_reserve_exact(len + 1).map_err(|_| no_memory(name, &format!("a string of {len} bytes")))?;
    buf.resize(len + 1, 0u8);
    let mut written = 0usize;
    // SAFETY: buf has len + 1 bytes, room for the string and its NUL.
    let st =
        unsafe { sys::napi_get_value_string_utf8(env, v, buf.as_mut_ptr().cast(), buf.len(), &mut written) };
    if st != sys::Status::napi_ok {
        return Err(Coded::arg_type(name, "of type string", "an invalid string"));
    }
    buf.truncate(written);
    // napi writes valid UTF-8 (lone surrogates become U+FFFD); lossy only as a fallback.
    Ok(String::from_utf8(buf).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()))
}

/// A boolean argument.
pub(crate) fn boolean(v: &Unknown<'_>, name: &str) -> CodedResult<bool> {
    match v.get_type() {
        Ok(ValueType::Boolean) => {
            // SAFETY: type checked just above.
            unsafe { v.cast::<bool>() }.map_err(|_| Coded::arg_type(name, "of type boolean", "?"))
        }
        _ => Err(Coded::arg_type(name, "of type boolean", describe(v))),
    }
}

/// The value's type (`Unknown` when napi cannot tell).
pub(crate) fn ty(v: &Unknown<'_>) -> ValueType {
    v.get_type().unwrap_or(ValueType::Unknown)
}

/// True for `undefined` (and a missing optional argument).
pub(crate) fn is_undefined(v: &Unknown<'_>) -> bool {
    matches!(v.get_type(), Ok(ValueType::Undefined))
}

/// `v` as an object, if it is one.
pub(crate) fn object<'a>(v: &Unknown<'a>) -> Option<Object<'a>> {
    if ty(v) != ValueType::Object {
        return None;
    }
    // SAFETY: type checked just above.
    unsafe { v.cast::<Object>() }.ok()
}

/// `v` as an array, if it is one.
pub(crate) fn array<'a>(v: &Unknown<'a>) -> Option<Array<'a>> {
    if ty(v) != ValueType::Object {
        return None;
    }
    // SAFETY: checked to be an object; Array's conversion verifies it is an array.
    unsafe { v.cast::<Array>() }.ok()
}

/// An optional options object: `undefined` → None, an object → Some, else a TypeError.
pub(crate) fn options<'a>(v: Option<Unknown<'a>>, name: &str) -> CodedResult<Option<Object<'a>>> {
    let Some(v) = v else { return Ok(None) };
    match v.get_type() {
        Ok(ValueType::Undefined) => Ok(None),
        Ok(ValueType::Object) => {
            // SAFETY: type checked just above.
            unsafe { v.cast::<Object>() }.map(Some).map_err(|_| Coded::arg_type(name, "of type object", "?"))
        }
        _ => Err(Coded::arg_type(name, "of type object", describe(&v))),
    }
}

/// A property of an options object, `undefined` when absent.
pub(crate) fn prop<'a>(obj: &Object<'a>, key: &str) -> CodedResult<Unknown<'a>> {
    obj.get_named_property::<Unknown>(key).map_err(|e| {
        Coded::new(Code::InvalidArgValue, format!("could not read option \"{key}\": {}", e.reason))
    })
}

/// Deepest nesting accepted in a JSON payload (deeper values, and cycles, are refused).
const MAX_JSON_DEPTH: u32 = 128;

/// Most values (array elements, object properties and scalars, all levels together) accepted in
/// one JSON payload or trace object; a longer array is refused by its length, before anything is
/// allocated for it (a sparse `new Array(2 ** 32 - 1)` costs nothing in JS but 100+ GiB here).
pub(crate) const MAX_JSON_VALUES: usize = 1 << 24;

/// Most bytes of string data (UTF-8, keys included) accepted in one JSON payload or trace object.
pub(crate) const MAX_JSON_BYTES: usize = 1 << 28;

/// What is left of a payload's size limits while it is converted.
struct Budget {
    values: usize,
    bytes: usize,
}

impl Budget {
    fn new() -> Self {
        Self { values: MAX_JSON_VALUES, bytes: MAX_JSON_BYTES }
    }

    /// Takes `n` values from the budget, or says why the payload is too large.
    fn values(&mut self, path: &str, n: usize) -> CodedResult<()> {
        match self.values.checked_sub(n) {
            Some(left) => {
                self.values = left;
                Ok(())
            }
            None => {
                Err(too_large(path, &format!("at most {MAX_JSON_VALUES} values in all"), format!("{n} more")))
            }
        }
    }

    /// Takes `n` bytes of string data from the budget.
    fn bytes(&mut self, path: &str, n: usize) -> CodedResult<()> {
        match self.bytes.checked_sub(n) {
            Some(left) => {
                self.bytes = left;
                Ok(())
            }
            None => Err(too_large(
                path,
                &format!("at most {MAX_JSON_BYTES} bytes of strings in all"),
                format!("a string of {n} bytes"),
            )),
        }
    }
}

/// An empty `Vec` for a list of `len` entries that came from JS (the length of an array
/// argument): `ERR_OUT_OF_RANGE` past [`MAX_JSON_VALUES`] entries, or when even the first
/// entries' memory is not there, instead of an allocation failure that aborts the process.
pub(crate) fn list_vec<T>(len: u32, name: &str) -> CodedResult<Vec<T>> {
    if len as usize > MAX_JSON_VALUES {
        return Err(Coded::out_of_range(
            name,
            &format!("an array of at most {MAX_JSON_VALUES} entries"),
            len,
        ));
    }
    // Room for the first entries only: a list that fails on an early entry costs little.
    let mut out = Vec::new();
    out.try_reserve_exact((len as usize).min(4096))
        .map_err(|_| no_memory(name, &format!("an array of length {len}")))?;
    Ok(out)
}

/// `ERR_OUT_OF_RANGE` for a payload past a size limit.
fn too_large(path: &str, limit: &str, got: String) -> Coded {
    Coded::out_of_range(&shorten(path), &format!("a JSON value of {limit}"), got)
}

/// `ERR_OUT_OF_RANGE` for a failed allocation of a size that came from JS.
fn no_memory(path: &str, what: &str) -> Coded {
    Coded::out_of_range(&shorten(path), "a value this process has memory for", what)
}

/// An optional boolean property: `default` when absent (`undefined`), else it must be a boolean.
pub(crate) fn opt_bool(obj: &Object<'_>, key: &str, name: &str, default: bool) -> CodedResult<bool> {
    let v = prop(obj, key)?;
    if is_undefined(&v) {
        Ok(default)
    } else {
        boolean(&v, name)
    }
}

/// Any JSON-compatible value (payloads, hostcall values): `null`, booleans, finite numbers,
/// strings, arrays and plain objects (`undefined` properties are skipped, as `JSON.stringify`
/// does; `undefined` at the top level is `null`). Anything else — BigInt, symbols, functions,
/// NaN/Infinity, `undefined` array elements, class instances such as `Date` or `Map`, cycles —
/// is a `TypeError` with `ERR_INVALID_ARG_TYPE` naming the offending path.
pub(crate) fn json(env: &Env, v: &Unknown<'_>, name: &str) -> CodedResult<serde_json::Value> {
    if is_undefined(v) {
        return Ok(serde_json::Value::Null);
    }
    let raw = env.raw();
    let mut object_proto = std::ptr::null_mut();
    // SAFETY: env is live; the global object and Object.prototype always exist.
    unsafe {
        let mut global = std::ptr::null_mut();
        let mut object_ctor = std::ptr::null_mut();
        sys::napi_get_global(raw, &mut global);
        sys::napi_get_named_property(raw, global, c"Object".as_ptr(), &mut object_ctor);
        sys::napi_get_named_property(raw, object_ctor, c"prototype".as_ptr(), &mut object_proto);
    }
    let mut path = name.to_string();
    to_json(raw, v.raw(), object_proto, &mut path, 0, &mut Budget::new())
}

/// A path for an error message: a cycle makes a path of 128 segments, keep it readable.
fn shorten(path: &str) -> String {
    match path.char_indices().nth(80) {
        Some((cut, _)) => format!("{}…", &path[..cut]),
        None => path.to_string(),
    }
}

fn not_json(path: &str, why: &str) -> Coded {
    Coded::arg_type(&shorten(path), "a JSON-compatible value", why)
}

fn to_json(
    env: sys::napi_env,
    v: sys::napi_value,
    object_proto: sys::napi_value,
    path: &mut String,
    depth: u32,
    budget: &mut Budget,
) -> CodedResult<serde_json::Value> {
    use serde_json::Value as J;
    budget.values(path, 1)?;
    let mut t = 0;
    // SAFETY: (for the napi calls in this function) env is live and every value comes from the
    // current call's handle scope; out-pointers are valid locals.
    unsafe { sys::napi_typeof(env, v, &mut t) };
    match t {
        sys::ValueType::napi_null => Ok(J::Null),
        sys::ValueType::napi_boolean => {
            let mut b = false;
            // SAFETY: see above; v is a boolean.
            unsafe { sys::napi_get_value_bool(env, v, &mut b) };
            Ok(J::Bool(b))
        }
        sys::ValueType::napi_number => {
            let mut n = 0f64;
            // SAFETY: see above; v is a number.
            unsafe { sys::napi_get_value_double(env, v, &mut n) };
            if !n.is_finite() {
                return Err(not_json(path, &format!("the non-finite number {n}")));
            }
            if n.fract() == 0.0 && n.abs() <= MAX_SAFE_INTEGER {
                Ok(J::from(n as i64))
            } else {
                Ok(serde_json::Number::from_f64(n).map(J::Number).unwrap_or(J::Null))
            }
        }
        sys::ValueType::napi_string => {
            let len = utf8_len(env, v);
            budget.bytes(path, len)?;
            Ok(J::String(read_utf8(env, v, len, path)?))
        }
        sys::ValueType::napi_object => {
            if depth >= MAX_JSON_DEPTH {
                return Err(not_json(path, "a value nested more than 128 levels deep (or a cycle)"));
            }
            let mut is_array = false;
            // SAFETY: see above.
            unsafe { sys::napi_is_array(env, v, &mut is_array) };
            if is_array {
                let mut len = 0u32;
                // SAFETY: see above; v is an array.
                unsafe { sys::napi_get_array_length(env, v, &mut len) };
                // The length is checked against the budget before anything is allocated for it.
                budget.values(path, len as usize)?;
                // Room grows with the elements read: a sparse array fails at its first hole
                // without a large reservation first.
                let mut out = Vec::new();
                for i in 0..len {
                    let mut e = std::ptr::null_mut();
                    // SAFETY: see above; reading an index of an array is defined (a getter may throw).
                    if unsafe { sys::napi_get_element(env, v, i, &mut e) } != sys::Status::napi_ok {
                        return Err(not_json(path, &format!("an array whose element {i} could not be read")));
                    }
                    let mark = path.len();
                    path.push_str(&format!("[{i}]"));
                    let mut et = 0;
                    // SAFETY: see above.
                    unsafe { sys::napi_typeof(env, e, &mut et) };
                    if et == sys::ValueType::napi_undefined {
                        return Err(not_json(path, "undefined (use null in arrays)"));
                    }
                    // Its slot was counted with the length above.
                    budget.values += 1;
                    let item = to_json(env, e, object_proto, path, depth + 1, budget)?;
                    if out.len() == out.capacity() {
                        out.try_reserve(out.len().max(16).min(len as usize))
                            .map_err(|_| no_memory(path, &format!("an array of length {len}")))?;
                    }
                    out.push(item);
                    path.truncate(mark);
                }
                return Ok(J::Array(out));
            }
            let mut proto = std::ptr::null_mut();
            // SAFETY: see above.
            unsafe { sys::napi_get_prototype(env, v, &mut proto) };
            let mut proto_type = 0;
            // SAFETY: see above.
            unsafe { sys::napi_typeof(env, proto, &mut proto_type) };
            let mut plain = proto_type == sys::ValueType::napi_null;
            if !plain {
                // SAFETY: see above.
                unsafe { sys::napi_strict_equals(env, proto, object_proto, &mut plain) };
            }
            if !plain {
                return Err(not_json(
                    path,
                    "an instance of a class (only plain objects and arrays are JSON)",
                ));
            }
            let mut keys = std::ptr::null_mut();
            // SAFETY: see above; own enumerable string keys, like JSON.stringify.
            if unsafe { sys::napi_get_property_names(env, v, &mut keys) } != sys::Status::napi_ok {
                return Err(not_json(path, "an object whose keys could not be read"));
            }
            let mut n = 0u32;
            // SAFETY: see above; keys is an array.
            unsafe { sys::napi_get_array_length(env, keys, &mut n) };
            budget.values(path, n as usize)?;
            let mut map = serde_json::Map::new();
            for i in 0..n {
                let mut k = std::ptr::null_mut();
                let mut val = std::ptr::null_mut();
                // SAFETY: see above; a throwing getter makes get_property fail (checked).
                let ok = unsafe {
                    sys::napi_get_element(env, keys, i, &mut k) == sys::Status::napi_ok
                        && sys::napi_get_property(env, v, k, &mut val) == sys::Status::napi_ok
                };
                if !ok {
                    return Err(not_json(path, "an object with a property that could not be read"));
                }
                // The key and its value were counted with the key count above.
                budget.values += 2;
                let J::String(key) = to_json(env, k, object_proto, path, depth + 1, budget)? else {
                    return Err(not_json(path, "an object with a non-string key"));
                };
                let mut vt = 0;
                // SAFETY: see above.
                unsafe { sys::napi_typeof(env, val, &mut vt) };
                if vt == sys::ValueType::napi_undefined {
                    continue;
                }
                let mark = path.len();
                path.push('.');
                path.push_str(&key);
                let jv = to_json(env, val, object_proto, path, depth + 1, budget)?;
                path.truncate(mark);
                map.insert(key, jv);
            }
            Ok(J::Object(map))
        }
        sys::ValueType::napi_bigint => Err(not_json(path, "type bigint")),
        sys::ValueType::napi_symbol => Err(not_json(path, "type symbol")),
        sys::ValueType::napi_function => Err(not_json(path, "function")),
        sys::ValueType::napi_undefined => Err(not_json(path, "undefined")),
        _ => Err(not_json(path, "an external or unknown value")),
    }
}

/// Reads of raw argument values (`napi_value`s), for the raw N-API callbacks of fast.rs and for
/// the napi-rs forms above, so each conversion exists once.
pub(crate) mod raw {
    use std::ptr;

    use napi::sys;

    use super::super::error::Coded;

    /// Reads a JS number (or `None` for another type).
    pub(crate) fn number(env: sys::napi_env, v: sys::napi_value) -> Option<f64> {
        let mut n = 0f64;
        // SAFETY: v is a live value; napi_get_value_double fails cleanly for non-numbers.
        (unsafe { sys::napi_get_value_double(env, v, &mut n) } == sys::Status::napi_ok).then_some(n)
    }

    /// The N-API type of `v`.
    pub(crate) fn type_of(env: sys::napi_env, v: sys::napi_value) -> sys::napi_valuetype {
        let mut t = 0;
        // SAFETY: v is a live value of env.
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
            Some(n) => super::check_u53(n, name),
            None => Err(Coded::arg_type(name, "of type number", describe(env, v))),
        }
    }

    /// A JS string argument as UTF-8 (`None` for another type).
    pub(crate) fn string(env: sys::napi_env, v: sys::napi_value) -> Option<String> {
        // Short keys (the common case) are read in one call through a stack buffer.
        let mut stack = [0u8; 64];
        let mut len = 0usize;
        // SAFETY: v is a live value; the buffer holds `stack.len()` bytes including the NUL napi
        // writes; napi fails cleanly for non-strings.
        let st = unsafe {
            sys::napi_get_value_string_utf8(env, v, stack.as_mut_ptr().cast(), stack.len(), &mut len)
        };
        if st != sys::Status::napi_ok {
            return None;
        }
        if len + 1 < stack.len() {
            return String::from_utf8(stack[..len].to_vec()).ok();
        }
        // Possibly truncated: read it all (a failed allocation reads as "not a string").
        super::read_utf8(env, v, super::utf8_len(env, v), "string").ok()
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
        _sync: crate::binding::wasm_napi::SyncBack,
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
        let mut is_ta = false;
        // SAFETY: v is a live value of this call.
        unsafe { sys::napi_is_typedarray(env, v, &mut is_ta) };
        if !is_ta {
            return Err(bad());
        }
        let mut ty = 0;
        let mut len = 0usize;
        let mut data = ptr::null_mut();
        #[cfg(target_family = "wasm")]
        let (st, sync) = crate::binding::wasm_napi::typedarray_elements(
            env,
            v,
            &mut ty,
            &mut len,
            &mut data,
            std::mem::size_of::<E>(),
        );
        #[cfg(not(target_family = "wasm"))]
        // SAFETY: v is a typed array; out-pointers are valid locals; we do not need the buffer.
        let st = unsafe {
            sys::napi_get_typedarray_info(
                env,
                v,
                &mut ty,
                &mut len,
                &mut data,
                ptr::null_mut(),
                ptr::null_mut(),
            )
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
    pub(crate) fn uint8_array(
        env: sys::napi_env,
        v: sys::napi_value,
        name: &str,
    ) -> Result<TypedOut<u8>, Coded> {
        typed_array(env, v, sys::TypedarrayType::uint8_array, name, "an instance of Uint8Array")
    }
}
