//! Module functions `replay(trace)` and `diffTraces(a, b)` (API.md §4) and the JS shapes of a
//! trace and a divergence. A trace argument is either the object from `trace()` or the JSONL
//! text from `traceJsonl()`; malformed input throws `ERR_TRACE_INVALID` (TypeError) saying what
//! and where, an unsupported version `ERR_TRACE_VERSION`.

// napi-derive registers free functions only outside `cfg(test)`, so the unit-test build of the
// crate sees this module's functions (and what only they use) as unused.
#![cfg_attr(test, allow(dead_code, reason = "referenced only by napi's module registration"))]

use napi::bindgen_prelude::*;
use napi::ValueType;
use napi_derive::napi;
use serde_json::Value;

use super::args;
use super::error::{Code, Coded, CodedResult, ThrowExt};
use crate::sched::trace::{self, Divergence};
use crate::sched::Trace;

/// A recorded run: the header fields and the records in order. Each record is an object with a
/// snake_case `type` (`clock`, `set_timeout`, `enqueue_event`, `dispatch`, …; see docs/replay.md).
#[napi(object, js_name = "Trace")]
pub struct TraceObject {
    /// Format version (1).
    pub version: u32,
    /// The producer, e.g. `seqloop 0.1.0`.
    #[napi(js_name = "created_by")]
    pub created_by: String,
    /// The recorded scheduler's clock kind: `deterministic`, `wall` or `custom`.
    pub clock: String,
    /// The largest timer id before ids wrap (2^53 − 1 for JS schedulers).
    #[napi(js_name = "max_timer_id")]
    pub max_timer_id: f64,
    /// The records, in the order they happened.
    #[napi(ts_type = "Array<{ type: string, [field: string]: unknown }>")]
    pub records: Vec<Value>,
}

/// Where a replay first differed from its trace, or two traces from each other.
#[napi(object)]
pub struct TraceDivergence {
    /// Dispatches that matched before the mismatch (for a dispatch mismatch: its index).
    pub index: f64,
    /// 0-based position of the mismatching record in the (first) trace, or null.
    pub record: Either<f64, Null>,
    /// The recorded record (or the first trace's dispatch); null when there is none.
    #[napi(ts_type = "Record<string, unknown> | null")]
    pub expected: Value,
    /// The replayed record (or the second trace's dispatch); null when there is none.
    #[napi(ts_type = "Record<string, unknown> | null")]
    pub actual: Value,
}

/// The result of `replay`.
#[napi(object)]
pub struct ReplayResult {
    /// True when every operation and dispatch matched the trace.
    pub ok: bool,
    /// Digest of the replayed dispatches (16 lowercase hex digits).
    pub digest: String,
    /// Dispatches replayed (up to and including a divergent one).
    pub dispatches: f64,
    /// The first mismatch, or null.
    pub divergence: Either<TraceDivergence, Null>,
}

/// The result of `diffTraces`.
#[napi(object)]
pub struct TraceDiff {
    /// True when both traces dispatched the same sequence (seq, kind, ids, payloads).
    pub equal: bool,
    /// Digest of the first trace's dispatches.
    pub digest_a: String,
    /// Digest of the second trace's dispatches.
    pub digest_b: String,
    /// The first differing dispatch (`expected` from the first trace, `actual` from the
    /// second), or null.
    pub divergence: Either<TraceDivergence, Null>,
}

/// `ERR_NOT_RECORDING` for `trace()`/`traceJsonl()`/`digest()` on a `class_name` (Scheduler or
/// EventLoop) constructed without `record: true`.
pub(crate) fn not_recording(class_name: &str) -> Coded {
    Coded::new(
        Code::NotRecording,
        format!("this {class_name} is not recording; construct it with {{ record: true }}"),
    )
}

/// The JS object form of a trace (shared by every class that records).
pub(crate) fn trace_to_js(t: &Trace) -> TraceObject {
    TraceObject {
        version: trace::TRACE_VERSION as u32,
        created_by: t.header.created_by.clone(),
        clock: t.header.clock.clone(),
        max_timer_id: t.header.max_timer_id as f64,
        records: t.records.iter().map(|r| r.to_json()).collect(),
    }
}

fn divergence_to_js(d: Option<Divergence>) -> Either<TraceDivergence, Null> {
    match d {
        Some(d) => Either::A(TraceDivergence {
            index: d.index as f64,
            record: d.record.map_or(Either::B(Null), |r| Either::A(r as f64)),
            expected: d.expected,
            actual: d.actual,
        }),
        None => Either::B(Null),
    }
}

/// Parses a trace argument: JSONL text or a trace object.
fn trace_arg(env: &Env, v: &Unknown<'_>, name: &str) -> CodedResult<Trace> {
    match args::ty(v) {
        ValueType::String => Ok(Trace::from_jsonl(&args::string(v, name)?)?),
        ValueType::Object => {
            let mut json = args::json(env, v, name).map_err(|e| {
                // A trace past the size limits says so; anything else is not a trace.
                if e.code() == Code::OutOfRange {
                    return e;
                }
                Coded::new(
                    Code::TraceInvalid,
                    format!("{name}: not JSON-compatible (a function, symbol or undefined inside?)"),
                )
            })?;
            trace::integralize(&mut json);
            Ok(Trace::from_json(&json)?)
        }
        _ => Err(Coded::arg_type(name, "a trace object or a JSONL string", args::describe(v))),
    }
}

/// Re-drives a fresh scheduler from a recorded trace (its inputs and clock readings, so a
/// wall-clock recording replays exactly) and compares every operation and dispatch.
#[napi(ts_args_type = "trace: Trace | string")]
pub fn replay(env: Env, trace: Unknown) -> Result<ReplayResult> {
    let t = trace_arg(&env, &trace, "trace").or_throw(&env)?;
    let report = trace::replay(&t);
    Ok(ReplayResult {
        ok: report.ok,
        digest: report.digest.to_string(),
        dispatches: report.dispatches as f64,
        divergence: divergence_to_js(report.divergence),
    })
}

/// Compares the dispatched sequences of two traces (seq, kind, ids and payloads; times are not
/// compared).
#[napi(ts_args_type = "a: Trace | string, b: Trace | string")]
pub fn diff_traces(env: Env, a: Unknown, b: Unknown) -> Result<TraceDiff> {
    let ta = trace_arg(&env, &a, "a").or_throw(&env)?;
    let tb = trace_arg(&env, &b, "b").or_throw(&env)?;
    let d = trace::diff(&ta, &tb);
    Ok(TraceDiff {
        equal: d.is_none(),
        digest_a: ta.digest().to_string(),
        digest_b: tb.digest().to_string(),
        divergence: divergence_to_js(d),
    })
}
