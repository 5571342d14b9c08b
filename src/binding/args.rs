//! Argument conversion: JS values in, validated Rust values out, with the coded errors of
//! API.md §Conventions (`ERR_INVALID_ARG_TYPE` for a wrong type, `ERR_OUT_OF_RANGE` for a
//! negative, NaN, infinite or unsafe-integer number). Fractional times are truncated.

use napi::bindgen_prelude::*;
use napi::{sys, ValueType};

use super::error::{Code, Coded, CodedResult};
use super::ffi::value as raw_value;

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
    raw_value::describe(v.value().env, v.raw())
}

/// A JS number, any value.
pub(crate) fn number(v: &Unknown<'_>, name: &str) -> CodedResult<f64> {
    match v.get_type() {
        Ok(ValueType::Number) => {
            raw_value::as_f64(v).ok_or_else(|| Coded::arg_type(name, "of type number", describe(v)))
        }
        _ => Err(Coded::arg_type(name, "of type number", describe(v))),
    }
}

/// Checks a number is a non-negative safe integer after truncation.
pub(crate) fn check_u53(n: f64, name: &str) -> CodedResult<u64> {
    // The common case first, without `trunc` (a libm call on baseline x86-64): for
    // 0 <= n < 2^53, `n as u64` truncates toward zero, and the result is <= 2^53 - 1.
    if (0.0..9_007_199_254_740_992.0).contains(&n) {
        return Ok(n as u64);
    }
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
            raw_value::read_utf8(env, v.raw(), raw_value::utf8_len(env, v.raw()), name)
        }
        _ => Err(Coded::arg_type(name, "of type string", describe(v))),
    }
}

/// A boolean argument.
pub(crate) fn boolean(v: &Unknown<'_>, name: &str) -> CodedResult<bool> {
    match v.get_type() {
        Ok(ValueType::Boolean) => {
            raw_value::as_bool(v).ok_or_else(|| Coded::arg_type(name, "of type boolean", "?"))
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
    raw_value::as_object(v)
}

/// `v` as an array, if it is one.
pub(crate) fn array<'a>(v: &Unknown<'a>) -> Option<Array<'a>> {
    raw_value::as_array(v)
}

/// An optional options object: `undefined` → None, an object → Some, else a TypeError.
pub(crate) fn options<'a>(v: Option<Unknown<'a>>, name: &str) -> CodedResult<Option<Object<'a>>> {
    let Some(v) = v else { return Ok(None) };
    match v.get_type() {
        Ok(ValueType::Undefined) => Ok(None),
        Ok(ValueType::Object) => {
            raw_value::as_object(&v).map(Some).ok_or_else(|| Coded::arg_type(name, "of type object", "?"))
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
pub(crate) fn no_memory(path: &str, what: &str) -> Coded {
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
    let object_proto = raw_value::object_prototype(raw);
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
    match raw_value::type_of(env, v) {
        sys::ValueType::napi_null => Ok(J::Null),
        sys::ValueType::napi_boolean => {
            Ok(J::Bool(raw_value::as_bool(&raw_value::unknown(env, v)).unwrap_or(false)))
        }
        sys::ValueType::napi_number => {
            let n = raw_value::number(env, v).unwrap_or(f64::NAN);
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
            let len = raw_value::utf8_len(env, v);
            budget.bytes(path, len)?;
            Ok(J::String(raw_value::read_utf8(env, v, len, path)?))
        }
        sys::ValueType::napi_object => {
            if depth >= MAX_JSON_DEPTH {
                return Err(not_json(path, "a value nested more than 128 levels deep (or a cycle)"));
            }
            if raw_value::is_array(env, v) {
                let len = raw_value::array_length(env, v);
                // The length is checked against the budget before anything is allocated for it.
                budget.values(path, len as usize)?;
                // Room grows with the elements read: a sparse array fails at its first hole
                // without a large reservation first.
                let mut out = Vec::new();
                for i in 0..len {
                    // Reading an index of an array is defined (a getter may throw).
                    let Some(e) = raw_value::element(env, v, i) else {
                        return Err(not_json(path, &format!("an array whose element {i} could not be read")));
                    };
                    let mark = path.len();
                    path.push_str(&format!("[{i}]"));
                    if raw_value::type_of(env, e) == sys::ValueType::napi_undefined {
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
            let proto = raw_value::prototype_of(env, v);
            let plain = raw_value::type_of(env, proto) == sys::ValueType::napi_null
                || raw_value::strict_equals(env, proto, object_proto);
            if !plain {
                return Err(not_json(
                    path,
                    "an instance of a class (only plain objects and arrays are JSON)",
                ));
            }
            // Own enumerable string keys, like JSON.stringify.
            let Some(keys) = raw_value::property_names(env, v) else {
                return Err(not_json(path, "an object whose keys could not be read"));
            };
            let n = raw_value::array_length(env, keys);
            budget.values(path, n as usize)?;
            let mut map = serde_json::Map::new();
            for i in 0..n {
                // A throwing getter makes the property read fail (checked).
                let Some((k, val)) =
                    raw_value::element(env, keys, i).and_then(|k| Some((k, raw_value::property(env, v, k)?)))
                else {
                    return Err(not_json(path, "an object with a property that could not be read"));
                };
                // The key and its value were counted with the key count above.
                budget.values += 2;
                let J::String(key) = to_json(env, k, object_proto, path, depth + 1, budget)? else {
                    return Err(not_json(path, "an object with a non-string key"));
                };
                if raw_value::type_of(env, val) == sys::ValueType::napi_undefined {
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
