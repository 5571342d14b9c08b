//! The EventLoop's run policy, without napi: what a run (`runOnce`, `runUntilIdle`, `advance`,
//! `runAll`, wall-clock `run`) does next. The binding (`binding/event_loop/`) only drives it: it
//! asks [`RunPolicy::next_step`] for a [`Step`], runs the macrotask it names (through the JS batch
//! runner or its own dispatch, as [`route`] says), counts it with [`RunPolicy::ran`] and the
//! [`Slice`], and yields to libuv, sleeps or settles the run's promise as the step says.
//!
//! Decisions made here (each has a unit test below):
//! - the order: due timers are promoted before each tick, one macrotask per tick (I1), in seq
//!   order (I5);
//! - time: `advance` jumps from deadline to deadline up to its target and ends there; `runAll`
//!   jumps to each next deadline until nothing is left; `runOnce`/`runUntilIdle` never move time;
//! - `maxTicks`: a run other than `runOnce` that would run one macrotask more than `maxTicks`
//!   finishes with [`Settle::Limit`] (`ERR_LOOP_LIMIT`) *before* taking it, so no work is lost;
//! - yielding: a run yields to Node once its [`SLICE`] (8 ms) is used up, the clock being read
//!   every [`SLICE_CHECK_EVERY`] macrotasks;
//! - a wall-clock run sleeps until the next deadline (keeping the process alive), waits without
//!   keeping it alive while only hostcalls or streams are outstanding, and finishes when nothing is;
//! - intervals re-arm from the deadline they fired at; a wall clock that fell behind skips the
//!   missed beats.

use std::time::{Duration, Instant};

use crate::sched::{Clock, DeterministicClock, HostcallOutcome, Macrotask, MacrotaskKind, Scheduler};

/// How long a run executes macrotasks before yielding to Node (keeps the process responsive).
pub const SLICE: Duration = Duration::from_millis(8);
/// Reading the clock costs ~20 ns, so the slice is checked every this many macrotasks.
pub const SLICE_CHECK_EVERY: u32 = 64;
/// `maxTicks` when a run is given none.
pub const DEFAULT_MAX_TICKS: u64 = 100_000;
/// The largest `maxTicks` a run accepts (2^31 − 1): a run's count stays far from any overflow; a
/// run that long still yields to Node (see [`SLICE`]).
pub const MAX_TICKS: u64 = (1 << 31) - 1;

/// Which run method started the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunKind {
    /// `runOnce()`: at most one macrotask; resolves with it, or null.
    Once,
    /// `runUntilIdle()`: what is due now, time does not move.
    UntilIdle,
    /// `advance(ms)`: up to the virtual time `target`.
    Advance {
        /// The virtual time the run ends at.
        target: u64,
    },
    /// `runAll()`: deadline to deadline until nothing is left.
    All,
    /// `run()` on a wall clock.
    Wall,
}

/// How a finished run's promise settles.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settle {
    /// Resolves with the number of macrotasks run.
    Count,
    /// Resolves with null (`runOnce` with nothing to run).
    Null,
    /// Rejects with `ERR_LOOP_LIMIT`: `maxTicks` reached, the rest still queued.
    Limit,
}

/// What the driver does next.
#[derive(Debug)]
pub enum Step<P> {
    /// Run this macrotask (already taken from the queue).
    Task(Macrotask<P>),
    /// Settle the run.
    Finish(Settle),
    /// Wall clock: wait `ms` on the libuv timer; `keep_alive` says whether the wait holds the
    /// process open (a timer is pending) or not (only hostcalls or streams are outstanding).
    Sleep {
        /// How long to wait (0: until woken by new work).
        ms: u64,
        /// Whether the wait keeps the process alive.
        keep_alive: bool,
    },
}

/// A run's policy state: its kind and how many macrotasks it ran against its `maxTicks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunPolicy {
    /// The run method.
    pub kind: RunKind,
    /// Macrotasks run so far.
    pub count: u64,
    /// The bound on `count` (`runOnce`: 1; wall clock: unbounded).
    pub max_ticks: u64,
}

/// Why a `maxTicks` option is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyTicks(pub u64);

/// `maxTicks` as a run uses it: `None` gives [`DEFAULT_MAX_TICKS`], above [`MAX_TICKS`] is refused.
pub fn max_ticks(requested: Option<u64>) -> Result<u64, TooManyTicks> {
    match requested {
        None => Ok(DEFAULT_MAX_TICKS),
        Some(n) if n > MAX_TICKS => Err(TooManyTicks(n)),
        Some(n) => Ok(n),
    }
}

/// Moves a virtual clock forward to `t` (never back); a wall clock (None) is left alone.
pub fn move_clock_to(clock: Option<&DeterministicClock>, t: u64) {
    if let Some(c) = clock {
        if t > c.now_ms() {
            c.set(t);
        }
    }
}

impl RunPolicy {
    /// A fresh run: `runOnce` is bounded to one macrotask and a wall-clock run is unbounded,
    /// whatever `max_ticks` says.
    pub fn new(kind: RunKind, max_ticks: u64) -> Self {
        let max_ticks = match kind {
            RunKind::Once => 1,
            RunKind::Wall => u64::MAX,
            _ => max_ticks,
        };
        Self { kind, count: 0, max_ticks }
    }

    /// Counts one macrotask the run executed.
    pub fn ran(&mut self) {
        self.count += 1;
    }

    /// Whether the run may take another macrotask at all (`runOnce` takes one).
    pub fn takes_more(&self) -> bool {
        !(self.kind == RunKind::Once && self.count > 0)
    }

    /// Decides the next step: takes the next macrotask (promoting due timers first), moves the
    /// virtual clock to the next deadline the run covers, sleeps (wall clock) or finishes.
    /// `outstanding_io` is true while hostcalls or streams may still complete.
    pub fn next_step<P>(
        &self,
        core: &mut Scheduler<P>,
        clock: Option<&DeterministicClock>,
        outstanding_io: bool,
    ) -> Step<P> {
        loop {
            core.promote_due_timers();
            if core.macrotask_count() > 0 {
                if self.kind != RunKind::Once && self.count >= self.max_ticks {
                    return Step::Finish(Settle::Limit);
                }
                return match core.tick() {
                    Some(t) => Step::Task(t),
                    None => Step::Finish(Settle::Count),
                };
            }
            match self.kind {
                RunKind::Once => return Step::Finish(Settle::Null),
                RunKind::UntilIdle => return Step::Finish(Settle::Count),
                RunKind::Advance { target } => match core.next_timer_deadline() {
                    Some(d) if d <= target && d > core.now_ms() => move_clock_to(clock, d),
                    _ => {
                        if core.now_ms() < target {
                            move_clock_to(clock, target);
                            continue;
                        }
                        return Step::Finish(Settle::Count);
                    }
                },
                RunKind::All => match core.next_timer_deadline() {
                    Some(d) => move_clock_to(clock, d),
                    None => return Step::Finish(Settle::Count),
                },
                RunKind::Wall => {
                    return match core.time_until_next_timer() {
                        Some(ms) => Step::Sleep { ms: ms.max(1), keep_alive: true },
                        None if outstanding_io => Step::Sleep { ms: 0, keep_alive: false },
                        None => Step::Finish(Settle::Count),
                    }
                }
            }
        }
    }
}

/// The driver's time slice: how long it has been running macrotasks without yielding to Node.
#[derive(Debug, Clone, Copy)]
pub struct Slice {
    start: Instant,
    ran: u32,
    expired: bool,
}

impl Default for Slice {
    fn default() -> Self {
        Self::new()
    }
}

impl Slice {
    /// A slice starting now.
    pub fn new() -> Self {
        Self { start: Instant::now(), ran: 0, expired: false }
    }

    /// Counts one macrotask and marks the slice expired once it is used up.
    pub fn tick(&mut self) {
        let start = self.start;
        self.tick_with(|| start.elapsed());
    }

    /// [`tick`](Self::tick) with the elapsed time supplied (read only every
    /// [`SLICE_CHECK_EVERY`] macrotasks).
    pub fn tick_with(&mut self, elapsed: impl FnOnce() -> Duration) {
        self.ran += 1;
        if self.ran % SLICE_CHECK_EVERY == 0 && elapsed() > SLICE {
            self.expired = true;
        }
    }

    /// True once the driver must yield to Node before its next macrotask.
    pub fn expired(&self) -> bool {
        self.expired
    }
}

/// Who runs a macrotask.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// The JS batch runner (timers and immediates: their callbacks are held in JS).
    Runner,
    /// A timer or immediate on a loop without a runner: nothing to call, it only counts.
    Nothing,
    /// Settle the pending hostcall's promise (`resolve`: success, else an error).
    SettleHostcall {
        /// Resolve (success) or reject (error outcome).
        resolve: bool,
    },
    /// Call the stream's listener; `last` removes it afterwards.
    StreamListener {
        /// The final chunk: the listener is removed after it.
        last: bool,
    },
    /// Call every event listener in registration order.
    EventListeners,
}

/// Decides who runs `task` (`has_runner`: the loop's batch runner is installed).
pub fn route<P>(task: &Macrotask<P>, has_runner: bool) -> Route {
    match &task.kind {
        MacrotaskKind::TimerFired { .. } | MacrotaskKind::Immediate { .. } if has_runner => Route::Runner,
        MacrotaskKind::TimerFired { .. } | MacrotaskKind::Immediate { .. } => Route::Nothing,
        MacrotaskKind::HostcallComplete(c) => match &c.outcome {
            HostcallOutcome::Success { .. } => Route::SettleHostcall { resolve: true },
            HostcallOutcome::Error { .. } => Route::SettleHostcall { resolve: false },
            HostcallOutcome::StreamChunk { is_final, .. } => Route::StreamListener { last: *is_final },
        },
        MacrotaskKind::InboundEvent(_) => Route::EventListeners,
    }
}

/// The deadline an interval of period `ms` that fired at `deadline` re-arms at: one period
/// later; on a wall clock (`wall`) that fell behind `now`, the next beat after `now` instead of a
/// burst of missed ones.
pub fn interval_rearm_deadline(deadline: u64, ms: u64, now: u64, wall: bool) -> u64 {
    let next = deadline.saturating_add(ms);
    if wall && next <= now && ms > 0 {
        return now + ms - (now - deadline) % ms;
    }
    next
}

#[cfg(test)]
mod tests {
    use super::*;

    fn virtual_loop(start: u64) -> (Scheduler<()>, DeterministicClock) {
        let clock = DeterministicClock::new(start);
        (Scheduler::new(clock.clone()), clock)
    }

    /// Drives `policy` to its end as the binding does; returns the tasks' seqs' kinds as
    /// `(now, code)` and how the run settled.
    fn drive(
        core: &mut Scheduler<()>,
        clock: &DeterministicClock,
        policy: &mut RunPolicy,
    ) -> (Vec<(u64, &'static str)>, Settle) {
        let mut ran = vec![];
        loop {
            if !policy.takes_more() {
                return (ran, Settle::Count);
            }
            match policy.next_step(core, Some(clock), false) {
                Step::Task(t) => {
                    ran.push((clock.now_ms(), t.kind.code()));
                    policy.ran();
                }
                Step::Finish(s) => return (ran, s),
                Step::Sleep { .. } => panic!("a virtual run never sleeps"),
            }
        }
    }

    #[test]
    fn run_all_jumps_deadline_to_deadline_in_order() {
        let (mut core, clock) = virtual_loop(0);
        core.set_timeout(30).unwrap();
        core.set_timeout(10).unwrap();
        core.enqueue_immediate(1);
        let mut p = RunPolicy::new(RunKind::All, DEFAULT_MAX_TICKS);
        let (ran, settle) = drive(&mut core, &clock, &mut p);
        assert_eq!(settle, Settle::Count);
        assert_eq!(ran.iter().map(|r| r.0).collect::<Vec<_>>(), vec![0, 10, 30]);
        assert_eq!(p.count, 3);
        assert!(!core.has_pending());
    }

    #[test]
    fn advance_stops_at_its_target_and_ends_there() {
        let (mut core, clock) = virtual_loop(100);
        core.set_timeout(5).unwrap();
        core.set_timeout(50).unwrap();
        let mut p = RunPolicy::new(RunKind::Advance { target: 120 }, DEFAULT_MAX_TICKS);
        let (ran, settle) = drive(&mut core, &clock, &mut p);
        assert_eq!((ran.len(), settle), (1, Settle::Count));
        assert_eq!(ran[0].0, 105, "the timer ran at its own deadline");
        assert_eq!(clock.now_ms(), 120, "the clock ends at the target, not at the next deadline");
        assert_eq!(core.timer_count(), 1);
    }

    #[test]
    fn until_idle_and_once_never_move_time() {
        let (mut core, clock) = virtual_loop(0);
        core.set_timeout(10).unwrap();
        for kind in [RunKind::UntilIdle, RunKind::Once] {
            let mut p = RunPolicy::new(kind, DEFAULT_MAX_TICKS);
            let (ran, settle) = drive(&mut core, &clock, &mut p);
            assert!(ran.is_empty());
            assert_eq!(settle, if kind == RunKind::Once { Settle::Null } else { Settle::Count });
            assert_eq!(clock.now_ms(), 0);
        }
    }

    #[test]
    fn run_once_takes_exactly_one_macrotask() {
        let (mut core, clock) = virtual_loop(0);
        core.enqueue_immediate(1);
        core.enqueue_immediate(2);
        let mut p = RunPolicy::new(RunKind::Once, 0);
        assert_eq!(p.max_ticks, 1, "runOnce ignores maxTicks");
        let (ran, _) = drive(&mut core, &clock, &mut p);
        assert_eq!(ran.len(), 1);
        assert!(!p.takes_more());
        assert_eq!(core.macrotask_count(), 1);
    }

    #[test]
    fn max_ticks_finishes_with_limit_before_taking_more_and_loses_nothing() {
        let (mut core, clock) = virtual_loop(0);
        for i in 0..5 {
            core.set_timeout(i * 10).unwrap();
        }
        let mut p = RunPolicy::new(RunKind::All, 3);
        let (ran, settle) = drive(&mut core, &clock, &mut p);
        assert_eq!((ran.len(), settle), (3, Settle::Limit));
        // The fourth timer was promoted but not taken: it is still queued, and a next run gets it.
        assert_eq!(core.macrotask_count() + core.timer_count(), 2);
        let mut next = RunPolicy::new(RunKind::All, 3);
        let (ran, settle) = drive(&mut core, &clock, &mut next);
        assert_eq!((ran.len(), settle), (2, Settle::Count));
        assert_eq!(ran.iter().map(|r| r.0).collect::<Vec<_>>(), vec![30, 40]);
    }

    #[test]
    fn max_ticks_zero_refuses_any_work_but_an_empty_run_succeeds() {
        let (mut core, clock) = virtual_loop(0);
        let mut p = RunPolicy::new(RunKind::UntilIdle, 0);
        assert_eq!(drive(&mut core, &clock, &mut p).1, Settle::Count);
        core.enqueue_immediate(1);
        let mut p = RunPolicy::new(RunKind::UntilIdle, 0);
        assert_eq!(drive(&mut core, &clock, &mut p).1, Settle::Limit);
        assert_eq!(core.macrotask_count(), 1);
    }

    #[test]
    fn max_ticks_option_bounds() {
        assert_eq!(max_ticks(None), Ok(DEFAULT_MAX_TICKS));
        assert_eq!(max_ticks(Some(0)), Ok(0));
        assert_eq!(max_ticks(Some(MAX_TICKS)), Ok(MAX_TICKS));
        assert_eq!(max_ticks(Some(MAX_TICKS + 1)), Err(TooManyTicks(MAX_TICKS + 1)));
    }

    #[test]
    fn wall_run_sleeps_until_the_next_deadline_then_waits_for_io_then_finishes() {
        // A wall-clock run never moves the clock itself: `None` for the clock.
        let (mut core, clock) = virtual_loop(1_000);
        core.set_timeout(25).unwrap();
        let p = RunPolicy::new(RunKind::Wall, 0);
        assert_eq!(p.max_ticks, u64::MAX, "a wall-clock run is unbounded");
        assert!(matches!(p.next_step(&mut core, None, false), Step::Sleep { ms: 25, keep_alive: true }));
        clock.set(1_025);
        assert!(matches!(p.next_step(&mut core, None, false), Step::Task(_)));
        assert!(matches!(p.next_step(&mut core, None, true), Step::Sleep { ms: 0, keep_alive: false }));
        assert!(matches!(p.next_step(&mut core, None, false), Step::Finish(Settle::Count)));
    }

    #[test]
    fn slice_expires_only_on_a_checked_tick_past_eight_ms() {
        let mut s = Slice::new();
        for _ in 0..SLICE_CHECK_EVERY - 1 {
            s.tick_with(|| panic!("the clock is read only every SLICE_CHECK_EVERY macrotasks"));
        }
        s.tick_with(|| SLICE);
        assert!(!s.expired(), "exactly 8 ms is still inside the slice");
        for _ in 0..SLICE_CHECK_EVERY - 1 {
            s.tick_with(|| unreachable!());
        }
        s.tick_with(|| SLICE + Duration::from_micros(1));
        assert!(s.expired());
    }

    #[test]
    fn routes() {
        let (mut core, _clock) = virtual_loop(0);
        core.enqueue_immediate(7);
        core.enqueue_hostcall_complete("a", HostcallOutcome::Success { value: () });
        core.enqueue_hostcall_complete("b", HostcallOutcome::Error { code: "E".into(), message: "m".into() });
        core.enqueue_hostcall_complete(
            "s",
            HostcallOutcome::StreamChunk { sequence: 0, chunk: (), is_final: true },
        );
        core.enqueue_event("e", ());
        let tasks = core.drain(10);
        let routes = tasks.iter().map(|t| route(t, true)).collect::<Vec<_>>();
        assert_eq!(
            routes,
            vec![
                Route::Runner,
                Route::SettleHostcall { resolve: true },
                Route::SettleHostcall { resolve: false },
                Route::StreamListener { last: true },
                Route::EventListeners,
            ]
        );
        assert_eq!(route(&tasks[0], false), Route::Nothing);
    }

    #[test]
    fn interval_rearm() {
        assert_eq!(interval_rearm_deadline(10, 5, 100, false), 15, "virtual: one period later");
        assert_eq!(interval_rearm_deadline(10, 5, 12, true), 15, "wall, on time");
        assert_eq!(interval_rearm_deadline(10, 5, 23, true), 25, "wall, behind: next beat after now");
        assert_eq!(interval_rearm_deadline(10, 5, 25, true), 30);
        assert_eq!(interval_rearm_deadline(u64::MAX - 1, 5, 0, false), u64::MAX);
    }
}
