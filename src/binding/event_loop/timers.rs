//! The timer functions every `EventLoop` shares (`__seqloopEventLoopRaw()`): raw N-API
//! callbacks taking a loop handle first, called by `lib/event-loop.js` for `setTimeout`,
//! `setInterval`, `setImmediate`, `clear*` and the batch runner's `step()` / `rearm()`.

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;
use std::rc::Rc;
use std::sync::atomic::Ordering;

use super::super::args::MAX_SAFE_INTEGER;
use super::super::error::{Coded, CodedResult};
use super::super::ffi::fast;
use super::state::{Interval, LoopInner, LIVE_LOOPS};
use crate::runloop::{self, Step};
use crate::sched::{MacrotaskKind, TimerId};

impl LoopInner {
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
        if !st.batching || st.slice.expired() || !run.policy.takes_more() {
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
        st.ran();
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
                let next = runloop::interval_rearm_deadline(deadline, ms, st.now(), st.clock.is_none());
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
pub(super) struct Handle {
    pub(super) inner: Rc<LoopInner>,
    pub(super) runner: bool,
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

/// The timer functions every `EventLoop` shares, without napi-rs's per-call overhead (and,
/// being one set per process rather than per loop, without per-loop function objects that
/// would make JS call sites megamorphic): `{ setTimeout(h, fn, ms), setInterval(h, fn, ms),
/// setImmediate(h, fn), clearTimeout(h, id), clearImmediate(h, id), step(h), rearm(h, id) }`
/// where `h` is a handle from `__seqloopHooks()`. `fn` is only checked: callbacks live in JS.
///
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
    LIVE_LOOPS.load(Ordering::Relaxed) as u32
}
