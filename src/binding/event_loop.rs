//! `EventLoop` (API.md §2): JS callbacks held and run inside the addon, in seq order.
//!
//! # How and why
//! A JS program cannot drain microtasks between two callbacks it calls itself with a plain loop:
//! V8 runs them only when asked. So a run method (`runAll`, `advance`, …) does not loop in the
//! caller's JS. It creates a promise, arms a libuv timer and returns; libuv then calls the
//! driver with no JS on the stack.
//!
//! Timer and immediate callbacks are held by the entry point's JS table (`lib/event-loop.js`), not
//! here: the native side orders them (the core scheduler) and the table calls them. When one is
//! due, the driver enters the JS batch runner with `napi_make_callback`; the runner takes due
//! macrotasks one at a time through `step()` and, after each callback, calls Node's own
//! `process._tickCallback()` (`runNextTicks`): `process.nextTick` callbacks first, then promise
//! reactions and `queueMicrotask` jobs, until both queues are empty (I2) — exactly what Node's
//! timer list does between two of its timers. Only then does `step()` pick the next macrotask
//! (I1). A hostcall completion, stream chunk or event makes `step()` hand back to the driver,
//! which enters its callback with `napi_make_callback`, so Node drains the queues when it
//! returns.
//!
//! Each timer and immediate carries an `AsyncResource` made where it was scheduled (as Node's
//! `Timeout` and `Immediate` are async resources), and the runner calls it through
//! `runInAsyncScope`, so AsyncLocalStorage stores flow into it. Hostcall continuations, stream
//! listeners and event listeners keep the async context (`napi_async_init`) of the call that
//! made them.
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
use super::convert::outcome_with_raw;
use super::error::{check, Code, Coded, CodedResult, ThrowExt};
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
/// The largest `maxTicks` a run accepts (2^31 − 1): a bound, documented in the README, so a
/// run's count stays far from any overflow; a run that long still yields to Node (see `SLICE`).
const MAX_TICKS: u64 = (1 << 31) - 1;

/// Loops whose native state is alive (diagnostics: `__seqloopLiveLoops()`).
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

/// An interval's period and the deadline it last fired at (it re-arms from there).
#[derive(Debug, Clone, Copy)]
struct Interval {
    ms: u64,
    deadline: u64,
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
#[derive(Debug)]
enum Step {
    Task(Macrotask<Held>),
    Finish(Settle),
    Sleep { ms: u64, keep_alive: bool },
}

/// How a run's promise settles.
#[derive(Debug)]
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
    /// Live intervals (timeouts need nothing here: their callbacks are held in JS).
    intervals: FxHashMap<u64, Interval>,
    next_immediate: u64,
    hostcalls: FxHashMap<String, Pending>,
    streams: FxHashMap<String, Listener>,
    listeners: Vec<Listener>,
    run: Option<Run>,
    /// The batch runner and the loop's callback table, installed by the package entry point
    /// through `__seqloopHooks(hooks)`.
    hooks: Option<Hooks>,
    /// The step the batch runner handed back to the driver (a task it does not run, a finish
    /// or a sleep). Always consumed within the same `drive`.
    pending: Option<Step>,
    /// True while the driver is inside the batch runner.
    batching: bool,
    /// Set by the runner's `step()`: a runner that returns without calling it would leave the
    /// driver re-entering it forever (100% CPU), so that run is rejected instead.
    stepped: bool,
    /// The current time slice of the driver.
    slice: Slice,
}

/// What the batch runner path needs (see `drive`).
struct Hooks {
    runner: Slot,
    /// The JS callback table (`{ cbs, step, rearm }`) the runner reads: a weak reference, made
    /// strong while a run is active, like the `Rc` of E3 (a strong one for the loop's whole
    /// life would be a cycle through the table's bound functions).
    table: sys::napi_ref,
}

#[derive(Debug, Clone, Copy)]
struct Slice {
    start: Instant,
    ran: u32,
    expired: bool,
}

impl Slice {
    fn new() -> Self {
        Self { start: Instant::now(), ran: 0, expired: false }
    }

    /// Counts one macrotask and marks the slice expired once it is used up. Reading the clock
    /// costs ~20 ns, so it is read every 64 macrotasks.
    fn tick(&mut self) {
        self.ran += 1;
        if self.ran % 64 == 0 && self.start.elapsed() > SLICE {
            self.expired = true;
        }
    }
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

    /// True when the batch runner runs `task`: a timer or immediate (their callbacks are held
    /// in JS), on a loop whose entry point installed the hooks.
    fn batchable(&self, task: &Macrotask<Held>) -> bool {
        self.hooks.is_some()
            && matches!(task.kind, MacrotaskKind::TimerFired { .. } | MacrotaskKind::Immediate { .. })
    }

    /// The next step of the active run: the one the runner handed back, else a fresh one.
    fn take_step(&mut self) -> Step {
        match self.pending.take() {
            Some(s) => s,
            None => self.next_step(),
        }
    }
}

/// The loop's shared state; `Rc` because libuv callbacks need it too (E3).
pub(crate) struct LoopInner {
    env: sys::napi_env,
    state: RefCell<State>,
    /// Set while a method runs the caller's JS to read its arguments (getters, proxies).
    converting: args::Converting,
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
        if let Some(h) = st.hooks.take() {
            // SAFETY: the reference was created in `hooks` and is deleted once, here.
            unsafe { sys::napi_delete_reference(env, h.table) };
        }
        let ctxs = st
            .streams
            .drain()
            .map(|(_, l)| l.ctx)
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

/// Settles a deferred whose promise is never handed out (a call refused after creating it), so
/// its handle is freed; resolved, so it never shows up as an unhandled rejection.
fn release_deferred(env: sys::napi_env, deferred: sys::napi_deferred) {
    let mut u = ptr::null_mut();
    // SAFETY: env is live; the deferred is settled once, here, and never used again.
    unsafe {
        sys::napi_get_undefined(env, &mut u);
        sys::napi_resolve_deferred(env, deferred, u);
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

/// Calls `func(argv)` with `recv` as `this` as a top-level callback in `ctx`, with no JS on
/// the stack: Node drains `process.nextTick` callbacks and microtasks when it returns (I2).
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
    inner.state.borrow_mut().slice = Slice::new();
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
                let mut scope = ptr::null_mut();
                // SAFETY: a nested handle scope for this macrotask's values, closed below.
                unsafe { sys::napi_open_handle_scope(env, &mut scope) };
                let go_on = run_task(inner, task);
                // SAFETY: closes the scope opened above (any settle already happened).
                unsafe { sys::napi_close_handle_scope(env, scope) };
                if !go_on {
                    return;
                }
                if inner.state.borrow().slice.expired {
                    // Let Node run a full turn (its timers, I/O, setImmediate) before the next
                    // slice: a long run never starves the process (virtual order unchanged).
                    if let Some(t) = inner.state.borrow().run.as_ref().and_then(|r| r.timer.as_ref()) {
                        t.set_ref(true);
                        t.yield_now(on_uv_timer);
                    }
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

/// The batch runner and the callback table, when `task` goes through the runner.
fn batch_entry(st: &State, env: sys::napi_env, task: &Macrotask<Held>) -> Option<[sys::napi_value; 3]> {
    if !st.batchable(task) {
        return None;
    }
    let h = st.hooks.as_ref()?;
    let mut table = ptr::null_mut();
    // SAFETY: h.table is a live reference of this env; a collected target reads as null.
    let ok = unsafe { sys::napi_get_reference_value(env, h.table, &mut table) } == sys::Status::napi_ok;
    if !ok || table.is_null() {
        return None;
    }
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
        (batch_entry(&st, env, &task), run.ctx, run.kind == RunKind::Once)
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
            let r = make_callback(env, ctx, recv, runner, &[table]);
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
            let mut st = inner.state.borrow_mut();
            if let Some(run) = st.run.as_mut() {
                run.count += 1;
            }
            st.slice.tick();
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
    let Some(run) = ({
        let mut st = inner.state.borrow_mut();
        // A task the runner handed back stays first in line for the next run; a finish or a
        // sleep belonged to this one.
        if !matches!(st.pending, Some(Step::Task(_))) {
            st.pending = None;
        }
        let run = st.run.take();
        if let (Some(h), Some(_)) = (st.hooks.as_ref(), run.as_ref()) {
            // SAFETY: the table reference is live; weak again now that the run is over.
            unsafe { sys::napi_reference_unref(env, h.table, ptr::null_mut()) };
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

/// Runs one hostcall completion, stream chunk or event (timers and immediates go through the
/// batch runner; without one they have no callback to run). `Err` carries the thrown value (E4).
fn dispatch(inner: &LoopInner, task: Macrotask<Held>) -> std::result::Result<(), sys::napi_value> {
    let env = inner.env;
    let fail = |_: Error| ptr::null_mut();
    match task.kind {
        MacrotaskKind::TimerFired { .. } | MacrotaskKind::Immediate { .. } => Ok(()),
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
        self.inner.st().or_throw(env)?;
        // async_hooks' init hooks (JS) may run here: the state is borrowed only after.
        let ctx = async_ctx(raw, "seqloop.EventLoopRun")?;
        let mut st = match self.inner.state_mut() {
            Ok(st) => st,
            Err(e) => {
                destroy_ctx(raw, ctx);
                release_deferred(raw, deferred);
                return Err(e.throw(env));
            }
        };
        let refused = if st.run.is_some() {
            // E2.
            Some(Coded::new(Code::LoopReentrant, "a run method is already in progress on this loop"))
        } else {
            None
        };
        let rc = Rc::into_raw(self.inner.clone());
        let timer = match refused {
            Some(_) => None,
            None => UvTimer::new(raw, rc as *mut c_void),
        };
        let Some(timer) = timer else {
            drop(st);
            // SAFETY: reclaims the count just leaked; libuv never saw the pointer.
            unsafe { drop(Rc::from_raw(rc)) };
            destroy_ctx(raw, ctx);
            let err = refused
                .unwrap_or_else(|| {
                    Coded::new(Code::LoopUnavailable, "libuv is not available in this process")
                })
                .to_raw(raw)?;
            // SAFETY: settles the fresh deferred once.
            unsafe { sys::napi_reject_deferred(raw, deferred, err) };
            return Ok(promise);
        };
        timer.start(on_uv_timer, 0);
        if let Some(h) = st.hooks.as_ref() {
            // SAFETY: the table reference is live; made strong for the run, weak again in finish.
            unsafe { sys::napi_reference_ref(raw, h.table, ptr::null_mut()) };
        }
        st.run =
            Some(Run { kind, deferred, ctx, count: 0, max_ticks, timer: Some(timer), rc, sleeping: false });
        Ok(promise)
    }

    /// E2, checked before anything else a run method does (its arguments, the clock kind): while
    /// a run is in progress, every run method returns a promise rejected with
    /// `ERR_LOOP_REENTRANT` instead of throwing. None when no run is in progress.
    fn refuse_if_running(&self, env: &Env) -> Result<Option<sys::napi_value>> {
        let running = self.inner.state.try_borrow().map(|st| st.run.is_some()).unwrap_or(false);
        if !running {
            return Ok(None);
        }
        let raw = env.raw();
        let mut deferred = ptr::null_mut();
        let mut promise = ptr::null_mut();
        // SAFETY: env is the live env of this call; out-pointers are valid locals.
        check(unsafe { sys::napi_create_promise(raw, &mut deferred, &mut promise) })?;
        let err = Coded::new(Code::LoopReentrant, "a run method is already in progress on this loop")
            .to_raw(raw)?;
        // SAFETY: settles the fresh deferred once.
        check(unsafe { sys::napi_reject_deferred(raw, deferred, err) })?;
        Ok(Some(promise))
    }

    fn max_ticks(&self, env: &Env, opts: Option<Unknown>) -> Result<u64> {
        self.inner
            .convert(|| {
                let Some(o) = args::options(opts, "options")? else { return Ok(DEFAULT_MAX_TICKS) };
                let v = args::prop(&o, "maxTicks")?;
                if args::is_undefined(&v) {
                    return Ok(DEFAULT_MAX_TICKS);
                }
                let n = args::u53(&v, "options.maxTicks")?;
                if n > MAX_TICKS {
                    return Err(Coded::out_of_range("options.maxTicks", &format!("<= {MAX_TICKS}"), n));
                }
                Ok(n)
            })
            .or_throw(env)
    }

    fn require_virtual(&self, env: &Env, what: &str) -> Result<()> {
        if self.inner.st().or_throw(env)?.clock.is_none() {
            return Err(Coded::new(
                Code::LoopClock,
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

    /// The state for a method call: `ERR_REENTRANT_CALL` while a conversion of this loop's runs
    /// (or, never under E1, while the state is borrowed).
    fn st(&self) -> CodedResult<std::cell::Ref<'_, State>> {
        self.converting.check()?;
        self.state.try_borrow().map_err(|_| args::reentrant())
    }

    /// [`st`](Self::st), mutable.
    fn state_mut(&self) -> CodedResult<std::cell::RefMut<'_, State>> {
        self.converting.check()?;
        self.state.try_borrow_mut().map_err(|_| args::reentrant())
    }

    /// Converts arguments with `f`, which may run the caller's JS (E1: before any borrow).
    fn convert<T>(&self, f: impl FnOnce() -> CodedResult<T>) -> CodedResult<T> {
        self.converting.check()?;
        self.converting.run(f)
    }

    /// `setTimeout`/`setInterval` on raw values: `func` (checked here, held by the entry
    /// point's callback table) and `ms` (undefined → 0). Returns the timer id.
    fn schedule(
        &self,
        env: sys::napi_env,
        func: sys::napi_value,
        ms: sys::napi_value,
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
        let mut st = self.state_mut()?;
        if st.core.peek_clock().saturating_add(delay) as f64 > MAX_SAFE_INTEGER {
            return Err(Coded::out_of_range("ms", "a delay whose deadline stays <= 2^53 - 1", delay));
        }
        let id = st.core.set_timeout(delay).map_err(Coded::from)?;
        if interval {
            st.intervals.insert(id.0, Interval { ms: delay, deadline: 0 });
        }
        drop(st);
        self.wake();
        fast::to_number(env, id.0 as f64)
    }

    /// `setImmediate`: checks `func` (held by the callback table) and queues the immediate.
    fn immediate(&self, env: sys::napi_env, func: sys::napi_value) -> fast::Ret {
        check_callback(env, func)?;
        let mut st = self.state_mut()?;
        let id = st.next_immediate;
        st.next_immediate += 1;
        st.core.enqueue_immediate(id);
        drop(st);
        self.wake();
        fast::to_number(env, id as f64)
    }

    /// `step()` of the batch runner (`lib/event-loop.js`): takes the next macrotask of the active run
    /// and returns its timer id, or minus its immediate id, for the runner to call; otherwise
    /// leaves it (or the run's finish or sleep) to the driver and returns 0. A `runOnce` run
    /// hands out one macrotask.
    fn step(&self, env: sys::napi_env) -> fast::Ret {
        let Ok(mut st) = self.state.try_borrow_mut() else { return fast::to_number(env, 0.0) };
        st.stepped = true;
        let Some(run) = st.run.as_ref() else { return fast::to_number(env, 0.0) };
        // Only inside the driver's batch, within the time slice, and once for runOnce.
        if !st.batching || st.slice.expired || (run.kind == RunKind::Once && run.count > 0) {
            return fast::to_number(env, 0.0);
        }
        let out = match st.take_step() {
            Step::Task(t) if st.batchable(&t) => match t.kind {
                MacrotaskKind::TimerFired { timer_id, deadline_ms } => {
                    if let Some(iv) = st.intervals.get_mut(&timer_id.0) {
                        iv.deadline = deadline_ms;
                    }
                    timer_id.0 as f64
                }
                MacrotaskKind::Immediate { id } => -(id as f64),
                _ => unreachable!("batchable tasks are timers and immediates"),
            },
            other => {
                st.pending = Some(other);
                return fast::to_number(env, 0.0);
            }
        };
        if let Some(r) = st.run.as_mut() {
            r.count += 1;
        }
        st.slice.tick();
        fast::to_number(env, out)
    }

    /// `rearm(id)`: after an interval's callback (even one that threw, E4), re-arms it from the
    /// deadline it fired at, unless it was cleared. A wall clock that fell behind skips missed
    /// beats instead of bursting.
    fn rearm_interval(&self, env: sys::napi_env, id: sys::napi_value) -> fast::Ret {
        let id = fast::u53(env, id, "id")?;
        let mut st = self.state_mut()?;
        if let Some(Interval { ms, deadline }) = st.intervals.get(&id).copied() {
            if !st.core.timer_is_pending(TimerId(id)) {
                let mut next = deadline.saturating_add(ms);
                let now = st.now();
                if st.clock.is_none() && next <= now {
                    next = now + ms - (now - deadline) % ms;
                }
                if st.core.rearm_timer(TimerId(id), next).is_err() {
                    st.intervals.remove(&id);
                }
            }
        }
        fast::to_bool(env, st.intervals.contains_key(&id))
    }

    /// `clearTimeout`/`clearInterval`: `undefined`/`null` → false, like Node.
    fn clear_timer(&self, env: sys::napi_env, id: sys::napi_value) -> fast::Ret {
        if is_nullish(env, id) {
            return fast::to_bool(env, false);
        }
        let id = fast::u53(env, id, "id")?;
        let mut st = self.state_mut()?;
        let was_pending = st.core.clear_timeout(TimerId(id));
        let was_interval = st.intervals.remove(&id).is_some();
        fast::to_bool(env, was_pending || was_interval)
    }

    fn clear_immediate(&self, env: sys::napi_env, id: sys::napi_value) -> fast::Ret {
        if is_nullish(env, id) {
            return fast::to_bool(env, false);
        }
        let id = fast::u53(env, id, "id")?;
        let mut st = self.state_mut()?;
        let removed = st.core.cancel_immediate(id);
        fast::to_bool(env, removed)
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

/// What a loop handle (an External) points to: the loop, and whether the holder is the loop's
/// batch runner (only a runner handle may `step`).
struct Handle {
    inner: Rc<LoopInner>,
    runner: bool,
}

macro_rules! loop_fn {
    ($name:ident, $n:literal, |$h:ident, $env:ident, $a:ident| $body:expr) => {
        fast::handle_fn!($name: Handle, "an EventLoop handle", $n, |$h, $env, $a| $body);
    };
}

loop_fn!(raw_set_timeout, 3, |h, env, a| h.inner.schedule(env, a.argv[1], a.argv[2], false));
loop_fn!(raw_set_interval, 3, |h, env, a| h.inner.schedule(env, a.argv[1], a.argv[2], true));
loop_fn!(raw_set_immediate, 2, |h, env, a| h.inner.immediate(env, a.argv[1]));
loop_fn!(raw_clear_timer, 2, |h, env, a| h.inner.clear_timer(env, a.argv[1]));
loop_fn!(raw_clear_immediate, 2, |h, env, a| h.inner.clear_immediate(env, a.argv[1]));
loop_fn!(raw_step, 1, |h, env, _a| if h.runner { h.inner.step(env) } else { fast::to_number(env, 0.0) });
loop_fn!(raw_rearm, 2, |h, env, a| h.inner.rearm_interval(env, a.argv[1]));

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
        let (mut wall, mut start, mut record) = (false, 0u64, false);
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
            // Validated here; the entry point's `EventLoop` acts on it (an `AsyncResource` per
            // timer and immediate unless it is false).
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
            intervals: FxHashMap::default(),
            next_immediate: 1,
            hostcalls: FxHashMap::default(),
            streams: FxHashMap::default(),
            listeners: Vec::new(),
            run: None,
            hooks: None,
            pending: None,
            batching: false,
            stepped: false,
            slice: Slice::new(),
        };
        // Relaxed: a statistics counter (see Drop).
        LIVE_LOOPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(Self {
            inner: Rc::new(LoopInner {
                env: raw,
                state: RefCell::new(state),
                converting: args::Converting::default(),
            }),
        })
    }

    /// The loop's time in milliseconds (virtual, or since the Unix epoch for a wall clock).
    #[napi]
    pub fn now(&self, env: Env) -> Result<f64> {
        Ok(self.inner.st().or_throw(&env)?.now() as f64)
    }

    /// Pending timers and intervals (not cleared).
    #[napi(getter)]
    pub fn timer_count(&self, env: Env) -> Result<u32> {
        Ok(self.inner.st().or_throw(&env)?.core.timer_count() as u32)
    }

    /// Queued macrotasks (immediates, completions, events, due timers already moved).
    #[napi(getter)]
    pub fn macrotask_count(&self, env: Env) -> Result<u32> {
        Ok(self.inner.st().or_throw(&env)?.core.macrotask_count() as u32)
    }

    /// True when a macrotask is queued or a timer is pending.
    #[napi]
    pub fn has_pending(&self, env: Env) -> Result<bool> {
        Ok(self.inner.st().or_throw(&env)?.has_outstanding())
    }

    /// Earliest pending timer deadline, or null.
    #[napi]
    pub fn next_timer_deadline(&self, env: Env) -> Result<Option<f64>> {
        Ok(self.inner.st().or_throw(&env)?.core.next_timer_deadline().map(|d| d as f64))
    }

    /// A handle to this loop for the process-wide raw functions of `__seqloopEventLoopRaw()`. With
    /// `hooks` (once per loop) it also installs the batch runner and the handle may `step`: the
    /// driver calls `runner(table)` with no JS on the stack whenever a timer or an immediate is
    /// due, and the runner calls `step(table.handle)` until it returns 0, running each callback
    /// (held in the table) and then draining microtasks. Used by the package's `EventLoop`.
    /// Internal (`lib/event-loop.js` takes it off the prototype): not part of the public API.
    #[napi(js_name = "__seqloopHooks", skip_typescript)]
    pub fn hooks<'e>(&self, env: &'e Env, hooks: Option<Unknown>) -> Result<Unknown<'e>> {
        let raw = env.raw();
        let parsed = self
            .inner
            .convert(|| {
                let Some(h) = args::options(hooks, "hooks")? else { return Ok(None) };
                let runner = args::prop(&h, "runner")?;
                callback_arg(&runner, "hooks.runner")?;
                let table = args::prop(&h, "table")?;
                if args::ty(&table) != ValueType::Object {
                    return Err(Coded::arg_type("hooks.table", "an object", args::describe(&table)));
                }
                Ok(Some((runner, table)))
            })
            .or_throw(env)?;
        let Some((runner, table)) = parsed else {
            self.inner.st().or_throw(env)?;
            return fast::new_handle(env, Handle { inner: self.inner.clone(), runner: false });
        };
        let mut st = self.inner.state_mut().or_throw(env)?;
        if st.hooks.is_some() || st.run.is_some() {
            return Err(Coded::new(Code::LoopHooks, "the loop's hooks are already installed").throw(env));
        }
        let mut table_ref = ptr::null_mut();
        // SAFETY: table is an object of this env; a weak (count 0) reference, deleted in Drop.
        check(unsafe { sys::napi_create_reference(raw, table.raw(), 0, &mut table_ref) })?;
        let runner = st.stash.put(raw, runner.raw())?;
        st.hooks = Some(Hooks { runner, table: table_ref });
        drop(st);
        // Only this handle may `step`: no second one can take macrotasks away from the runner.
        fast::new_handle(env, Handle { inner: self.inner.clone(), runner: true })
    }

    /// Starts a hostcall: the promise settles when `completeHostcall(callId, …)`'s macrotask runs.
    #[napi(ts_args_type = "callId: string", ts_return_type = "Promise<unknown>")]
    pub fn hostcall<'e>(&self, env: &'e Env, call_id: Unknown) -> Result<Unknown<'e>> {
        let call_id = args::string(&call_id, "callId").or_throw(env)?;
        let raw = env.raw();
        if self.inner.st().or_throw(env)?.hostcalls.contains_key(&call_id) {
            return Err(Coded::new(
                Code::HostcallPending,
                format!("hostcall '{call_id}' is already pending"),
            )
            .throw(env));
        }
        let mut deferred = ptr::null_mut();
        let mut promise = ptr::null_mut();
        // SAFETY: env is the live env of this call.
        check(unsafe { sys::napi_create_promise(raw, &mut deferred, &mut promise) })?;
        let ctx = async_ctx(raw, "seqloop.Hostcall")?;
        // Checked again: an async_hooks init hook (JS) ran in async_ctx.
        let refused = match self.inner.state_mut() {
            Ok(mut st) if !st.hostcalls.contains_key(&call_id) => {
                st.hostcalls.insert(call_id, Pending { deferred, ctx });
                None
            }
            Ok(_) => {
                Some(Coded::new(Code::HostcallPending, format!("hostcall '{call_id}' is already pending")))
            }
            Err(e) => Some(e),
        };
        if let Some(e) = refused {
            destroy_ctx(raw, ctx);
            release_deferred(raw, deferred);
            return Err(e.throw(env));
        }
        // SAFETY: promise is a value of this env.
        Ok(unsafe { Unknown::from_raw_unchecked(raw, promise) })
    }

    /// Enqueues the completion of a hostcall or a chunk of a stream (I4: never runs JS now).
    /// Throws `ERR_UNKNOWN_HOSTCALL` when nothing waits for `callId` (no pending `hostcall()` for a
    /// success/error outcome, no open `onStream` listener for a chunk).
    #[napi(ts_args_type = "callId: string, outcome: HostcallOutcome")]
    pub fn complete_hostcall(&self, env: Env, call_id: Unknown, outcome: Unknown) -> Result<()> {
        let call_id = args::string(&call_id, "callId").or_throw(&env)?;
        // Every property is read (getters run) once, here, before the state is touched (E1).
        let (parsed, payload) =
            self.inner.convert(|| outcome_with_raw(&env, &outcome, "outcome")).or_throw(&env)?;
        let raw = env.raw();
        let mut st = self.inner.state_mut().or_throw(&env)?;
        let known = match &parsed {
            HostcallOutcome::StreamChunk { .. } => st.streams.contains_key(&call_id),
            _ => st.hostcalls.contains_key(&call_id),
        };
        if !known {
            return Err(Coded::new(
                Code::UnknownHostcall,
                format!("nothing waits for hostcall '{call_id}' (call hostcall() or onStream() first)"),
            )
            .throw(&env));
        }
        // Keep the JS values themselves (identity preserved), not their JSON.
        let recording = st.core.is_recording();
        let payload = payload.map_or(ptr::null_mut(), |v| v.raw());
        let outcome = match parsed {
            HostcallOutcome::Success { value } => {
                let slot = st.stash.put(raw, payload)?;
                HostcallOutcome::Success { value: Held { slot, json: recording.then_some(value) } }
            }
            HostcallOutcome::Error { code, message } => HostcallOutcome::Error { code, message },
            HostcallOutcome::StreamChunk { sequence, is_final, chunk } => {
                let slot = st.stash.put(raw, payload)?;
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
        self.inner.st().or_throw(&env)?;
        // Before the borrow: async_hooks' init hooks (JS) run here.
        let ctx = async_ctx(raw, "seqloop.Stream")?;
        let mut st = match self.inner.state_mut() {
            Ok(st) => st,
            Err(e) => {
                destroy_ctx(raw, ctx);
                return Err(e.throw(&env));
            }
        };
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
        self.inner.st().or_throw(&env)?;
        // Before the borrow: async_hooks' init hooks (JS) run here.
        let ctx = async_ctx(raw, "seqloop.Event")?;
        let mut st = match self.inner.state_mut() {
            Ok(st) => st,
            Err(e) => {
                destroy_ctx(raw, ctx);
                return Err(e.throw(&env));
            }
        };
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
        let recording = self.inner.st().or_throw(&env)?.core.is_recording();
        let json = match (&payload, recording) {
            (Some(p), true) => Some(self.inner.convert(|| args::json(&env, p, "payload")).or_throw(&env)?),
            (None, true) => Some(serde_json::Value::Null),
            (_, false) => None,
        };
        let mut st = self.inner.state_mut().or_throw(&env)?;
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
        match self.inner.st().or_throw(&env)?.core.trace() {
            Some(t) => Ok(trace_to_js(&t)),
            None => Err(not_recording("EventLoop").throw(&env)),
        }
    }

    /// The recorded trace as JSONL (header line, one record per line, end line).
    /// Throws `ERR_NOT_RECORDING` unless recording.
    #[napi]
    pub fn trace_jsonl(&self, env: Env) -> Result<String> {
        match self.inner.st().or_throw(&env)?.core.trace() {
            Some(t) => Ok(t.to_jsonl()),
            None => Err(not_recording("EventLoop").throw(&env)),
        }
    }

    /// 16 lowercase hex digits: a stable hash of the dispatched sequence so far.
    /// Throws `ERR_NOT_RECORDING` unless recording.
    #[napi]
    pub fn digest(&self, env: Env) -> Result<String> {
        match self.inner.st().or_throw(&env)?.core.digest() {
            Some(d) => Ok(d.to_string()),
            None => Err(not_recording("EventLoop").throw(&env)),
        }
    }

    /// Runs one tick; resolves with the macrotask that ran, or null.
    #[napi(ts_return_type = "Promise<Macrotask | null>")]
    pub fn run_once<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        if let Some(p) = self.refuse_if_running(env)? {
            // SAFETY: p is a promise of this env.
            return Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), p) });
        }
        let p = self.promise(env, RunKind::Once, 1)?;
        // SAFETY: p is a promise of this env.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), p) })
    }

    /// Ticks until nothing is due (time does not move). Resolves with the number run.
    #[napi(ts_args_type = "options?: { maxTicks?: number }", ts_return_type = "Promise<number>")]
    pub fn run_until_idle<'e>(&self, env: &'e Env, options: Option<Unknown>) -> Result<Unknown<'e>> {
        if let Some(p) = self.refuse_if_running(env)? {
            // SAFETY: p is a promise of this env.
            return Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), p) });
        }
        let max = self.max_ticks(env, options)?;
        let p = self.promise(env, RunKind::UntilIdle, max)?;
        // SAFETY: p is a promise of this env.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), p) })
    }

    /// Virtual clock: moves time forward by `ms`, running due work in order at each deadline.
    /// Resolves with the number of macrotasks run.
    #[napi(ts_args_type = "ms: number, options?: { maxTicks?: number }", ts_return_type = "Promise<number>")]
    pub fn advance<'e>(&self, env: &'e Env, ms: Unknown, options: Option<Unknown>) -> Result<Unknown<'e>> {
        if let Some(p) = self.refuse_if_running(env)? {
            // SAFETY: p is a promise of this env.
            return Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), p) });
        }
        let ms = args::u53(&ms, "ms").or_throw(env)?;
        self.require_virtual(env, "advance")?;
        let max = self.max_ticks(env, options)?;
        let target = self.inner.st().or_throw(env)?.now().saturating_add(ms);
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
        if let Some(p) = self.refuse_if_running(env)? {
            // SAFETY: p is a promise of this env.
            return Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), p) });
        }
        self.require_virtual(env, "runAll")?;
        let max = self.max_ticks(env, options)?;
        let p = self.promise(env, RunKind::All, max)?;
        // SAFETY: p is a promise of this env.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), p) })
    }

    /// Wall clock: runs in real time until no work is left (timers, queued macrotasks, pending
    /// hostcalls and open streams). Sleeps on a libuv timer between deadlines; while it waits only
    /// for hostcall completions it does not keep the process alive.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn run<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        if let Some(p) = self.refuse_if_running(env)? {
            // SAFETY: p is a promise of this env.
            return Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), p) });
        }
        if self.inner.st().or_throw(env)?.clock.is_some() {
            return Err(Coded::new(
                Code::LoopClock,
                "run() needs a wall clock; use runAll() or advance() on a virtual loop",
            )
            .throw(env));
        }
        let p = self.promise(env, RunKind::Wall, u64::MAX)?;
        // SAFETY: p is a promise of this env.
        Ok(unsafe { Unknown::from_raw_unchecked(env.raw(), p) })
    }
}

/// The timer functions every `EventLoop` shares, without napi-rs's per-call overhead (and,
/// being one set per process rather than per loop, without per-loop function objects that
/// would make JS call sites megamorphic): `{ setTimeout(h, fn, ms), setInterval(h, fn, ms),
/// setImmediate(h, fn), clearTimeout(h, id), clearImmediate(h, id), step(h), rearm(h, id) }`
/// where `h` is a handle from `__seqloopHooks()`. `fn` is only checked: callbacks live in JS.
/// Internal (`lib/event-loop.js`; the package entry drops it from its exports).
#[napi(js_name = "__seqloopEventLoopRaw", skip_typescript)]
// Reached only from JS: napi-rs registers free functions outside `cfg(test)` builds.
#[cfg_attr(test, allow(dead_code))]
pub fn raw_functions<'e>(env: &'e Env) -> Result<Object<'e>> {
    fast::unbound_object(
        env,
        &[
            (c"setTimeout", raw_set_timeout),
            (c"setInterval", raw_set_interval),
            (c"setImmediate", raw_set_immediate),
            (c"clearTimeout", raw_clear_timer),
            (c"clearImmediate", raw_clear_immediate),
            (c"step", raw_step),
            (c"rearm", raw_rearm),
        ],
    )
}

/// Diagnostics: how many loops' native state is alive in this process (loops not yet collected,
/// plus collected ones still finishing a run). Internal: used by the leak tests.
#[napi(js_name = "__seqloopLiveLoops", skip_typescript)]
// Reached only from JS: napi-rs registers free functions outside `cfg(test)` builds.
#[cfg_attr(test, allow(dead_code))]
pub fn live_loops() -> u32 {
    // Relaxed: a statistics counter; no data is published through it.
    LIVE_LOOPS.load(std::sync::atomic::Ordering::Relaxed) as u32
}
