//! JS classes `Scheduler`, `DeterministicClock` and `WallClock` (API.md §1), with recording
//! (API.md §4: `record` option, `trace()`, `traceJsonl()`, `digest()`).

use std::cell::RefCell;
use std::rc::Rc;

use napi::bindgen_prelude::*;
use napi::ValueType;
use napi_derive::napi;
use serde_json::Value;

use super::args::{self, MAX_SAFE_INTEGER};
use super::convert::{outcome_from_js, task_to_js};
use super::error::{Code, Coded, CodedResult, ThrowExt};
use super::ffi::fast;
use super::replay::{not_recording, trace_to_js, TraceObject};
use crate::sched::{self, Clock, TimerId};

/// A virtual clock moved only by `advance` and `set`. Pass it to a `Scheduler` and keep a
/// reference: the scheduler and your code share the same instant.
#[napi]
pub struct DeterministicClock {
    pub(crate) inner: sched::DeterministicClock,
}

#[napi]
impl DeterministicClock {
    /// A clock reading `startMs` (default 0).
    #[napi(constructor, ts_args_type = "startMs?: number")]
    pub fn new(env: Env, start_ms: Option<Unknown>) -> Result<Self> {
        let start = match start_ms {
            Some(v) if !args::is_undefined(&v) => args::u53(&v, "startMs").or_throw(&env)?,
            _ => 0,
        };
        Ok(Self { inner: sched::DeterministicClock::new(start) })
    }

    /// The current virtual time in milliseconds.
    #[napi]
    pub fn now_ms(&self) -> f64 {
        self.inner.now_ms() as f64
    }

    /// Internal: the shared native clock, so a `Scheduler` can read it without calling JS.
    #[napi(js_name = "__seqloopClock", skip_typescript)]
    pub fn handle(&self) -> External<sched::DeterministicClock> {
        External::new(self.inner.clone())
    }

    /// Moves the clock forward by `ms`.
    #[napi(ts_args_type = "ms: number")]
    pub fn advance(&self, env: Env, ms: Unknown) -> Result<()> {
        let ms = args::u53(&ms, "ms").or_throw(&env)?;
        let now = self.inner.now_ms();
        if now.saturating_add(ms) as f64 > MAX_SAFE_INTEGER {
            return Err(Coded::out_of_range("ms", "a value that keeps the clock <= 2^53 - 1", ms).throw(&env));
        }
        self.inner.advance(ms);
        Ok(())
    }

    /// Sets the clock to `ms` (it may move backwards).
    #[napi(ts_args_type = "ms: number")]
    pub fn set(&self, env: Env, ms: Unknown) -> Result<()> {
        self.inner.set(args::u53(&ms, "ms").or_throw(&env)?);
        Ok(())
    }
}

/// Real time: milliseconds since the Unix epoch.
#[napi]
#[derive(Default)]
pub struct WallClock {}

#[napi]
impl WallClock {
    /// A wall clock.
    #[napi(constructor)]
    pub fn new() -> Self {
        Self {}
    }

    /// Milliseconds since the Unix epoch.
    #[napi]
    pub fn now_ms(&self) -> f64 {
        sched::WallClock.now_ms() as f64
    }

    /// Internal: the native clock, so a `Scheduler` can read it without calling JS.
    #[napi(js_name = "__seqloopClock", skip_typescript)]
    pub fn handle(&self) -> External<sched::WallClock> {
        External::new(sched::WallClock)
    }
}

/// A seqloop clock object's native clock, if `obj` is one (see `DeterministicClock::handle`).
fn native_clock(obj: &Object<'_>) -> Option<Box<dyn Clock>> {
    let handle = obj.get_named_property::<Function<(), Unknown>>(CLOCK_HANDLE).ok()?;
    let value = handle.apply(obj, ()).ok()?;
    if let Some(c) = fast::external_ref::<sched::DeterministicClock>(value) {
        return Some(Box::new((*c).clone()));
    }
    if fast::external_ref::<sched::WallClock>(value).is_some() {
        return Some(Box::new(sched::WallClock));
    }
    None
}

/// Name of the hidden method through which clock classes hand over their native clock.
const CLOCK_HANDLE: &str = "__seqloopClock";

/// The cell a custom JS clock's readings are stored in; a distinct type only so that trace
/// headers say `custom` rather than `deterministic`.
#[derive(Debug)]
struct JsClockCell(sched::DeterministicClock);

impl Clock for JsClockCell {
    fn now_ms(&self) -> u64 {
        self.0.now_ms()
    }
}

/// Where a JS scheduler gets its time.
pub(crate) enum ClockSource {
    /// A core clock (deterministic or wall): the scheduler reads it directly.
    Native,
    /// A JS object with `nowMs()`: read before every operation that needs time and stored in
    /// `cell`, which is the clock the core scheduler sees.
    Custom { cell: sched::DeterministicClock, obj: ObjectRef<false> },
}

impl ClockSource {
    /// Parses the `clock` option into the core clock and, for custom clocks, the JS source.
    pub(crate) fn from_option(v: Option<Unknown<'_>>) -> CodedResult<(Box<dyn Clock>, ClockSource)> {
        let Some(v) = v.filter(|v| !args::is_undefined(v)) else {
            return Ok((Box::new(sched::WallClock), ClockSource::Native));
        };
        if args::ty(&v) != ValueType::Object {
            return Err(Coded::arg_type(
                "options.clock",
                "a DeterministicClock, WallClock or { nowMs() } object",
                args::describe(&v),
            ));
        }
        let obj = args::object(&v).ok_or_else(|| Coded::arg_type("options.clock", "an object", "?"))?;
        // seqloop's own clocks hand over their native clock (an External only Rust can make), so
        // the scheduler reads them directly instead of calling nowMs() through JS every time.
        if let Some(native) = native_clock(&obj) {
            return Ok((native, ClockSource::Native));
        }
        let now_ms = args::prop(&obj, "nowMs")?;
        if args::ty(&now_ms) != ValueType::Function {
            return Err(Coded::arg_type("options.clock.nowMs", "of type function", args::describe(&now_ms)));
        }
        let obj_ref = obj.create_ref::<false>().map_err(|e| Coded::new(Code::Internal, e.reason))?;
        let cell = sched::DeterministicClock::new(0);
        Ok((Box::new(JsClockCell(cell.clone())), ClockSource::Custom { cell, obj: obj_ref }))
    }

    /// For a custom clock, calls `nowMs()` and stores the reading. Errors leave the scheduler
    /// untouched: `ERR_CLOCK_FAILED` (with `cause`) when it throws, `ERR_INVALID_RETURN_VALUE`
    /// when it returns anything but a non-negative safe integer.
    pub(crate) fn sync(&self, env: &Env) -> Result<()> {
        let ClockSource::Custom { cell, obj } = self else {
            return Ok(());
        };
        let o = obj.get_value(env)?;
        let called = o.get_named_property::<Function<(), Unknown>>("nowMs").and_then(|f| f.apply(o, ()));
        let value = match called {
            Ok(v) => v,
            Err(_) => {
                // Wrap the thrown value so callers get a stable code; keep the original as cause.
                let raw_env = env.raw();
                let pending = fast::take_exception(raw_env);
                let what = match pending {
                    None => "clock.nowMs is no longer a function".to_string(),
                    Some(t) => thrown_text(env, t),
                };
                let err = Coded::new(Code::ClockFailed, format!("clock.nowMs() threw: {what}"));
                return Err(fast::throw_with_cause(raw_env, &err, pending));
            }
        };
        let ms = match args::number(&value, "clock.nowMs()").and_then(|n| args::u53_f(n, "clock.nowMs()")) {
            Ok(ms) => ms,
            Err(_) => {
                return Err(Coded::new(
                    Code::InvalidReturnValue,
                    format!(
                        "clock.nowMs() must return a non-negative safe integer, got {}",
                        args::describe(&value)
                    ),
                )
                .throw(env))
            }
        };
        cell.set(ms);
        Ok(())
    }

    pub(crate) fn release(self, env: &Env) {
        if let ClockSource::Custom { obj, .. } = self {
            let _ = obj.unref(env);
        }
    }
}

/// A thrown value as message text, without running code that could throw again (a Symbol or a
/// null-prototype object cannot be converted to a string): a string itself, an object's string
/// `message`, else a description of the value.
fn thrown_text(env: &Env, t: napi::sys::napi_value) -> String {
    let raw_env = env.raw();
    match fast::type_of(raw_env, t) {
        napi::sys::ValueType::napi_string => fast::string(raw_env, t).unwrap_or_default(),
        napi::sys::ValueType::napi_object => {
            let message = fast::named_property(raw_env, t, c"message").and_then(|m| fast::string(raw_env, m));
            // A throwing `message` getter leaves an exception pending: drop it, the clock's own
            // exception is the cause.
            let _ = fast::take_exception(raw_env);
            message.unwrap_or_else(|| fast::describe(raw_env, t))
        }
        _ => fast::describe(raw_env, t),
    }
}

/// The deterministic scheduler at data level: timers, a FIFO macrotask queue, hostcall
/// completions, stream chunks and inbound events, ordered by seq (invariants I1–I5). It runs no
/// JS: `tick()` hands back the next `Macrotask` for you to dispatch.
#[napi]
pub struct Scheduler {
    shared: Rc<SchedShared>,
}

/// A scheduler's state, shared by the JS object and its fast-path functions (`ffi/fast.rs` F1).
///
/// B1: no `RefCell` borrow of `sched` is held while JS runs (arguments are converted and custom
/// clocks are read before borrowing), so a borrow failure means a reentrant call and becomes
/// `ERR_REENTRANT_CALL`, never a panic.
pub(crate) struct SchedShared {
    env: napi::sys::napi_env,
    sched: RefCell<sched::Scheduler<Value>>,
    clock: Option<ClockSource>,
    /// Set while a call runs the caller's JS (a custom clock, payload getters).
    converting: args::Converting,
}

impl Drop for SchedShared {
    fn drop(&mut self) {
        // The custom clock's reference is deleted with the last owner (the object or a fast
        // function), and never during env teardown, when the env frees it itself.
        if let Some(c) = self.clock.take() {
            if !fast::env_closing() {
                c.release(&Env::from_raw(self.env));
            }
        }
    }
}

impl SchedShared {
    fn sync(&self, env: &Env) -> Result<()> {
        self.converting.check().or_throw(env)?;
        match &self.clock {
            Some(c @ ClockSource::Custom { .. }) => self.converting.run(|| c.sync(env)),
            _ => Ok(()),
        }
    }

    /// Converts arguments with `f`, which may run the caller's JS (B1: before any borrow).
    fn convert<T>(&self, f: impl FnOnce() -> CodedResult<T>) -> CodedResult<T> {
        self.converting.check()?;
        self.converting.run(f)
    }

    fn core(&self) -> CodedResult<std::cell::RefMut<'_, sched::Scheduler<Value>>> {
        self.converting.check()?;
        self.sched.try_borrow_mut().map_err(|_| args::reentrant())
    }

    fn set_timeout(&self, env: &Env, delay: u64) -> CodedResult<u64> {
        let mut core = self.core()?;
        if core.peek_clock().saturating_add(delay) as f64 > MAX_SAFE_INTEGER {
            return Err(Coded::out_of_range("delayMs", "a delay whose deadline stays <= 2^53 - 1", delay));
        }
        let _ = env;
        core.set_timeout(delay).map(|id| id.0).map_err(Coded::from)
    }
}

fn sync_raw(shared: &SchedShared, env: napi::sys::napi_env) -> CodedResult<()> {
    // A custom clock's nowMs() threw or misbehaved: its coded error is already pending.
    shared.sync(&Env::from_raw(env)).map_err(|_| Coded::pending())
}

fast::raw_fn!(fast_set_timeout: SchedShared, 1, |s, env, a| {
    let delay = fast::u53(env, a.argv[0], "delayMs")?;
    sync_raw(s, env)?;
    let id = s.set_timeout(&Env::from_raw(env), delay)?;
    fast::to_number(env, id as f64)
});
fast::raw_fn!(fast_clear_timeout: SchedShared, 1, |s, env, a| {
    let id = fast::u53(env, a.argv[0], "timerId")?;
    let cleared = s.core()?.clear_timeout(TimerId(id));
    fast::to_bool(env, cleared)
});
fast::raw_fn!(fast_drain_timers: SchedShared, 1, |s, env, a| {
    fast::float64_array(env, a.argv[0], "out")?;
    sync_raw(s, env)?;
    // T1: a custom clock's nowMs() may have detached or shrunk `out`: take its memory only now.
    let out = fast::float64_array(env, a.argv[0], "out")?;
    let mut i = 0;
    let n = s.core()?.drain_timers(out.len, |id| {
        out.write(i, id.0 as f64);
        i += 1;
    });
    fast::to_number(env, n as f64)
});

// `drainInto(maxTasks, out, extras)`, the batch behind the package's `drain()`: the tasks
// `drain(maxTasks)` returns, as `[seq, x]` pairs in `out`: `x > 0` is a `timer_fired` task's
// timer id (the JS layer builds its object), else the task's object (built here) is
// `extras[-x]`. Returns the task count, or `-needed` without reading the clock or taking a task
// when `out` holds fewer than `needed` numbers (the caller grows it and calls again).
fast::raw_fn!(fast_drain_into: SchedShared, 3, |s, env, a| {
    let max = fast::u53(env, a.argv[0], "maxTasks")?;
    let bound = {
        let core = s.core()?;
        (max as usize).min(core.macrotask_count().saturating_add(core.timer_count()))
    };
    let needed = bound.saturating_mul(2);
    if fast::float64_array(env, a.argv[1], "out")?.len < needed {
        return fast::to_number(env, -(needed as f64));
    }
    sync_raw(s, env)?;
    // T1: the clock's nowMs() ran JS: take `out`'s memory only now.
    let out = fast::float64_array(env, a.argv[1], "out")?;
    if out.len < needed {
        return Err(Coded::new(Code::Internal, "drain's buffer changed while the clock was read"));
    }
    // Tasks of other kinds become objects only after the borrow ends (B1: building an object
    // can run inherited setters).
    let mut others = Vec::new();
    let mut i = 0;
    let n = s.core()?.drain_each(bound, |t| {
        out.write(2 * i, t.seq.0 as f64);
        let x = match t.kind {
            sched::MacrotaskKind::TimerFired { timer_id, .. } => timer_id.0 as f64,
            _ => {
                others.push(t);
                -((others.len() - 1) as f64)
            }
        };
        out.write(2 * i + 1, x);
        i += 1;
    });
    let napi_env = Env::from_raw(env);
    for (k, t) in others.iter().enumerate() {
        task_to_js(&napi_env, t)
            .and_then(|o| fast::set_element(env, a.argv[2], k as u32, o.raw()))
            .map_err(|e| Coded::new(Code::Internal, format!("could not build a macrotask object: {e}")))?;
    }
    fast::to_number(env, n as f64)
});

impl Scheduler {
    fn sync(&self, env: &Env) -> Result<()> {
        self.shared.sync(env)
    }

    fn inner(&self) -> CodedResult<std::cell::RefMut<'_, sched::Scheduler<Value>>> {
        self.shared.core()
    }

    fn recorded(&self) -> CodedResult<sched::Trace> {
        self.inner()?.trace().ok_or_else(|| not_recording("Scheduler"))
    }
}

#[napi]
impl Scheduler {
    /// `new Scheduler({ clock, record })`: `clock` is a `DeterministicClock`, a `WallClock`
    /// (the default) or any object with a `nowMs()` method returning milliseconds. With
    /// `record: true` the scheduler keeps a trace of every input, clock reading and dispatch.
    #[napi(
        constructor,
        ts_args_type = "options?: { clock?: DeterministicClock | WallClock | { nowMs(): number }, record?: boolean }"
    )]
    pub fn new(env: Env, options: Option<Unknown>) -> Result<Self> {
        crate::obs::init_from_env();
        let opts = args::options(options, "options").or_throw(&env)?;
        let (clock_v, record) = match &opts {
            Some(o) => {
                let record = args::opt_bool(o, "record", "options.record", false).or_throw(&env)?;
                (Some(args::prop(o, "clock").or_throw(&env)?), record)
            }
            None => (None, false),
        };
        let (clock, source) = ClockSource::from_option(clock_v).or_throw(&env)?;
        let inner =
            sched::Scheduler::new(clock).with_max_timer_id(MAX_SAFE_INTEGER as u64).with_recording(record);
        fast::watch_env(env.raw());
        let s = Self {
            shared: Rc::new(SchedShared {
                env: env.raw(),
                sched: RefCell::new(inner),
                clock: Some(source),
                converting: args::Converting::default(),
            }),
        };
        s.sync(&env)?;
        Ok(s)
    }

    /// The next seq to be assigned (starts at 0).
    #[napi(getter)]
    pub fn current_seq(&self, env: Env) -> Result<f64> {
        Ok(self.inner().or_throw(&env)?.current_seq().0 as f64)
    }

    /// Queued macrotasks.
    #[napi(getter)]
    pub fn macrotask_count(&self, env: Env) -> Result<u32> {
        Ok(self.inner().or_throw(&env)?.macrotask_count() as u32)
    }

    /// Pending (not cancelled) timers.
    #[napi(getter)]
    pub fn timer_count(&self, env: Env) -> Result<u32> {
        Ok(self.inner().or_throw(&env)?.timer_count() as u32)
    }

    /// The clock's time in milliseconds.
    #[napi]
    pub fn now_ms(&self, env: Env) -> Result<f64> {
        self.sync(&env)?;
        Ok(self.inner().or_throw(&env)?.now_ms() as f64)
    }

    /// True when a macrotask is queued or a non-cancelled timer is pending. O(1).
    #[napi]
    pub fn has_pending(&self, env: Env) -> Result<bool> {
        Ok(self.inner().or_throw(&env)?.has_pending())
    }

    /// Sets a timer due at `now + delayMs`; returns its id (ids start at 1, wrap to 1 after
    /// `Number.MAX_SAFE_INTEGER`, skipping ids still pending). Takes the next seq.
    #[napi(ts_args_type = "delayMs: number")]
    pub fn set_timeout(&self, env: Env, delay_ms: Unknown) -> Result<f64> {
        let delay = args::u53(&delay_ms, "delayMs").or_throw(&env)?;
        self.sync(&env)?;
        Ok(self.shared.set_timeout(&env, delay).or_throw(&env)? as f64)
    }

    /// Cancels a timer: true only if it was pending and not yet cancelled.
    #[napi(ts_args_type = "timerId: number")]
    pub fn clear_timeout(&self, env: Env, timer_id: Unknown) -> Result<bool> {
        let id = args::u53(&timer_id, "timerId").or_throw(&env)?;
        Ok(self.inner().or_throw(&env)?.clear_timeout(TimerId(id)))
    }

    /// Appends a hostcall completion macrotask with the next seq (never runs JS, I4).
    #[napi(ts_args_type = "callId: string, outcome: HostcallOutcome")]
    pub fn enqueue_hostcall_complete(&self, env: Env, call_id: Unknown, outcome: Unknown) -> Result<()> {
        let call_id = args::string(&call_id, "callId").or_throw(&env)?;
        let outcome = self.shared.convert(|| outcome_from_js(&env, &outcome, "outcome")).or_throw(&env)?;
        self.inner().or_throw(&env)?.enqueue_hostcall_complete(call_id, outcome);
        Ok(())
    }

    /// Appends several completions in list order in one call; equivalent to calling
    /// `enqueueHostcallComplete` for each. The whole list is validated first: on a bad entry
    /// nothing is enqueued.
    #[napi(ts_args_type = "list: Array<[string, HostcallOutcome]>")]
    pub fn enqueue_hostcall_completions(&self, env: Env, list: Unknown) -> Result<()> {
        let parsed = self.shared.convert(|| parse_completions(&env, &list)).or_throw(&env)?;
        self.inner().or_throw(&env)?.enqueue_hostcall_completions(parsed);
        Ok(())
    }

    /// Appends a `stream_chunk` outcome for `callId`.
    #[napi(ts_args_type = "callId: string, sequence: number, chunk: unknown, isFinal: boolean")]
    pub fn enqueue_stream_chunk(
        &self,
        env: Env,
        call_id: Unknown,
        sequence: Unknown,
        chunk: Unknown,
        is_final: Unknown,
    ) -> Result<()> {
        let call_id = args::string(&call_id, "callId").or_throw(&env)?;
        let sequence = args::u53(&sequence, "sequence").or_throw(&env)?;
        let chunk = self.shared.convert(|| args::json(&env, &chunk, "chunk")).or_throw(&env)?;
        let is_final = args::boolean(&is_final, "isFinal").or_throw(&env)?;
        self.inner().or_throw(&env)?.enqueue_stream_chunk(call_id, sequence, chunk, is_final);
        Ok(())
    }

    /// Appends an `inbound_event` macrotask.
    #[napi(ts_args_type = "eventId: string, payload?: unknown")]
    pub fn enqueue_event(&self, env: Env, event_id: Unknown, payload: Option<Unknown>) -> Result<()> {
        let event_id = args::string(&event_id, "eventId").or_throw(&env)?;
        let payload = match payload {
            Some(p) => self.shared.convert(|| args::json(&env, &p, "payload")).or_throw(&env)?,
            None => Value::Null,
        };
        self.inner().or_throw(&env)?.enqueue_event(event_id, payload);
        Ok(())
    }

    /// One tick: moves every due timer (deadline <= now, in (deadline, seq) order) to the back
    /// of the queue with a fresh seq, then pops at most one macrotask (I1).
    #[napi(ts_return_type = "Macrotask | null")]
    pub fn tick<'e>(&self, env: &'e Env) -> Result<Option<Object<'e>>> {
        self.sync(env)?;
        let t = self.inner().or_throw(env)?.tick();
        match t {
            Some(t) => Ok(Some(task_to_js(env, &t)?)),
            None => Ok(None),
        }
    }

    /// Up to `maxTasks` ticks in one call (one JS↔native crossing): exactly what calling
    /// `tick()` repeatedly would return, stopping at the first `null`. The clock is read once.
    #[napi(ts_args_type = "maxTasks: number", ts_return_type = "Macrotask[]")]
    pub fn drain<'e>(&self, env: &'e Env, max_tasks: Unknown) -> Result<Array<'e>> {
        let max = args::u53(&max_tasks, "maxTasks").or_throw(env)?;
        self.sync(env)?;
        let tasks = self.inner().or_throw(env)?.drain(usize::try_from(max).unwrap_or(usize::MAX));
        let mut arr = env.create_array(tasks.len() as u32)?;
        for (i, t) in tasks.iter().enumerate() {
            arr.set(i as u32, task_to_js(env, t)?)?;
        }
        Ok(arr)
    }

    /// Fired timers without a `Macrotask` object each: moves due timers (as `tick()` does), then
    /// writes the ids of the consecutive `timer_fired` macrotasks at the front of the queue into
    /// `out` (up to `out.length`) and returns how many. Stops at the first macrotask of another
    /// kind, which stays queued for `tick()`/`drain()`. The same order `tick()` would give.
    #[napi(ts_args_type = "out: Float64Array", ts_return_type = "number")]
    pub fn drain_timers<'e>(&self, env: &'e Env, out: Unknown) -> Result<Unknown<'e>> {
        fast::float64_array(env.raw(), out.raw(), "out").or_throw(env)?;
        self.sync(env)?;
        // T1: a custom clock's nowMs() may have detached or shrunk `out`: take its memory only now.
        let out = fast::float64_array(env.raw(), out.raw(), "out").or_throw(env)?;
        let mut i = 0;
        let n = self.inner().or_throw(env)?.drain_timers(out.len, |id| {
            out.write(i, id.0 as f64);
            i += 1;
        });
        fast::to_unknown(env, fast::to_number(env.raw(), n as f64))
    }

    /// Internal: the hot methods as raw N-API functions bound to this scheduler, without
    /// napi-rs's per-call overhead: `{ setTimeout, clearTimeout, drainTimers, drainInto }`. The
    /// package's `Scheduler` class (lib/scheduler.js) routes its methods through them and removes
    /// this method from the prototype.
    #[napi(js_name = "__seqloopFastPaths", skip_typescript)]
    pub fn fast_paths<'e>(&self, env: &'e Env) -> Result<Object<'e>> {
        fast::bound_object(
            env,
            &self.shared,
            fast::bind,
            &[
                (c"setTimeout", fast_set_timeout),
                (c"clearTimeout", fast_clear_timeout),
                (c"drainTimers", fast_drain_timers),
                (c"drainInto", fast_drain_into),
            ],
        )
    }

    /// The recorded trace `{ version: 1, created_by, clock, max_timer_id, records }` (a copy).
    /// Throws `ERR_NOT_RECORDING` unless constructed with `record: true`.
    #[napi]
    pub fn trace(&self, env: Env) -> Result<TraceObject> {
        let t = self.recorded().or_throw(&env)?;
        Ok(trace_to_js(&t))
    }

    /// The recorded trace as JSONL: a header line, one record per line, an end line.
    /// Throws `ERR_NOT_RECORDING` unless recording.
    #[napi]
    pub fn trace_jsonl(&self, env: Env) -> Result<String> {
        Ok(self.recorded().or_throw(&env)?.to_jsonl())
    }

    /// 16 lowercase hex digits: a stable hash of the dispatched sequence so far (equal runs have
    /// equal digests in every process and on every machine). Throws `ERR_NOT_RECORDING` unless
    /// recording.
    #[napi]
    pub fn digest(&self, env: Env) -> Result<String> {
        let d = self.inner().or_throw(&env)?.digest();
        match d {
            Some(d) => Ok(d.to_string()),
            None => Err(not_recording("Scheduler").throw(&env)),
        }
    }

    /// Earliest deadline of a non-cancelled timer, or null. O(1).
    #[napi]
    pub fn next_timer_deadline(&self, env: Env) -> Result<Option<f64>> {
        Ok(self.inner().or_throw(&env)?.next_timer_deadline().map(|d| d as f64))
    }

    /// `max(0, nextTimerDeadline - now)`, or null without timers.
    #[napi]
    pub fn time_until_next_timer(&self, env: Env) -> Result<Option<f64>> {
        self.sync(&env)?;
        Ok(self.inner().or_throw(&env)?.time_until_next_timer().map(|d| d as f64))
    }
}

fn parse_completions(
    env: &Env,
    list: &Unknown<'_>,
) -> CodedResult<Vec<(String, sched::HostcallOutcome<Value>)>> {
    let not_array = || Coded::arg_type("list", "an Array of [callId, outcome] pairs", args::describe(list));
    if args::ty(list) != ValueType::Object {
        return Err(not_array());
    }
    let arr = args::array(list).ok_or_else(not_array)?;
    let mut out = args::list_vec(arr.len(), "list")?;
    for i in 0..arr.len() {
        let name = format!("list[{i}]");
        let pair: Unknown = arr
            .get(i)
            .ok()
            .flatten()
            .ok_or_else(|| Coded::arg_type(&name, "a [callId, outcome] pair", "a hole"))?;
        if args::ty(&pair) != ValueType::Object {
            return Err(Coded::arg_type(&name, "a [callId, outcome] pair", args::describe(&pair)));
        }
        let pair = args::array(&pair)
            .ok_or_else(|| Coded::arg_type(&name, "a [callId, outcome] pair", "an object"))?;
        let id: Unknown = pair
            .get(0)
            .ok()
            .flatten()
            .ok_or_else(|| Coded::arg_type(&name, "a [callId, outcome] pair", "an empty array"))?;
        let outcome: Unknown = pair
            .get(1)
            .ok()
            .flatten()
            .ok_or_else(|| Coded::arg_type(&name, "a [callId, outcome] pair", "a one-element array"))?;
        out.push((
            args::string(&id, &format!("{name}[0]"))?,
            outcome_from_js(env, &outcome, &format!("{name}[1]"))?,
        ));
    }
    Ok(out)
}
