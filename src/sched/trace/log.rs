//! The recorder: a byte-coded operation log kept by a recording scheduler (R3, R5).
//!
//! # Encoding
//! Each [`Entry`] is one opcode byte followed by its integer fields as LEB128 varints (7 bits a
//! byte, low bits first). A dispatched timer's deadline is stored as a zigzag delta from the
//! tick's clock reading (usually 0, one byte). Payload snapshots (hostcall outcomes, event
//! payloads) live in a side vector and entries refer to them by index. Setting and firing a
//! timer costs about 17 bytes; what dominates recording cost is first-touch memory, so bytes
//! are what this format saves. JSON is built only by [`Recorder::records`].

use std::cell::RefCell;

use rustc_hash::FxHashMap;
use serde_json::Value;

use super::canon::{self, Digest, Fnv, Identity};
use super::{snapshot_outcome, Dispatch, DispatchTask, Record, SnapshotFn};
use crate::sched::task::{HostcallOutcome, Macrotask, MacrotaskKind};

/// One logged operation, as handed to [`Recorder::push`] and decoded back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Entry {
    /// The clock now reads this (kept only when it changed, R5).
    Clock(u64),
    /// `id == 0`: ids exhausted (ids are never 0).
    SetTimeout {
        delay: u64,
        id: u64,
        seq: u64,
    },
    SetTimerAt {
        deadline: u64,
        id: u64,
        seq: u64,
    },
    Rearm {
        id: u64,
        deadline: u64,
        ok: bool,
    },
    Clear {
        id: u64,
        result: bool,
    },
    /// Index into the payload side vector.
    Hostcall(usize),
    Event(usize),
    Immediate {
        seq: u64,
        id: u64,
    },
    CancelImmediate {
        id: u64,
        result: bool,
    },
    Promote(u64),
    Now,
    HasDueWork {
        result: bool,
        read: bool,
    },
    TimeUntil {
        result: Option<u64>,
        read: bool,
    },
    SetNextTimerId(u64),
    Reset,
    FireTimer {
        seq: u64,
        id: u64,
        deadline: u64,
    },
    FireImmediate {
        seq: u64,
        id: u64,
    },
    /// A hostcall or event; `payload` indexes its enqueue snapshot (R2).
    FireQueued {
        seq: u64,
        payload: usize,
    },
    Idle,
}

mod op {
    pub(super) const CLOCK: u8 = 0;
    pub(super) const SET_TIMEOUT: u8 = 1;
    pub(super) const SET_TIMER_AT: u8 = 2;
    pub(super) const REARM: u8 = 3;
    pub(super) const REARM_LIVE: u8 = 4;
    pub(super) const CLEAR_TRUE: u8 = 5;
    pub(super) const CLEAR_FALSE: u8 = 6;
    pub(super) const HOSTCALL: u8 = 7;
    pub(super) const EVENT: u8 = 8;
    pub(super) const IMMEDIATE: u8 = 9;
    pub(super) const CANCEL_TRUE: u8 = 10;
    pub(super) const CANCEL_FALSE: u8 = 11;
    pub(super) const PROMOTE: u8 = 12;
    pub(super) const NOW: u8 = 13;
    /// Followed by a flags byte: bit 0 result, bit 1 read.
    pub(super) const HAS_DUE: u8 = 14;
    pub(super) const TIME_UNTIL_NONE: u8 = 15;
    pub(super) const TIME_UNTIL: u8 = 16;
    pub(super) const SET_NEXT_ID: u8 = 17;
    pub(super) const RESET: u8 = 18;
    pub(super) const FIRE_TIMER: u8 = 19;
    pub(super) const FIRE_IMMEDIATE: u8 = 20;
    pub(super) const FIRE_QUEUED: u8 = 21;
    pub(super) const IDLE: u8 = 22;
}

#[inline]
fn put(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a varint written by [`put`] (the log is only ever read back by this module).
fn get(bytes: &[u8], pos: &mut usize) -> u64 {
    let mut v = 0u64;
    let mut shift = 0;
    while let Some(&b) = bytes.get(*pos) {
        *pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b < 0x80 {
            break;
        }
        shift += 7;
    }
    v
}

fn zigzag(d: i64) -> u64 {
    ((d << 1) ^ (d >> 63)) as u64
}

fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// A payload snapshot taken at enqueue time.
#[derive(Debug)]
struct Queued {
    seq: u64,
    id: String,
    what: QueuedKind,
}

#[derive(Debug)]
enum QueuedKind {
    Hostcall(HostcallOutcome<Value>),
    Event(Value),
}

#[derive(Default)]
struct Log {
    bytes: Vec<u8>,
    payloads: Vec<Queued>,
    /// Queued hostcalls/events by seq → their payload index (removed when dispatched).
    queued: FxHashMap<u64, usize>,
    /// The last clock reading recorded (R5); also the base of deadline deltas.
    last_clock: Option<u64>,
    entries: usize,
    /// Lazy digest (R4): the state after `digested` bytes, with the clock at that point.
    digest: Option<Fnv>,
    digested: usize,
}

impl Log {
    #[inline]
    fn push(&mut self, e: Entry) {
        let out = &mut self.bytes;
        match e {
            Entry::Clock(t) => {
                out.push(op::CLOCK);
                put(out, t);
            }
            Entry::SetTimeout { delay, id, seq } => {
                out.push(op::SET_TIMEOUT);
                put(out, delay);
                put(out, id);
                put(out, seq);
            }
            Entry::SetTimerAt { deadline, id, seq } => {
                out.push(op::SET_TIMER_AT);
                put(out, deadline);
                put(out, id);
                put(out, seq);
            }
            Entry::Rearm { id, deadline, ok } => {
                out.push(if ok { op::REARM } else { op::REARM_LIVE });
                put(out, id);
                put(out, deadline);
            }
            Entry::Clear { id, result } => {
                out.push(if result { op::CLEAR_TRUE } else { op::CLEAR_FALSE });
                put(out, id);
            }
            Entry::Hostcall(i) => {
                out.push(op::HOSTCALL);
                put(out, i as u64);
            }
            Entry::Event(i) => {
                out.push(op::EVENT);
                put(out, i as u64);
            }
            Entry::Immediate { seq, id } => {
                out.push(op::IMMEDIATE);
                put(out, seq);
                put(out, id);
            }
            Entry::CancelImmediate { id, result } => {
                out.push(if result { op::CANCEL_TRUE } else { op::CANCEL_FALSE });
                put(out, id);
            }
            Entry::Promote(moved) => {
                out.push(op::PROMOTE);
                put(out, moved);
            }
            Entry::Now => out.push(op::NOW),
            Entry::HasDueWork { result, read } => {
                out.push(op::HAS_DUE);
                out.push(u8::from(result) | (u8::from(read) << 1));
            }
            Entry::TimeUntil { result: None, .. } => out.push(op::TIME_UNTIL_NONE),
            Entry::TimeUntil { result: Some(ms), .. } => {
                out.push(op::TIME_UNTIL);
                put(out, ms);
            }
            Entry::SetNextTimerId(id) => {
                out.push(op::SET_NEXT_ID);
                put(out, id);
            }
            Entry::Reset => out.push(op::RESET),
            Entry::FireTimer { seq, id, deadline } => {
                out.push(op::FIRE_TIMER);
                put(out, seq);
                put(out, id);
                let at = self.last_clock.unwrap_or(0);
                put(out, zigzag(deadline.wrapping_sub(at) as i64));
            }
            Entry::FireImmediate { seq, id } => {
                out.push(op::FIRE_IMMEDIATE);
                put(out, seq);
                put(out, id);
            }
            Entry::FireQueued { seq, payload } => {
                out.push(op::FIRE_QUEUED);
                put(out, seq);
                put(out, payload as u64);
            }
            Entry::Idle => out.push(op::IDLE),
        }
        self.entries += 1;
    }

    fn add_payload(&mut self, q: Queued) {
        let idx = self.payloads.len();
        self.queued.insert(q.seq, idx);
        let e = match q.what {
            QueuedKind::Hostcall(_) => Entry::Hostcall(idx),
            QueuedKind::Event(_) => Entry::Event(idx),
        };
        self.payloads.push(q);
        self.push(e);
    }

    /// Decodes entries from byte offset `from`, calling `f(entry, clock)` with the clock reading
    /// in force at that entry.
    fn walk(&self, from: usize, mut at: u64, mut f: impl FnMut(Entry, u64)) -> u64 {
        let b = &self.bytes;
        let mut pos = from;
        while pos < b.len() {
            let code = b[pos];
            pos += 1;
            let mut g = || get(b, &mut pos);
            let e = match code {
                op::CLOCK => {
                    at = g();
                    Entry::Clock(at)
                }
                op::SET_TIMEOUT => Entry::SetTimeout { delay: g(), id: g(), seq: g() },
                op::SET_TIMER_AT => Entry::SetTimerAt { deadline: g(), id: g(), seq: g() },
                op::REARM | op::REARM_LIVE => Entry::Rearm { id: g(), deadline: g(), ok: code == op::REARM },
                op::CLEAR_TRUE | op::CLEAR_FALSE => Entry::Clear { id: g(), result: code == op::CLEAR_TRUE },
                op::HOSTCALL => Entry::Hostcall(g() as usize),
                op::EVENT => Entry::Event(g() as usize),
                op::IMMEDIATE => Entry::Immediate { seq: g(), id: g() },
                op::CANCEL_TRUE | op::CANCEL_FALSE => {
                    Entry::CancelImmediate { id: g(), result: code == op::CANCEL_TRUE }
                }
                op::PROMOTE => Entry::Promote(g()),
                op::NOW => Entry::Now,
                op::HAS_DUE => {
                    let flags = b.get(pos).copied().unwrap_or(0);
                    pos += 1;
                    Entry::HasDueWork { result: flags & 1 != 0, read: flags & 2 != 0 }
                }
                op::TIME_UNTIL_NONE => Entry::TimeUntil { result: None, read: false },
                op::TIME_UNTIL => Entry::TimeUntil { result: Some(g()), read: true },
                op::SET_NEXT_ID => Entry::SetNextTimerId(g()),
                op::RESET => Entry::Reset,
                op::FIRE_TIMER => {
                    let (seq, id) = (g(), g());
                    let deadline = at.wrapping_add(unzigzag(g()) as u64);
                    Entry::FireTimer { seq, id, deadline }
                }
                op::FIRE_IMMEDIATE => Entry::FireImmediate { seq: g(), id: g() },
                op::FIRE_QUEUED => Entry::FireQueued { seq: g(), payload: g() as usize },
                // Only this module writes the log, with the opcodes above.
                _ => Entry::Idle,
            };
            f(e, at);
        }
        at
    }

    fn identity(&self, e: Entry) -> Option<(u64, Identity<'_>)> {
        match e {
            Entry::FireTimer { seq, id, .. } => Some((seq, Identity::Timer { timer_id: id })),
            Entry::FireImmediate { seq, id } => Some((seq, Identity::Immediate { immediate_id: id })),
            Entry::FireQueued { seq, payload } => {
                let q = self.payloads.get(payload)?;
                Some((
                    seq,
                    match &q.what {
                        QueuedKind::Hostcall(outcome) => Identity::Hostcall { call_id: &q.id, outcome },
                        QueuedKind::Event(payload) => Identity::Event { event_id: &q.id, payload },
                    },
                ))
            }
            _ => None,
        }
    }
}

/// The recorder a recording scheduler carries (boxed, so a non-recording scheduler pays one
/// pointer and one branch per recordable call).
pub(crate) struct Recorder<P> {
    log: RefCell<Log>,
    snapshot: SnapshotFn<P>,
}

impl<P> Recorder<P> {
    pub(crate) fn new(snapshot: SnapshotFn<P>) -> Self {
        Self { log: RefCell::new(Log::default()), snapshot }
    }

    #[inline]
    pub(crate) fn push(&self, e: Entry) {
        self.log.borrow_mut().push(e);
    }

    /// Notes a clock reading; it costs an entry only when the reading changed (R5).
    #[inline]
    pub(crate) fn clock(&self, t: u64) {
        let mut log = self.log.borrow_mut();
        if log.last_clock != Some(t) {
            log.last_clock = Some(t);
            log.push(Entry::Clock(t));
        }
    }

    pub(crate) fn enqueue_hostcall(&self, seq: u64, call_id: &str, outcome: &HostcallOutcome<P>) {
        let snap = self.snapshot;
        let outcome = snapshot_outcome(outcome, |p| snap(p).into_owned());
        let q = Queued { seq, id: call_id.to_owned(), what: QueuedKind::Hostcall(outcome) };
        self.log.borrow_mut().add_payload(q);
    }

    pub(crate) fn enqueue_event(&self, seq: u64, event_id: &str, payload: &P) {
        let payload = (self.snapshot)(payload).into_owned();
        let q = Queued { seq, id: event_id.to_owned(), what: QueuedKind::Event(payload) };
        self.log.borrow_mut().add_payload(q);
    }

    pub(crate) fn dispatch(&self, task: &Macrotask<P>) {
        let seq = task.seq.0;
        let mut log = self.log.borrow_mut();
        let e = match &task.kind {
            MacrotaskKind::TimerFired { timer_id, deadline_ms } => {
                Entry::FireTimer { seq, id: timer_id.0, deadline: *deadline_ms }
            }
            MacrotaskKind::Immediate { id } => Entry::FireImmediate { seq, id: *id },
            MacrotaskKind::HostcallComplete(c) => {
                let payload = log.queued.remove(&seq).unwrap_or_else(|| {
                    // Only reachable if R2 was broken: snapshot the task now so nothing is lost.
                    let outcome = snapshot_outcome(&c.outcome, |p| (self.snapshot)(p).into_owned());
                    log.payloads.push(Queued {
                        seq,
                        id: c.call_id.clone(),
                        what: QueuedKind::Hostcall(outcome),
                    });
                    log.payloads.len() - 1
                });
                Entry::FireQueued { seq, payload }
            }
            MacrotaskKind::InboundEvent(ev) => {
                let payload = log.queued.remove(&seq).unwrap_or_else(|| {
                    let v = (self.snapshot)(&ev.payload).into_owned();
                    log.payloads.push(Queued { seq, id: ev.event_id.clone(), what: QueuedKind::Event(v) });
                    log.payloads.len() - 1
                });
                Entry::FireQueued { seq, payload }
            }
        };
        log.push(e);
    }

    pub(crate) fn reset(&self) {
        let mut log = self.log.borrow_mut();
        log.queued.clear();
        log.push(Entry::Reset);
    }

    /// Number of entries logged (fewer than the records `records()` expands them to).
    pub(crate) fn len(&self) -> usize {
        self.log.borrow().entries
    }

    /// Bytes held by the log's buffers (payload snapshots counted by their slot, not deeply).
    pub(crate) fn heap_bytes(&self) -> usize {
        let log = self.log.borrow();
        log.bytes.capacity() + log.payloads.capacity() * std::mem::size_of::<Queued>()
    }

    /// The digest of the dispatches so far, catching up from the last call (R4).
    pub(crate) fn digest(&self) -> Digest {
        let mut log = self.log.borrow_mut();
        let mut h = log.digest.unwrap_or_else(Fnv::new);
        let from = log.digested;
        log.walk(from, 0, |e, _| {
            if let Some((seq, id)) = log.identity(e) {
                canon::write_identity(&mut h, seq, id);
            }
        });
        log.digested = log.bytes.len();
        log.digest = Some(h);
        h.finish()
    }

    /// Expands the log into records (R3: JSON is built only here; R5: a `clock` record goes
    /// back before every operation that read the clock).
    pub(crate) fn records(&self) -> Vec<Record> {
        let log = self.log.borrow();
        let mut out = Vec::with_capacity(2 * log.entries);
        log.walk(0, 0, |e, at| {
            if reads_clock(e) {
                out.push(Record::Clock { ms: at });
            }
            let id_opt = |id: u64| (id != 0).then_some(id);
            let queued = |i: usize| log.payloads.get(i);
            let rec = match e {
                Entry::Clock(_) => return,
                Entry::SetTimeout { delay, id, seq } => {
                    Record::SetTimeout { delay, id: id_opt(id), seq: id_opt(id).map(|_| seq) }
                }
                Entry::SetTimerAt { deadline, id, seq } => {
                    Record::SetTimerAt { deadline, id: id_opt(id), seq: id_opt(id).map(|_| seq) }
                }
                Entry::Rearm { id, deadline, ok } => Record::RearmTimer { id, deadline, ok },
                Entry::Clear { id, result } => Record::ClearTimeout { id, result },
                Entry::Hostcall(i) | Entry::Event(i) => match queued(i) {
                    Some(Queued { seq, id, what: QueuedKind::Hostcall(outcome) }) => {
                        Record::EnqueueHostcall { seq: *seq, call_id: id.clone(), outcome: outcome.clone() }
                    }
                    Some(Queued { seq, id, what: QueuedKind::Event(payload) }) => {
                        Record::EnqueueEvent { seq: *seq, event_id: id.clone(), payload: payload.clone() }
                    }
                    None => return,
                },
                Entry::Immediate { seq, id } => Record::EnqueueImmediate { seq, id },
                Entry::CancelImmediate { id, result } => Record::CancelImmediate { id, result },
                Entry::Promote(moved) => Record::PromoteDueTimers { moved },
                Entry::Now => Record::Now,
                Entry::HasDueWork { result, .. } => Record::HasDueWork { result },
                Entry::TimeUntil { result, .. } => Record::TimeUntilNextTimer { result },
                Entry::SetNextTimerId(id) => Record::SetNextTimerId { id },
                Entry::Reset => Record::Reset,
                Entry::Idle => Record::Idle,
                Entry::FireTimer { seq, id, deadline } => Record::Dispatch(Dispatch {
                    seq,
                    at,
                    task: DispatchTask::TimerFired { timer_id: id, deadline },
                }),
                Entry::FireImmediate { seq, id } => {
                    Record::Dispatch(Dispatch { seq, at, task: DispatchTask::Immediate { immediate_id: id } })
                }
                Entry::FireQueued { seq, payload } => {
                    let task = match queued(payload) {
                        Some(Queued { id, what: QueuedKind::Hostcall(outcome), .. }) => {
                            DispatchTask::HostcallComplete { call_id: id.clone(), outcome: outcome.clone() }
                        }
                        Some(Queued { id, what: QueuedKind::Event(payload), .. }) => {
                            DispatchTask::InboundEvent { event_id: id.clone(), payload: payload.clone() }
                        }
                        None => return,
                    };
                    Record::Dispatch(Dispatch { seq, at, task })
                }
            };
            out.push(rec);
        });
        out
    }
}

/// True for the entries of operations that read the clock once (R5).
fn reads_clock(e: Entry) -> bool {
    match e {
        Entry::SetTimeout { .. }
        | Entry::Promote(_)
        | Entry::Now
        | Entry::FireTimer { .. }
        | Entry::FireImmediate { .. }
        | Entry::FireQueued { .. }
        | Entry::Idle => true,
        Entry::HasDueWork { read, .. } | Entry::TimeUntil { read, .. } => read,
        Entry::Clock(_)
        | Entry::SetTimerAt { .. }
        | Entry::Rearm { .. }
        | Entry::Clear { .. }
        | Entry::Hostcall(_)
        | Entry::Event(_)
        | Entry::Immediate { .. }
        | Entry::CancelImmediate { .. }
        | Entry::SetNextTimerId(_)
        | Entry::Reset => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_round_trips_through_the_byte_log() {
        let entries = [
            Entry::Clock(u64::MAX),
            Entry::SetTimeout { delay: 0, id: 0, seq: 0 },
            Entry::SetTimeout { delay: 300, id: 1 << 40, seq: u64::MAX },
            Entry::SetTimerAt { deadline: 5, id: 2, seq: 3 },
            Entry::Rearm { id: 4, deadline: 9, ok: true },
            Entry::Rearm { id: 4, deadline: 9, ok: false },
            Entry::Clear { id: 7, result: true },
            Entry::Clear { id: 7, result: false },
            Entry::Hostcall(3),
            Entry::Event(4),
            Entry::Immediate { seq: 1, id: 2 },
            Entry::CancelImmediate { id: 2, result: true },
            Entry::CancelImmediate { id: 2, result: false },
            Entry::Promote(12),
            Entry::Now,
            Entry::HasDueWork { result: true, read: false },
            Entry::HasDueWork { result: false, read: true },
            Entry::TimeUntil { result: None, read: false },
            Entry::TimeUntil { result: Some(0), read: true },
            Entry::SetNextTimerId(9),
            Entry::Reset,
            Entry::Clock(1000),
            Entry::FireTimer { seq: 8, id: 1, deadline: 990 },
            Entry::FireTimer { seq: 9, id: 2, deadline: 1010 },
            Entry::FireTimer { seq: 10, id: 3, deadline: u64::MAX },
            Entry::Clock(0),
            Entry::FireTimer { seq: 11, id: 3, deadline: u64::MAX },
            Entry::FireImmediate { seq: 12, id: 5 },
            Entry::FireQueued { seq: 13, payload: 1 },
            Entry::Idle,
        ];
        let mut log = Log::default();
        for e in entries {
            if let Entry::Clock(t) = e {
                log.last_clock = Some(t);
            }
            log.push(e);
        }
        let mut back = Vec::new();
        log.walk(0, 0, |e, _| back.push(e));
        assert_eq!(back, entries);
        assert_eq!(log.entries, entries.len());
    }

    #[test]
    fn varints_and_zigzag() {
        for v in [0, 1, 127, 128, 300, 1 << 35, u64::MAX] {
            let mut b = Vec::new();
            put(&mut b, v);
            let mut pos = 0;
            assert_eq!(get(&b, &mut pos), v);
            assert_eq!(pos, b.len());
        }
        for d in [0i64, 1, -1, 63, -64, i64::MAX, i64::MIN] {
            assert_eq!(unzigzag(zigzag(d)), d);
        }
        let mut b = Vec::new();
        put(&mut b, 100_000);
        assert_eq!(b.len(), 3);
    }
}
