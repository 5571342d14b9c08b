//! The loop's state: the core scheduler and clock, the JS values it holds, pending hostcalls,
//! listeners and the active run. Safe code; its napi calls go through `ffi/loop_glue.rs`.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};

use napi::sys;
use rustc_hash::FxHashMap;

use super::super::args;
use super::super::error::CodedResult;
use super::super::ffi::fast::env_closing;
use super::super::ffi::loop_glue::{self as glue, RunTimer, Stash, WeakRef};
use super::Slot;
use crate::runloop::{self, RunPolicy, Slice, Step};
use crate::sched::{self, Macrotask, Scheduler};

/// Loops whose native state is alive (diagnostics: `__seqloopLiveLoops()`).
pub(super) static LIVE_LOOPS: AtomicUsize = AtomicUsize::new(0);

/// A payload or hostcall value as the core scheduler holds it: the JS value itself (by stash
/// slot, so callbacks get the very object passed in) and, when recording, its JSON snapshot
/// taken at enqueue time (what the trace and the digest see).
#[derive(Debug, Clone)]
pub(super) struct Held {
    pub(super) slot: Slot,
    pub(super) json: Option<serde_json::Value>,
}

impl sched::TracePayload for Held {
    fn trace_json(&self) -> std::borrow::Cow<'_, serde_json::Value> {
        match &self.json {
            Some(v) => std::borrow::Cow::Borrowed(v),
            None => std::borrow::Cow::Owned(serde_json::Value::Null),
        }
    }
}

/// An interval's period and the deadline it last fired at (it re-arms from there).
#[derive(Debug, Clone, Copy)]
pub(super) struct Interval {
    pub(super) ms: u64,
    pub(super) deadline: u64,
}

pub(super) struct Pending {
    pub(super) deferred: sys::napi_deferred,
    pub(super) ctx: sys::napi_async_context,
}

pub(super) struct Listener {
    pub(super) func: Slot,
    pub(super) ctx: sys::napi_async_context,
}

/// The active run: its policy state (`runloop`) and what the binding needs to drive and settle it.
pub(super) struct Run {
    pub(super) policy: RunPolicy,
    pub(super) deferred: sys::napi_deferred,
    pub(super) ctx: sys::napi_async_context,
    /// The run's libuv timer, holding the `Rc` given to libuv (E3, N5) until it closes at finish.
    pub(super) timer: Option<RunTimer<LoopInner>>,
    pub(super) sleeping: bool,
}

/// What the batch runner path needs (see `driver::drive`).
pub(super) struct Hooks {
    pub(super) runner: Slot,
    /// The JS callback table the runner reads: weak, strong while a run is active.
    pub(super) table: WeakRef,
}

pub(super) struct State {
    pub(super) core: Scheduler<Held>,
    /// The virtual clock (None for a wall-clock loop).
    pub(super) clock: Option<sched::DeterministicClock>,
    pub(super) stash: Stash,
    pub(super) receiver: Slot,
    /// Live intervals (timeouts need nothing here: their callbacks are held in JS).
    pub(super) intervals: FxHashMap<u64, Interval>,
    pub(super) next_immediate: u64,
    pub(super) hostcalls: FxHashMap<String, Pending>,
    pub(super) streams: FxHashMap<String, Listener>,
    pub(super) listeners: Vec<Listener>,
    pub(super) run: Option<Run>,
    /// The batch runner and the loop's callback table, installed by `lib/event-loop.js`
    /// through `__seqloopHooks(hooks)`.
    pub(super) hooks: Option<Hooks>,
    /// The step the batch runner handed back to the driver (a task it does not run, a finish
    /// or a sleep). Always consumed within the same `drive`.
    pub(super) pending: Option<Step<Held>>,
    /// True while the driver is inside the batch runner.
    pub(super) batching: bool,
    /// Set by the runner's `step()`: a runner that returns without calling it would leave the
    /// driver re-entering it forever (100% CPU), so that run is rejected instead.
    pub(super) stepped: bool,
    /// The current time slice of the driver.
    pub(super) slice: Slice,
}

impl State {
    pub(super) fn new(
        core: Scheduler<Held>,
        clock: Option<sched::DeterministicClock>,
        stash: Stash,
        receiver: Slot,
    ) -> Self {
        Self {
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
        }
    }

    pub(super) fn now(&self) -> u64 {
        self.core.now_ms()
    }

    /// The next step of the active run, as the core policy decides it.
    fn next_step(&mut self) -> Step<Held> {
        let Some(run) = self.run.as_ref() else { return Step::Finish(runloop::Settle::Count) };
        let outstanding_io = !self.hostcalls.is_empty() || !self.streams.is_empty();
        run.policy.next_step(&mut self.core, self.clock.as_ref(), outstanding_io)
    }

    /// True when the batch runner runs `task` (see `runloop::route`).
    pub(super) fn batchable(&self, task: &Macrotask<Held>) -> bool {
        runloop::route(task, self.hooks.is_some()) == runloop::Route::Runner
    }

    /// The next step of the active run: the one the runner handed back, else a fresh one.
    pub(super) fn take_step(&mut self) -> Step<Held> {
        match self.pending.take() {
            Some(s) => s,
            None => self.next_step(),
        }
    }

    /// Counts one macrotask the active run executed (policy and time slice).
    pub(super) fn ran(&mut self) {
        if let Some(run) = self.run.as_mut() {
            run.policy.ran();
        }
        self.slice.tick();
    }
}

/// The loop's shared state; `Rc` because libuv callbacks need it too (E3).
pub(crate) struct LoopInner {
    pub(super) env: sys::napi_env,
    pub(super) state: RefCell<State>,
    /// Set while a method runs the caller's JS to read its arguments (getters, proxies).
    pub(super) converting: args::Converting,
}

impl LoopInner {
    pub(super) fn new(env: sys::napi_env, state: State) -> Self {
        // Relaxed: a statistics counter; no data is published through it.
        LIVE_LOOPS.fetch_add(1, Ordering::Relaxed);
        Self { env, state: RefCell::new(state), converting: args::Converting::default() }
    }

    /// Wakes a sleeping run (new work arrived).
    pub(super) fn wake(&self) {
        let st = self.state.borrow();
        if let Some(run) = st.run.as_ref() {
            if run.sleeping {
                if let Some(t) = &run.timer {
                    t.set_ref(true);
                    t.start(0);
                }
            }
        }
    }

    /// The state for a method call: `ERR_REENTRANT_CALL` while a conversion of this loop's runs
    /// (or, never under E1, while the state is borrowed).
    pub(super) fn st(&self) -> CodedResult<std::cell::Ref<'_, State>> {
        self.converting.check()?;
        self.state.try_borrow().map_err(|_| args::reentrant())
    }

    /// [`st`](Self::st), mutable.
    pub(super) fn state_mut(&self) -> CodedResult<std::cell::RefMut<'_, State>> {
        self.converting.check()?;
        self.state.try_borrow_mut().map_err(|_| args::reentrant())
    }

    /// Converts arguments with `f`, which may run the caller's JS (E1: before any borrow).
    pub(super) fn convert<T>(&self, f: impl FnOnce() -> CodedResult<T>) -> CodedResult<T> {
        self.converting.check()?;
        self.converting.run(f)
    }
}

impl glue::UvDriven for LoopInner {
    fn env(&self) -> sys::napi_env {
        self.env
    }

    fn drive(self: &std::rc::Rc<Self>) {
        super::driver::drive(self);
    }
}

impl Drop for LoopInner {
    fn drop(&mut self) {
        // Relaxed: a statistics counter; no data is published through it.
        LIVE_LOOPS.fetch_sub(1, Ordering::Relaxed);
        if env_closing() {
            return; // E5: the env frees its own handles at teardown.
        }
        let env = self.env;
        let st = self.state.get_mut();
        if let Some(h) = st.hooks.take() {
            h.table.delete(env);
        }
        let ctxs = st
            .streams
            .drain()
            .map(|(_, l)| l.ctx)
            .chain(st.listeners.drain(..).map(|l| l.ctx))
            .chain(st.hostcalls.drain().map(|(_, p)| p.ctx))
            .collect::<Vec<_>>();
        for ctx in ctxs {
            // Each context is destroyed once, here, because the maps were drained (N3).
            glue::destroy_ctx(env, ctx);
        }
        st.stash.release(env);
    }
}
