//! `EventLoop` (API.md §2): JS callbacks held and run inside the addon, in seq order.
//!
//! # How and why
//! A JS program cannot drain microtasks between two callbacks it calls itself: V8 runs them only
//! when the outermost callback returns to the embedder. So a run method (`runAll`, `advance`, …)
//! does not loop in JS. It creates a promise, arms a libuv timer and returns; libuv then calls the
//! driver with no JS on the stack, and the driver enters each macrotask with `napi_make_callback`.
//! When that returns, Node closes the callback scope exactly as it does after one of its own
//! timers: `process.nextTick` callbacks first, then promise reactions and `queueMicrotask` jobs,
//! until both queues are empty (I2). Only then does the driver pick the next macrotask (I1).
//!
//! Each callback keeps the async context (`napi_async_init`) of the call that scheduled it, so
//! AsyncLocalStorage stores flow into timers, immediates, stream listeners and hostcall
//! continuations as they do for Node's own timers.
//!
//! # Invariants
//! - E1: no `RefCell` borrow of the loop state is held while JS runs (JS may call back in).
//! - E2: at most one run is active; a second run method call rejects with `ERR_LOOP_REENTRANT`.
//! - E3: a run's libuv timer holds one strong `Rc` of the loop (taken at start, given back at
//!   finish), so a loop whose JS object is collected mid-run finishes that run first.
//! - E4: a macrotask that throws is fully consumed (its timer re-armed if it is an interval);
//!   the run rejects with the thrown value and the next run continues with the next macrotask.
//! - E5: after the env starts tearing down (cleanup hook), no napi call is made from Drop.

use std::cell::RefCell;
use std::ffi::c_void;
use std::ptr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use napi::bindgen_prelude::*;
use napi::{sys, ValueType};
use napi_derive::napi;
use rustc_hash::FxHashMap;

use super::args::{self, MAX_SAFE_INTEGER};
use super::convert::outcome_from_js;
use super::error::{check, Coded, CodedResult, ThrowExt};
use super::fast;
use super::replay::{not_recording, trace_to_js, TraceObject};
use super::uv::UvTimer;
use crate::sched::{self, Clock, HostcallOutcome, Macrotask, MacrotaskKind, Scheduler, TimerId};

/// A JS value kept alive by the loop: an index into the stash array.
type Slot = u32;

/// A payload or hostcall value as the core scheduler holds it: the JS value itself (by stash
/// slot, so callbacks get the very object passed in) and, when recording, its JSON snapshot
/// taken at enqueue time (what the trace and the digest see).
#[derive(Debug, Clone)]
struct Held {
    slot: Slot,
    json: Option<serde_json::Value>,
}

impl sched::TracePayload for Held {
    fn trace_json(&self) -> std::borrow::Cow<'_, serde_json::Value> {
        match &self.json {
            Some(v) => std::borrow::Cow::Borrowed(v),
            None => std::borrow::Cow::Owned(serde_json::Value::Null),
        }
    }
}

/// How long the driver runs macrotasks before yielding to libuv (keeps the process responsive).
const SLICE: Duration = Duration::from_millis(8);
const DEFAULT_MAX_TICKS: u64 = 100_000;

/// Loops whose native state is alive (diagnostics: `NativeEventLoop.liveCount()`).
static LIVE_LOOPS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

use super::fast::env_closing;

/// JS values held by the loop, stored in one JS array so primitives can be kept too
/// (`napi_create_reference` only takes objects on older Node-API versions).
struct Stash {
    array: sys::napi_ref,
    free: Vec<Slot>,
    len: Slot,
}

impl Stash {
    fn new(env: sys::napi_env) -> Result<Self> {
        let mut arr = ptr::null_mut();
        let mut r = ptr::null_mut();
        // SAFETY: env is live; out-pointers are valid locals.
        unsafe {
            check(sys::napi_create_array(env, &mut arr))?;
            check(sys::napi_create_reference(env, arr, 1, &mut r))?;
        }
        Ok(Self { array: r, free: Vec::new(), len: 0 })
    }

    fn array(&self, env: sys::napi_env) -> Result<sys::napi_value> {
        let mut arr = ptr::null_mut();
        // SAFETY: the reference is strong and owned by this stash until `release`.
        check(unsafe { sys::napi_get_reference_value(env, self.array, &mut arr) })?;
        Ok(arr)
    }

    fn put(&mut self, env: sys::napi_env, value: sys::napi_value) -> Result<Slot> {
        let slot = match self.free.pop() {
            Some(s) => s,
            None => {
                self.len += 1;
                self.len - 1
            }
        };
        let arr = self.array(env)?;
        // SAFETY: arr is a live JS array; value belongs to the current handle scope.
        check(unsafe { sys::napi_set_element(env, arr, slot, value) })?;
        Ok(slot)
    }

    fn get(&self, env: sys::napi_env, slot: Slot) -> Result<sys::napi_value> {
        let arr = self.array(env)?;
        Self::get_at(env, arr, slot)
    }

    /// `get` with the array already fetched (one reference lookup for several slots).
    fn get_at(env: sys::napi_env, arr: sys::napi_value, slot: Slot) -> Result<sys::napi_value> {
        let mut v = ptr::null_mut();
        // SAFETY: arr is a live JS array; reading any index is defined.
        check(unsafe { sys::napi_get_element(env, arr, slot, &mut v) })?;
        Ok(v)
    }

    /// Reads the value and frees the slot.
    fn take(&mut self, env: sys::napi_env, slot: Slot) -> Result<sys::napi_value> {
        let v = self.get(env, slot)?;
        self.clear(env, slot);
        Ok(v)
    }

    /// `clear` with the array already fetched.
    fn clear_at(&mut self, env: sys::napi_env, arr: sys::napi_value, slot: Slot) {
        let mut undef = ptr::null_mut();
        // SAFETY: env is live; arr is the stash array; writing undefined releases the value.
        unsafe {
            sys::napi_get_undefined(env, &mut undef);
            sys::napi_set_element(env, arr, slot, undef);
        }
        self.free.push(slot);
    }

    fn clear(&mut self, env: sys::napi_env, slot: Slot) {
        let mut undef = ptr::null_mut();
        // SAFETY: env is live; writing undefined releases the JS value for GC.
        unsafe {
            sys::napi_get_undefined(env, &mut undef);
            if let Ok(arr) = self.array(env) {
                sys::napi_set_element(env, arr, slot, undef);
            }
        }
        self.free.push(slot);
    }

    fn release(&mut self, env: sys::napi_env) {
        if !self.array.is_null() {
            // SAFETY: the reference was created by `new` and is deleted once (nulled after).
            unsafe { sys::napi_delete_reference(env, self.array) };
            self.array = ptr::null_mut();
        }
    }
}

/// A scheduled callback: the function, its extra arguments and the async context it was
/// scheduled in.
struct Callback {
    func: Slot,
    args: Option<Slot>,
    ctx: sys::napi_async_context,
    /// `Some(interval)` for `setInterval`.
    repeat: Option<u64>,
}

struct Pending {
    deferred: sys::napi_deferred,
    ctx: sys::napi_async_context,
}

struct Listener {
    func: Slot,
    ctx: sys::napi_async_context,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RunKind {
    Once,
    UntilIdle,
    Advance { target: u64 },
    All,
    Wall,
}

struct Run {
    kind: RunKind,
    deferred: sys::napi_deferred,
    ctx: sys::napi_async_context,
    count: u64,
    max_ticks: u64,
    timer: Option<UvTimer>,
    /// The `Rc` given to libuv (E3), reclaimed at finish.
    rc: *const LoopInner,
    sleeping: bool,
}

/// What the driver does next.
enum Step {
    Task(Macrotask<Held>),
    Finish(Settle),
    Sleep { ms: u64, keep_alive: bool },
}

/// How a run's promise settles.
enum Settle {
    Count,
    Null,
    Limit,
}

struct State {
    core: Scheduler<Held>,
    /// The virtual clock (None for a wall-clock loop).
    clock: Option<sched::DeterministicClock>,
    stash: Stash,
    receiver: Slot,
    timers: FxHashMap<u64, Callback>,
    immediates: FxHashMap<u64, Callback>,
    next_immediate: u64,
    hostcalls: FxHashMap<String, Pending>,
    streams: FxHashMap<String, Listener>,
    listeners: Vec<Listener>,
    run: Option<Run>,
    /// Give each timer/immediate the async context it was scheduled in (AsyncLocalStorage).
    async_contexts: bool,
}

impl State {
    fn now(&self) -> u64 {
        self.core.now_ms()
    }

    fn set_time(&mut self, t: u64) {
        if let Some(c) = &self.clock {
            if t > c.now_ms() {
                c.set(t);
            }
        }
    }

    /// Decides the next step of the active run (the run must exist).
    fn next_step(&mut self) -> Step {
        let Some(run) = self.run.as_ref() else { return Step::Finish(Settle::Count) };
        let (kind, count, max) = (run.kind, run.count, run.max_ticks);
        loop {
            self.core.promote_due_timers();
            if self.core.macrotask_count() > 0 {
                if kind != RunKind::Once && count >= max {
                    return Step::Finish(Settle::Limit);
                }
                return match self.core.tick() {
                    Some(t) => Step::Task(t),
                    None => Step::Finish(Settle::Count),
                };
            }
            match kind {
                RunKind::Once => return Step::Finish(Settle::Null),
                RunKind::UntilIdle => return Step::Finish(Settle::Count),
                RunKind::Advance { target } => match self.core.next_timer_deadline() {
                    Some(d) if d <= target && d > self.now() => self.set_time(d),
                    _ => {
                        if self.now() < target {
                            self.set_time(target);
                            continue;
                        }
                        return Step::Finish(Settle::Count);
                    }
                },
                RunKind::All => match self.core.next_timer_deadline() {
                    Some(d) => self.set_time(d),
                    None => return Step::Finish(Settle::Count),
                },
                RunKind::Wall => {
                    return match self.core.time_until_next_timer() {
                        Some(ms) => Step::Sleep { ms: ms.max(1), keep_alive: true },
                        None if !self.hostcalls.is_empty() || !self.streams.is_empty() => {
                            Step::Sleep { ms: 0, keep_alive: false }
                        }
                        None => Step::Finish(Settle::Count),
                    }
                }
            }
        }
    }

    fn has_outstanding(&self) -> bool {
        self.core.has_pending()
    }
}

/// The loop's shared state; `Rc` because libuv callbacks need it too (E3).
pub(crate) struct LoopInner {
    env: sys::napi_env,
    state: RefCell<State>,
}

impl Drop for LoopInner {
    fn drop(&mut self) {
        // Relaxed: a statistics counter; no data is published through it.
        LIVE_LOOPS.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
        if env_closing() {
            return; // E5: the env frees its own handles at teardown.
        }
        let env = self.env;
        let st = self.state.get_mut();
        let ctxs = st
            .timers
            .drain()
            .chain(st.immediates.drain())
            .map(|(_, c)| c.ctx)
            .chain(st.streams.drain().map(|(_, l)| l.ctx))
            .chain(st.listeners.drain(..).map(|l| l.ctx))
            .chain(st.hostcalls.drain().map(|(_, p)| p.ctx))
            .collect::<Vec<_>>();
        for ctx in ctxs {
            // SAFETY: each context was created by napi_async_init on this env and is destroyed
            // once, here, because the maps were drained.
            unsafe { sys::napi_async_destroy(env, ctx) };
        }
        st.stash.release(env);
    }
}

fn async_ctx(env: sys::napi_env, name: &str) -> Result<sys::napi_async_context> {
    let mut n = ptr::null_mut();
    let mut ctx = ptr::null_mut();
    // SAFETY: env is live; a null resource makes Node create the resource object; the name is a
    // fresh string; out-pointers are valid locals.
    unsafe {
        check(sys::napi_create_string_utf8(env, name.as_ptr().cast(), name.len() as isize, &mut n))?;
        check(sys::napi_async_init(env, ptr::null_mut(), n, &mut ctx))?;
    }
    Ok(ctx)
}

fn destroy_ctx(env: sys::napi_env, ctx: sys::napi_async_context) {
    if !env_closing() && !ctx.is_null() {
        // SAFETY: ctx came from napi_async_init on this env; callers destroy each context once.
        unsafe { sys::napi_async_destroy(env, ctx) };
    }
}

/// Takes and clears any pending JS exception.
fn take_exception(env: sys::napi_env) -> sys::napi_value {
    let mut e = ptr::null_mut();
    // SAFETY: env is live; if nothing is pending, e stays null... or is set to undefined.
    unsafe { sys::napi_get_and_clear_last_exception(env, &mut e) };
    e
}

fn new_object(env: sys::napi_env) -> Result<sys::napi_value> {
    let mut o = ptr::null_mut();
    // SAFETY: env is live; out-pointer is a valid local.
    check(unsafe { sys::napi_create_object(env, &mut o) })?;
    Ok(o)
}

fn set_prop(
    env: sys::napi_env,
    obj: sys::napi_value,
    key: &std::ffi::CStr,
    v: sys::napi_value,
) -> Result<()> {
    // SAFETY: obj is an object of this env; key is NUL-terminated.
    check(unsafe { sys::napi_set_named_property(env, obj, key.as_ptr(), v) })
}

fn js_f64(env: sys::napi_env, n: f64) -> Result<sys::napi_value> {
    let mut v = ptr::null_mut();
    // SAFETY: env is live.
    check(unsafe { sys::napi_create_double(env, n, &mut v) })?;
    Ok(v)
}

fn js_str(env: sys::napi_env, s: &str) -> Result<sys::napi_value> {
    let mut v = ptr::null_mut();
    // SAFETY: env is live; the pointer/length pair comes from a &str.
    check(unsafe { sys::napi_create_string_utf8(env, s.as_ptr().cast(), s.len() as isize, &mut v) })?;
    Ok(v)
}

fn js_bool(env: sys::napi_env, b: bool) -> Result<sys::napi_value> {
    let mut v = ptr::null_mut();
    // SAFETY: env is live.
    check(unsafe { sys::napi_get_boolean(env, b, &mut v) })?;
    Ok(v)
}

/// Calls `func(args)` as a top-level callback in `ctx` (drains microtasks after it, I2).
fn make_callback(
    env: sys::napi_env,
    ctx: sys::napi_async_context,
    recv: sys::napi_value,
    func: sys::napi_value,
    argv: &[sys::napi_value],
) -> std::result::Result<(), sys::napi_value> {
    let mut result = ptr::null_mut();
    // SAFETY: all values belong to the current handle scope of this env; ctx is a live async
    // context; argv points to argv.len() values.
    let status =
        unsafe { sys::napi_make_callback(env, ctx, recv, func, argv.len(), argv.as_ptr(), &mut result) };
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(take_exception(env))
    }
}

/// Settles `deferred` inside a callback scope of `ctx`, so promise reactions (and `await`
/// continuations) run before the scope closes (I2).
fn settle_in_scope(
    env: sys::napi_env,
    ctx: sys::napi_async_context,
    deferred: sys::napi_deferred,
    value: sys::napi_value,
    resolve: bool,
) {
    let mut scope = ptr::null_mut();
    // SAFETY: env is live and no JS is on the stack (we are in a libuv callback); the resource
    // object is fresh; deferred is settled exactly once (callers remove it from their maps).
    unsafe {
        let resource = new_object(env).unwrap_or(ptr::null_mut());
        let opened = !resource.is_null()
            && sys::napi_open_callback_scope(env, resource, ctx, &mut scope) == sys::Status::napi_ok;
        if resolve {
            sys::napi_resolve_deferred(env, deferred, value);
        } else {
            sys::napi_reject_deferred(env, deferred, value);
        }
        if opened {
            sys::napi_close_callback_scope(env, scope);
        }
    }
}

unsafe extern "C" fn on_uv_timer(handle: *mut c_void) {
    // SAFETY: the handle is live (libuv is calling it); its data is the `Rc` pointer stored at
    // run start (E3), still owned by the run, so bumping the count and re-owning one is sound.
    let inner = unsafe {
        let p = UvTimer::data_of(handle) as *const LoopInner;
        Rc::increment_strong_count(p);
        Rc::from_raw(p)
    };
    if env_closing() {
        return;
    }
    let env = inner.env;
    let mut scope = ptr::null_mut();
    // SAFETY: called by libuv on the JS thread with no JS on the stack; the scope is closed below.
    if unsafe { sys::napi_open_handle_scope(env, &mut scope) } != sys::Status::napi_ok {
        return;
    }
    drive(&inner);
    // SAFETY: closes the scope opened above.
    unsafe { sys::napi_close_handle_scope(env, scope) };
}

/// Runs macrotasks of the active run until it finishes, sleeps or uses up its time slice.
fn drive(inner: &Rc<LoopInner>) {
    let env = inner.env;
    let started = Instant::now();
    let mut ran = 0u32;
    loop {
        let step = {
            let mut st = inner.state.borrow_mut();
            match st.run.as_mut() {
                Some(r) => r.sleeping = false,
                None => return,
            }
            st.next_step()
        };
        match step {
            Step::Task(task) => {
                let once = inner.state.borrow().run.as_ref().is_some_and(|r| r.kind == RunKind::Once);
                let mut scope = ptr::null_mut();
                // SAFETY: a nested handle scope for this macrotask's values, closed below.
                unsafe { sys::napi_open_handle_scope(env, &mut scope) };
                let described = if once { describe_task(inner, &task).ok() } else { None };
                let result = dispatch(inner, task);
                if let Some(run) = inner.state.borrow_mut().run.as_mut() {
                    run.count += 1;
                }
                match result {
                    Err(exc) => {
                        finish(inner, Err(exc));
                        // SAFETY: closes the scope opened above (the settle already happened).
                        unsafe { sys::napi_close_handle_scope(env, scope) };
                        return;
                    }
                    Ok(()) if once => {
                        let v = described.unwrap_or(ptr::null_mut());
                        finish(inner, Ok(v));
                        // SAFETY: closes the scope opened above.
                        unsafe { sys::napi_close_handle_scope(env, scope) };
                        return;
                    }
                    Ok(()) => {}
                }
                // SAFETY: closes the scope opened above.
                unsafe { sys::napi_close_handle_scope(env, scope) };
                ran += 1;
                // Reading the clock costs ~20 ns: check the time slice every 64 macrotasks.
                if ran % 64 == 0 && started.elapsed() > SLICE {
                    rearm(inner, 0, true);
                    return;
                }
            }
            Step::Sleep { ms, keep_alive } => {
                if let Some(run) = inner.state.borrow_mut().run.as_mut() {
                    run.sleeping = true;
                }
                if keep_alive || ms > 0 {
                    rearm(inner, ms, keep_alive);
                } else {
                    // Waiting only for hostcall completions: don't hold the process open.
                    if let Some(t) = inner.state.borrow().run.as_ref().and_then(|r| r.timer.as_ref()) {
                        t.set_ref(false);
                    }
                }
                return;
            }
            Step::Finish(settle) => {
                let v = match settle {
                    Settle::Count => {
                        let n = inner.state.borrow().run.as_ref().map_or(0, |r| r.count);
                        js_f64(env, n as f64).map_err(|_| ptr::null_mut())
                    }
                    Settle::Null => {
                        let mut n = ptr::null_mut();
                        // SAFETY: env is live.
                        unsafe { sys::napi_get_null(env, &mut n) };
                        Ok(n)
                    }
                    Settle::Limit => {
                        let max = inner.state.borrow().run.as_ref().map_or(0, |r| r.max_ticks);
                        Err(Coded::error(
                            "ERR_LOOP_LIMIT",
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

fn rearm(inner: &Rc<LoopInner>, ms: u64, keep_alive: bool) {
    let st = inner.state.borrow();
    if let Some(t) = st.run.as_ref().and_then(|r| r.timer.as_ref()) {
        t.set_ref(keep_alive);
        t.start(on_uv_timer, ms);
    }
}

/// Ends the active run and settles its promise (`Ok` resolves, `Err` rejects).
fn finish(inner: &Rc<LoopInner>, outcome: std::result::Result<sys::napi_value, sys::napi_value>) {
    let env = inner.env;
    let Some(run) = inner.state.borrow_mut().run.take() else { return };
    if let Some(t) = run.timer {
        t.close();
    }
    let (value, ok) = match outcome {
        Ok(v) => (v, true),
        Err(e) => (e, false),
    };
    let value = if value.is_null() {
        let mut u = ptr::null_mut();
        // SAFETY: env is live.
        unsafe { sys::napi_get_undefined(env, &mut u) };
        u
    } else {
        value
    };
    settle_in_scope(env, run.ctx, run.deferred, value, ok);
    destroy_ctx(env, run.ctx);
    if !run.rc.is_null() {
        // SAFETY: (E3) gives back the strong count taken with Rc::into_raw at run start.
        unsafe { drop(Rc::from_raw(run.rc)) };
    }
}

fn error_value(env: sys::napi_env, code: &str, message: &str) -> sys::napi_value {
    let mut err = ptr::null_mut();
    if let (Ok(c), Ok(m)) = (js_str(env, code), js_str(env, message)) {
        // SAFETY: env is live; c and m are strings of this env.
        unsafe { sys::napi_create_error(env, c, m, &mut err) };
    }
    err
}

/// Runs one macrotask's JS. `Err` carries the thrown value (E4).
fn dispatch(inner: &Rc<LoopInner>, task: Macrotask<Held>) -> std::result::Result<(), sys::napi_value> {
    let env = inner.env;
    let fail = |_: Error| ptr::null_mut();
    match task.kind {
        MacrotaskKind::TimerFired { timer_id, deadline_ms } => {
            let id = timer_id.0;
            // Take what the call needs, then release the borrow before JS runs (E1).
            let (func, args, ctx, recv, repeat) = {
                let mut st = inner.state.borrow_mut();
                let st = &mut *st;
                let Some(cb) = st.timers.get(&id) else { return Ok(()) };
                let (fslot, aslot, ctx, repeat) = (cb.func, cb.args, cb.ctx, cb.repeat);
                // One lookup of the stash array for every slot this timer touches.
                let arr = st.stash.array(env).map_err(fail)?;
                let func = Stash::get_at(env, arr, fslot).map_err(fail)?;
                let args = match aslot {
                    Some(a) => Some(Stash::get_at(env, arr, a).map_err(fail)?),
                    None => None,
                };
                let recv = Stash::get_at(env, arr, st.receiver).map_err(fail)?;
                if repeat.is_none() {
                    st.timers.remove(&id);
                    st.stash.clear_at(env, arr, fslot);
                    if let Some(a) = aslot {
                        st.stash.clear_at(env, arr, a);
                    }
                }
                (func, args, ctx, recv, repeat)
            };
            let argv = array_items(env, args);
            let result = make_callback(env, ctx, recv, func, &argv);
            let mut st = inner.state.borrow_mut();
            match repeat {
                Some(interval) => {
                    // Re-arm from its own deadline unless the callback cleared it (E4: even if it
                    // threw). A wall clock that fell behind skips missed beats instead of bursting.
                    if st.timers.contains_key(&id) {
                        let mut next = deadline_ms.saturating_add(interval);
                        let now = st.now();
                        if st.clock.is_none() && next <= now {
                            next = now + interval - (now - deadline_ms) % interval;
                        }
                        if st.core.rearm_timer(timer_id, next).is_err() {
                            drop_callback(&mut st, env, id);
                        }
                    }
                }
                None => destroy_ctx(env, ctx),
            }
            result
        }
        MacrotaskKind::Immediate { id } => {
            let (func, args, ctx, recv) = {
                let mut st = inner.state.borrow_mut();
                let Some(cb) = st.immediates.remove(&id) else { return Ok(()) };
                let func = st.stash.take(env, cb.func).map_err(fail)?;
                let args = match cb.args {
                    Some(a) => Some(st.stash.take(env, a).map_err(fail)?),
                    None => None,
                };
                let recv = st.stash.get(env, st.receiver).map_err(fail)?;
                (func, args, cb.ctx, recv)
            };
            let argv = array_items(env, args);
            let result = make_callback(env, ctx, recv, func, &argv);
            destroy_ctx(env, ctx);
            result
        }
        MacrotaskKind::HostcallComplete(c) => {
            let call_id = c.call_id;
            match c.outcome {
                HostcallOutcome::StreamChunk { sequence, chunk, is_final } => {
                    let (func, ctx, recv, chunk_v) = {
                        let mut st = inner.state.borrow_mut();
                        let chunk_v = st.stash.take(env, chunk.slot).map_err(fail)?;
                        let Some(l) = st.streams.get(&call_id) else { return Ok(()) };
                        let (fslot, ctx) = (l.func, l.ctx);
                        let func = st.stash.get(env, fslot).map_err(fail)?;
                        if is_final {
                            st.streams.remove(&call_id);
                            st.stash.clear(env, fslot);
                        }
                        let recv = st.stash.get(env, st.receiver).map_err(fail)?;
                        (func, ctx, recv, chunk_v)
                    };
                    let info = new_object(env).map_err(fail)?;
                    set_prop(env, info, c"sequence", js_f64(env, sequence as f64).map_err(fail)?)
                        .map_err(fail)?;
                    set_prop(env, info, c"isFinal", js_bool(env, is_final).map_err(fail)?).map_err(fail)?;
                    let result = make_callback(env, ctx, recv, func, &[chunk_v, info]);
                    if is_final {
                        destroy_ctx(env, ctx);
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
                        settle_in_scope(env, p.ctx, p.deferred, v, true);
                        destroy_ctx(env, p.ctx);
                    }
                    Ok(())
                }
                HostcallOutcome::Error { code, message } => {
                    let pending = inner.state.borrow_mut().hostcalls.remove(&call_id);
                    if let Some(p) = pending {
                        let err = error_value(env, &code, &message);
                        settle_in_scope(env, p.ctx, p.deferred, err, false);
                        destroy_ctx(env, p.ctx);
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
            let id = js_str(env, &e.event_id).map_err(fail)?;
            for (func, ctx) in listeners {
                make_callback(env, ctx, recv, func, &[id, payload])?;
            }
            Ok(())
        }
    }
}

fn array_items(env: sys::napi_env, arr: Option<sys::napi_value>) -> Vec<sys::napi_value> {
    let Some(arr) = arr else { return Vec::new() };
    let mut len = 0u32;
    // SAFETY: arr is a JS array stored by setTimeout & co (checked to be an array there).
    unsafe { sys::napi_get_array_length(env, arr, &mut len) };
    (0..len)
        .map(|i| {
            let mut v = ptr::null_mut();
            // SAFETY: index within the array's length.
            unsafe { sys::napi_get_element(env, arr, i, &mut v) };
            v
        })
        .collect()
}

fn drop_callback(st: &mut State, env: sys::napi_env, id: u64) -> bool {
    match st.timers.remove(&id) {
        Some(cb) => {
            st.stash.clear(env, cb.func);
            if let Some(a) = cb.args {
                st.stash.clear(env, a);
            }
            destroy_ctx(env, cb.ctx);
            true
        }
        None => false,
    }
}

/// The `Macrotask` object `runOnce` resolves with (built before the task runs).
fn describe_task(inner: &Rc<LoopInner>, task: &Macrotask<Held>) -> Result<sys::napi_value> {
    let env = inner.env;
    let st = inner.state.borrow();
    let o = new_object(env)?;
    set_prop(env, o, c"seq", js_f64(env, task.seq.0 as f64)?)?;
    set_prop(env, o, c"kind", js_str(env, task.kind.code())?)?;
    match &task.kind {
        MacrotaskKind::TimerFired { timer_id, .. } => {
            set_prop(env, o, c"timerId", js_f64(env, timer_id.0 as f64)?)?
        }
        MacrotaskKind::Immediate { id } => set_prop(env, o, c"immediateId", js_f64(env, *id as f64)?)?,
        MacrotaskKind::HostcallComplete(c) => {
            set_prop(env, o, c"callId", js_str(env, &c.call_id)?)?;
            let out = new_object(env)?;
            set_prop(env, out, c"type", js_str(env, c.outcome.type_code())?)?;
            match &c.outcome {
                HostcallOutcome::Success { value } => {
                    set_prop(env, out, c"value", st.stash.get(env, value.slot)?)?
                }
                HostcallOutcome::Error { code, message } => {
                    set_prop(env, out, c"code", js_str(env, code)?)?;
                    set_prop(env, out, c"message", js_str(env, message)?)?;
                }
                HostcallOutcome::StreamChunk { sequence, chunk, is_final } => {
                    set_prop(env, out, c"sequence", js_f64(env, *sequence as f64)?)?;
                    set_prop(env, out, c"chunk", st.stash.get(env, chunk.slot)?)?;
                    set_prop(env, out, c"isFinal", js_bool(env, *is_final)?)?;
                }
            }
            set_prop(env, o, c"outcome", out)?;
        }
        MacrotaskKind::InboundEvent(e) => {
            set_prop(env, o, c"eventId", js_str(env, &e.event_id)?)?;
            set_prop(env, o, c"payload", st.stash.get(env, e.payload.slot)?)?;
        }
    }
    Ok(o)
}

/// A deterministic event loop that holds JS callbacks and runs them itself, one macrotask per
/// tick (I1) with every microtask and `process.nextTick` drained after each (I2), in seq order
/// (I3, I5). Wrapped by the `EventLoop` class of the package entry point, which adds the
/// `...args` rest parameters.
#[napi(js_name = "NativeEventLoop")]
pub struct NativeEventLoop {
    inner: Rc<LoopInner>,
}

fn callback_arg(v: &Unknown<'_>, name: &str) -> CodedResult<()> {
    if args::ty(v) != ValueType::Function {
        return Err(Coded::arg_type(name, "of type function", args::describe(v)));
    }
    Ok(())
}

impl NativeEventLoop {
    fn promise(&self, env: &Env, kind: RunKind, max_ticks: u64) -> Result<sys::napi_value> {
        let raw = env.raw();
        let mut deferred = ptr::null_mut();
        let mut promise = ptr::null_mut();
        // SAFETY: env is the live env of this call.
        check(unsafe { sys::napi_create_promise(raw, &mut deferred, &mut promise) })?;
        let busy = self.inner.state.borrow().run.is_some();
        if busy {
            // E2.
            let err = Coded::error("ERR_LOOP_REENTRANT", "a run method is already in progress on this loop")
                .to_raw(raw)?;
            // SAFETY: settles the fresh deferred once.
            unsafe { sys::napi_reject_deferred(raw, deferred, err) };
            return Ok(promise);
        }
        let ctx = async_ctx(raw, "seqloop.EventLoopRun")?;
        let rc = Rc::into_raw(self.inner.clone());
        let Some(timer) = UvTimer::new(raw, rc as *mut c_void) else {
            // SAFETY: reclaims the count just leaked; libuv never saw the pointer.
            unsafe { drop(Rc::from_raw(rc)) };
            destroy_ctx(raw, ctx);
            let err =
                Coded::error("ERR_LOOP_UNAVAILABLE", "libuv is not available in this process").to_raw(raw)?;
            // SAFETY: settles the fresh deferred once.
            unsafe { sys::napi_reject_deferred(raw, deferred, err) };
            return Ok(promise);
        };
        timer.start(on_uv_timer, 0);
        self.inner.state.borrow_mut().run =
            Some(Run { kind, deferred, ctx, count: 0, max_ticks, timer: Some(timer), rc, sleeping: false });
        Ok(promise)
    }

    fn max_ticks(env: &Env, opts: Option<Unknown>) -> Result<u64> {
        let Some(o) = args::options(opts, "options").or_throw(env)? else { return Ok(DEFAULT_MAX_TICKS) };
        let v = args::prop(&o, "maxTicks").or_throw(env)?;
        if args::is_undefined(&v) {
            return Ok(DEFAULT_MAX_TICKS);
        }
        args::u53(&v, "options.maxTicks").or_throw(env)
    }

    fn require_virtual(&self, env: &Env, what: &str) -> Result<()> {
        if self.inner.state.borrow().clock.is_none() {
            return Err(Coded::error(
                "ERR_LOOP_CLOCK",
                format!("{what}() needs a virtual clock; use run() on a wall-clock loop"),
            )
            .throw(env));
        }
        Ok(())
    }
}

impl LoopInner {
    fn wake(&self) {
        let st = self.state.borrow();
        if let Some(run) = st.run.as_ref() {
            if run.sleeping {
                if let Some(t) = &run.timer {
                    t.set_ref(true);
                    t.start(on_uv_timer, 0);
                }
            }
        }
    }

    fn new_ctx(&self, name: &str) -> CodedResult<sys::napi_async_context> {
        if !self.state.try_borrow().map(|s| s.async_contexts).unwrap_or(true) {
            return Ok(ptr::null_mut());
        }
        async_ctx(self.env, name).map_err(|e| Coded::error("ERR_INTERNAL", e.reason.clone()))
    }

    fn state_mut(&self) -> CodedResult<std::cell::RefMut<'_, State>> {
        self.state.try_borrow_mut().map_err(|_| Coded::error("ERR_LOOP_REENTRANT", "the loop is busy"))
    }

    /// Stores a callback and its optional argument array in the stash.
    fn store(
        st: &mut State,
        env: sys::napi_env,
        func: sys::napi_value,
        extra: Option<sys::napi_value>,
    ) -> CodedResult<(Slot, Option<Slot>)> {
        let f = st.stash.put(env, func).map_err(|e| Coded::error("ERR_INTERNAL", e.reason.clone()))?;
        let a = match extra {
            Some(a) => {
                Some(st.stash.put(env, a).map_err(|e| Coded::error("ERR_INTERNAL", e.reason.clone()))?)
            }
            None => None,
        };
        Ok((f, a))
    }

    /// `setTimeout`/`setInterval` on raw values: `func`, `ms` (undefined → 0) and an optional
    /// array of extra arguments.
    fn schedule(
        &self,
        env: sys::napi_env,
        func: sys::napi_value,
        ms: sys::napi_value,
        extra: sys::napi_value,
        interval: bool,
    ) -> fast::Ret {
        check_callback(env, func)?;
        let mut delay = if fast::type_of(env, ms) == sys::ValueType::napi_undefined {
            0
        } else {
            fast::u53(env, ms, "ms")?
        };
        if interval {
            delay = delay.max(1);
        }
        let now = self.state.try_borrow().map(|s| s.core.peek_clock()).unwrap_or(0);
        if now.saturating_add(delay) as f64 > MAX_SAFE_INTEGER {
            return Err(Coded::out_of_range("ms", "a delay whose deadline stays <= 2^53 - 1", delay));
        }
        let extra = extra_args(env, extra)?;
        let ctx = self.new_ctx("seqloop.Timeout")?;
        let mut st = self.state_mut()?;
        let id = match st.core.set_timeout(delay) {
            Ok(id) => id,
            Err(e) => {
                drop(st);
                destroy_ctx(env, ctx);
                return Err(Coded::error("ERR_TIMER_IDS_EXHAUSTED", e.to_string()));
            }
        };
        let (func, args) = Self::store(&mut st, env, func, extra)?;
        st.timers.insert(id.0, Callback { func, args, ctx, repeat: interval.then_some(delay) });
        drop(st);
        self.wake();
        fast::to_number(env, id.0 as f64)
    }

    fn immediate(&self, env: sys::napi_env, func: sys::napi_value, extra: sys::napi_value) -> fast::Ret {
        check_callback(env, func)?;
        let extra = extra_args(env, extra)?;
        let ctx = self.new_ctx("seqloop.Immediate")?;
        let mut st = self.state_mut()?;
        let id = st.next_immediate;
        st.next_immediate += 1;
        let (func, args) = Self::store(&mut st, env, func, extra)?;
        st.immediates.insert(id, Callback { func, args, ctx, repeat: None });
        st.core.enqueue_immediate(id);
        drop(st);
        self.wake();
        fast::to_number(env, id as f64)
    }

    /// `clearTimeout`/`clearInterval`: `undefined`/`null` → false, like Node.
    fn clear_timer(&self, env: sys::napi_env, id: sys::napi_value) -> fast::Ret {
        if is_nullish(env, id) {
            return fast::to_bool(env, false);
        }
        let id = fast::u53(env, id, "id")?;
        let mut st = self.state_mut()?;
        let was_pending = st.core.clear_timeout(TimerId(id));
        let had_callback = drop_callback(&mut st, env, id);
        fast::to_bool(env, was_pending || had_callback)
    }

    fn clear_immediate(&self, env: sys::napi_env, id: sys::napi_value) -> fast::Ret {
        if is_nullish(env, id) {
            return fast::to_bool(env, false);
        }
        let id = fast::u53(env, id, "id")?;
        let mut st = self.state_mut()?;
        let Some(cb) = st.immediates.remove(&id) else { return fast::to_bool(env, false) };
        st.core.cancel_immediate(id);
        st.stash.clear(env, cb.func);
        if let Some(a) = cb.args {
            st.stash.clear(env, a);
        }
        destroy_ctx(env, cb.ctx);
        fast::to_bool(env, true)
    }
}

fn is_nullish(env: sys::napi_env, v: sys::napi_value) -> bool {
    matches!(fast::type_of(env, v), sys::ValueType::napi_undefined | sys::ValueType::napi_null)
}

fn check_callback(env: sys::napi_env, func: sys::napi_value) -> CodedResult<()> {
    if fast::type_of(env, func) == sys::ValueType::napi_function {
        Ok(())
    } else {
        Err(Coded::arg_type("callback", "of type function", fast::describe(env, func)))
    }
}

/// The optional array of extra callback arguments (`undefined` → none).
fn extra_args(env: sys::napi_env, v: sys::napi_value) -> CodedResult<Option<sys::napi_value>> {
    if fast::type_of(env, v) == sys::ValueType::napi_undefined {
        return Ok(None);
    }
    let mut is_arr = false;
    // SAFETY: v is a live value of this call.
    unsafe { sys::napi_is_array(env, v, &mut is_arr) };
    if is_arr {
        Ok(Some(v))
    } else {
        Err(Coded::arg_type("args", "an Array", fast::describe(env, v)))
    }
}

fast::raw_fn!(fast_set_timeout: LoopInner, 3, |inner, env, a| inner.schedule(env, a.argv[0], a.argv[1], a.argv[2], false));
fast::raw_fn!(fast_set_interval: LoopInner, 3, |inner, env, a| inner.schedule(env, a.argv[0], a.argv[1], a.argv[2], true));
fast::raw_fn!(fast_set_immediate: LoopInner, 2, |inner, env, a| inner.immediate(env, a.argv[0], a.argv[1]));
fast::raw_fn!(fast_clear_timer: LoopInner, 1, |inner, env, a| inner.clear_timer(env, a.argv[0]));
fast::raw_fn!(fast_clear_immediate: LoopInner, 1, |inner, env, a| inner.clear_immediate(env, a.argv[0]));

fn raw_result<'e>(env: &'e Env, r: fast::Ret) -> Result<Unknown<'e>> {
    match r {
        // SAFETY: v is a value of this env created during this call.
        Ok(v) => Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), v) }),
        Err(e) => Err(e.throw(env)),
    }
}

fn raw_or_undefined(env: &Env, v: &Option<Unknown<'_>>) -> sys::napi_value {
    match v {
        Some(v) => v.raw(),
        None => {
            let mut u = ptr::null_mut();
            // SAFETY: env is live.
            unsafe { sys::napi_get_undefined(env.raw(), &mut u) };
            u
        }
    }
}

#[napi]
impl NativeEventLoop {
    /// `new EventLoop({ clock: 'virtual' | 'wall', startMs, record })`.
    #[napi(
        constructor,
        ts_args_type = "options?: { clock?: 'virtual' | 'wall', startMs?: number, record?: boolean, asyncContext?: boolean }"
    )]
    pub fn new(env: Env, options: Option<Unknown>) -> Result<Self> {
        crate::obs::init_from_env();
        let raw = env.raw();
        fast::watch_env(raw);
        let opts = args::options(options, "options").or_throw(&env)?;
        let (mut wall, mut start, mut async_contexts, mut record) = (false, 0u64, true, false);
        if let Some(o) = &opts {
            let c = args::prop(o, "clock").or_throw(&env)?;
            if !args::is_undefined(&c) {
                match args::string(&c, "options.clock").or_throw(&env)?.as_str() {
                    "virtual" => {}
                    "wall" => wall = true,
                    other => {
                        return Err(Coded::arg_type(
                            "options.clock",
                            "'virtual' or 'wall'",
                            format!("'{other}'"),
                        )
                        .throw(&env))
                    }
                }
            }
            async_contexts =
                args::opt_bool(o, "asyncContext", "options.asyncContext", true).or_throw(&env)?;
            let s = args::prop(o, "startMs").or_throw(&env)?;
            if !args::is_undefined(&s) {
                start = args::u53(&s, "options.startMs").or_throw(&env)?;
            }
            record = args::opt_bool(o, "record", "options.record", false).or_throw(&env)?;
        }
        let (core, clock) = if wall {
            (Scheduler::new(sched::WallClock), None)
        } else {
            let c = sched::DeterministicClock::new(start);
            (Scheduler::new(c.clone()), Some(c))
        };
        let core = core.with_max_timer_id(MAX_SAFE_INTEGER as u64).with_recording(record);
        let mut stash = Stash::new(raw)?;
        let receiver = stash.put(raw, new_object(raw)?)?;
        let state = State {
            core,
            clock,
            stash,
            receiver,
            timers: FxHashMap::default(),
            immediates: FxHashMap::default(),
            next_immediate: 1,
            hostcalls: FxHashMap::default(),
            streams: FxHashMap::default(),
            listeners: Vec::new(),
            run: None,
            async_contexts,
        };
        // Relaxed: a statistics counter (see Drop).
        LIVE_LOOPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Self { inner: Rc::new(LoopInner { env: raw, state: RefCell::new(state) }) })
    }

    /// Diagnostics: how many loops' native state is alive in this process (loops not yet
    /// collected, plus collected ones still finishing a run). Used by the leak tests.
    #[napi]
    pub fn live_count() -> u32 {
        LIVE_LOOPS.load(std::sync::atomic::Ordering::Relaxed) as u32
    }

    /// The loop's time in milliseconds (virtual, or since the Unix epoch for a wall clock).
    #[napi]
    pub fn now(&self) -> f64 {
        self.inner.state.borrow().now() as f64
    }

    /// Pending timers and intervals (not cleared).
    #[napi(getter)]
    pub fn timer_count(&self) -> u32 {
        self.inner.state.borrow().core.timer_count() as u32
    }

    /// Queued macrotasks (immediates, completions, events, due timers already moved).
    #[napi(getter)]
    pub fn macrotask_count(&self) -> u32 {
        self.inner.state.borrow().core.macrotask_count() as u32
    }

    /// True when a macrotask is queued or a timer is pending.
    #[napi]
    pub fn has_pending(&self) -> bool {
        self.inner.state.borrow().has_outstanding()
    }

    /// Earliest pending timer deadline, or null.
    #[napi]
    pub fn next_timer_deadline(&self) -> Option<f64> {
        self.inner.state.borrow().core.next_timer_deadline().map(|d| d as f64)
    }

    /// Schedules `fn(...args)` after `ms` (default 0). Returns the timer id.
    #[napi(
        ts_args_type = "fn: (...args: any[]) => unknown, ms?: number, args?: unknown[]",
        ts_return_type = "number"
    )]
    pub fn set_timeout<'e>(
        &self,
        env: &'e Env,
        func: Unknown,
        ms: Option<Unknown>,
        args: Option<Unknown>,
    ) -> Result<Unknown<'e>> {
        let r = self.inner.schedule(
            env.raw(),
            func.raw(),
            raw_or_undefined(env, &ms),
            raw_or_undefined(env, &args),
            false,
        );
        raw_result(env, r)
    }

    /// Schedules `fn(...args)` every `ms` (at least 1), re-armed from its own deadline.
    #[napi(
        ts_args_type = "fn: (...args: any[]) => unknown, ms?: number, args?: unknown[]",
        ts_return_type = "number"
    )]
    pub fn set_interval<'e>(
        &self,
        env: &'e Env,
        func: Unknown,
        ms: Option<Unknown>,
        args: Option<Unknown>,
    ) -> Result<Unknown<'e>> {
        let r = self.inner.schedule(
            env.raw(),
            func.raw(),
            raw_or_undefined(env, &ms),
            raw_or_undefined(env, &args),
            true,
        );
        raw_result(env, r)
    }

    /// Enqueues `fn(...args)` as a macrotask at once (after what is already queued).
    #[napi(ts_args_type = "fn: (...args: any[]) => unknown, args?: unknown[]", ts_return_type = "number")]
    pub fn set_immediate<'e>(
        &self,
        env: &'e Env,
        func: Unknown,
        args: Option<Unknown>,
    ) -> Result<Unknown<'e>> {
        raw_result(env, self.inner.immediate(env.raw(), func.raw(), raw_or_undefined(env, &args)))
    }

    /// Cancels a timeout or interval. Returns true when it was pending. `undefined`/`null` are
    /// ignored (false), as Node's `clearTimeout` does.
    #[napi(ts_args_type = "id: number | undefined | null", ts_return_type = "boolean")]
    pub fn clear_timeout<'e>(&self, env: &'e Env, id: Option<Unknown>) -> Result<Unknown<'e>> {
        raw_result(env, self.inner.clear_timer(env.raw(), raw_or_undefined(env, &id)))
    }

    /// Same as `clearTimeout`.
    #[napi(ts_args_type = "id: number | undefined | null", ts_return_type = "boolean")]
    pub fn clear_interval<'e>(&self, env: &'e Env, id: Option<Unknown>) -> Result<Unknown<'e>> {
        raw_result(env, self.inner.clear_timer(env.raw(), raw_or_undefined(env, &id)))
    }

    /// Cancels an immediate that has not run. Returns true when it was queued.
    #[napi(ts_args_type = "id: number | undefined | null", ts_return_type = "boolean")]
    pub fn clear_immediate<'e>(&self, env: &'e Env, id: Option<Unknown>) -> Result<Unknown<'e>> {
        raw_result(env, self.inner.clear_immediate(env.raw(), raw_or_undefined(env, &id)))
    }

    /// The hot timer methods as plain functions bound to this loop, without napi-rs's per-call
    /// overhead: `{ setTimeout(fn, ms, args?), setInterval(fn, ms, args?), setImmediate(fn,
    /// args?), clearTimeout(id), clearImmediate(id) }`. Used by the package's `EventLoop` class.
    #[napi(
        ts_return_type = "{ setTimeout: Function, setInterval: Function, setImmediate: Function, clearTimeout: Function, clearImmediate: Function }"
    )]
    pub fn fast_paths<'e>(&self, env: &'e Env) -> Result<Object<'e>> {
        fast::bound_object(
            env,
            &self.inner,
            fast::bind,
            &[
                (c"setTimeout", fast_set_timeout),
                (c"setInterval", fast_set_interval),
                (c"setImmediate", fast_set_immediate),
                (c"clearTimeout", fast_clear_timer),
                (c"clearImmediate", fast_clear_immediate),
            ],
        )
    }

    /// Starts a hostcall: the promise settles when `completeHostcall(callId, …)`'s macrotask runs.
    #[napi(ts_args_type = "callId: string", ts_return_type = "Promise<unknown>")]
    pub fn hostcall<'e>(&self, env: &'e Env, call_id: Unknown) -> Result<Unknown<'e>> {
        let call_id = args::string(&call_id, "callId").or_throw(env)?;
        let raw = env.raw();
        if self.inner.state.borrow().hostcalls.contains_key(&call_id) {
            return Err(Coded::error(
                "ERR_HOSTCALL_PENDING",
                format!("hostcall '{call_id}' is already pending"),
            )
            .throw(env));
        }
        let mut deferred = ptr::null_mut();
        let mut promise = ptr::null_mut();
        // SAFETY: env is the live env of this call.
        check(unsafe { sys::napi_create_promise(raw, &mut deferred, &mut promise) })?;
        let ctx = async_ctx(raw, "seqloop.Hostcall")?;
        self.inner.state.borrow_mut().hostcalls.insert(call_id, Pending { deferred, ctx });
        // SAFETY: promise is a value of this env.
        Ok(unsafe { Unknown::from_raw_unchecked(raw, promise) })
    }

    /// Enqueues the completion of a hostcall or a chunk of a stream (I4: never runs JS now).
    /// Throws `ERR_UNKNOWN_HOSTCALL` when nothing waits for `callId` (no pending `hostcall()` for a
    /// success/error outcome, no open `onStream` listener for a chunk).
    #[napi(ts_args_type = "callId: string, outcome: HostcallOutcome")]
    pub fn complete_hostcall(&self, env: Env, call_id: Unknown, outcome: Unknown) -> Result<()> {
        let call_id = args::string(&call_id, "callId").or_throw(&env)?;
        let parsed = outcome_from_js(&env, &outcome, "outcome").or_throw(&env)?;
        let raw = env.raw();
        let mut st = self.inner.state.borrow_mut();
        let known = match &parsed {
            HostcallOutcome::StreamChunk { .. } => st.streams.contains_key(&call_id),
            _ => st.hostcalls.contains_key(&call_id),
        };
        if !known {
            return Err(Coded::error(
                "ERR_UNKNOWN_HOSTCALL",
                format!("nothing waits for hostcall '{call_id}' (call hostcall() or onStream() first)"),
            )
            .throw(&env));
        }
        // Keep the JS values themselves (identity preserved), not their JSON.
        let o = args::options(Some(outcome), "outcome")
            .or_throw(&env)?
            .ok_or_else(|| Error::from_status(Status::InvalidArg))?;
        let recording = st.core.is_recording();
        let outcome = match parsed {
            HostcallOutcome::Success { value } => {
                let v: Unknown = o.get_named_property("value")?;
                let slot = st.stash.put(raw, v.raw())?;
                HostcallOutcome::Success { value: Held { slot, json: recording.then_some(value) } }
            }
            HostcallOutcome::Error { code, message } => HostcallOutcome::Error { code, message },
            HostcallOutcome::StreamChunk { sequence, is_final, chunk } => {
                let v: Unknown = o.get_named_property("chunk")?;
                let slot = st.stash.put(raw, v.raw())?;
                HostcallOutcome::StreamChunk {
                    sequence,
                    chunk: Held { slot, json: recording.then_some(chunk) },
                    is_final,
                }
            }
        };
        st.core.enqueue_hostcall_complete(call_id, outcome);
        drop(st);
        self.inner.wake();
        Ok(())
    }

    /// Receives `stream_chunk` outcomes of `callId` in order: `fn(chunk, { sequence, isFinal })`.
    /// The listener is removed after the final chunk.
    #[napi(
        ts_args_type = "callId: string, fn: (chunk: unknown, info: { sequence: number, isFinal: boolean }) => unknown"
    )]
    pub fn on_stream(&self, env: Env, call_id: Unknown, func: Unknown) -> Result<()> {
        let call_id = args::string(&call_id, "callId").or_throw(&env)?;
        callback_arg(&func, "listener").or_throw(&env)?;
        let raw = env.raw();
        let ctx = async_ctx(raw, "seqloop.Stream")?;
        let mut st = self.inner.state.borrow_mut();
        let fslot = st.stash.put(raw, func.raw())?;
        if let Some(old) = st.streams.insert(call_id, Listener { func: fslot, ctx }) {
            st.stash.clear(raw, old.func);
            destroy_ctx(raw, old.ctx);
        }
        Ok(())
    }

    /// Adds an event listener `fn(eventId, payload)`; listeners run in registration order.
    #[napi(ts_args_type = "fn: (eventId: string, payload: unknown) => unknown")]
    pub fn on_event(&self, env: Env, func: Unknown) -> Result<()> {
        callback_arg(&func, "listener").or_throw(&env)?;
        let raw = env.raw();
        let ctx = async_ctx(raw, "seqloop.Event")?;
        let mut st = self.inner.state.borrow_mut();
        let fslot = st.stash.put(raw, func.raw())?;
        st.listeners.push(Listener { func: fslot, ctx });
        Ok(())
    }

    /// Enqueues an `inbound_event` macrotask (I4).
    #[napi(ts_args_type = "eventId: string, payload?: unknown")]
    pub fn dispatch_event(&self, env: Env, event_id: Unknown, payload: Option<Unknown>) -> Result<()> {
        let event_id = args::string(&event_id, "eventId").or_throw(&env)?;
        let raw = env.raw();
        // Recording snapshots the payload as JSON now (a later mutation must not change the
        // trace); without recording any JS value is passed through by reference.
        let json = match (&payload, self.inner.state.borrow().core.is_recording()) {
            (Some(p), true) => Some(args::json(&env, p, "payload").or_throw(&env)?),
            (None, true) => Some(serde_json::Value::Null),
            (_, false) => None,
        };
        let mut st = self.inner.state.borrow_mut();
        let value = match payload {
            Some(p) => p.raw(),
            None => {
                let mut u = ptr::null_mut();
                // SAFETY: env is live.
                unsafe { sys::napi_get_undefined(raw, &mut u) };
                u
            }
        };
        let slot = st.stash.put(raw, value)?;
        st.core.enqueue_event(event_id, Held { slot, json });
        drop(st);
        self.inner.wake();
        Ok(())
    }

    /// The recorded trace `{ version: 1, records }` (inputs, clock readings, dispatches).
    /// Throws `ERR_NOT_RECORDING` unless constructed with `record: true`.
    #[napi(ts_return_type = "Trace")]
    pub fn trace(&self, env: Env) -> Result<TraceObject> {
        match self.inner.state.borrow().core.trace() {
            Some(t) => Ok(trace_to_js(&t)),
            None => Err(not_recording("EventLoop").throw(&env)),
        }
    }

    /// The recorded trace as JSONL (header line, one record per line, end line).
    /// Throws `ERR_NOT_RECORDING` unless recording.
    #[napi]
    pub fn trace_jsonl(&self, env: Env) -> Result<String> {
        match self.inner.state.borrow().core.trace() {
            Some(t) => Ok(t.to_jsonl()),
            None => Err(not_recording("EventLoop").throw(&env)),
        }
    }

    /// 16 lowercase hex digits: a stable hash of the dispatched sequence so far.
    /// Throws `ERR_NOT_RECORDING` unless recording.
    #[napi]
    pub fn digest(&self, env: Env) -> Result<String> {
        match self.inner.state.borrow().core.digest() {
            Some(d) => Ok(d.to_string()),
            None => Err(not_recording("EventLoop").throw(&env)),
        }
    }

    /// Runs one tick; resolves with the macrotask that ran, or null.
    #[napi(ts_return_type = "Promise<Macrotask | null>")]
    pub fn run_once<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        let p = self.promise(env, RunKind::Once, 1)?;
        // SAFETY: p is a promise of this env.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), p) })
    }

    /// Ticks until nothing is due (time does not move). Resolves with the number run.
    #[napi(ts_args_type = "options?: { maxTicks?: number }", ts_return_type = "Promise<number>")]
    pub fn run_until_idle<'e>(&self, env: &'e Env, options: Option<Unknown>) -> Result<Unknown<'e>> {
        let max = Self::max_ticks(env, options)?;
        let p = self.promise(env, RunKind::UntilIdle, max)?;
        // SAFETY: p is a promise of this env.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), p) })
    }

    /// Virtual clock: moves time forward by `ms`, running due work in order at each deadline.
    /// Resolves with the number of macrotasks run.
    #[napi(ts_args_type = "ms: number, options?: { maxTicks?: number }", ts_return_type = "Promise<number>")]
    pub fn advance<'e>(&self, env: &'e Env, ms: Unknown, options: Option<Unknown>) -> Result<Unknown<'e>> {
        let ms = args::u53(&ms, "ms").or_throw(env)?;
        self.require_virtual(env, "advance")?;
        let max = Self::max_ticks(env, options)?;
        let target = self.inner.state.borrow().now().saturating_add(ms);
        if target as f64 > MAX_SAFE_INTEGER {
            return Err(Coded::out_of_range("ms", "a value that keeps the clock <= 2^53 - 1", ms).throw(env));
        }
        let p = self.promise(env, RunKind::Advance { target }, max)?;
        // SAFETY: p is a promise of this env.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), p) })
    }

    /// Virtual clock: jumps from deadline to deadline until no work is left. Rejects with
    /// `ERR_LOOP_LIMIT` past `maxTicks` (default 100000) with the remaining work still queued.
    #[napi(ts_args_type = "options?: { maxTicks?: number }", ts_return_type = "Promise<number>")]
    pub fn run_all<'e>(&self, env: &'e Env, options: Option<Unknown>) -> Result<Unknown<'e>> {
        self.require_virtual(env, "runAll")?;
        let max = Self::max_ticks(env, options)?;
        let p = self.promise(env, RunKind::All, max)?;
        // SAFETY: p is a promise of this env.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), p) })
    }

    /// Wall clock: runs in real time until no work is left (timers, queued macrotasks, pending
    /// hostcalls and open streams). Sleeps on a libuv timer between deadlines; while it waits only
    /// for hostcall completions it does not keep the process alive.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn run<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        if self.inner.state.borrow().clock.is_some() {
            return Err(Coded::error(
                "ERR_LOOP_CLOCK",
                "run() needs a wall clock; use runAll() or advance() on a virtual loop",
            )
            .throw(env));
        }
        let p = self.promise(env, RunKind::Wall, u64::MAX)?;
        // SAFETY: p is a promise of this env.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), p) })
    }
}
