//! Canonical JSON text and the FNV-1a 64 digest of a dispatched sequence.
//!
//! # Canonical JSON (CJ1–CJ5)
//! A byte encoding of a `serde_json::Value` that two processes on any machine produce
//! identically for equal values:
//! - CJ1: no whitespace; `null`, `true`, `false` as usual; arrays keep their order.
//! - CJ2: object keys are sorted by their UTF-8 bytes (whatever order the map iterates in).
//! - CJ3: a number with an integral value and magnitude <= 2^53 is written as a plain decimal
//!   integer (so `1`, `1.0` and `-0` all read `1`, `1`, `0`: JS has one number type); an integer
//!   held as u64/i64 is its decimal text; any other float is Rust's shortest round-trip decimal
//!   (`Display`, which never uses an exponent).
//! - CJ4: strings are quoted; `"` and `\` are backslash-escaped, U+0008/09/0A/0C/0D as `\b \t \n
//!   \f \r`, other control characters below U+0020 as `\u00xx` (lowercase hex); every other
//!   character is its raw UTF-8.
//! - CJ5: nothing depends on a hash seed, the platform's endianness or the map implementation.
//!
//! # Digest (D1–D3)
//! - D1: FNV-1a 64 (offset basis `0xcbf29ce484222325`, prime `0x100000001b3`) over the
//!   concatenation, in dispatch order, of each dispatch's canonical *identity* followed by `\n`.
//! - D2: the identity is the canonical JSON of the dispatch record without `type`, `at` and
//!   `deadline` (times are left out so that two runs doing the same things in the same order on
//!   different clocks agree): `{"kind":"timer_fired","seq":S,"timer_id":T}`,
//!   `{"immediate_id":I,"kind":"immediate","seq":S}`,
//!   `{"call_id":C,"kind":"hostcall_complete","outcome":O,"seq":S}`,
//!   `{"event_id":E,"kind":"inbound_event","payload":P,"seq":S}`, where `O` is the outcome as
//!   `{"type":"success","value":V}`, `{"code":C,"message":M,"type":"error"}` or
//!   `{"chunk":C,"isFinal":B,"sequence":N,"type":"stream_chunk"}`.
//! - D3: printed as 16 lowercase hex digits. The empty sequence digests to `cbf29ce484222325`.

use std::fmt;

use serde_json::{Number, Value};

use crate::sched::task::HostcallOutcome;

/// Where canonical bytes go: a buffer or straight into the hash.
pub(crate) trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

const FNV_OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
const FNV_PRIME: u64 = 0x0100_0000_01b3;

/// The running FNV-1a 64 state (D1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fnv(u64);

impl Fnv {
    pub(crate) fn new() -> Self {
        Self(FNV_OFFSET)
    }

    pub(crate) fn finish(self) -> Digest {
        Digest(self.0)
    }
}

impl Sink for Fnv {
    fn put(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(FNV_PRIME);
        }
        self.0 = h;
    }
}

/// A 64-bit digest of a dispatched sequence; `Display` gives 16 lowercase hex digits (D3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest(pub u64);

impl Digest {
    /// The digest of a run that dispatched nothing.
    pub const EMPTY: Digest = Digest(FNV_OFFSET);
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:016x}", self.0)
    }
}

/// The canonical JSON text of `v` (CJ1–CJ5).
pub fn canonical_json(v: &Value) -> String {
    let mut out = Vec::new();
    write_value(&mut out, v);
    // Only valid UTF-8 is written: JSON punctuation, ASCII numbers and whole `str`s.
    String::from_utf8(out).unwrap_or_default()
}

pub(crate) fn write_value<S: Sink>(s: &mut S, v: &Value) {
    match v {
        Value::Null => s.put(b"null"),
        Value::Bool(true) => s.put(b"true"),
        Value::Bool(false) => s.put(b"false"),
        Value::Number(n) => write_number(s, n),
        Value::String(x) => write_str(s, x),
        Value::Array(items) => {
            s.put(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    s.put(b",");
                }
                write_value(s, item);
            }
            s.put(b"]");
        }
        Value::Object(map) => {
            // CJ2: sort explicitly; the map's own order depends on serde_json's features.
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            s.put(b"{");
            for (i, (k, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    s.put(b",");
                }
                write_str(s, k);
                s.put(b":");
                write_value(s, item);
            }
            s.put(b"}");
        }
    }
}

/// 2^53: the largest magnitude below which every integer is exact in a JS number.
const TWO_POW_53: f64 = 9_007_199_254_740_992.0;

fn write_number<S: Sink>(s: &mut S, n: &Number) {
    if let Some(u) = n.as_u64() {
        write_u64(s, u);
    } else if let Some(i) = n.as_i64() {
        s.put(i.to_string().as_bytes());
    } else if let Some(f) = n.as_f64() {
        if f.fract() == 0.0 && f.abs() <= TWO_POW_53 {
            // CJ3: `as` is exact here (integral and within i64); -0.0 becomes 0.
            s.put((f as i64).to_string().as_bytes());
        } else {
            s.put(f.to_string().as_bytes());
        }
    }
}

pub(crate) fn write_u64<S: Sink>(s: &mut S, mut u: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (u % 10) as u8;
        u /= 10;
        if u == 0 {
            break;
        }
    }
    s.put(&buf[i..]);
}

pub(crate) fn write_str<S: Sink>(s: &mut S, x: &str) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    s.put(b"\"");
    let bytes = x.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1f => {
                s.put(&bytes[start..i]);
                s.put(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        s.put(&bytes[start..i]);
        s.put(esc);
        start = i + 1;
    }
    s.put(&bytes[start..]);
    s.put(b"\"");
}

/// What identifies one dispatch for the digest (D2), borrowed from either a live macrotask's
/// recorded snapshot or a parsed trace record.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Identity<'a> {
    Timer { timer_id: u64 },
    Immediate { immediate_id: u64 },
    Hostcall { call_id: &'a str, outcome: &'a HostcallOutcome<Value> },
    Event { event_id: &'a str, payload: &'a Value },
}

/// Writes the canonical identity of a dispatch followed by `\n` (D2; keys in byte order).
pub(crate) fn write_identity<S: Sink>(s: &mut S, seq: u64, id: Identity<'_>) {
    match id {
        Identity::Timer { timer_id } => {
            s.put(b"{\"kind\":\"timer_fired\",\"seq\":");
            write_u64(s, seq);
            s.put(b",\"timer_id\":");
            write_u64(s, timer_id);
        }
        Identity::Immediate { immediate_id } => {
            s.put(b"{\"immediate_id\":");
            write_u64(s, immediate_id);
            s.put(b",\"kind\":\"immediate\",\"seq\":");
            write_u64(s, seq);
        }
        Identity::Hostcall { call_id, outcome } => {
            s.put(b"{\"call_id\":");
            write_str(s, call_id);
            s.put(b",\"kind\":\"hostcall_complete\",\"outcome\":");
            write_outcome(s, outcome);
            s.put(b",\"seq\":");
            write_u64(s, seq);
        }
        Identity::Event { event_id, payload } => {
            s.put(b"{\"event_id\":");
            write_str(s, event_id);
            s.put(b",\"kind\":\"inbound_event\",\"payload\":");
            write_value(s, payload);
            s.put(b",\"seq\":");
            write_u64(s, seq);
        }
    }
    s.put(b"}\n");
}

fn write_outcome<S: Sink>(s: &mut S, outcome: &HostcallOutcome<Value>) {
    match outcome {
        HostcallOutcome::Success { value } => {
            s.put(b"{\"type\":\"success\",\"value\":");
            write_value(s, value);
        }
        HostcallOutcome::Error { code, message } => {
            s.put(b"{\"code\":");
            write_str(s, code);
            s.put(b",\"message\":");
            write_str(s, message);
            s.put(b",\"type\":\"error\"");
        }
        HostcallOutcome::StreamChunk { sequence, chunk, is_final } => {
            s.put(b"{\"chunk\":");
            write_value(s, chunk);
            s.put(if *is_final { b",\"isFinal\":true" } else { b",\"isFinal\":false" });
            s.put(b",\"sequence\":");
            write_u64(s, *sequence);
            s.put(b",\"type\":\"stream_chunk\"");
        }
    }
    s.put(b"}");
}

/// Turns every integral float within ±2^53 into an integer, in place. JS hands numbers over as
/// floats above 2^32 (napi's conversion); trace fields such as times are integers.
pub fn integralize(v: &mut Value) {
    match v {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64().filter(|f| f.fract() == 0.0 && f.abs() <= TWO_POW_53) {
                *n = if f >= 0.0 { Number::from(f as u64) } else { Number::from(f as i64) };
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integralize),
        Value::Object(map) => map.values_mut().for_each(integralize),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cj(v: Value) -> String {
        canonical_json(&v)
    }

    #[test]
    fn sorts_keys_and_drops_whitespace() {
        assert_eq!(
            cj(json!({"b": 1, "a": [true, null, {"z": 0, "y": "x"}]})),
            r#"{"a":[true,null,{"y":"x","z":0}],"b":1}"#
        );
    }

    #[test]
    fn numbers_have_one_text() {
        assert_eq!(
            cj(json!([1, 1.0, -0.0, -3, 2.5, 1e300, 18446744073709551615u64])),
            format!("[1,1,0,-3,2.5,1{},18446744073709551615]", "0".repeat(300))
        );
        assert_eq!(cj(json!(0.1)), "0.1");
    }

    #[test]
    fn escapes_strings() {
        assert_eq!(cj(json!("a\"b\\c\n\u{1}\u{7f}é")), "\"a\\\"b\\\\c\\n\\u0001\u{7f}é\"");
    }

    #[test]
    fn identity_equals_canonical_json_of_the_record_view() {
        let outcome =
            HostcallOutcome::StreamChunk { sequence: 2, chunk: json!({"k": [1, 2]}), is_final: true };
        let mut direct = Vec::new();
        write_identity(&mut direct, 7, Identity::Hostcall { call_id: "c\"1", outcome: &outcome });
        let view = json!({
            "seq": 7, "kind": "hostcall_complete", "call_id": "c\"1",
            "outcome": serde_json::to_value(&outcome).unwrap(),
        });
        assert_eq!(String::from_utf8(direct).unwrap(), cj(view) + "\n");

        for (id, view) in [
            (Identity::Timer { timer_id: 3 }, json!({"seq": 7, "kind": "timer_fired", "timer_id": 3})),
            (
                Identity::Immediate { immediate_id: 4 },
                json!({"seq": 7, "kind": "immediate", "immediate_id": 4}),
            ),
            (
                Identity::Event { event_id: "e", payload: &json!({"b": 1, "a": 2}) },
                json!({"seq": 7, "kind": "inbound_event", "event_id": "e", "payload": {"a": 2, "b": 1}}),
            ),
        ] {
            let mut direct = Vec::new();
            write_identity(&mut direct, 7, id);
            assert_eq!(String::from_utf8(direct).unwrap(), cj(view) + "\n");
        }
        for outcome in [
            HostcallOutcome::Success { value: json!(1) },
            HostcallOutcome::Error { code: "E".into(), message: "m".into() },
        ] {
            let mut direct = Vec::new();
            write_outcome(&mut direct, &outcome);
            assert_eq!(String::from_utf8(direct).unwrap(), cj(serde_json::to_value(&outcome).unwrap()));
        }
    }

    #[test]
    fn fnv_matches_the_published_test_vectors() {
        // FNV-1a 64 vectors from the reference test suite.
        for (input, want) in
            [("", 0xcbf29ce484222325u64), ("a", 0xaf63dc4c8601ec8c), ("foobar", 0x85944171f73967e8)]
        {
            let mut h = Fnv::new();
            h.put(input.as_bytes());
            assert_eq!(h.finish(), Digest(want), "{input:?}");
        }
        assert_eq!(Digest::EMPTY.to_string(), "cbf29ce484222325");
    }

    #[test]
    fn integralize_turns_whole_floats_into_integers() {
        let mut v = json!({"a": 1712345678901.0, "b": [2.5, -4.0]});
        integralize(&mut v);
        assert_eq!(v, json!({"a": 1712345678901u64, "b": [2.5, -4]}));
    }
}
