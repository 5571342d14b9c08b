//! Macrotasks and hostcall outcomes: what the scheduler queues and hands out.
//!
//! The payload type `P` is generic: the data-level scheduler uses `serde_json::Value`, the
//! EventLoop keeps JS values. Equality and order of macrotasks use the seq alone (M1, I5).

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::seq::Seq;

/// A timer id. Ids start at 1 and are never 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct TimerId(pub u64);

impl fmt::Display for TimerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "timer:{}", self.0)
    }
}

/// How a hostcall ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum HostcallOutcome<P> {
    /// The call returned `value`.
    Success {
        /// The returned value.
        value: P,
    },
    /// The call failed.
    Error {
        /// A stable error code, e.g. `E_TIMEOUT`.
        code: String,
        /// A human-readable message.
        message: String,
    },
    /// One chunk of a streaming call; the scheduler keeps FIFO order and does not check `sequence`.
    StreamChunk {
        /// The chunk's index within its stream.
        sequence: u64,
        /// The chunk's data.
        chunk: P,
        /// True on the last chunk.
        #[serde(rename = "isFinal", alias = "is_final")]
        is_final: bool,
    },
}

impl<P> HostcallOutcome<P> {
    /// The snake_case type code (`success`, `error`, `stream_chunk`).
    pub fn type_code(&self) -> &'static str {
        match self {
            Self::Success { .. } => "success",
            Self::Error { .. } => "error",
            Self::StreamChunk { .. } => "stream_chunk",
        }
    }
}

/// A completed hostcall (boxed inside [`MacrotaskKind`] so timer macrotasks stay small).
#[derive(Debug, Clone, PartialEq)]
pub struct HostcallCompletion<P> {
    /// The call's id.
    pub call_id: String,
    /// How it ended.
    pub outcome: HostcallOutcome<P>,
}

/// An inbound event (boxed inside [`MacrotaskKind`]).
#[derive(Debug, Clone, PartialEq)]
pub struct InboundEvent<P> {
    /// The event's id.
    pub event_id: String,
    /// Its payload.
    pub payload: P,
}

/// What a macrotask does.
#[derive(Debug, Clone, PartialEq)]
pub enum MacrotaskKind<P> {
    /// A timer became due. `deadline_ms` is the deadline it was set for (intervals re-arm from it).
    TimerFired {
        /// The timer's id.
        timer_id: TimerId,
        /// The deadline it was due at.
        deadline_ms: u64,
    },
    /// A hostcall completed (success, error or a stream chunk).
    HostcallComplete(Box<HostcallCompletion<P>>),
    /// An event arrived from outside.
    InboundEvent(Box<InboundEvent<P>>),
    /// An immediate (`setImmediate`) of the EventLoop; the data-level scheduler never makes one.
    Immediate {
        /// The immediate's id.
        id: u64,
    },
}

impl<P> MacrotaskKind<P> {
    /// The snake_case kind code (`timer_fired`, `hostcall_complete`, `inbound_event`, `immediate`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::TimerFired { .. } => "timer_fired",
            Self::HostcallComplete(_) => "hostcall_complete",
            Self::InboundEvent(_) => "inbound_event",
            Self::Immediate { .. } => "immediate",
        }
    }
}

/// A queued unit of work with its seq.
#[derive(Debug, Clone)]
pub struct Macrotask<P> {
    /// Its place in the total order (I5).
    pub seq: Seq,
    /// What it does.
    pub kind: MacrotaskKind<P>,
}

impl<P> PartialEq for Macrotask<P> {
    fn eq(&self, other: &Self) -> bool {
        self.seq == other.seq
    }
}

impl<P> Eq for Macrotask<P> {}

impl<P> PartialOrd for Macrotask<P> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<P> Ord for Macrotask<P> {
    fn cmp(&self, other: &Self) -> Ordering {
        self.seq.cmp(&other.seq)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macrotasks_compare_by_seq_only() {
        let a: Macrotask<()> = Macrotask {
            seq: Seq(1),
            kind: MacrotaskKind::TimerFired { timer_id: TimerId(1), deadline_ms: 0 },
        };
        let b = Macrotask {
            seq: Seq(1),
            kind: MacrotaskKind::TimerFired { timer_id: TimerId(2), deadline_ms: 5 },
        };
        assert_eq!(a, b);
        let c = Macrotask { seq: Seq(2), kind: MacrotaskKind::Immediate { id: 1 } };
        assert!(a < c);
    }

    #[test]
    fn outcome_json_shapes() {
        let ok: HostcallOutcome<serde_json::Value> =
            serde_json::from_str(r#"{"type":"success","value":{"result":42}}"#).unwrap();
        assert_eq!(ok.type_code(), "success");
        let chunk: HostcallOutcome<serde_json::Value> =
            serde_json::from_str(r#"{"type":"stream_chunk","sequence":2,"chunk":"c","isFinal":true}"#)
                .unwrap();
        assert!(matches!(chunk, HostcallOutcome::StreamChunk { sequence: 2, is_final: true, .. }));
        let bad = serde_json::from_str::<HostcallOutcome<serde_json::Value>>(r#"{"type":"nope"}"#);
        assert!(bad.is_err());
    }
}
