//! JS class `TimerQueue`: the core timer queue on its own, for JS code that keeps its own
//! callbacks and clock (the fake timers of `seqloop/fake-timers`).
//!
//! Exact (deadline, seq) order like the `Scheduler`, but no clock, no macrotask objects and no
//! JSON: a timer is a deadline in, an id out, and firing writes ids into a caller-owned
//! `Float64Array`. The package's `TimerQueue` (lib/scheduler.js) runs its hot methods through
//! process-wide raw N-API functions taking a queue handle (`ffi/fast.rs`), so one insert or one batch
//! of due timers costs one ~50 ns crossing.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

use super::args::MAX_SAFE_INTEGER;
use super::error::{Code, Coded, CodedResult};
use super::ffi::fast;
use crate::sched::TimerQueue as CoreQueue;

/// `n` as a timer id: ids are the positive safe integers.
fn timer_id(n: f64) -> Option<u64> {
    (n.fract() == 0.0 && (1.0..=MAX_SAFE_INTEGER).contains(&n)).then_some(n as u64)
}

/// The queue and its id counter (ids 1..=2^53-1, wrapping and skipping live ids).
pub(crate) struct QueueState {
    queue: RefCell<CoreQueue>,
    next_id: Cell<u64>,
}

impl QueueState {
    fn new() -> Self {
        Self { queue: RefCell::new(CoreQueue::new()), next_id: Cell::new(1) }
    }

    fn busy() -> Coded {
        super::args::reentrant()
    }

    fn insert(&self, env: sys::napi_env, deadline: sys::napi_value) -> fast::Ret {
        let deadline = fast::u53(env, deadline, "deadlineMs")?;
        let mut q = self.queue.try_borrow_mut().map_err(|_| Self::busy())?;
        if q.len() as f64 >= MAX_SAFE_INTEGER {
            return Err(Coded::new(Code::TimerIdsExhausted, "every timer id is pending"));
        }
        let id = self.take_id(&q);
        q.insert(id, deadline);
        fast::to_number(env, id as f64)
    }

    /// The next free id (ids wrap at 2^53-1 and skip pending ones).
    fn take_id(&self, q: &CoreQueue) -> u64 {
        let max = MAX_SAFE_INTEGER as u64;
        loop {
            let id = self.next_id.get();
            self.next_id.set(if id >= max { 1 } else { id + 1 });
            if !q.contains(id) {
                return id;
            }
        }
    }

    /// Inserts `count` timers with ids chosen by the caller, in order, in one crossing:
    /// `entries` holds `[id, deadline, id, deadline, …]`. Each id must be a positive safe
    /// integer that is not pending (an id that fired or was cancelled may be used again), each
    /// deadline a non-negative safe integer. All or nothing: on a bad entry the timers this
    /// call inserted are cancelled again before the error is thrown.
    fn insert_many(&self, env: sys::napi_env, entries: sys::napi_value, count: sys::napi_value) -> fast::Ret {
        let buf = fast::float64_array(env, entries, "entries")?;
        let count = fast::u53(env, count, "count")?;
        let count = usize::try_from(count).ok().filter(|&c| c <= buf.len / 2).ok_or_else(|| {
            Coded::out_of_range("count", &format!("<= entries.length / 2 ({})", buf.len / 2), count)
        })?;
        let mut q = self.queue.try_borrow_mut().map_err(|_| Self::busy())?;
        for i in 0..count {
            let (id, deadline) = (buf.read(2 * i), buf.read(2 * i + 1));
            // The entry's name is formatted only for the error message.
            let checked = match super::args::check_u53(deadline, "deadline") {
                Ok(d) => Ok(d),
                Err(_) => super::args::check_u53(deadline, &format!("entries[{}]", 2 * i + 1)),
            };
            let checked = checked.and_then(|deadline| match timer_id(id) {
                None => {
                    Err(Coded::out_of_range(&format!("entries[{}]", 2 * i), "a positive safe integer id", id))
                }
                Some(id) if q.contains(id) => {
                    Err(Coded::new(Code::InvalidArgValue, format!("timer id {id} is already pending")))
                }
                Some(id) => Ok((id, deadline)),
            });
            match checked {
                Ok((id, deadline)) => q.insert(id, deadline),
                Err(e) => {
                    for j in 0..i {
                        q.cancel(buf.read(2 * j) as u64);
                    }
                    return Err(e);
                }
            }
        }
        fast::to_number(env, count as f64)
    }

    fn cancel(&self, env: sys::napi_env, id: sys::napi_value) -> fast::Ret {
        let Some(id) = fast::number(env, id) else {
            return Err(Coded::arg_type("id", "of type number", fast::describe(env, id)));
        };
        // Anything but a timer id cannot be pending.
        let mut q = self.queue.try_borrow_mut().map_err(|_| Self::busy())?;
        fast::to_bool(env, timer_id(id).is_some_and(|id| q.cancel(id)))
    }

    fn peek(&self, env: sys::napi_env) -> fast::Ret {
        let q = self.queue.try_borrow().map_err(|_| Self::busy())?;
        match q.peek_deadline() {
            Some(d) => fast::to_number(env, d as f64),
            None => fast::null(env),
        }
    }

    fn size(&self, env: sys::napi_env) -> fast::Ret {
        let q = self.queue.try_borrow().map_err(|_| Self::busy())?;
        fast::to_number(env, q.len() as f64)
    }

    /// Pops timers due at the earliest deadline if it is `<= limit`, and then, while at most
    /// `spans` deadlines are taken, every timer of each next deadline `<= limit` whose timers
    /// all fit in `out`: writes up to `out.length - 1` ids, in (deadline, seq) order, to
    /// `out[1..]` and the last deadline taken to `out[0]`. Returns the count (0 when nothing is
    /// due). Only the earliest deadline may be taken in part; its remaining timers stay first in
    /// line.
    fn pop_due(
        &self,
        env: sys::napi_env,
        limit: sys::napi_value,
        out: sys::napi_value,
        spans: sys::napi_value,
    ) -> fast::Ret {
        let limit = match fast::number(env, limit) {
            Some(n) if !n.is_nan() => n,
            _ => return Err(Coded::arg_type("limitMs", "a number", fast::describe(env, limit))),
        };
        let buf = fast::float64_array(env, out, "out")?;
        if buf.len < 2 {
            return Err(Coded::out_of_range("out.length", ">= 2", buf.len));
        }
        let spans = if fast::type_of(env, spans) == sys::ValueType::napi_undefined {
            1
        } else {
            fast::u53(env, spans, "maxDeadlines")?.max(1)
        };
        let mut q = self.queue.try_borrow_mut().map_err(|_| Self::busy())?;
        // The limit is a JS number: anything below 0 (or NaN, refused above) means nothing is due.
        let limit =
            if limit < 0.0 { return fast::to_number(env, 0.0) } else { limit.min(u64::MAX as f64) as u64 };
        let cap = buf.len - 1;
        let mut n = 0;
        let mut last = None;
        for _ in 0..spans {
            // A later deadline is taken whole or not at all (the JS clock may give it back).
            if n > 0 && q.peek_len() > cap - n {
                break;
            }
            let Some(deadline) = q.pop_batch(limit, cap - n, |id| {
                n += 1;
                buf.write(n, id as f64);
            }) else {
                break;
            };
            last = Some(deadline);
            if n == cap {
                break;
            }
        }
        let Some(deadline) = last else { return fast::to_number(env, 0.0) };
        buf.write(0, deadline as f64);
        fast::to_number(env, n as f64)
    }

    /// Ids and deadlines of every pending timer in firing order, as a flat
    /// `[id, deadline, id, deadline, …]` array (for diagnostics and `uninstall`).
    fn entries(&self) -> CodedResult<Vec<f64>> {
        let q = self.queue.try_borrow().map_err(|_| Self::busy())?;
        Ok(q.snapshot().into_iter().flat_map(|(id, d)| [id as f64, d as f64]).collect())
    }
}

/// What a queue handle owns (see `__seqloopHandle()` and `__seqloopTimerQueueRaw()`).
struct QueueHandle(Rc<QueueState>);

macro_rules! queue_fn {
    ($name:ident, $n:literal, |$s:ident, $env:ident, $a:ident| $body:expr) => {
        fast::handle_fn!($name: QueueHandle, "a TimerQueue handle", $n, |h, $env, $a| {
            let $s = &h.0;
            $body
        });
    };
}

queue_fn!(raw_insert, 2, |s, env, a| s.insert(env, a.argv[1]));
queue_fn!(raw_insert_many, 3, |s, env, a| s.insert_many(env, a.argv[1], a.argv[2]));
queue_fn!(raw_cancel, 2, |s, env, a| s.cancel(env, a.argv[1]));
queue_fn!(raw_peek, 1, |s, env, _a| s.peek(env));
queue_fn!(raw_pop_due, 4, |s, env, a| s.pop_due(env, a.argv[1], a.argv[2], a.argv[3]));
queue_fn!(raw_size, 1, |s, env, _a| s.size(env));

/// `create()`: a handle to a new, empty queue, with no `TimerQueue` object around it (one
/// finalizable object instead of two, for code that makes many short-lived queues).
struct Create;

impl fast::UnboundFn<0> for Create {
    fn run(env: sys::napi_env, _args: &fast::Args<0>) -> fast::Ret {
        let env = Env::from_raw(env);
        fast::new_handle(&env, QueueHandle(Rc::new(QueueState::new())))
            .map(|v| v.raw())
            .map_err(|e| Coded::new(Code::Internal, format!("could not create a queue handle: {e}")))
    }
}

const RAW_CREATE: fast::UnboundCb = fast::UnboundCb::plain::<Create, 0>();

/// Pending timers in exact (deadline, seq) order, without a clock or callbacks: insert a
/// deadline, get an id; `popDue` hands back the ids due at the earliest deadline. Ids are
/// 1..2^53-1 (wrapping, skipping pending ids). `peekDeadline()` and `size` are O(1).
#[napi(js_name = "TimerQueue")]
pub struct JsTimerQueue {
    state: Rc<QueueState>,
}

#[napi]
impl JsTimerQueue {
    /// An empty queue.
    #[napi(constructor)]
    pub fn new() -> Self {
        Self { state: Rc::new(QueueState::new()) }
    }

    /// Adds a timer due at `deadlineMs` (a non-negative safe integer); returns its id.
    #[napi(ts_args_type = "deadlineMs: number", ts_return_type = "number")]
    pub fn insert<'e>(&self, env: &'e Env, deadline_ms: Unknown) -> Result<Unknown<'e>> {
        fast::to_unknown(env, self.state.insert(env.raw(), deadline_ms.raw()))
    }

    /// Cancels timer `id`: true only when it was pending.
    #[napi(ts_args_type = "id: number", ts_return_type = "boolean")]
    pub fn cancel<'e>(&self, env: &'e Env, id: Unknown) -> Result<Unknown<'e>> {
        fast::to_unknown(env, self.state.cancel(env.raw(), id.raw()))
    }

    /// Earliest pending deadline, or null. O(1).
    #[napi(ts_return_type = "number | null")]
    pub fn peek_deadline<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        fast::to_unknown(env, self.state.peek(env.raw()))
    }

    /// Pending timers.
    #[napi(getter)]
    pub fn size(&self) -> f64 {
        self.state.queue.try_borrow().map(|q| q.len() as f64).unwrap_or(0.0)
    }

    /// If the earliest deadline is `<= limitMs`, pops the timers due then (up to
    /// `out.length - 1`, in seq order), and with `maxDeadlines > 1` also every timer of the next
    /// deadlines `<= limitMs`, up to `maxDeadlines` deadlines in all, taking a later deadline
    /// only when all its timers fit: `out[1..count]` = ids in (deadline, seq) order, `out[0]` =
    /// the last deadline taken. Returns the count; 0 when nothing is due.
    #[napi(
        ts_args_type = "limitMs: number, out: Float64Array, maxDeadlines?: number",
        ts_return_type = "number"
    )]
    pub fn pop_due<'e>(
        &self,
        env: &'e Env,
        limit_ms: Unknown,
        out: Unknown,
        max_deadlines: Option<Unknown>,
    ) -> Result<Unknown<'e>> {
        let spans = match max_deadlines {
            Some(v) => v.raw(),
            None => fast::undefined(env.raw()),
        };
        fast::to_unknown(env, self.state.pop_due(env.raw(), limit_ms.raw(), out.raw(), spans))
    }

    /// Inserts `count` timers with ids chosen by the caller, in order, in one call: `entries`
    /// holds `[id, deadline, id, deadline, …]`. Each id must be a positive safe integer that is
    /// not pending, each deadline a non-negative safe integer. All or nothing: on a bad entry
    /// nothing stays inserted. Returns `count`.
    #[napi(ts_args_type = "entries: Float64Array, count: number", ts_return_type = "number")]
    pub fn insert_many<'e>(&self, env: &'e Env, entries: Unknown, count: Unknown) -> Result<Unknown<'e>> {
        fast::to_unknown(env, self.state.insert_many(env.raw(), entries.raw(), count.raw()))
    }

    /// Every pending timer in firing order as a flat `[id, deadline, id, deadline, …]` array.
    #[napi]
    pub fn entries(&self, env: Env) -> Result<Vec<f64>> {
        self.state.entries().map_err(|e| e.throw(&env))
    }
}

#[napi]
impl JsTimerQueue {
    /// Internal: a handle to this queue for the functions of `__seqloopTimerQueueRaw()` (the
    /// package's `TimerQueue` routes its hot methods through them and removes this method from
    /// the prototype).
    #[napi(js_name = "__seqloopHandle", skip_typescript)]
    pub fn handle<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        fast::new_handle(env, QueueHandle(self.state.clone()))
    }
}

/// Internal (lib/scheduler.js and the fake timers take it; lib/index.js removes it from the
/// exports): one set of raw functions for the whole process, each taking a queue handle first,
/// `{ create(), insert(h, deadline), insertMany(h, entries, count), cancel(h, id),
/// peekDeadline(h), popDue(h, limit, out, maxDeadlines?), size(h) }` for handles from
/// `__seqloopHandle()` or `create()` (a new queue of its own); anything else as `h` is a
/// TypeError (`ERR_INVALID_ARG_TYPE`).
#[napi(js_name = "__seqloopTimerQueueRaw", skip_typescript)]
#[cfg_attr(test, allow(dead_code, reason = "napi registers exported functions only outside cfg(test)"))]
pub fn timer_queue_raw(env: &Env) -> Result<Object<'_>> {
    fast::unbound_object(
        env,
        &[
            (c"create", RAW_CREATE),
            (c"insert", raw_insert),
            (c"insertMany", raw_insert_many),
            (c"cancel", raw_cancel),
            (c"peekDeadline", raw_peek),
            (c"popDue", raw_pop_due),
            (c"size", raw_size),
        ],
    )
}

impl Default for JsTimerQueue {
    fn default() -> Self {
        Self::new()
    }
}
