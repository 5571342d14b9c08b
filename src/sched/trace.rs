//! Record and replay (API.md §4): the trace of a scheduler run, its digest, and replay.
//!
//! # What is recorded
//! A recording scheduler ([`Scheduler::with_recording`](super::Scheduler::with_recording)) keeps
//! an *operation log*: every call that changes the scheduler or reads its clock, in call order,
//! with its arguments and its result, plus every clock reading and every dispatched macrotask.
//! Replay re-executes that log on a fresh scheduler whose clock serves the recorded readings in
//! order, so a run recorded on the wall clock replays exactly.
//!
//! # Invariants
//! - R1: every clock reading goes through one method (`Scheduler::read_clock`), which records a
//!   `clock` record *before* the record of the operation that made it; replay gives an
//!   operation exactly the readings that precede its record.
//! - R2: recording starts on a fresh scheduler, so every queued task was enqueued while
//!   recording and a dispatch can refer to its enqueue record instead of copying its payload.
//! - R3: in memory the log is compact: an opcode byte and varints per entry (`log`), with
//!   payload snapshots taken at enqueue time kept beside it; JSON is only built by
//!   [`Scheduler::trace`](super::Scheduler::trace). Memory grows linearly with the entries kept.
//! - R5: every operation reads the clock at most once, and which ones do is fixed by the
//!   operation (and, for `has_due_work`/`time_until_next_timer`, a flag in its entry). So in
//!   memory a `Clock` entry is kept only when the reading *changes*; `records()` puts a `clock`
//!   record back before every operation that read. Setting and firing a timer costs two entries.
//! - R4: the digest (see `canon`) covers the dispatched sequence only and is computed lazily
//!   from the log, so the hot path pays for a `Vec::push` per record and nothing else.
//!
//! # Formats
//! The object form is `{ version: 1, created_by, clock, max_timer_id, records: [...] }`; the
//! JSONL form is a header line `{"seqloop_trace":1,"created_by":..,"clock":..,"max_timer_id":..}`,
//! one record per line, and a closing `{"type":"end"}` line (so a file cut at a line boundary is
//! still detected as truncated). Each record is an object with a `type`; see `docs/replay.md`.

mod canon;
mod log;
mod replay;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use thiserror::Error;

pub use canon::{canonical_json, integralize, Digest};
pub use replay::{diff, replay, Divergence, ReplayReport};

use super::task::{HostcallOutcome, Macrotask, MacrotaskKind};
use canon::{Fnv, Identity};
pub(crate) use log::{Entry, Recorder};

/// The trace format version this build writes and reads.
pub const TRACE_VERSION: u64 = 1;

/// Errors of the trace module: input that is not a trace this build can replay.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TraceError {
    /// Nothing but whitespace.
    #[error("empty trace: expected a {{\"seqloop_trace\":1,...}} header line")]
    Empty,
    /// Malformed input; `at` says where (`line 4`, `records[2]`, `trace`).
    #[error("{at}: {reason}")]
    Invalid {
        /// Where (a 1-based JSONL line or a path in the object form).
        at: String,
        /// What is wrong, in one line.
        reason: String,
    },
    /// The JSONL input stops before its `{"type":"end"}` line.
    #[error("truncated trace: no {{\"type\":\"end\"}} line after line {last_line}")]
    Truncated {
        /// The last line read.
        last_line: usize,
    },
    /// A version this build does not read.
    #[error("unsupported trace version {found} (this seqloop reads version {TRACE_VERSION})")]
    Version {
        /// The version found, as written.
        found: String,
    },
}

impl TraceError {
    fn invalid(at: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid { at: at.into(), reason: reason.into() }
    }
}

/// A payload that can be recorded: its JSON snapshot. The data-level scheduler's payloads are
/// JSON already; the EventLoop's carry a snapshot taken at enqueue time next to the JS handle.
pub trait TracePayload {
    /// The payload as JSON (borrowed when the payload holds JSON already).
    fn trace_json(&self) -> Cow<'_, Value>;
}

impl TracePayload for Value {
    fn trace_json(&self) -> Cow<'_, Value> {
        Cow::Borrowed(self)
    }
}

/// One dispatched macrotask as recorded: `{ type: "dispatch", seq, at, kind, ... }`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dispatch {
    /// The macrotask's seq.
    pub seq: u64,
    /// The clock reading of the tick that dispatched it.
    pub at: u64,
    /// What ran.
    #[serde(flatten)]
    pub task: DispatchTask,
}

/// What a dispatched macrotask was (`kind` plus its ids and payload).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DispatchTask {
    /// `timer_fired`.
    TimerFired {
        /// The timer's id.
        timer_id: u64,
        /// The deadline it was due at.
        deadline: u64,
    },
    /// `hostcall_complete`.
    HostcallComplete {
        /// The call's id.
        call_id: String,
        /// How it ended.
        outcome: HostcallOutcome<Value>,
    },
    /// `inbound_event`.
    InboundEvent {
        /// The event's id.
        event_id: String,
        /// Its payload.
        payload: Value,
    },
    /// `immediate` (EventLoop only).
    Immediate {
        /// The immediate's id.
        immediate_id: u64,
    },
}

impl Dispatch {
    /// The record of a macrotask dispatched at clock reading `at`.
    pub fn from_task<P: TracePayload>(task: &Macrotask<P>, at: u64) -> Self {
        let task_rec = match &task.kind {
            MacrotaskKind::TimerFired { timer_id, deadline_ms } => {
                DispatchTask::TimerFired { timer_id: timer_id.0, deadline: *deadline_ms }
            }
            MacrotaskKind::HostcallComplete(c) => DispatchTask::HostcallComplete {
                call_id: c.call_id.clone(),
                outcome: snapshot_outcome(&c.outcome, |p| p.trace_json().into_owned()),
            },
            MacrotaskKind::InboundEvent(e) => DispatchTask::InboundEvent {
                event_id: e.event_id.clone(),
                payload: e.payload.trace_json().into_owned(),
            },
            MacrotaskKind::Immediate { id } => DispatchTask::Immediate { immediate_id: *id },
        };
        Self { seq: task.seq.0, at, task: task_rec }
    }

    fn identity(&self) -> Identity<'_> {
        match &self.task {
            DispatchTask::TimerFired { timer_id, .. } => Identity::Timer { timer_id: *timer_id },
            DispatchTask::HostcallComplete { call_id, outcome } => Identity::Hostcall { call_id, outcome },
            DispatchTask::InboundEvent { event_id, payload } => Identity::Event { event_id, payload },
            DispatchTask::Immediate { immediate_id } => Identity::Immediate { immediate_id: *immediate_id },
        }
    }

    /// The canonical identity bytes the digest covers (D2): equal for two dispatches exactly
    /// when they count as the same step of a run.
    pub fn identity_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        canon::write_identity(&mut out, self.seq, self.identity());
        out
    }
}

/// One line of a trace: an operation (with its arguments and result), a clock reading or a
/// dispatch. Serialized as a JSON object whose `type` is the snake_case variant name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Record {
    /// The scheduler read its clock (R1: before the record of the operation that read it).
    Clock {
        /// The reading.
        ms: u64,
    },
    /// `set_timeout(delay)`; `id`/`seq` are null when every timer id was in use.
    SetTimeout {
        /// The delay.
        delay: u64,
        /// The timer id handed out.
        id: Option<u64>,
        /// The seq the timer took.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// `set_timer_at(deadline)`.
    SetTimerAt {
        /// The absolute deadline.
        deadline: u64,
        /// The timer id handed out.
        id: Option<u64>,
        /// The seq the timer took.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        seq: Option<u64>,
    },
    /// `rearm_timer(id, deadline)` (EventLoop intervals).
    RearmTimer {
        /// The timer id.
        id: u64,
        /// The new deadline.
        deadline: u64,
        /// False when the id was live (nothing changed).
        ok: bool,
    },
    /// `clear_timeout(id)`.
    ClearTimeout {
        /// The timer id.
        id: u64,
        /// True when a pending timer was cancelled.
        result: bool,
    },
    /// A hostcall completion (or stream chunk) was enqueued.
    EnqueueHostcall {
        /// The seq it took.
        seq: u64,
        /// The call's id.
        call_id: String,
        /// How it ended (its payload as enqueued).
        outcome: HostcallOutcome<Value>,
    },
    /// An inbound event was enqueued.
    EnqueueEvent {
        /// The seq it took.
        seq: u64,
        /// The event's id.
        event_id: String,
        /// Its payload as enqueued.
        payload: Value,
    },
    /// An immediate was enqueued (EventLoop).
    EnqueueImmediate {
        /// The seq it took.
        seq: u64,
        /// The immediate's id.
        id: u64,
    },
    /// `cancel_immediate(id)`.
    CancelImmediate {
        /// The immediate's id.
        id: u64,
        /// True when it was queued.
        result: bool,
    },
    /// `promote_due_timers()`.
    PromoteDueTimers {
        /// How many timers moved to the queue.
        moved: u64,
    },
    /// `now_ms()` (the reading is the preceding `clock` record).
    Now,
    /// `has_due_work()`.
    HasDueWork {
        /// Its answer.
        result: bool,
    },
    /// `time_until_next_timer()`.
    TimeUntilNextTimer {
        /// Its answer.
        result: Option<u64>,
    },
    /// `set_next_timer_id(id)` (test hook).
    SetNextTimerId {
        /// The id.
        id: u64,
    },
    /// `reset()`.
    Reset,
    /// A tick that dispatched a macrotask.
    Dispatch(Dispatch),
    /// A tick that found nothing to dispatch.
    Idle,
}

impl Record {
    /// The record's `type` code.
    pub fn type_code(&self) -> &'static str {
        match self {
            Self::Clock { .. } => "clock",
            Self::SetTimeout { .. } => "set_timeout",
            Self::SetTimerAt { .. } => "set_timer_at",
            Self::RearmTimer { .. } => "rearm_timer",
            Self::ClearTimeout { .. } => "clear_timeout",
            Self::EnqueueHostcall { .. } => "enqueue_hostcall",
            Self::EnqueueEvent { .. } => "enqueue_event",
            Self::EnqueueImmediate { .. } => "enqueue_immediate",
            Self::CancelImmediate { .. } => "cancel_immediate",
            Self::PromoteDueTimers { .. } => "promote_due_timers",
            Self::Now => "now",
            Self::HasDueWork { .. } => "has_due_work",
            Self::TimeUntilNextTimer { .. } => "time_until_next_timer",
            Self::SetNextTimerId { .. } => "set_next_timer_id",
            Self::Reset => "reset",
            Self::Dispatch(_) => "dispatch",
            Self::Idle => "idle",
        }
    }

    /// The record as a JSON object.
    pub fn to_json(&self) -> Value {
        // Records hold only strings, integers, bools and JSON values: serialization cannot fail.
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    fn from_json(v: Value, at: impl FnOnce() -> String) -> Result<Self, TraceError> {
        if !v.is_object() {
            return Err(TraceError::invalid(
                at(),
                format!("a record must be a JSON object, got {}", json_kind(&v)),
            ));
        }
        let ty = v.get("type").cloned();
        serde_json::from_value(v).map_err(|e| {
            let what = match ty {
                Some(Value::String(t)) => format!("bad \"{t}\" record: {e}"),
                Some(_) => "\"type\" must be a string".to_owned(),
                None => "record has no \"type\"".to_owned(),
            };
            TraceError::invalid(at(), what)
        })
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The header of a trace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceHeader {
    /// The producer, e.g. `seqloop 0.1.0`.
    pub created_by: String,
    /// The recorded scheduler's clock kind (informational).
    pub clock: String,
    /// The largest timer id the recorded scheduler handed out before wrapping.
    pub max_timer_id: u64,
}

/// A recorded run: a header and the records in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Trace {
    /// The header.
    pub header: TraceHeader,
    /// The records, in the order they happened.
    pub records: Vec<Record>,
}

const CREATED_BY: &str = concat!("seqloop ", env!("CARGO_PKG_VERSION"));
const END_LINE: &str = r#"{"type":"end"}"#;

impl Trace {
    /// The dispatch records, in order.
    pub fn dispatches(&self) -> impl Iterator<Item = &Dispatch> {
        self.records.iter().filter_map(|r| match r {
            Record::Dispatch(d) => Some(d),
            _ => None,
        })
    }

    /// The digest of the recorded dispatches (D1–D3).
    pub fn digest(&self) -> Digest {
        let mut h = Fnv::new();
        for d in self.dispatches() {
            canon::write_identity(&mut h, d.seq, d.identity());
        }
        h.finish()
    }

    fn header_json(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("created_by".into(), Value::from(self.header.created_by.as_str()));
        m.insert("clock".into(), Value::from(self.header.clock.as_str()));
        m.insert("max_timer_id".into(), Value::from(self.header.max_timer_id));
        m
    }

    /// The object form `{ version: 1, created_by, clock, max_timer_id, records }`.
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("version".into(), Value::from(TRACE_VERSION));
        m.extend(self.header_json());
        m.insert("records".into(), Value::Array(self.records.iter().map(Record::to_json).collect()));
        Value::Object(m)
    }

    /// The JSONL form: header line, one record per line, `{"type":"end"}`; every line ends in `\n`.
    pub fn to_jsonl(&self) -> String {
        // Written by hand so that `seqloop_trace` comes first (a reader can tell the file at a
        // glance, whatever the map order); the rest is serde's object text without its braces.
        let rest = Value::Object(self.header_json()).to_string();
        let mut out = String::with_capacity(64 * (self.records.len() + 2));
        out.push_str(&format!("{{\"seqloop_trace\":{TRACE_VERSION},{}\n", &rest[1..]));
        for r in &self.records {
            // As in `to_json`, serializing a record cannot fail.
            out.push_str(&serde_json::to_string(r).unwrap_or_default());
            out.push('\n');
        }
        out.push_str(END_LINE);
        out.push('\n');
        out
    }

    /// Parses the object form. Integral floats are accepted for integers (JS numbers).
    ///
    /// # Errors
    /// [`TraceError::Version`] for another `version`, [`TraceError::Invalid`] naming the field or
    /// `records[i]` that is wrong.
    pub fn from_json(v: &Value) -> Result<Self, TraceError> {
        let Value::Object(obj) = v else {
            return Err(TraceError::invalid("trace", format!("expected an object, got {}", json_kind(v))));
        };
        match obj.get("version") {
            Some(Value::Number(n)) if n.as_f64() == Some(TRACE_VERSION as f64) => {}
            Some(found @ (Value::Number(_) | Value::String(_))) => {
                return Err(TraceError::Version { found: found.to_string() })
            }
            Some(other) => {
                return Err(TraceError::invalid(
                    "trace.version",
                    format!("expected 1, got {}", json_kind(other)),
                ))
            }
            None => return Err(TraceError::invalid("trace", "missing \"version\"")),
        }
        let header = parse_header(obj, "trace")?;
        let Some(Value::Array(items)) = obj.get("records") else {
            return Err(TraceError::invalid("trace", "\"records\" must be an array"));
        };
        let mut records = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let mut item = item.clone();
            integralize(&mut item);
            records.push(Record::from_json(item, || format!("records[{i}]"))?);
        }
        Ok(Self { header, records })
    }

    /// Parses the JSONL form. Blank lines are skipped; a line may end in `\r\n`.
    ///
    /// # Errors
    /// [`TraceError::Empty`], [`TraceError::Version`], [`TraceError::Truncated`] (no end line), or
    /// [`TraceError::Invalid`] with the 1-based line number.
    pub fn from_jsonl(text: &str) -> Result<Self, TraceError> {
        let mut lines = text
            .split('\n')
            .enumerate()
            .map(|(i, l)| (i + 1, l.strip_suffix('\r').unwrap_or(l)))
            .filter(|(_, l)| !l.trim().is_empty());
        let Some((first_no, first)) = lines.next() else { return Err(TraceError::Empty) };
        let at = |n: usize| format!("line {n}");
        let head = parse_line(first, first_no)?;
        let Value::Object(head) = head else {
            return Err(TraceError::invalid(at(first_no), "not a seqloop trace header (expected an object)"));
        };
        match head.get("seqloop_trace") {
            Some(Value::Number(n)) if n.as_u64() == Some(TRACE_VERSION) => {}
            Some(found @ (Value::Number(_) | Value::String(_))) => {
                return Err(TraceError::Version { found: found.to_string() })
            }
            _ => {
                return Err(TraceError::invalid(
                    at(first_no),
                    "not a seqloop trace header (no \"seqloop_trace\": 1 field)",
                ))
            }
        }
        let header = parse_header(&head, &at(first_no))?;
        let mut records = Vec::new();
        let mut last_line = first_no;
        let mut ended = false;
        for (no, line) in lines {
            if ended {
                return Err(TraceError::invalid(at(no), "data after the {\"type\":\"end\"} line"));
            }
            last_line = no;
            let v = parse_line(line, no)?;
            if v.get("type").and_then(Value::as_str) == Some("end") {
                ended = true;
                continue;
            }
            records.push(Record::from_json(v, || at(no))?);
        }
        if !ended {
            return Err(TraceError::Truncated { last_line });
        }
        Ok(Self { header, records })
    }
}

fn parse_line(line: &str, no: usize) -> Result<Value, TraceError> {
    serde_json::from_str(line).map_err(|e| {
        // serde_json appends " at line 1 column N"; within one JSONL line only the column helps.
        let msg = e.to_string();
        let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
        TraceError::invalid(format!("line {no}"), format!("not JSON ({msg} at column {})", e.column()))
    })
}

fn parse_header(obj: &Map<String, Value>, at: &str) -> Result<TraceHeader, TraceError> {
    let text = |key: &str, default: &str| match obj.get(key) {
        None => Ok(default.to_owned()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => {
            Err(TraceError::invalid(at, format!("\"{key}\" must be a string, got {}", json_kind(other))))
        }
    };
    let max_timer_id = match obj.get("max_timer_id") {
        None => u64::MAX,
        Some(v) => match v
            .as_u64()
            .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0 && *f >= 1.0).map(|f| f as u64))
        {
            Some(m) if m >= 1 => m,
            _ => return Err(TraceError::invalid(at, "\"max_timer_id\" must be a positive integer")),
        },
    };
    Ok(TraceHeader { created_by: text("created_by", "")?, clock: text("clock", "custom")?, max_timer_id })
}

/// How the payload of `P` becomes JSON (chosen where `P: TracePayload` is known).
pub(crate) type SnapshotFn<P> = for<'a> fn(&'a P) -> Cow<'a, Value>;

/// The header of a trace recorded now.
pub(crate) fn header(clock: &str, max_timer_id: u64) -> TraceHeader {
    TraceHeader { created_by: CREATED_BY.to_owned(), clock: clock.to_owned(), max_timer_id }
}

fn snapshot_outcome<P>(o: &HostcallOutcome<P>, f: impl Fn(&P) -> Value) -> HostcallOutcome<Value> {
    match o {
        HostcallOutcome::Success { value } => HostcallOutcome::Success { value: f(value) },
        HostcallOutcome::Error { code, message } => {
            HostcallOutcome::Error { code: code.clone(), message: message.clone() }
        }
        HostcallOutcome::StreamChunk { sequence, chunk, is_final } => {
            HostcallOutcome::StreamChunk { sequence: *sequence, chunk: f(chunk), is_final: *is_final }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn records_round_trip_through_json() {
        let recs = vec![
            Record::Clock { ms: 5 },
            Record::SetTimeout { delay: 3, id: Some(1), seq: Some(0) },
            Record::SetTimeout { delay: 3, id: None, seq: None },
            Record::EnqueueHostcall {
                seq: 1,
                call_id: "c".into(),
                outcome: HostcallOutcome::StreamChunk { sequence: 0, chunk: json!([1]), is_final: false },
            },
            Record::Dispatch(Dispatch {
                seq: 1,
                at: 5,
                task: DispatchTask::InboundEvent { event_id: "e".into(), payload: json!({"a": 1}) },
            }),
            Record::Now,
            Record::Idle,
        ];
        for r in recs {
            let v = r.to_json();
            assert_eq!(v["type"], r.type_code());
            assert_eq!(Record::from_json(v, String::new).unwrap(), r);
        }
        assert_eq!(
            Record::Dispatch(Dispatch {
                seq: 2,
                at: 9,
                task: DispatchTask::TimerFired { timer_id: 1, deadline: 9 }
            })
            .to_json(),
            json!({"type": "dispatch", "seq": 2, "at": 9, "kind": "timer_fired", "timer_id": 1, "deadline": 9})
        );
    }

    #[test]
    fn record_errors_say_what() {
        let e = Record::from_json(json!({"type": "dispatch", "seq": 1}), || "line 3".into()).unwrap_err();
        assert!(
            matches!(e, TraceError::Invalid { .. } | TraceError::Empty | TraceError::Truncated { .. }),
            "{e:?}"
        );
        assert!(e.to_string().starts_with("line 3: bad \"dispatch\" record"), "{e}");
        let e = Record::from_json(json!({"ms": 1}), || "line 2".into()).unwrap_err();
        assert_eq!(e.to_string(), "line 2: record has no \"type\"");
        let e = Record::from_json(json!([1]), || "records[0]".into()).unwrap_err();
        assert_eq!(e.to_string(), "records[0]: a record must be a JSON object, got an array");
    }
}
