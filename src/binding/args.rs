//! Argument conversion: JS values in, validated Rust values out, with the coded errors of
//! API.md §Conventions (`ERR_INVALID_ARG_TYPE` for a wrong type, `ERR_OUT_OF_RANGE` for a
//! negative, NaN, infinite or unsafe-integer number). Fractional times are truncated.

use napi::bindgen_prelude::*;
use napi::ValueType;

use super::error::{Coded, CodedResult};

/// `Number.MAX_SAFE_INTEGER`.
pub(crate) const MAX_SAFE_INTEGER: f64 = 9_007_199_254_740_991.0;

/// A short description of a JS value for error messages, like Node's `ERR_INVALID_ARG_TYPE`.
pub(crate) fn describe(v: &Unknown<'_>) -> String {
    match v.get_type() {
        Ok(ValueType::Undefined) => "undefined".into(),
        Ok(ValueType::Null) => "null".into(),
        Ok(ValueType::Number) => match unsafe_number(v) {
            Some(n) => format!("type number ({n})"),
            None => "type number".into(),
        },
        Ok(ValueType::String) => "type string".into(),
        Ok(ValueType::Boolean) => "type boolean".into(),
        Ok(ValueType::Function) => "function".into(),
        Ok(ValueType::Object) => "an instance of Object".into(),
        Ok(ValueType::BigInt) => "type bigint".into(),
        Ok(ValueType::Symbol) => "type symbol".into(),
        _ => "an unknown value".into(),
    }
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

/// A string argument.
pub(crate) fn string(v: &Unknown<'_>, name: &str) -> CodedResult<String> {
    match v.get_type() {
        // SAFETY: type checked just above.
        Ok(ValueType::String) => unsafe { v.cast::<String>() }
            .map_err(|_| Coded::arg_type(name, "of type string", "an invalid string")),
        _ => Err(Coded::arg_type(name, "of type string", describe(v))),
    }
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
        Coded::error("ERR_INVALID_ARG_VALUE", format!("could not read option \"{key}\": {}", e.reason))
    })
}

/// Any JSON-compatible value (payloads, hostcall values).
pub(crate) fn json(env: &Env, v: &Unknown<'_>, name: &str) -> CodedResult<serde_json::Value> {
    if is_undefined(v) {
        return Ok(serde_json::Value::Null);
    }
    let _ = env;
    // SAFETY: serde_json::Value's FromNapiValue inspects the type itself and fails cleanly.
    unsafe { v.cast::<serde_json::Value>() }.map_err(|e| {
        Coded::arg_type(name, "a JSON-compatible value", format!("{} ({})", describe(v), e.reason))
    })
}
