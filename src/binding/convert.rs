//! Conversions of scheduler values between Rust and JS (`HostcallOutcome`, `Macrotask`).

use napi::bindgen_prelude::*;
use serde_json::Value;

use super::args;
use super::error::{Coded, CodedResult};
use crate::sched::{HostcallOutcome, Macrotask, MacrotaskKind};

/// Parses `{ type: 'success', value } | { type: 'error', code, message } |
/// { type: 'stream_chunk', sequence, chunk, isFinal }`.
pub(crate) fn outcome_from_js(env: &Env, v: &Unknown<'_>, name: &str) -> CodedResult<HostcallOutcome<Value>> {
    outcome_with_raw(env, v, name).map(|(o, _)| o)
}

/// [`outcome_from_js`], plus the JS value of the `value` or `chunk` as it was read (each
/// property is read once: a getter runs once and the JSON snapshot is of the value kept).
pub(crate) fn outcome_with_raw<'a>(
    env: &Env,
    v: &Unknown<'a>,
    name: &str,
) -> CodedResult<(HostcallOutcome<Value>, Option<Unknown<'a>>)> {
    let Some(obj) = args::options(Some(*v), name)? else {
        return Err(Coded::arg_type(name, "a HostcallOutcome object", "undefined"));
    };
    let ty = args::string(&args::prop(&obj, "type")?, &format!("{name}.type"))?;
    match ty.as_str() {
        "success" => {
            let raw = args::prop(&obj, "value")?;
            let value = args::json(env, &raw, &format!("{name}.value"))?;
            Ok((HostcallOutcome::Success { value }, Some(raw)))
        }
        "error" => Ok((
            HostcallOutcome::Error {
                code: args::string(&args::prop(&obj, "code")?, &format!("{name}.code"))?,
                message: args::string(&args::prop(&obj, "message")?, &format!("{name}.message"))?,
            },
            None,
        )),
        "stream_chunk" => {
            let sequence = args::u53(&args::prop(&obj, "sequence")?, &format!("{name}.sequence"))?;
            let raw = args::prop(&obj, "chunk")?;
            let chunk = args::json(env, &raw, &format!("{name}.chunk"))?;
            let is_final = args::boolean(&args::prop(&obj, "isFinal")?, &format!("{name}.isFinal"))?;
            Ok((HostcallOutcome::StreamChunk { sequence, chunk, is_final }, Some(raw)))
        }
        other => Err(Coded::arg_type(
            &format!("{name}.type"),
            "one of 'success', 'error', 'stream_chunk'",
            format!("'{other}'"),
        )),
    }
}

/// The JS object for an outcome.
pub(crate) fn outcome_to_js<'e>(env: &'e Env, outcome: &HostcallOutcome<Value>) -> Result<Object<'e>> {
    outcome_to_js_with(env, outcome, |o, key, v| o.set(key, v))
}

/// The JS object for an outcome whose payloads `set_payload` stores under a key.
pub(crate) fn outcome_to_js_with<'e, P>(
    env: &'e Env,
    outcome: &HostcallOutcome<P>,
    set_payload: impl Fn(&mut Object<'e>, &str, &P) -> Result<()>,
) -> Result<Object<'e>> {
    let mut o = Object::new(env)?;
    o.set("type", outcome.type_code())?;
    match outcome {
        HostcallOutcome::Success { value } => set_payload(&mut o, "value", value)?,
        HostcallOutcome::Error { code, message } => {
            o.set("code", code.as_str())?;
            o.set("message", message.as_str())?;
        }
        HostcallOutcome::StreamChunk { sequence, chunk, is_final } => {
            o.set("sequence", *sequence as f64)?;
            set_payload(&mut o, "chunk", chunk)?;
            o.set("isFinal", *is_final)?;
        }
    }
    Ok(o)
}

/// The JS object for a macrotask: `{ seq, kind, ... }`.
pub(crate) fn task_to_js<'e>(env: &'e Env, task: &Macrotask<Value>) -> Result<Object<'e>> {
    let mut o = Object::new(env)?;
    o.set("seq", task.seq.0 as f64)?;
    o.set("kind", task.kind.code())?;
    match &task.kind {
        MacrotaskKind::TimerFired { timer_id, .. } => o.set("timerId", timer_id.0 as f64)?,
        MacrotaskKind::HostcallComplete(c) => {
            o.set("callId", c.call_id.as_str())?;
            o.set("outcome", outcome_to_js(env, &c.outcome)?)?;
        }
        MacrotaskKind::InboundEvent(e) => {
            o.set("eventId", e.event_id.as_str())?;
            o.set("payload", &e.payload)?;
        }
        MacrotaskKind::Immediate { id } => o.set("immediateId", *id as f64)?,
    }
    Ok(o)
}
