//! Hostcall completions, stream chunks and events: what the driver runs itself (timers and
//! immediates go through the JS batch runner), as `crate::runloop::route` decides, and the
//! `Macrotask` object `runOnce` resolves with. Safe code; its napi calls go through `ffi/loop_glue.rs`.

use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::*;
use napi::sys;

use super::super::ffi::loop_glue as glue;
use super::state::{Held, LoopInner};
use crate::runloop::{route, Route};
use crate::sched::{HostcallOutcome, Macrotask, MacrotaskKind};

/// Runs one hostcall completion, stream chunk or event (timers and immediates go through the
/// batch runner; without one they have no callback to run). `Err` carries the thrown value (E4).
pub(super) fn dispatch(inner: &LoopInner, task: Macrotask<Held>) -> std::result::Result<(), sys::napi_value> {
    let env = inner.env;
    let fail = |_: Error| ptr::null_mut();
    // The core decides what each kind of completion does (settle, call a listener, remove it).
    let decided = route(&task, false);
    let resolve = decided == Route::SettleHostcall { resolve: true };
    match task.kind {
        MacrotaskKind::TimerFired { .. } | MacrotaskKind::Immediate { .. } => Ok(()),
        MacrotaskKind::HostcallComplete(c) => {
            let call_id = c.call_id;
            match c.outcome {
                HostcallOutcome::StreamChunk { sequence, chunk, .. } => {
                    let last = decided == Route::StreamListener { last: true };
                    let (func, ctx, recv, chunk_v) = {
                        let mut st = inner.state.borrow_mut();
                        let chunk_v = st.stash.take(env, chunk.slot).map_err(fail)?;
                        let Some(l) = st.streams.get(&call_id) else { return Ok(()) };
                        let (fslot, ctx) = (l.func, l.ctx);
                        let func = st.stash.get(env, fslot).map_err(fail)?;
                        if last {
                            st.streams.remove(&call_id);
                            st.stash.clear(env, fslot);
                        }
                        let recv = st.stash.get(env, st.receiver).map_err(fail)?;
                        (func, ctx, recv, chunk_v)
                    };
                    let info = glue::new_object(env).map_err(fail)?;
                    glue::set_prop(env, info, c"sequence", glue::js_f64(env, sequence as f64).map_err(fail)?)
                        .map_err(fail)?;
                    glue::set_prop(env, info, c"isFinal", glue::js_bool(env, last).map_err(fail)?)
                        .map_err(fail)?;
                    let result = glue::make_callback(env, ctx, recv, func, &[chunk_v, info]);
                    if last {
                        glue::destroy_ctx(env, ctx);
                    }
                    result
                }
                HostcallOutcome::Success { value } => {
                    let (pending, v) = {
                        let mut st = inner.state.borrow_mut();
                        let v = st.stash.take(env, value.slot).map_err(fail)?;
                        (st.hostcalls.remove(&call_id), v)
                    };
                    if let Some(p) = pending {
                        glue::settle_in_scope(env, p.ctx, p.deferred, v, resolve);
                        glue::destroy_ctx(env, p.ctx);
                    }
                    Ok(())
                }
                HostcallOutcome::Error { code, message } => {
                    let pending = inner.state.borrow_mut().hostcalls.remove(&call_id);
                    if let Some(p) = pending {
                        let err = glue::error_value(env, &code, &message);
                        glue::settle_in_scope(env, p.ctx, p.deferred, err, resolve);
                        glue::destroy_ctx(env, p.ctx);
                    }
                    Ok(())
                }
            }
        }
        MacrotaskKind::InboundEvent(e) => {
            let (listeners, payload, recv) = {
                let mut st = inner.state.borrow_mut();
                let payload = st.stash.take(env, e.payload.slot).map_err(fail)?;
                let mut ls = Vec::with_capacity(st.listeners.len());
                for l in &st.listeners {
                    ls.push((st.stash.get(env, l.func).map_err(fail)?, l.ctx));
                }
                (ls, payload, st.stash.get(env, st.receiver).map_err(fail)?)
            };
            let id = glue::js_str(env, &e.event_id).map_err(fail)?;
            for (func, ctx) in listeners {
                glue::make_callback(env, ctx, recv, func, &[id, payload])?;
            }
            Ok(())
        }
    }
}

/// The `Macrotask` object `runOnce` resolves with (built before the task runs).
pub(super) fn describe_task(inner: &Rc<LoopInner>, task: &Macrotask<Held>) -> Result<sys::napi_value> {
    let env = inner.env;
    let st = inner.state.borrow();
    let o = glue::new_object(env)?;
    glue::set_prop(env, o, c"seq", glue::js_f64(env, task.seq.0 as f64)?)?;
    glue::set_prop(env, o, c"kind", glue::js_str(env, task.kind.code())?)?;
    match &task.kind {
        MacrotaskKind::TimerFired { timer_id, .. } => {
            glue::set_prop(env, o, c"timerId", glue::js_f64(env, timer_id.0 as f64)?)?
        }
        MacrotaskKind::Immediate { id } => {
            glue::set_prop(env, o, c"immediateId", glue::js_f64(env, *id as f64)?)?
        }
        MacrotaskKind::HostcallComplete(c) => {
            glue::set_prop(env, o, c"callId", glue::js_str(env, &c.call_id)?)?;
            let out = glue::new_object(env)?;
            glue::set_prop(env, out, c"type", glue::js_str(env, c.outcome.type_code())?)?;
            match &c.outcome {
                HostcallOutcome::Success { value } => {
                    glue::set_prop(env, out, c"value", st.stash.get(env, value.slot)?)?
                }
                HostcallOutcome::Error { code, message } => {
                    glue::set_prop(env, out, c"code", glue::js_str(env, code)?)?;
                    glue::set_prop(env, out, c"message", glue::js_str(env, message)?)?;
                }
                HostcallOutcome::StreamChunk { sequence, chunk, is_final } => {
                    glue::set_prop(env, out, c"sequence", glue::js_f64(env, *sequence as f64)?)?;
                    glue::set_prop(env, out, c"chunk", st.stash.get(env, chunk.slot)?)?;
                    glue::set_prop(env, out, c"isFinal", glue::js_bool(env, *is_final)?)?;
                }
            }
            glue::set_prop(env, o, c"outcome", out)?;
        }
        MacrotaskKind::InboundEvent(e) => {
            glue::set_prop(env, o, c"eventId", glue::js_str(env, &e.event_id)?)?;
            glue::set_prop(env, o, c"payload", st.stash.get(env, e.payload.slot)?)?;
        }
    }
    Ok(o)
}
