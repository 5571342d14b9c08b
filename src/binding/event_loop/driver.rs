//! The run driver: starts a run on a libuv timer, then executes the steps the core policy
//! (`crate::runloop`) decides — entering the JS batch runner or dispatching a hostcall, stream
//! chunk or event — yields to Node when the time slice is used up, sleeps, and settles the
//! run's promise. Safe code; its napi calls go through `ffi/loop_glue.rs`.

use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::*;
use napi::sys;

use super::super::error::{Code, Coded};
use super::super::ffi::loop_glue::{self as glue, HandleScope, RunTimer, Stash};
use super::dispatch::{describe_task, dispatch};
use super::state::{Held, LoopInner, Run, State};
use crate::runloop::{RunKind, RunPolicy, Settle, Step};
use crate::sched::Macrotask;

/// Starts a run of `policy` and returns its promise: rejected at once with `ERR_LOOP_REENTRANT`
/// while another run is active (E2) or `ERR_LOOP_UNAVAILABLE` without libuv. The caller checked
/// the state is not borrowed nor converting.
pub(super) fn start(inner: &Rc<LoopInner>, js_env: &Env, policy: RunPolicy) -> Result<sys::napi_value> {
    let env = inner.env;
    let (deferred, promise) = glue::create_promise(env)?;
    // async_hooks' init hooks (JS) may run here: the state is borrowed only after.
    let ctx = glue::async_ctx(env, "seqloop.EventLoopRun")?;
    let mut st = match inner.state_mut() {
        Ok(st) => st,
        Err(e) => {
            glue::destroy_ctx(env, ctx);
            glue::release_deferred(env, deferred);
            return Err(e.throw(js_env));
        }
    };
    let refused = st
        .run
        .is_some()
        .then(|| Coded::new(Code::LoopReentrant, "a run method is already in progress on this loop"));
    let timer = match refused {
        Some(_) => None,
        None => RunTimer::new(env, inner),
    };
    let Some(timer) = timer else {
        drop(st);
        glue::destroy_ctx(env, ctx);
        let err = refused
            .unwrap_or_else(|| Coded::new(Code::LoopUnavailable, "libuv is not available in this process"))
            .to_raw(env)?;
        glue::reject_now(env, deferred, err)?;
        return Ok(promise);
    };
    timer.start(0);
    if let Some(h) = st.hooks.as_ref() {
        h.table.strengthen(env);
    }
    st.run = Some(Run { policy, deferred, ctx, timer: Some(timer), sleeping: false });
    Ok(promise)
}

/// Runs macrotasks of the active run until it finishes, sleeps or uses up its time slice.
pub(super) fn drive(inner: &Rc<LoopInner>) {
    let env = inner.env;
    inner.state.borrow_mut().slice = crate::runloop::Slice::new();
    loop {
        let step = {
            let mut st = inner.state.borrow_mut();
            match st.run.as_mut() {
                Some(r) => r.sleeping = false,
                None => return,
            }
            st.take_step()
        };
        match step {
            Step::Task(task) => {
                let go_on = {
                    // The macrotask's values live in their own scope (any settle already happened).
                    let _scope = HandleScope::open(env);
                    run_task(inner, task)
                };
                if !go_on {
                    return;
                }
                if inner.state.borrow().slice.expired() {
                    // Let Node run a full turn (its timers, I/O, setImmediate) before the next
                    // slice: a long run never starves the process (virtual order unchanged).
                    if let Some(t) = inner.state.borrow().run.as_ref().and_then(|r| r.timer.as_ref()) {
                        t.set_ref(true);
                        t.yield_now();
                    }
                    return;
                }
            }
            Step::Sleep { ms, keep_alive } => {
                if let Some(run) = inner.state.borrow_mut().run.as_mut() {
                    run.sleeping = true;
                }
                let st = inner.state.borrow();
                if let Some(t) = st.run.as_ref().and_then(|r| r.timer.as_ref()) {
                    t.set_ref(keep_alive);
                    // Waiting only for hostcall completions: don't hold the process open.
                    if keep_alive || ms > 0 {
                        t.start(ms);
                    }
                }
                return;
            }
            Step::Finish(settle) => {
                let v = match settle {
                    Settle::Count => {
                        let n = inner.state.borrow().run.as_ref().map_or(0, |r| r.policy.count);
                        glue::js_f64(env, n as f64).map_err(|_| ptr::null_mut())
                    }
                    Settle::Null => Ok(glue::null(env)),
                    Settle::Limit => {
                        let max = inner.state.borrow().run.as_ref().map_or(0, |r| r.policy.max_ticks);
                        Err(Coded::new(
                            Code::LoopLimit,
                            format!("the run passed maxTicks ({max}); the remaining work is still queued"),
                        )
                        .with_prop("maxTicks", max as f64)
                        .to_raw(env)
                        .unwrap_or(ptr::null_mut()))
                    }
                };
                finish(inner, v);
                return;
            }
        }
    }
}

/// The batch runner, the callback table and the receiver, when `task` goes through the runner.
fn batch_entry(st: &State, env: sys::napi_env, task: &Macrotask<Held>) -> Option<[sys::napi_value; 3]> {
    if !st.batchable(task) {
        return None;
    }
    let h = st.hooks.as_ref()?;
    let table = h.table.get(env)?;
    let arr = st.stash.array(env).ok()?;
    Some([Stash::get_at(env, arr, h.runner).ok()?, table, Stash::get_at(env, arr, st.receiver).ok()?])
}

/// Runs one macrotask of the active run. A timer or an immediate goes to the batch runner,
/// which keeps taking macrotasks through `step()` while they are timers and immediates (one
/// only for `runOnce`). False when the run ended.
fn run_task(inner: &Rc<LoopInner>, task: Macrotask<Held>) -> bool {
    let env = inner.env;
    let (batch, ctx, once) = {
        let st = inner.state.borrow();
        let Some(run) = st.run.as_ref() else { return false };
        (batch_entry(&st, env, &task), run.ctx, run.policy.kind == RunKind::Once)
    };
    let described = if once { describe_task(inner, &task).ok() } else { None };
    let result = match batch {
        Some([runner, table, recv]) => {
            {
                let mut st = inner.state.borrow_mut();
                st.pending = Some(Step::Task(task));
                st.batching = true;
                st.stepped = false;
            }
            let r = glue::make_callback(env, ctx, recv, runner, &[table]);
            let stepped = {
                let mut st = inner.state.borrow_mut();
                st.batching = false;
                st.stepped
            };
            match r {
                Ok(()) if !stepped => Err(Coded::new(
                    Code::LoopHooks,
                    "the loop's batch runner returned without calling step(); the macrotask stays queued",
                )
                .to_raw(env)
                .unwrap_or(ptr::null_mut())),
                r => r,
            }
        }
        None => {
            let r = dispatch(inner, task);
            inner.state.borrow_mut().ran();
            r
        }
    };
    match result {
        Err(exc) => {
            finish(inner, Err(exc));
            false
        }
        Ok(()) if once => {
            finish(inner, Ok(described.unwrap_or(ptr::null_mut())));
            false
        }
        Ok(()) => true,
    }
}

/// Ends the active run and settles its promise (`Ok` resolves, `Err` rejects).
pub(super) fn finish(inner: &Rc<LoopInner>, outcome: std::result::Result<sys::napi_value, sys::napi_value>) {
    let env = inner.env;
    let Some(run) = ({
        let mut st = inner.state.borrow_mut();
        // A task the runner handed back stays first in line for the next run; a finish or a
        // sleep belonged to this one.
        if !matches!(st.pending, Some(Step::Task(_))) {
            st.pending = None;
        }
        let run = st.run.take();
        if let (Some(h), Some(_)) = (st.hooks.as_ref(), run.as_ref()) {
            h.table.weaken(env);
        }
        run
    }) else {
        return;
    };
    if let Some(t) = run.timer {
        t.close();
    }
    let (value, ok) = match outcome {
        Ok(v) => (v, true),
        Err(e) => (e, false),
    };
    let value = if value.is_null() { glue::undefined(env) } else { value };
    glue::settle_in_scope(env, run.ctx, run.deferred, value, ok);
    glue::destroy_ctx(env, run.ctx);
}
