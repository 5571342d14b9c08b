//! Replay: re-executes a trace's operation log on a fresh scheduler and compares every result.
//!
//! # Algorithm
//! Records are taken in order. A `clock` record queues its reading on the [`ReplayClock`]; any
//! other record is an operation: it is executed with its recorded arguments, the record it
//! produces is compared with the recorded one (canonical JSON, so `1` and `1.0` agree), and then
//! the operation must have consumed exactly the readings queued for it (R1). `dispatch` and
//! `idle` records are ticks.
//!
//! # Divergence
//! The first mismatch stops the replay. `index` is the number of dispatches that matched before
//! it (so for a dispatch mismatch it is that dispatch's index), `record` the 0-based position of
//! the recorded record, `expected`/`actual` the recorded and replayed records as JSON (null when
//! one side has none). A clock mismatch compares `{"type":"clock_reads","op":..,"count":n}`.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::canon::{self, Fnv};
use super::{Digest, Dispatch, Record, Trace};
use crate::sched::clock::Clock;
use crate::sched::scheduler::Scheduler;
use crate::sched::task::TimerId;

/// Where a replay first differed from its trace (or two traces from each other).
#[derive(Debug, Clone, PartialEq)]
pub struct Divergence {
    /// Dispatches that matched before the mismatch.
    pub index: usize,
    /// 0-based position of the mismatching record in the (first) trace, when there is one.
    pub record: Option<usize>,
    /// The recorded record (or the first trace's dispatch), null if none.
    pub expected: Value,
    /// The replayed record (or the second trace's dispatch), null if none.
    pub actual: Value,
}

impl Divergence {
    /// `{ index, record?, expected, actual }`.
    pub fn to_json(&self) -> Value {
        let mut v = json!({ "index": self.index, "expected": self.expected, "actual": self.actual });
        if let Some(r) = self.record {
            v["record"] = Value::from(r);
        }
        v
    }
}

/// The outcome of [`replay`].
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayReport {
    /// True when every record matched.
    pub ok: bool,
    /// Digest of the replayed dispatches (up to and including a divergent one).
    pub digest: Digest,
    /// The first mismatch.
    pub divergence: Option<Divergence>,
    /// Dispatches replayed.
    pub dispatches: usize,
}

#[derive(Debug, Default)]
struct Feed {
    queued: VecDeque<u64>,
    last: u64,
    /// Readings asked for with none queued (served `last` again).
    overrun: usize,
}

/// A clock that serves recorded readings in order.
#[derive(Debug, Clone, Default)]
struct ReplayClock(Arc<Mutex<Feed>>);

impl ReplayClock {
    fn feed(&self) -> std::sync::MutexGuard<'_, Feed> {
        // The feed is plain data: a panic elsewhere cannot leave it half-written.
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Clock for ReplayClock {
    fn now_ms(&self) -> u64 {
        let mut f = self.feed();
        match f.queued.pop_front() {
            Some(t) => {
                f.last = t;
                t
            }
            None => {
                f.overrun += 1;
                f.last
            }
        }
    }

    fn kind(&self) -> &'static str {
        "replay"
    }
}

fn same(a: &Value, b: &Value) -> bool {
    canon::canonical_json(a) == canon::canonical_json(b)
}

/// Re-drives a fresh scheduler from `trace` and compares every operation and dispatch.
pub fn replay(trace: &Trace) -> ReplayReport {
    let clock = ReplayClock::default();
    let mut s: Scheduler<Value> = Scheduler::new(clock.clone()).with_max_timer_id(trace.header.max_timer_id);
    let mut h = Fnv::new();
    let mut index = 0;
    let mut queued_for_op = 0usize;
    let report = |h: Fnv, index, divergence: Option<Divergence>| ReplayReport {
        ok: divergence.is_none(),
        digest: h.finish(),
        divergence,
        dispatches: index,
    };
    for (pos, rec) in trace.records.iter().enumerate() {
        if let Record::Clock { ms } = rec {
            clock.feed().queued.push_back(*ms);
            queued_for_op += 1;
            continue;
        }
        let actual = execute(&mut s, rec, &clock);
        if let Record::Dispatch(d) = &actual {
            canon::write_identity(&mut h, d.seq, d.identity());
        }
        let (expected_v, actual_v) = (rec.to_json(), actual.to_json());
        if !same(&expected_v, &actual_v) {
            let d = Divergence { index, record: Some(pos), expected: expected_v, actual: actual_v };
            let n = index + usize::from(matches!(actual, Record::Dispatch(_)));
            return report(h, n, Some(d));
        }
        if matches!(rec, Record::Dispatch(_)) {
            index += 1;
        }
        let (left, overrun) = {
            let mut f = clock.feed();
            let out = (f.queued.len(), f.overrun);
            f.queued.clear();
            f.overrun = 0;
            out
        };
        if left > 0 || overrun > 0 {
            let reads =
                |count: usize| json!({ "type": "clock_reads", "op": rec.type_code(), "count": count });
            let used = queued_for_op - left;
            let d = Divergence {
                index,
                record: Some(pos),
                expected: reads(queued_for_op),
                actual: reads(used + overrun),
            };
            return report(h, index, Some(d));
        }
        queued_for_op = 0;
    }
    if queued_for_op > 0 {
        let d = Divergence {
            index,
            record: Some(trace.records.len() - 1),
            expected: json!({ "type": "clock_reads", "op": null, "count": queued_for_op }),
            actual: json!({ "type": "clock_reads", "op": null, "count": 0 }),
        };
        return report(h, index, Some(d));
    }
    report(h, index, None)
}

/// Runs one recorded operation and returns the record it produces.
fn execute(s: &mut Scheduler<Value>, rec: &Record, clock: &ReplayClock) -> Record {
    match rec {
        Record::SetTimeout { delay, .. } => {
            let seq = s.current_seq().0;
            let id = s.set_timeout(*delay).ok().map(|id| id.0);
            Record::SetTimeout { delay: *delay, id, seq: id.map(|_| seq) }
        }
        Record::SetTimerAt { deadline, .. } => {
            let seq = s.current_seq().0;
            let id = s.set_timer_at(*deadline).ok().map(|id| id.0);
            Record::SetTimerAt { deadline: *deadline, id, seq: id.map(|_| seq) }
        }
        Record::RearmTimer { id, deadline, .. } => {
            let ok = s.rearm_timer(TimerId(*id), *deadline).is_ok();
            Record::RearmTimer { id: *id, deadline: *deadline, ok }
        }
        Record::ClearTimeout { id, .. } => {
            Record::ClearTimeout { id: *id, result: s.clear_timeout(TimerId(*id)) }
        }
        Record::EnqueueHostcall { call_id, outcome, .. } => {
            let seq = s.enqueue_hostcall_complete(call_id.clone(), outcome.clone()).0;
            Record::EnqueueHostcall { seq, call_id: call_id.clone(), outcome: outcome.clone() }
        }
        Record::EnqueueEvent { event_id, payload, .. } => {
            let seq = s.enqueue_event(event_id.clone(), payload.clone()).0;
            Record::EnqueueEvent { seq, event_id: event_id.clone(), payload: payload.clone() }
        }
        Record::EnqueueImmediate { id, .. } => {
            Record::EnqueueImmediate { seq: s.enqueue_immediate(*id).0, id: *id }
        }
        Record::CancelImmediate { id, .. } => {
            Record::CancelImmediate { id: *id, result: s.cancel_immediate(*id) }
        }
        Record::PromoteDueTimers { .. } => Record::PromoteDueTimers { moved: s.promote_due_timers() as u64 },
        Record::Now => {
            s.now_ms();
            Record::Now
        }
        Record::HasDueWork { .. } => Record::HasDueWork { result: s.has_due_work() },
        Record::TimeUntilNextTimer { .. } => Record::TimeUntilNextTimer { result: s.time_until_next_timer() },
        Record::SetNextTimerId { id } => {
            s.set_next_timer_id(*id);
            Record::SetNextTimerId { id: *id }
        }
        Record::Reset => {
            s.reset();
            Record::Reset
        }
        Record::Dispatch(_) | Record::Idle => match s.tick() {
            Some(task) => Record::Dispatch(Dispatch::from_task(&task, clock.feed().last)),
            None => Record::Idle,
        },
        // Handled by the caller; kept total so a new record type cannot be silently skipped.
        Record::Clock { ms } => Record::Clock { ms: *ms },
    }
}

/// Compares the dispatched sequences of two traces by identity (D2: seq, kind, ids and
/// payloads; times are not compared, two wall-clock runs never read the same times). `None`
/// when equal.
pub fn diff(a: &Trace, b: &Trace) -> Option<Divergence> {
    let mut xs = a.records.iter().enumerate().filter_map(|(i, r)| match r {
        Record::Dispatch(d) => Some((i, d)),
        _ => None,
    });
    let mut ys = b.dispatches();
    let mut index = 0;
    loop {
        match (xs.next(), ys.next()) {
            (None, None) => return None,
            (Some((pos, x)), Some(y)) => {
                if x.identity_bytes() != y.identity_bytes() {
                    return Some(Divergence {
                        index,
                        record: Some(pos),
                        expected: Record::Dispatch(x.clone()).to_json(),
                        actual: Record::Dispatch(y.clone()).to_json(),
                    });
                }
            }
            (Some((pos, x)), None) => {
                return Some(Divergence {
                    index,
                    record: Some(pos),
                    expected: Record::Dispatch(x.clone()).to_json(),
                    actual: Value::Null,
                })
            }
            (None, Some(y)) => {
                return Some(Divergence {
                    index,
                    record: None,
                    expected: Value::Null,
                    actual: Record::Dispatch(y.clone()).to_json(),
                })
            }
        }
        index += 1;
    }
}
