//! Record and replay against the core API (API.md §4): replay of recorded runs, divergence
//! reporting on edited traces, digest stability and sensitivity, wall-clock replay, the JSONL
//! form and its errors, and a payload type carrying its own JSON snapshot (as the EventLoop's).

use std::borrow::Cow;

use proptest::prelude::*;
use seqloop::sched::trace::{diff, Dispatch, DispatchTask, Record};
use seqloop::sched::{
    replay, DeterministicClock, HostcallOutcome, MacrotaskKind, Scheduler, TimerId, Trace, TraceError,
    TracePayload, WallClock,
};
use serde_json::{json, Value};

/// A fixed run touching every recorded operation of the data-level scheduler.
fn scenario() -> Scheduler<Value> {
    let clock = DeterministicClock::new(1000);
    let mut s = Scheduler::new(clock.clone()).with_recording(true);
    s.set_timeout(10).unwrap();
    s.set_timeout(5).unwrap();
    let t3 = s.set_timeout(5).unwrap();
    s.enqueue_hostcall_complete(
        "call-1",
        HostcallOutcome::Success { value: json!({"b": [1, 2.5], "a": "x"}) },
    );
    s.enqueue_event("evt", json!(null));
    assert!(s.clear_timeout(t3));
    s.enqueue_stream_chunk("s", 0, json!("chunk"), true);
    s.enqueue_hostcall_complete(
        "call-2",
        HostcallOutcome::Error { code: "E_X".into(), message: "boom".into() },
    );
    while s.tick().is_some() {}
    assert_eq!(s.time_until_next_timer(), Some(5));
    clock.advance(5);
    assert!(s.has_due_work());
    s.enqueue_event("late", json!({"n": -1}));
    assert_eq!(s.drain(10).len(), 2);
    clock.advance(5);
    assert_eq!(s.now_ms(), 1010);
    assert_eq!(s.promote_due_timers(), 1);
    while s.tick().is_some() {}
    s
}

fn dispatch_positions(t: &Trace) -> Vec<usize> {
    t.records.iter().enumerate().filter(|(_, r)| matches!(r, Record::Dispatch(_))).map(|(i, _)| i).collect()
}

#[test]
fn recorded_run_replays_with_the_same_digest() {
    let s = scenario();
    let trace = s.trace().unwrap();
    let digest = s.digest().unwrap();
    assert_eq!(trace.dispatches().count(), 7);
    assert_eq!(trace.digest(), digest);
    let report = replay(&trace);
    assert!(report.ok, "{:?}", report.divergence);
    assert_eq!(report.divergence, None);
    assert_eq!(report.digest, digest);
    assert_eq!(report.dispatches, 7);
    // The JSONL and object forms round-trip to the same trace.
    assert_eq!(Trace::from_jsonl(&trace.to_jsonl()).unwrap(), trace);
    assert_eq!(Trace::from_json(&trace.to_json()).unwrap(), trace);
}

#[test]
fn digest_is_a_fixed_function_of_the_dispatched_sequence() {
    // Regression constant: any change to the canonical encoding or the hash changes it.
    assert_eq!(scenario().digest().unwrap().to_string(), "f1832c09d3ec31d8");
    let empty: Scheduler<Value> = Scheduler::new(DeterministicClock::new(0)).with_recording(true);
    assert_eq!(empty.digest().unwrap().to_string(), "cbf29ce484222325");
    // Times are not part of the digest: the same run at another start time digests the same.
    let mut a = Scheduler::new(DeterministicClock::new(0)).with_recording(true);
    let mut b = Scheduler::new(DeterministicClock::new(777)).with_recording(true);
    for s in [&mut a, &mut b] {
        s.set_timeout(0).unwrap();
        s.enqueue_event("e", json!([1]));
        while s.tick().is_some() {}
    }
    assert_eq!(a.digest(), b.digest());
}

/// Digest of: `build` run on a fresh recording scheduler, then ticked until idle.
fn digest_of(build: impl FnOnce(&mut Scheduler<Value>)) -> String {
    let mut s = Scheduler::new(DeterministicClock::new(0)).with_recording(true);
    build(&mut s);
    while s.tick().is_some() {}
    s.digest().unwrap().to_string()
}

#[test]
fn digest_changes_with_order_ids_kinds_and_payloads() {
    let base = digest_of(|s| {
        s.enqueue_event("a", json!(1));
        s.enqueue_event("b", json!(2));
    });
    let reordered = digest_of(|s| {
        s.enqueue_event("b", json!(2));
        s.enqueue_event("a", json!(1));
    });
    let other_id = digest_of(|s| {
        s.enqueue_event("a", json!(1));
        s.enqueue_event("c", json!(2));
    });
    let other_payload = digest_of(|s| {
        s.enqueue_event("a", json!(1));
        s.enqueue_event("b", json!(3));
    });
    let other_kind = digest_of(|s| {
        s.enqueue_event("a", json!(1));
        s.enqueue_hostcall_complete("b", HostcallOutcome::Success { value: json!(2) });
    });
    let other_seq = digest_of(|s| {
        s.set_timeout(1_000).unwrap();
        s.enqueue_event("a", json!(1));
        s.enqueue_event("b", json!(2));
    });
    let timer_ids = |first: u64| {
        digest_of(|s| {
            s.set_next_timer_id(first);
            s.set_timeout(0).unwrap();
        })
    };
    let all = [base, reordered, other_id, other_payload, other_kind, other_seq, timer_ids(1), timer_ids(2)];
    for (i, x) in all.iter().enumerate() {
        assert_eq!(x.len(), 16);
        assert!(x.chars().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()), "{x}");
        for y in &all[i + 1..] {
            assert_ne!(x, y);
        }
    }
    // Equal JSON written differently (key order, 1 vs 1.0) is the same payload.
    assert_eq!(
        digest_of(|s| {
            s.enqueue_event("a", json!({"x": 1, "y": 2.0}));
        }),
        digest_of(|s| {
            s.enqueue_event("a", serde_json::from_str(r#"{"y":2,"x":1.0}"#).unwrap());
        })
    );
}

#[test]
fn reordered_dispatches_diverge_at_the_first_swapped_index() {
    let mut trace = scenario().trace().unwrap();
    let pos = dispatch_positions(&trace);
    trace.records.swap(pos[2], pos[3]);
    let report = replay(&trace);
    assert!(!report.ok);
    let d = report.divergence.unwrap();
    assert_eq!(d.index, 2);
    assert_eq!(d.record, Some(pos[2]));
    assert_eq!(d.expected["type"], "dispatch");
    assert_eq!(d.expected, scenario().trace().unwrap().records[pos[3]].to_json());
    assert_eq!(d.actual, scenario().trace().unwrap().records[pos[2]].to_json());
}

#[test]
fn dropped_dispatch_diverges_at_its_index() {
    let original = scenario().trace().unwrap();
    let pos = dispatch_positions(&original);
    let mut trace = original.clone();
    trace.records.remove(pos[4]);
    let d = replay(&trace).divergence.unwrap();
    assert_eq!(d.index, 4);
    // The replay ran the dropped task where the trace expects the next one.
    assert_eq!(d.actual, original.records[pos[4]].to_json());
    assert_eq!(d.expected, original.records[pos[5]].to_json());
}

#[test]
fn changed_payloads_diverge_where_they_are_dispatched() {
    // Edited in the dispatch record: the replay (driven by the inputs) disagrees there.
    let mut trace = scenario().trace().unwrap();
    let pos = dispatch_positions(&trace);
    let Record::Dispatch(Dispatch { task: DispatchTask::HostcallComplete { outcome, .. }, .. }) =
        &mut trace.records[pos[0]]
    else {
        panic!("first dispatch is call-1: {:?}", trace.records[pos[0]]);
    };
    *outcome = HostcallOutcome::Success { value: json!({"b": [1, 2.5], "a": "y"}) };
    let d = replay(&trace).divergence.unwrap();
    assert_eq!((d.index, d.record), (0, Some(pos[0])));
    assert_eq!(d.expected["outcome"]["value"]["a"], "y");
    assert_eq!(d.actual["outcome"]["value"]["a"], "x");

    // Edited in the enqueue input: the replay dispatches the new payload, the trace the old one.
    let mut trace = scenario().trace().unwrap();
    let pos = dispatch_positions(&trace);
    let input = trace.records.iter_mut().find(|r| matches!(r, Record::EnqueueEvent { .. })).unwrap();
    let Record::EnqueueEvent { payload, .. } = input else { unreachable!() };
    *payload = json!("changed");
    let d = replay(&trace).divergence.unwrap();
    assert_eq!((d.index, d.record), (1, Some(pos[1])));
    assert_eq!(d.actual["payload"], "changed");
}

#[test]
fn changed_results_and_clock_readings_diverge() {
    // A timer id the replay does not hand out.
    let mut trace = scenario().trace().unwrap();
    let Record::SetTimeout { id, .. } = &mut trace.records[1] else { panic!("{:?}", trace.records[1]) };
    *id = Some(99);
    let d = replay(&trace).divergence.unwrap();
    assert_eq!((d.index, d.record), (0, Some(1)));
    assert_eq!(d.expected["id"], 99);
    assert_eq!(d.actual["id"], 1);

    // One reading too few: the operation reads the clock more often than recorded.
    let mut trace = scenario().trace().unwrap();
    assert_eq!(trace.records[0], Record::Clock { ms: 1000 });
    trace.records.remove(0);
    let d = replay(&trace).divergence.unwrap();
    assert_eq!(d.expected, json!({"type": "clock_reads", "op": "set_timeout", "count": 0}));
    assert_eq!(d.actual, json!({"type": "clock_reads", "op": "set_timeout", "count": 1}));

    // One reading too many.
    let mut trace = scenario().trace().unwrap();
    trace.records.insert(0, Record::Clock { ms: 1000 });
    let d = replay(&trace).divergence.unwrap();
    assert_eq!(d.expected["count"], 2);
    assert_eq!(d.actual["count"], 1);

    // A different reading moves a deadline.
    let mut trace = scenario().trace().unwrap();
    trace.records[0] = Record::Clock { ms: 2000 };
    assert!(!replay(&trace).ok);
}

#[test]
fn wall_clock_recording_replays_exactly() {
    let mut s = Scheduler::new(WallClock).with_recording(true);
    for delay in [2, 0, 1, 2] {
        s.set_timeout(delay).unwrap();
    }
    s.enqueue_event("e", json!({"t": "wall"}));
    let mut fired = 0;
    while fired < 5 {
        if s.tick().is_some() {
            fired += 1;
        }
    }
    let trace = s.trace().unwrap();
    assert_eq!(trace.header.clock, "wall");
    // Many readings were taken while spinning; replay serves exactly those.
    assert!(trace.records.iter().filter(|r| matches!(r, Record::Clock { .. })).count() >= 6);
    let report = replay(&Trace::from_jsonl(&s.trace().unwrap().to_jsonl()).unwrap());
    assert!(report.ok, "{:?}", report.divergence);
    assert_eq!(report.digest, s.digest().unwrap());
}

#[test]
fn jsonl_has_a_header_one_record_per_line_and_an_end_line() {
    let trace = scenario().trace().unwrap();
    let text = trace.to_jsonl();
    let lines: Vec<&str> = text.lines().collect();
    let header: Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(header["seqloop_trace"], 1);
    assert_eq!(header["clock"], "deterministic");
    assert!(header["created_by"].as_str().unwrap().starts_with("seqloop "));
    assert_eq!(lines.len(), trace.records.len() + 2);
    assert_eq!(*lines.last().unwrap(), r#"{"type":"end"}"#);
    for line in &lines[1..] {
        let v: Value = serde_json::from_str(line).unwrap();
        assert!(v["type"].is_string(), "{line}");
    }
}

#[test]
fn bad_jsonl_is_a_one_line_error_naming_the_line() {
    let good = scenario().trace().unwrap().to_jsonl();
    let lines: Vec<&str> = good.lines().collect();
    // (input, is a version error, what the message says)
    let cases: Vec<(String, bool, &str)> = vec![
        (String::new(), false, "empty trace"),
        ("  \n\n".into(), false, "empty trace"),
        ("hello\n".into(), false, "line 1: not JSON"),
        (r#"{"a":1}"#.into(), false, "line 1: not a seqloop trace header"),
        (good.replacen(r#""seqloop_trace":1"#, r#""seqloop_trace":2"#, 1), true, "version 2"),
        // Cut mid-line, and cut at a line boundary.
        (good[..good.len() / 2].into(), false, "line "),
        (lines[..lines.len() - 1].join("\n"), false, "truncated trace"),
        (format!("{}\n{{\"type\":\"warp\"}}\n", lines[0]), false, "line 2: bad \"warp\" record"),
        (format!("{good}{{\"type\":\"idle\"}}\n"), false, "data after the"),
    ];
    for (text, version, needle) in cases {
        let e = Trace::from_jsonl(&text).unwrap_err();
        assert_eq!(matches!(e, TraceError::Version { .. }), version, "{e}");
        let msg = e.to_string();
        assert!(msg.contains(needle), "{msg:?} lacks {needle:?}");
        assert!(!msg.contains('\n'), "{msg:?}");
    }
    let e = Trace::from_json(&json!({"version": 3, "records": []})).unwrap_err();
    assert!(matches!(e, TraceError::Version { .. }), "{e}");
    let e = Trace::from_json(&json!({"version": 1, "records": [{"type": "clock"}]})).unwrap_err();
    assert!(e.to_string().starts_with("records[0]: bad \"clock\" record"), "{e}");
}

#[test]
fn diff_compares_dispatch_identities() {
    let a = scenario().trace().unwrap();
    assert_eq!(diff(&a, &a), None);
    let mut b = a.clone();
    let pos = dispatch_positions(&b);
    let Record::Dispatch(d) = &mut b.records[pos[5]] else { unreachable!() };
    d.at += 1; // times are not compared
    assert_eq!(diff(&a, &b), None);
    let Record::Dispatch(d) = &mut b.records[pos[5]] else { unreachable!() };
    d.seq += 100;
    let div = diff(&a, &b).unwrap();
    assert_eq!(div.index, 5);
    let mut shorter = a.clone();
    shorter.records.truncate(pos[6]);
    let div = diff(&a, &shorter).unwrap();
    assert_eq!((div.index, div.actual.clone()), (6, Value::Null));
    assert_eq!(diff(&shorter, &a).unwrap().expected, Value::Null);
}

#[test]
fn records_grow_linearly() {
    for n in [100u64, 1000] {
        let clock = DeterministicClock::new(0);
        let mut s: Scheduler<Value> = Scheduler::new(clock.clone()).with_recording(true);
        for i in 0..n {
            s.set_timeout(i % 7).unwrap();
        }
        clock.advance(7);
        while s.tick().is_some() {}
        // Per timer: clock + set_timeout, clock + dispatch; one final clock + idle.
        assert_eq!(s.trace().unwrap().records.len() as u64, 4 * n + 2);
        // In memory: set_timeout + dispatch per timer, idle, one entry per distinct reading (2).
        assert_eq!(s.trace_len() as u64, 2 * n + 1 + 2);
        // A few varint bytes per entry, at most doubled by the buffer's growth.
        assert!(s.trace_heap_bytes() as u64 <= 2 * 8 * (2 * n + 3), "{}", s.trace_heap_bytes());
    }
    let plain: Scheduler<Value> = Scheduler::new(WallClock);
    assert_eq!((plain.trace_len(), plain.digest(), plain.trace().is_none()), (0, None, true));
}

/// An EventLoop-like payload: an opaque handle plus the JSON snapshot taken at enqueue time.
#[derive(Debug)]
struct Handle(u32, Option<Value>);

impl TracePayload for Handle {
    fn trace_json(&self) -> Cow<'_, Value> {
        match &self.1 {
            Some(v) => Cow::Borrowed(v),
            None => Cow::Owned(Value::Null),
        }
    }
}

#[test]
fn snapshot_payloads_record_and_replay_like_json_ones() {
    let clock = DeterministicClock::new(50);
    let mut s: Scheduler<Handle> = Scheduler::new(clock.clone()).with_recording(true);
    s.enqueue_event("click", Handle(7, Some(json!({"x": 1}))));
    s.enqueue_hostcall_complete("h", HostcallOutcome::Success { value: Handle(8, None) });
    s.enqueue_immediate(1);
    s.enqueue_immediate(2);
    assert!(s.cancel_immediate(1));
    let t = s.set_timeout(3).unwrap();
    let mut handles = Vec::new();
    while let Some(task) = s.tick() {
        match task.kind {
            MacrotaskKind::InboundEvent(e) => handles.push(e.payload.0),
            MacrotaskKind::HostcallComplete(c) => {
                if let HostcallOutcome::Success { value } = c.outcome {
                    handles.push(value.0);
                }
            }
            _ => {}
        }
    }
    assert_eq!(handles, [7, 8]);
    clock.advance(3);
    assert!(s.tick().is_some());
    assert!(s.rearm_timer(t, 60).is_ok());
    assert!(s.rearm_timer(t, 61).is_err());
    s.reset();

    let trace = s.trace().unwrap();
    let payloads: Vec<Value> = trace
        .dispatches()
        .filter_map(|d| match &d.task {
            DispatchTask::InboundEvent { payload, .. } => Some(payload.clone()),
            DispatchTask::HostcallComplete { outcome: HostcallOutcome::Success { value }, .. } => {
                Some(value.clone())
            }
            _ => None,
        })
        .collect();
    assert_eq!(payloads, [json!({"x": 1}), Value::Null]);
    // Replay runs on JSON payloads; the digest only sees snapshots, so it is the same.
    let report = replay(&trace);
    assert!(report.ok, "{:?}", report.divergence);
    assert_eq!(report.digest, s.digest().unwrap());
    assert_eq!(report.dispatches, 4);
}

#[derive(Debug, Clone)]
enum Op {
    Set(u64),
    Clear(u64),
    Event(u8),
    Hostcall(u8, bool),
    Advance(u64),
    Tick,
    Drain(u8),
    Query,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u64..20).prop_map(Op::Set),
        (0u64..12).prop_map(Op::Clear),
        any::<u8>().prop_map(Op::Event),
        (any::<u8>(), any::<bool>()).prop_map(|(a, b)| Op::Hostcall(a, b)),
        (0u64..10).prop_map(Op::Advance),
        Just(Op::Tick),
        (0u8..4).prop_map(Op::Drain),
        Just(Op::Query),
    ]
}

proptest! {
    /// Any run replays exactly, through the JSONL form too, with its own digest.
    #[test]
    fn any_run_replays(ops in proptest::collection::vec(op(), 0..60)) {
        let clock = DeterministicClock::new(0);
        let mut s: Scheduler<Value> = Scheduler::new(clock.clone()).with_recording(true);
        for op in &ops {
            match op {
                Op::Set(d) => { s.set_timeout(*d).unwrap(); }
                Op::Clear(id) => { s.clear_timeout(TimerId(*id)); }
                Op::Event(n) => { s.enqueue_event(format!("e{n}"), json!({ "n": n })); }
                Op::Hostcall(n, ok) => {
                    let outcome = if *ok {
                        HostcallOutcome::Success { value: json!([n]) }
                    } else {
                        HostcallOutcome::Error { code: "E".into(), message: n.to_string() }
                    };
                    s.enqueue_hostcall_complete(format!("c{n}"), outcome);
                }
                Op::Advance(ms) => clock.advance(*ms),
                Op::Tick => { s.tick(); }
                Op::Drain(n) => { s.drain(usize::from(*n)); }
                Op::Query => { s.has_due_work(); s.time_until_next_timer(); s.now_ms(); }
            }
        }
        let trace = Trace::from_jsonl(&s.trace().unwrap().to_jsonl()).unwrap();
        let report = replay(&trace);
        prop_assert!(report.ok, "{:?}", report.divergence);
        prop_assert_eq!(report.digest, s.digest().unwrap());
    }
}
