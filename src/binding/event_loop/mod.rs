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
//!
//! # Layout
//! The run policy (what a run does next, `maxTicks`, the time slice, sleeping) is napi-free, in
//! `crate::runloop`, with its unit tests. Here, the binding that drives it:
//! - `mod.rs`: the `NativeEventLoop` class (constructor, queries, hostcalls, streams, events,
//!   trace, the run methods);
//! - `state.rs`: the loop's state (`LoopInner`, `State`, the active `Run`);
//! - `driver.rs`: starting a run, the libuv-driven step loop, the batch runner, settling;
//! - `dispatch.rs`: hostcall completions, stream chunks, events, `runOnce`'s `Macrotask` object;
//! - `timers.rs`: the process-wide raw timer functions `lib/event-loop.js` calls;
//! - `binding/ffi/loop_glue.rs`: all the unsafe N-API glue, each block citing the invariant
//!   (N1–N5) it relies on.

use std::ptr;
use std::rc::Rc;

use napi::bindgen_prelude::*;
use napi::ValueType;
use napi_derive::napi;

use super::args::{self, MAX_SAFE_INTEGER};
use super::convert::outcome_with_raw;
use super::error::{Code, Coded, CodedResult, ThrowExt};
use super::ffi::fast;
use super::replay::{not_recording, trace_to_js, TraceObject};
use crate::runloop::{self, RunKind, RunPolicy};
use crate::sched::{self, HostcallOutcome, Scheduler};

mod dispatch;
mod driver;
mod state;
mod timers;

use self::state::{Held, Hooks, Listener, LoopInner, Pending, State};
use self::timers::Handle;

/// A JS value kept alive by the loop: an index into the stash array.
use super::ffi::loop_glue::{self as glue, Slot};

/// A deterministic event loop that holds JS callbacks and runs them itself, one macrotask per
/// tick (I1) with every microtask and `process.nextTick` drained after each (I2), in seq order
/// (I3, I5). Wrapped by the `EventLoop` class of `lib/event-loop.js`, which adds the `...args`
/// rest parameters.
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
    /// Starts a run (see `driver::start`) and returns its promise as the method's value.
    fn start<'e>(&self, env: &'e Env, kind: RunKind, max_ticks: u64) -> Result<Unknown<'e>> {
        self.inner.st().or_throw(env)?;
        let p = driver::start(&self.inner, env, RunPolicy::new(kind, max_ticks))?;
        Ok(glue::unknown(env, p))
    }

    /// E2, checked before anything else a run method does (its arguments, the clock kind): while
    /// a run is in progress, every run method returns a promise rejected with
    /// `ERR_LOOP_REENTRANT` instead of throwing. None when no run is in progress.
    fn refuse_if_running<'e>(&self, env: &'e Env) -> Result<Option<Unknown<'e>>> {
        let running = self.inner.state.try_borrow().map(|st| st.run.is_some()).unwrap_or(false);
        if !running {
            return Ok(None);
        }
        let raw = env.raw();
        let (deferred, promise) = glue::create_promise(raw)?;
        let err = Coded::new(Code::LoopReentrant, "a run method is already in progress on this loop")
            .to_raw(raw)?;
        glue::reject_now(raw, deferred, err)?;
        Ok(Some(glue::unknown(env, promise)))
    }

    /// A stream or event listener for `func`, with the async context of this call, and the state
    /// borrowed once it is made (async_hooks' init hooks, JS, run while it is made: E1).
    fn new_listener(
        &self,
        env: &Env,
        func: &Unknown,
        resource: &str,
    ) -> Result<(std::cell::RefMut<'_, State>, Listener)> {
        callback_arg(func, "listener").or_throw(env)?;
        let raw = env.raw();
        self.inner.st().or_throw(env)?;
        let ctx = glue::async_ctx(raw, resource)?;
        let mut st = match self.inner.state_mut() {
            Ok(st) => st,
            Err(e) => {
                glue::destroy_ctx(raw, ctx);
                return Err(e.throw(env));
            }
        };
        let func = st.stash.put(raw, func.raw())?;
        Ok((st, Listener { func, ctx }))
    }

    fn max_ticks(&self, env: &Env, opts: Option<Unknown>) -> Result<u64> {
        self.inner
            .convert(|| {
                let Some(o) = args::options(opts, "options")? else { return Ok(runloop::DEFAULT_MAX_TICKS) };
                let v = args::prop(&o, "maxTicks")?;
                if args::is_undefined(&v) {
                    return Ok(runloop::DEFAULT_MAX_TICKS);
                }
                let n = args::u53(&v, "options.maxTicks")?;
                runloop::max_ticks(Some(n)).map_err(|runloop::TooManyTicks(n)| {
                    Coded::out_of_range("options.maxTicks", &format!("<= {}", runloop::MAX_TICKS), n)
                })
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
        let mut stash = glue::Stash::new(raw)?;
        let receiver = stash.put(raw, glue::new_object(raw)?)?;
        Ok(Self { inner: Rc::new(LoopInner::new(raw, State::new(core, clock, stash, receiver))) })
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
        Ok(self.inner.st().or_throw(&env)?.core.has_pending())
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
        // Weak, deleted in Drop.
        let table = glue::WeakRef::new(raw, table.raw())?;
        let runner = st.stash.put(raw, runner.raw())?;
        st.hooks = Some(Hooks { runner, table });
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
        let (deferred, promise) = glue::create_promise(raw)?;
        let ctx = glue::async_ctx(raw, "seqloop.Hostcall")?;
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
            glue::destroy_ctx(raw, ctx);
            glue::release_deferred(raw, deferred);
            return Err(e.throw(env));
        }
        Ok(glue::unknown(env, promise))
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
        let raw = env.raw();
        let (mut st, listener) = self.new_listener(&env, &func, "seqloop.Stream")?;
        if let Some(old) = st.streams.insert(call_id, listener) {
            st.stash.clear(raw, old.func);
            glue::destroy_ctx(raw, old.ctx);
        }
        Ok(())
    }

    /// Adds an event listener `fn(eventId, payload)`; listeners run in registration order.
    #[napi(ts_args_type = "fn: (eventId: string, payload: unknown) => unknown")]
    pub fn on_event(&self, env: Env, func: Unknown) -> Result<()> {
        let (mut st, listener) = self.new_listener(&env, &func, "seqloop.Event")?;
        st.listeners.push(listener);
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
            None => glue::undefined(raw),
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
            return Ok(p);
        }
        self.start(env, RunKind::Once, 1)
    }

    /// Ticks until nothing is due (time does not move). Resolves with the number run.
    #[napi(ts_args_type = "options?: { maxTicks?: number }", ts_return_type = "Promise<number>")]
    pub fn run_until_idle<'e>(&self, env: &'e Env, options: Option<Unknown>) -> Result<Unknown<'e>> {
        if let Some(p) = self.refuse_if_running(env)? {
            return Ok(p);
        }
        let max = self.max_ticks(env, options)?;
        self.start(env, RunKind::UntilIdle, max)
    }

    /// Virtual clock: moves time forward by `ms`, running due work in order at each deadline.
    /// Resolves with the number of macrotasks run.
    #[napi(ts_args_type = "ms: number, options?: { maxTicks?: number }", ts_return_type = "Promise<number>")]
    pub fn advance<'e>(&self, env: &'e Env, ms: Unknown, options: Option<Unknown>) -> Result<Unknown<'e>> {
        if let Some(p) = self.refuse_if_running(env)? {
            return Ok(p);
        }
        let ms = args::u53(&ms, "ms").or_throw(env)?;
        self.require_virtual(env, "advance")?;
        let max = self.max_ticks(env, options)?;
        let target = self.inner.st().or_throw(env)?.now().saturating_add(ms);
        if target as f64 > MAX_SAFE_INTEGER {
            return Err(Coded::out_of_range("ms", "a value that keeps the clock <= 2^53 - 1", ms).throw(env));
        }
        self.start(env, RunKind::Advance { target }, max)
    }

    /// Virtual clock: jumps from deadline to deadline until no work is left. Rejects with
    /// `ERR_LOOP_LIMIT` past `maxTicks` (default 100000) with the remaining work still queued.
    #[napi(ts_args_type = "options?: { maxTicks?: number }", ts_return_type = "Promise<number>")]
    pub fn run_all<'e>(&self, env: &'e Env, options: Option<Unknown>) -> Result<Unknown<'e>> {
        if let Some(p) = self.refuse_if_running(env)? {
            return Ok(p);
        }
        self.require_virtual(env, "runAll")?;
        let max = self.max_ticks(env, options)?;
        self.start(env, RunKind::All, max)
    }

    /// Wall clock: runs in real time until no work is left (timers, queued macrotasks, pending
    /// hostcalls and open streams). Sleeps on a libuv timer between deadlines; while it waits only
    /// for hostcall completions it does not keep the process alive.
    #[napi(ts_return_type = "Promise<number>")]
    pub fn run<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        if let Some(p) = self.refuse_if_running(env)? {
            return Ok(p);
        }
        if self.inner.st().or_throw(env)?.clock.is_some() {
            return Err(Coded::new(
                Code::LoopClock,
                "run() needs a wall clock; use runAll() or advance() on a virtual loop",
            )
            .throw(env));
        }
        self.start(env, RunKind::Wall, u64::MAX)
    }
}
