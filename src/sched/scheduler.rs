//! `Scheduler`: the deterministic loop state — timers, a FIFO macrotask queue and a clock.
//!
//! # Ground rules (the invariants of the original design)
//! - I1: `tick` hands out at most one macrotask.
//! - I2: microtasks drain to empty after each macrotask — the job of whoever runs JS (EventLoop).
//! - I3: timers with equal deadlines fire in increasing seq order ([`TimerQueue`] Q1).
//! - I4: completions and events only enqueue; nothing here calls back into user code.
//! - I5: every observable step takes a seq from one counter: each `set_timeout`, each enqueue,
//!   and each timer moved to the macrotask queue (with a *fresh* seq, so a due timer never
//!   overtakes a macrotask that was queued before the tick that moved it, MQ1–MQ3).
//!
//! A tick moves *all* due timers (deadline <= now, inclusive) to the back of the queue in
//! (deadline, seq) order, then pops the front. After a tick returns `None`, no live timer is due.
//! The queue (`MacroQueue`) keeps moved timers as runs of consecutive seqs over a FIFO of ids
//! (8 bytes each) and run-length encoded deadlines, and builds each timer's `Macrotask` when it
//! leaves, in exactly the order and with exactly the seqs above.
//!
//! Recording (API.md §4, [`trace`]): every clock read goes through `read_clock`
//! (R1), and every call that changes the scheduler or reads the clock appends one compact entry
//! to an optional recorder. Without a recorder that is one `None` check per call.

use thiserror::Error;

use super::clock::{Clock, DeterministicClock, WallClock};
use super::macro_queue::MacroQueue;
use super::seq::Seq;
use super::task::{HostcallCompletion, HostcallOutcome, InboundEvent, Macrotask, MacrotaskKind, TimerId};
use super::timer::TimerQueue;
use super::trace::{self, Digest, Entry, Recorder, Trace, TracePayload};

/// Errors of the scheduler core.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SchedError {
    /// Every timer id up to the configured maximum is pending.
    #[error("all {max} timer ids are in use")]
    TimerIdsExhausted {
        /// The largest id the scheduler hands out.
        max: u64,
    },
    /// `rearm_timer` was given an id that is already pending (or 0).
    #[error("timer id {id} is already pending")]
    TimerIdLive {
        /// The id.
        id: u64,
    },
}

/// The scheduler's clock. Every set and tick reads it, so the built-in virtual clock is read
/// without a virtual call (an inlined atomic load); any other clock goes through `dyn Clock`.
#[derive(Debug)]
enum SchedClock {
    Deterministic(DeterministicClock),
    Dyn(Box<dyn Clock>),
}

impl SchedClock {
    fn new<C: Clock + 'static>(clock: C) -> Self {
        let mut slot = Some(clock);
        if let Some(d) = (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<DeterministicClock>>() {
            return Self::Deterministic(d.take().expect("the slot was just filled"));
        }
        Self::Dyn(Box::new(slot.expect("the slot was not taken")))
    }

    #[inline]
    fn now_ms(&self) -> u64 {
        match self {
            Self::Deterministic(c) => c.now_ms(),
            Self::Dyn(c) => c.now_ms(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Deterministic(c) => c.kind(),
            Self::Dyn(c) => c.kind(),
        }
    }
}

/// The deterministic scheduler. `P` is the payload type of hostcall values and events.
pub struct Scheduler<P = serde_json::Value> {
    seq: Seq,
    clock: SchedClock,
    timers: TimerQueue,
    queue: MacroQueue<P>,
    next_timer_id: u64,
    max_timer_id: u64,
    /// Present when recording (boxed: a non-recording scheduler carries one null pointer).
    recorder: Option<Box<Recorder<P>>>,
}

impl<P> std::fmt::Debug for Scheduler<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scheduler")
            .field("seq", &self.seq)
            .field("macrotask_count", &self.queue.len())
            .field("timer_count", &self.timers.len())
            .field("next_timer_id", &self.next_timer_id)
            .field("clock", &self.clock)
            .field("recording", &self.recorder.is_some())
            .finish()
    }
}

impl<P> Default for Scheduler<P> {
    fn default() -> Self {
        Self::new(WallClock)
    }
}

impl<P> Scheduler<P> {
    /// A scheduler reading time from `clock`.
    pub fn new(clock: impl Clock + 'static) -> Self {
        Self {
            seq: Seq::ZERO,
            clock: SchedClock::new(clock),
            timers: TimerQueue::new(),
            queue: MacroQueue::default(),
            next_timer_id: 1,
            max_timer_id: u64::MAX,
            recorder: None,
        }
    }

    /// Limits timer ids to `1..=max` (they wrap to 1 after `max`). JS uses 2^53 − 1.
    #[must_use]
    pub fn with_max_timer_id(mut self, max: u64) -> Self {
        self.max_timer_id = max.max(1);
        if self.next_timer_id > self.max_timer_id {
            self.next_timer_id = 1;
        }
        self
    }

    /// The next seq to be assigned.
    pub fn current_seq(&self) -> Seq {
        self.seq
    }

    /// The one place the clock is read (R1): records the reading when recording.
    #[inline]
    fn read_clock(&self) -> u64 {
        let t = self.clock.now_ms();
        if let Some(r) = &self.recorder {
            r.clock(t);
        }
        t
    }

    #[inline]
    fn record(&self, entry: impl FnOnce() -> Entry) {
        if let Some(r) = &self.recorder {
            r.push(entry());
        }
    }

    /// True when this scheduler keeps a trace.
    pub fn is_recording(&self) -> bool {
        self.recorder.is_some()
    }

    /// The trace recorded so far, or `None` when not recording.
    pub fn trace(&self) -> Option<Trace> {
        let r = self.recorder.as_ref()?;
        Some(Trace { header: trace::header(self.clock.kind(), self.max_timer_id), records: r.records() })
    }

    /// The digest of the dispatched sequence so far (D1–D3), or `None` when not recording.
    /// Computed from the log, resuming where the previous call stopped.
    pub fn digest(&self) -> Option<Digest> {
        self.recorder.as_ref().map(|r| r.digest())
    }

    /// Compact entries kept so far (0 when not recording); the trace expands them to about
    /// twice as many records (R5).
    pub fn trace_len(&self) -> usize {
        self.recorder.as_ref().map_or(0, |r| r.len())
    }

    /// Bytes of the record log's buffer (0 when not recording). Grows linearly with the records.
    pub fn trace_heap_bytes(&self) -> usize {
        self.recorder.as_ref().map_or(0, |r| r.heap_bytes())
    }

    /// The clock's current time.
    pub fn now_ms(&self) -> u64 {
        let t = self.read_clock();
        self.record(|| Entry::Now);
        t
    }

    /// The clock's time *without* recording the read: only for validating arguments before an
    /// operation that then reads (and records) the clock itself. Nothing may be scheduled from
    /// this value, or a replay would diverge.
    pub fn peek_clock(&self) -> u64 {
        self.clock.now_ms()
    }

    /// True when a macrotask is queued or a live timer is pending (cancelled timers do not count).
    pub fn has_pending(&self) -> bool {
        !self.queue.is_empty() || !self.timers.is_empty()
    }

    /// Queued macrotasks.
    pub fn macrotask_count(&self) -> usize {
        self.queue.len()
    }

    /// Live (pending, not cancelled) timers.
    pub fn timer_count(&self) -> usize {
        self.timers.len()
    }

    /// Bytes of heap memory held by pending timers.
    pub fn timer_heap_bytes(&self) -> usize {
        self.timers.heap_bytes()
    }

    fn take_seq(&mut self) -> Seq {
        let s = self.seq;
        self.seq = s.next();
        s
    }

    /// Test hook: forces the next timer id the allocator tries (ID1).
    #[doc(hidden)]
    pub fn set_next_timer_id(&mut self, id: u64) {
        self.next_timer_id = id.clamp(1, self.max_timer_id);
        self.record(|| Entry::SetNextTimerId(id));
    }

    /// Picks the next free id, wrapping to 1 after the maximum and skipping ids still pending.
    #[inline(always)]
    fn allocate_timer_id(&mut self) -> Result<TimerId, SchedError> {
        let id = self.next_timer_id;
        if id < self.max_timer_id && !self.timers.contains(id) {
            // The common case: the counter's next id is free (so not every id is pending).
            self.next_timer_id = id + 1;
            return Ok(TimerId(id));
        }
        self.allocate_timer_id_slow()
    }

    #[inline(never)]
    fn allocate_timer_id_slow(&mut self) -> Result<TimerId, SchedError> {
        if self.timers.len() as u64 >= self.max_timer_id {
            return Err(SchedError::TimerIdsExhausted { max: self.max_timer_id });
        }
        loop {
            let id = self.next_timer_id;
            self.next_timer_id = if id >= self.max_timer_id { 1 } else { id + 1 };
            if !self.timers.contains(id) {
                return Ok(TimerId(id));
            }
        }
    }

    /// Sets a timer due at `now + delay_ms` (saturating); it takes the next seq.
    ///
    /// # Errors
    /// [`SchedError::TimerIdsExhausted`] when every id up to the maximum is pending.
    pub fn set_timeout(&mut self, delay_ms: u64) -> Result<TimerId, SchedError> {
        let deadline = self.read_clock().saturating_add(delay_ms);
        let seq = self.seq.0;
        let r = self.insert_timer(deadline);
        self.record(|| Entry::SetTimeout { delay: delay_ms, id: r.as_ref().map_or(0, |id| id.0), seq });
        r
    }

    /// Sets a timer due at an absolute `deadline_ms`; it takes the next seq.
    ///
    /// # Errors
    /// [`SchedError::TimerIdsExhausted`] when every id up to the maximum is pending.
    pub fn set_timer_at(&mut self, deadline_ms: u64) -> Result<TimerId, SchedError> {
        let seq = self.seq.0;
        let r = self.insert_timer(deadline_ms);
        self.record(|| Entry::SetTimerAt { deadline: deadline_ms, id: r.as_ref().map_or(0, |id| id.0), seq });
        r
    }

    #[inline(always)]
    fn insert_timer(&mut self, deadline_ms: u64) -> Result<TimerId, SchedError> {
        let id = self.allocate_timer_id()?;
        let seq = self.take_seq();
        self.timers.insert(id.0, deadline_ms);
        tracing::trace!(target: "seqloop::sched", seq = seq.0, timer_id = id.0, deadline_ms, "timer_set");
        Ok(id)
    }

    /// Re-arms timer `id` (which must not be live) at `deadline_ms` with the next seq: how an
    /// interval keeps its id across firings.
    ///
    /// # Errors
    /// [`SchedError::TimerIdLive`] when `id` is already pending or is 0.
    pub fn rearm_timer(&mut self, id: TimerId, deadline_ms: u64) -> Result<(), SchedError> {
        let ok = id.0 != 0 && !self.timers.contains(id.0);
        self.record(|| Entry::Rearm { id: id.0, deadline: deadline_ms, ok });
        if !ok {
            return Err(SchedError::TimerIdLive { id: id.0 });
        }
        let seq = self.take_seq();
        self.timers.insert(id.0, deadline_ms);
        tracing::trace!(target: "seqloop::sched", seq = seq.0, timer_id = id.0, deadline_ms, "timer_rearm");
        Ok(())
    }

    /// True when timer `id` is pending and not cancelled.
    pub fn timer_is_pending(&self, id: TimerId) -> bool {
        self.timers.contains(id.0)
    }

    /// True when a macrotask is queued or a live timer is due at `now`.
    pub fn has_due_work(&self) -> bool {
        // R5: the clock is read only when the queue is empty and a timer is pending.
        let read = self.queue.is_empty() && !self.timers.is_empty();
        let due =
            !self.queue.is_empty() || self.timers.peek_deadline().is_some_and(|d| d <= self.read_clock());
        self.record(|| Entry::HasDueWork { result: due, read });
        due
    }

    /// Cancels a timer. True only if it was pending and not yet cancelled; unknown, fired and
    /// already-cancelled ids give false and change nothing (CT1–CT5).
    pub fn clear_timeout(&mut self, id: TimerId) -> bool {
        let cleared = self.timers.cancel(id.0);
        tracing::trace!(target: "seqloop::sched", timer_id = id.0, cleared, "timer_clear");
        self.record(|| Entry::Clear { id: id.0, result: cleared });
        cleared
    }

    fn push(&mut self, kind: MacrotaskKind<P>) -> Seq {
        let seq = self.take_seq();
        tracing::trace!(target: "seqloop::sched", seq = seq.0, kind = kind.code(), "enqueue");
        self.queue.push(Macrotask { seq, kind });
        seq
    }

    /// Appends a hostcall completion with the next seq (I4).
    pub fn enqueue_hostcall_complete(
        &mut self,
        call_id: impl Into<String>,
        outcome: HostcallOutcome<P>,
    ) -> Seq {
        let call_id = call_id.into();
        if let Some(r) = &self.recorder {
            r.enqueue_hostcall(self.seq.0, &call_id, &outcome);
        }
        self.push(MacrotaskKind::HostcallComplete(Box::new(HostcallCompletion { call_id, outcome })))
    }

    /// Appends several completions in order, exactly like sequential single enqueues (HC3).
    pub fn enqueue_hostcall_completions<I>(&mut self, completions: I)
    where
        I: IntoIterator<Item = (String, HostcallOutcome<P>)>,
    {
        let iter = completions.into_iter();
        self.queue.reserve(iter.size_hint().0);
        for (call_id, outcome) in iter {
            self.enqueue_hostcall_complete(call_id, outcome);
        }
    }

    /// Appends one stream chunk (a `StreamChunk` hostcall outcome).
    pub fn enqueue_stream_chunk(
        &mut self,
        call_id: impl Into<String>,
        sequence: u64,
        chunk: P,
        is_final: bool,
    ) -> Seq {
        self.enqueue_hostcall_complete(call_id, HostcallOutcome::StreamChunk { sequence, chunk, is_final })
    }

    /// Appends an inbound event.
    pub fn enqueue_event(&mut self, event_id: impl Into<String>, payload: P) -> Seq {
        let event_id = event_id.into();
        if let Some(r) = &self.recorder {
            r.enqueue_event(self.seq.0, &event_id, &payload);
        }
        self.push(MacrotaskKind::InboundEvent(Box::new(InboundEvent { event_id, payload })))
    }

    /// Appends an EventLoop immediate with the next seq.
    pub fn enqueue_immediate(&mut self, id: u64) -> Seq {
        let seq = self.push(MacrotaskKind::Immediate { id });
        self.record(|| Entry::Immediate { seq: seq.0, id });
        seq
    }

    /// Removes a queued immediate (for `clearImmediate`). True when it was queued.
    pub fn cancel_immediate(&mut self, id: u64) -> bool {
        let removed = self.queue.remove_immediate(id);
        self.record(|| Entry::CancelImmediate { id, result: removed });
        removed
    }

    /// Moves every due timer to the back of the queue with a fresh seq. Returns how many moved.
    pub fn promote_due_timers(&mut self) -> usize {
        let now = self.read_clock();
        let moved = self.promote_due_timers_at(now);
        self.record(|| Entry::Promote(moved as u64));
        moved
    }

    fn promote_due_timers_at(&mut self, now: u64) -> usize {
        let Self { timers, queue, seq, .. } = self;
        timers.pop_due_runs(now, |ids, live, deadline_ms| {
            let bulk = ids.len() > 1 && !tracing::enabled!(target: "seqloop::sched", tracing::Level::TRACE);
            match seq.0.checked_add(live as u64) {
                // A run's timers take consecutive seqs: copy it at once.
                Some(end) if bulk => {
                    queue.push_timers(*seq, ids, live, deadline_ms);
                    *seq = Seq(end);
                }
                // One by one: a lone timer, an event per timer, or seqs that saturate at u64::MAX.
                _ => {
                    for &id in ids.iter().filter(|&&id| id != 0) {
                        let s = *seq;
                        *seq = s.next();
                        tracing::trace!(target: "seqloop::sched", seq = s.0, timer_id = id, deadline_ms, "timer_fire");
                        queue.push_timer(s, TimerId(id), deadline_ms);
                    }
                }
            }
        })
    }

    /// One tick: moves due timers to the queue (each with a fresh seq), then pops at most one
    /// macrotask (I1).
    #[inline(always)]
    pub fn tick(&mut self) -> Option<Macrotask<P>> {
        let now = self.read_clock();
        self.promote_due_timers_at(now);
        if self.recorder.is_some() {
            return self.pop_recorded();
        }
        // The queue emits the `tick` trace event.
        self.queue.pop_front()
    }

    /// `tick`'s pop when recording: also records the dispatch (or an idle tick). Out of line,
    /// so the common path returns the task the queue built without a detour through the stack.
    #[cold]
    #[inline(never)]
    fn pop_recorded(&mut self) -> Option<Macrotask<P>> {
        let task = self.queue.pop_front();
        if let Some(r) = &self.recorder {
            match &task {
                Some(t) => r.dispatch(t),
                None => r.push(Entry::Idle),
            }
        }
        task
    }

    /// Up to `max` ticks in one call; stops at the first empty tick. Equivalent to calling
    /// [`tick`](Self::tick) repeatedly and collecting the results: no code runs between those
    /// ticks, so nothing becomes due after the first one and the clock is read once.
    pub fn drain(&mut self, max: usize) -> Vec<Macrotask<P>> {
        let mut out = Vec::with_capacity(max.min(self.queue.len().max(16)));
        self.drain_each(max, |t| out.push(t));
        out
    }

    /// [`drain`](Self::drain) handing each task to `each` instead of collecting them; returns
    /// how many it handed over.
    pub fn drain_each(&mut self, max: usize, mut each: impl FnMut(Macrotask<P>)) -> usize {
        if max == 0 {
            return 0;
        }
        let mut n = 0;
        if self.recorder.is_some() {
            // Recording: go through tick() so the trace holds each tick's clock read and
            // dispatch exactly as a replay will re-execute them.
            while n < max {
                match self.tick() {
                    Some(t) => each(t),
                    None => break,
                }
                n += 1;
            }
            return n;
        }
        self.promote_due_timers();
        while n < max {
            match self.queue.pop_front() {
                Some(t) => each(t),
                None => break,
            }
            n += 1;
        }
        n
    }

    /// Pops up to `max` consecutive `timer_fired` macrotasks from the front of the queue (after
    /// moving due timers to it, as `tick` does), calling `fired(id)` for each; stops at the first
    /// macrotask of another kind, which stays queued for `tick`/`drain`. Equivalent to the ticks
    /// that would have returned those timers, without building a `Macrotask` for each.
    pub fn drain_timers(&mut self, max: usize, mut fired: impl FnMut(TimerId)) -> usize {
        let front_timer = |q: &MacroQueue<P>| q.front_is_timer();
        let mut n = 0;
        if self.recorder.is_some() {
            // Recording: each step is a recorded promote and a recorded tick, so a replay
            // re-executes exactly these operations. Due timers move even when `max` is 0, as
            // they do without recording: recording never changes what runs.
            if max == 0 {
                self.promote_due_timers();
                return 0;
            }
            while n < max {
                self.promote_due_timers();
                if !front_timer(&self.queue) {
                    break;
                }
                match self.tick() {
                    Some(Macrotask { kind: MacrotaskKind::TimerFired { timer_id, .. }, .. }) => {
                        fired(timer_id)
                    }
                    _ => break,
                }
                n += 1;
            }
            return n;
        }
        self.promote_due_timers();
        while n < max && front_timer(&self.queue) {
            if let Some(Macrotask { kind: MacrotaskKind::TimerFired { timer_id, .. }, .. }) =
                self.queue.pop_front()
            {
                fired(timer_id);
                n += 1;
            }
        }
        n
    }

    /// Earliest deadline of a live timer (cancelled timers are skipped), in O(1).
    pub fn next_timer_deadline(&self) -> Option<u64> {
        self.timers.peek_deadline()
    }

    /// `max(0, next deadline − now)`, or `None` without live timers.
    pub fn time_until_next_timer(&self) -> Option<u64> {
        let left = self.timers.peek_deadline().map(|d| d.saturating_sub(self.read_clock()));
        self.record(|| Entry::TimeUntil { result: left, read: left.is_some() });
        left
    }

    /// Live timers as `(id, deadline)` in firing order.
    pub fn pending_timers(&self) -> Vec<(TimerId, u64)> {
        self.timers.snapshot().into_iter().map(|(id, d)| (TimerId(id), d)).collect()
    }

    /// Drops every timer and queued macrotask (seq and timer-id counters keep going).
    pub fn reset(&mut self) {
        self.timers.clear();
        self.queue.clear();
        if let Some(r) = &self.recorder {
            r.reset();
        }
    }
}

impl<P: TracePayload> Scheduler<P> {
    /// Turns recording on (or off): the scheduler keeps a trace of every input, clock reading
    /// and dispatch (API.md §4). Recording starts empty; turning it off drops the trace.
    ///
    /// # Panics
    /// When turning recording on for a scheduler that has already assigned a seq: a trace must
    /// start from a fresh scheduler to be replayable (R2). This is a construction-time mistake.
    #[must_use]
    pub fn with_recording(mut self, on: bool) -> Self {
        if on {
            assert!(
                self.seq == Seq::ZERO && !self.has_pending(),
                "Scheduler::with_recording(true) needs a fresh scheduler (seq 0, nothing pending)"
            );
            self.recorder = Some(Box::new(Recorder::new(P::trace_json)));
        } else {
            self.recorder = None;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::DeterministicClock;

    /// Sets timers over a few shared deadlines, clears some, then dispatches everything:
    /// `(seq, id, deadline)` in dispatch order.
    fn dispatch_runs(s: &mut Scheduler<()>, clock: &DeterministicClock) -> Vec<(u64, u64, u64)> {
        let mut ids = vec![];
        for i in 0..200u64 {
            ids.push(s.set_timeout(i % 7 * 10).expect("ids"));
        }
        for id in ids.iter().step_by(3) {
            assert!(s.clear_timeout(*id));
        }
        s.enqueue_immediate(9);
        clock.advance(100);
        std::iter::from_fn(|| s.tick())
            .map(|t| match t.kind {
                MacrotaskKind::TimerFired { timer_id, deadline_ms } => (t.seq.0, timer_id.0, deadline_ms),
                MacrotaskKind::Immediate { id } => (t.seq.0, id, 0),
                _ => unreachable!(),
            })
            .collect()
    }

    #[test]
    fn promoting_whole_runs_equals_promoting_timer_by_timer() {
        let clock = DeterministicClock::new(0);
        let fast = dispatch_runs(&mut Scheduler::new(clock.clone()), &clock);
        // With a TRACE subscriber, promotion goes timer by timer (an event each).
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(std::io::sink)
            .finish();
        let clock = DeterministicClock::new(0);
        let traced = tracing::subscriber::with_default(subscriber, || {
            assert!(tracing::enabled!(target: "seqloop::sched", tracing::Level::TRACE));
            dispatch_runs(&mut Scheduler::new(clock.clone()), &clock)
        });
        assert_eq!(fast.len(), 200 - 67 + 1);
        assert_eq!(fast, traced);
        // (deadline, seq) order with fresh, increasing seqs after the immediate.
        assert_eq!(fast[0], (200, 9, 0));
        assert!(fast[1..].windows(2).all(|w| w[0].0 < w[1].0 && w[0].2 <= w[1].2));
    }

    #[test]
    fn promoting_a_run_that_passes_the_last_seq_saturates_like_seq_next() {
        let clock = DeterministicClock::new(0);
        let mut s = Scheduler::<()>::new(clock.clone());
        s.seq = Seq(u64::MAX - 8);
        for _ in 0..5 {
            s.set_timeout(5).expect("ids");
        }
        assert_eq!(s.seq, Seq(u64::MAX - 3));
        clock.advance(5);
        let seqs: Vec<u64> = std::iter::from_fn(|| s.tick()).map(|t| t.seq.0).collect();
        let m = u64::MAX;
        assert_eq!(seqs, vec![m - 3, m - 2, m - 1, m, m]);
    }

    #[test]
    fn recording_never_changes_what_drain_timers_moves() {
        // A zero-length `drain_timers` still moves due timers to the queue, recording or not.
        let run = |record: bool| {
            let clock = DeterministicClock::new(0);
            let mut s = Scheduler::<serde_json::Value>::new(clock.clone()).with_recording(record);
            s.set_timeout(5).expect("ids");
            s.set_timeout(1).expect("ids");
            s.enqueue_immediate(1);
            clock.advance(5);
            let moved = s.drain_timers(0, |_| unreachable!("no room"));
            let seq = s.current_seq();
            let order: Vec<_> = std::iter::from_fn(|| s.tick()).map(|t| (t.seq.0, t.kind.code())).collect();
            (moved, s.macrotask_count(), seq, order)
        };
        assert_eq!(run(true), run(false));
        assert_eq!(run(false).2, Seq(5));
    }
}
