//! One thread's end of a hub: the main thread's (sends down, receives up) or a shard's (sends
//! up, receives down), with the JS views it handed out.
//!
//! View rules (API.md §8, docs/workers.md "Ownership"):
//! - WV1: `allocate` makes one view of the slot and remembers a weak reference to its buffer;
//!   a successful send detaches it (the slot now belongs to the receiver). A view collected
//!   while its slot is still unsent frees the slot.
//! - WV2: a received batch is one window over its run of consecutive slots; a received message
//!   (`onMessage`) is one view of its slot. Both are detached by `release` when the handler
//!   returns, before the slots are freed, unless the message was retained; a retained view is
//!   detached by `free`.
//! - WV3: a slot is never freed while a view of it is attached on this thread, and a freed slot is
//!   never reachable through a view (detach always precedes free).

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use napi::sys;

use super::super::error::{Code, Coded};
use super::env::{Env, Ref, Ret, Scratch, Tsfn, Value};
use crate::topo::NodeId;
use crate::workers::{Direction, Hub, HubError, Key, Msg, Owner, SlotRef};

/// The receive-side scratch arrays (registered once by `setup`).
pub(crate) struct Io {
    /// `[distinct keys, bytes]` of the current batch.
    io: Ref,
    /// Each message's index in the distinct keys (lib/receive.js builds `keys` from them: one
    /// JS element store per message instead of an N-API call).
    key_index: Scratch<u32>,
    offsets: Scratch<u32>,
    lengths: Scratch<u32>,
    global_seqs: Scratch<f64>,
    shard_seqs: Scratch<f64>,
    /// `[nodeId, slotIndex, generation]` of the current single message.
    slot: Scratch<f64>,
}

/// The current received run.
struct Current {
    shard: usize,
    count: usize,
    view: Option<Ref>,
    slot: Option<SlotRef>,
}

/// One thread's end of a hub.
pub(crate) struct Side {
    pub(crate) hub: Arc<Hub>,
    /// `None` on the main thread.
    pub(crate) shard: Option<usize>,
    views: RefCell<HashMap<SlotRef, Ref>>,
    io: RefCell<Option<Io>>,
    current: RefCell<Option<Current>>,
    tsfn: RefCell<Option<Tsfn>>,
}

pub(crate) fn hub_error(e: HubError) -> Coded {
    match e {
        HubError::Backpressure { shard, depth, capacity } => Coded::new(
            Code::ReactorBackpressure,
            format!("shard {shard} lane is full ({depth}/{capacity}); nothing was sent"),
        )
        .with_prop("shardId", f64::from(shard))
        .with_prop("depth", depth as f64)
        .with_prop("capacity", capacity as f64),
        HubError::NotOwned => Coded::new(
            Code::SlabStaleHandle,
            "the slot is not the sender's (stale handle, already sent or freed, or allocated for another shard)",
        ),
        HubError::TooLong { len, entry } => {
            Coded::out_of_range("bytes", &format!("at most {entry} bytes long (entrySizeBytes)"), len)
        }
        HubError::Closed => Coded::new(Code::WorkersClosed, "the workers are closed"),
    }
}

fn arg_type(env: Env, name: &str, expected: &str, v: Value) -> Coded {
    let got = match env.type_of(v) {
        sys::ValueType::napi_undefined => "undefined".to_owned(),
        sys::ValueType::napi_null => "null".to_owned(),
        sys::ValueType::napi_number => format!("type number ({})", env.to_f64(v).unwrap_or(f64::NAN)),
        sys::ValueType::napi_string => "type string".to_owned(),
        sys::ValueType::napi_boolean => "type boolean".to_owned(),
        sys::ValueType::napi_function => "function".to_owned(),
        sys::ValueType::napi_symbol => "type symbol".to_owned(),
        sys::ValueType::napi_bigint => "type bigint".to_owned(),
        _ => "an instance of Object".to_owned(),
    };
    Coded::arg_type(name, expected, got)
}

/// A non-negative safe integer argument.
fn index_arg(env: Env, v: Value, name: &str) -> Result<u64, Coded> {
    let Some(n) = env.to_f64(v) else { return Err(arg_type(env, name, "of type number", v)) };
    if !(n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= 9_007_199_254_740_991.0) {
        return Err(Coded::out_of_range(name, "a non-negative safe integer", n));
    }
    Ok(n as u64)
}

impl Side {
    pub(crate) fn new(hub: Arc<Hub>, shard: Option<usize>) -> Self {
        Self {
            hub,
            shard,
            views: RefCell::new(HashMap::new()),
            io: RefCell::new(None),
            current: RefCell::new(None),
            tsfn: RefCell::new(None),
        }
    }

    fn send_dir(&self) -> Direction {
        if self.shard.is_some() {
            Direction::Up
        } else {
            Direction::Down
        }
    }

    fn recv_dir(&self) -> Direction {
        if self.shard.is_some() {
            Direction::Down
        } else {
            Direction::Up
        }
    }

    /// The owner code of this side in the slot tables (main or shard, whatever the direction).
    fn me(&self) -> Owner {
        if self.shard.is_some() {
            Owner::Shard
        } else {
            Owner::Main
        }
    }

    /// Reads the key argument into the side's buffer and returns its shard (the side's own
    /// shard for a shard thread: everything goes up to main).
    fn key_arg(&self, env: Env, v: Value) -> Result<(usize, Key), Coded> {
        env.with_string(v, |key| (self.shard.unwrap_or_else(|| self.hub.shard_for(key)), Key::new(key)))
            .ok_or_else(|| arg_type(env, "key", "of type string", v))
    }

    pub(crate) fn shard_for(&self, env: Env, key: Value) -> Ret {
        let shard = env
            .with_string(key, |k| self.hub.shard_for(k))
            .ok_or_else(|| arg_type(env, "key", "of type string", key))?;
        env.number(shard as f64)
    }

    fn handle(&self, env: Env, slot: &SlotRef) -> Ret {
        let h = env.object()?;
        let node = self.hub.slots().node_of(slot.part).unwrap_or_default();
        let abs = self.hub.slots().absolute_index(slot).unwrap_or(0);
        env.set(h, c"nodeId", env.number(f64::from(node.0))?)?;
        env.set(h, c"slotIndex", env.number(f64::from(abs))?)?;
        env.set(h, c"generation", env.number(f64::from(slot.generation))?)?;
        Ok(h)
    }

    /// `allocate(key?)`: `{ handle, buffer }` of a fresh slot for `key`'s shard, or `null`.
    pub(crate) fn allocate(&self, env: Env, key: Value) -> Ret {
        let shard = match self.shard {
            Some(s) => s,
            None => self.key_arg(env, key)?.0,
        };
        let Some(slot) = self.hub.allocate(self.send_dir(), shard) else { return env.null() };
        let made = env.view(&self.hub, &slot, self.hub.slots().entry_size(), Some(self.me()));
        let (ta, ab) = match made {
            Ok(v) => v,
            Err(e) => {
                self.hub.free(&slot, self.me());
                return Err(e);
            }
        };
        let r = env.reference(ab, 0)?;
        let mut views = self.views.borrow_mut();
        if views.len() >= 2 * self.hub.slots().capacity() as usize {
            // Forget views that were collected without a send (their finalizer freed the slot).
            let dead: Vec<SlotRef> =
                views.iter().filter(|(_, r)| env.deref(r).is_none()).map(|(s, _)| *s).collect();
            for s in dead {
                if let Some(r) = views.remove(&s) {
                    env.unref(r);
                }
            }
        }
        if let Some(old) = views.insert(slot, r) {
            env.unref(old);
        }
        drop(views);
        let out = env.object()?;
        env.set(out, c"handle", self.handle(env, &slot)?)?;
        env.set(out, c"buffer", ta)?;
        Ok(out)
    }

    /// A slot argument: `{ handle }` (an `allocate` result) or a handle itself.
    fn slot_arg(&self, env: Env, v: Value) -> Result<SlotRef, Coded> {
        if !matches!(env.type_of(v), sys::ValueType::napi_object) {
            return Err(arg_type(env, "slot", "an object ({ handle, buffer } or a handle)", v));
        }
        let h = match env.get(v, c"handle") {
            Some(h) if env.type_of(h) == sys::ValueType::napi_object => h,
            _ => v,
        };
        let node = field(env, h, c"nodeId", "slot.handle.nodeId")?;
        let index = field(env, h, c"slotIndex", "slot.handle.slotIndex")?;
        let generation = field(env, h, c"generation", "slot.handle.generation")?;
        let (Ok(node), Ok(index), Ok(generation)) =
            (u32::try_from(node), u32::try_from(index), u32::try_from(generation))
        else {
            return Err(Coded::new(Code::SlabStaleHandle, "the handle is not a live slot of these workers"));
        };
        self.hub.slots().from_absolute(NodeId(node), index, generation).ok_or_else(|| {
            Coded::new(Code::SlabStaleHandle, "the handle is not a live slot of these workers")
        })
    }

    /// `send(key, slot, length?, throwing)`: true when sent; false (trySend) or
    /// `ERR_REACTOR_BACKPRESSURE` on a full lane.
    pub(crate) fn send(&self, env: Env, key: Value, slot: Value, length: Value, throwing: bool) -> Ret {
        let (shard, key) = self.key_arg(env, key)?;
        let slot = self.slot_arg(env, slot)?;
        let entry = self.hub.slots().entry_size();
        let len = if env.type_of(length) == sys::ValueType::napi_undefined {
            entry
        } else {
            let n = index_arg(env, length, "length")?;
            if n > entry as u64 {
                return Err(Coded::out_of_range("length", &format!("<= {entry} (entrySizeBytes)"), n));
            }
            n as usize
        };
        match self.hub.send(self.send_dir(), shard, key, slot, len) {
            Ok(_) => {
                // WV1: the slot is the receiver's now; this thread's view goes.
                if let Some(r) = self.views.borrow_mut().remove(&slot) {
                    env.detach(r);
                }
                env.boolean(true)
            }
            Err(HubError::Backpressure { .. }) if !throwing => env.boolean(false),
            Err(e) => Err(hub_error(e)),
        }
    }

    /// `sendBytes(key, bytes)`.
    pub(crate) fn send_bytes(&self, env: Env, key: Value, bytes: Value) -> Ret {
        let (shard, key) = self.key_arg(env, key)?;
        let Some(body) = env.bytes(bytes) else {
            return Err(arg_type(
                env,
                "bytes",
                "an instance of Uint8Array, Buffer, DataView or ArrayBuffer",
                bytes,
            ));
        };
        // T1: no JS runs between reading the bytes and the copy into the slot.
        body.with_slice(|b| self.hub.send_bytes(self.send_dir(), shard, key, b)).map_err(hub_error)?;
        Ok(env.undefined())
    }

    /// `sendBatch(keys, bytes, lengths)`: how many were sent, in order.
    /// `plan`: `[distinct, which, pre]` from lib/send-keys.js: the distinct values of `keys` in
    /// first-seen order and each message's index among them, read in JS where an element read
    /// costs nanoseconds, not an N-API call (undefined: read `keys` here), and the bytes' length
    /// before those reads.
    pub(crate) fn send_batch(
        &self,
        env: Env,
        keys: Value,
        bytes: Value,
        lengths: Value,
        plan: [Value; 3],
    ) -> Ret {
        let Some(count) = env.array_len(keys) else {
            return Err(arg_type(env, "keys", "an instance of Array", keys));
        };
        let Some(total) = env.bytes(bytes).map(|b| b.len) else {
            return Err(arg_type(
                env,
                "bytes",
                "an instance of Uint8Array, Buffer, DataView or ArrayBuffer",
                bytes,
            ));
        };
        // T1: with a plan, the keys were read in JS before this call; `plan[2]` is the bytes'
        // length before those reads.
        let bad_bytes = || Coded::new(Code::InvalidArgValue, "bytes changed while the keys were read");
        if env.to_f64(plan[2]).is_some_and(|pre| pre >= 0.0 && pre != total as f64) {
            return Err(bad_bytes());
        }
        let lens = self.lengths_arg(env, lengths, count as usize)?;
        let sum = lens.iter().try_fold(0usize, |a, l| a.checked_add(*l as usize));
        if sum.is_none_or(|s| s > total) {
            return Err(Coded::out_of_range(
                "lengths",
                &format!("summing to at most bytes.byteLength ({total})"),
                sum.map_or_else(|| "an overflowing sum".to_owned(), |s| s.to_string()),
            ));
        }
        let items = match self.planned_keys(env, count, [plan[0], plan[1]])? {
            Some(items) => items,
            None => self.read_keys(env, keys, count)?,
        };
        // T1: the bytes are read again after the last key read (a getter may have run), and no JS
        // runs until `send_batch` returns.
        let all = env.bytes(bytes).filter(|b| b.len == total).ok_or_else(bad_bytes)?;
        let sent = all.with_slice(|all| {
            let mut at = 0usize;
            let iter = items.into_iter().zip(lens.iter()).map(|((shard, key), len)| {
                let body = &all[at..at + *len as usize];
                at += *len as usize;
                (shard, key, body)
            });
            self.hub.send_batch(self.send_dir(), iter, |_| {})
        });
        match sent {
            Ok(n) => env.number(n as f64),
            Err(HubError::Backpressure { .. }) => env.number(0.0),
            Err(e) => Err(hub_error(e)),
        }
    }

    /// Every key of a batch, read here (a key's getter may run JS; the bytes are read again
    /// after). The last two distinct key values are remembered: a key that is the same JS string
    /// as one of them (a strict-equality check) skips the UTF-8 read and the routing.
    fn read_keys(&self, env: Env, keys: Value, count: u32) -> Result<Vec<(usize, Key)>, Coded> {
        let mut items: Vec<(usize, Key)> = Vec::with_capacity(count as usize);
        let mut recent: [Option<(Value, usize)>; 2] = [None, None];
        for i in 0..count {
            let v = env.index(keys, i).unwrap_or_else(|| env.undefined());
            let hit = recent.iter().flatten().find(|(rv, _)| env.strict_equals(*rv, v)).map(|(_, at)| *at);
            let item = match hit {
                Some(at) => items[at].clone(),
                None => {
                    let item = self
                        .key_arg(env, v)
                        .map_err(|_| arg_type(env, &format!("keys[{i}]"), "of type string", v))?;
                    recent[1] = recent[0];
                    recent[0] = Some((v, items.len()));
                    item
                }
            };
            items.push(item);
        }
        Ok(items)
    }

    /// The keys of a batch from its JS plan (see `send_batch`): each distinct value is read and
    /// routed once. `None` without a plan.
    fn planned_keys(
        &self,
        env: Env,
        count: u32,
        [distinct, which]: [Value; 2],
    ) -> Result<Option<Vec<(usize, Key)>>, Coded> {
        let Some(n) = env.array_len(distinct) else { return Ok(None) };
        let bad = || Coded::new(Code::Internal, "sendBatch: inconsistent key plan");
        let Some((len, Some(which))) = env.typed_numbers(which, count as usize) else { return Err(bad()) };
        if len < count as usize || which.iter().any(|d| *d >= f64::from(n)) {
            return Err(bad());
        }
        let mut routed: Vec<(usize, Key)> = Vec::with_capacity(n as usize);
        for d in 0..n {
            let v = env.index(distinct, d).unwrap_or_else(|| env.undefined());
            let item = self.key_arg(env, v).map_err(|_| {
                // The first message with this key names it, as a read of `keys` would.
                let i = which.iter().position(|w| *w == f64::from(d)).unwrap_or(0);
                arg_type(env, &format!("keys[{i}]"), "of type string", v)
            })?;
            routed.push(item);
        }
        Ok(Some(which.iter().map(|d| routed[*d as usize].clone()).collect()))
    }

    fn lengths_arg(&self, env: Env, v: Value, count: usize) -> Result<Vec<u32>, Coded> {
        let entry = self.hub.slots().entry_size() as u64;
        let check = |i: usize, n: f64| -> Result<u32, Coded> {
            if !(n.is_finite() && n >= 0.0 && n.fract() == 0.0 && n <= entry as f64) {
                return Err(Coded::out_of_range(
                    &format!("lengths[{i}]"),
                    &format!("an integer in 0..={entry}"),
                    n,
                ));
            }
            Ok(n as u32)
        };
        if let Some((len, values)) = env.typed_numbers(v, count) {
            if len < count {
                return Err(Coded::out_of_range("lengths.length", &format!(">= keys.length ({count})"), len));
            }
            let Some(values) = values else {
                return Err(arg_type(env, "lengths", "an Array or a Uint32Array", v));
            };
            return values.into_iter().enumerate().map(|(i, n)| check(i, n)).collect();
        }
        let Some(len) = env.array_len(v) else {
            return Err(arg_type(env, "lengths", "an Array or a Uint32Array", v));
        };
        if (len as usize) < count {
            return Err(Coded::out_of_range("lengths.length", &format!(">= keys.length ({count})"), len));
        }
        (0..count)
            .map(|i| {
                let e = env.index(v, i as u32).unwrap_or_else(|| env.undefined());
                let n = env
                    .to_f64(e)
                    .ok_or_else(|| arg_type(env, &format!("lengths[{i}]"), "of type number", e))?;
                check(i, n)
            })
            .collect()
    }

    /// `setup(io, offsets, lengths, globalSeqs, shardSeqs, slot, keyIndex)`: the receive scratch
    /// arrays.
    pub(crate) fn setup(&self, env: Env, a: &[Value; 7]) -> Ret {
        let io = Io {
            io: env.reference(a[0], 1)?,
            offsets: env.scratch(a[1])?,
            lengths: env.scratch(a[2])?,
            global_seqs: env.scratch(a[3])?,
            shard_seqs: env.scratch(a[4])?,
            slot: env.scratch(a[5])?,
            key_index: env.scratch(a[6])?,
        };
        *self.io.borrow_mut() = Some(io);
        Ok(env.undefined())
    }

    /// `take(shard, single)`: takes the next run of received messages (one message when
    /// `single`), fills the scratch arrays and `io = [keys, window or view]`; returns its length,
    /// 0 when the lane is empty (the consumer is then parked).
    pub(crate) fn take(&self, env: Env, shard: Value, single: Value) -> Ret {
        if self.current.borrow().is_some() {
            return Err(Coded::new(Code::ReentrantCall, "a received batch is still being handled"));
        }
        let shard = match self.shard {
            Some(s) => s,
            None => {
                let s = index_arg(env, shard, "shard")? as usize;
                if s >= self.hub.shard_count() {
                    return Err(Coded::out_of_range("shard", "a shard id", s));
                }
                s
            }
        };
        let single = env.truthy(single);
        let io = self.io.borrow();
        let Some(io) = io.as_ref() else { return Err(Coded::new(Code::Internal, "take before setup")) };
        let max = if single { 1 } else { io.offsets.len().max(1) };
        let entry = self.hub.slots().entry_size();
        type Run = (usize, SlotRef, u32, Vec<Key>);
        let got = self.hub.take(self.recv_dir(), shard, max, |msgs: &[Msg]| -> Run {
            let msgs = &msgs[..msgs.len().min(max)];
            for (i, m) in msgs.iter().enumerate() {
                io.offsets.write(i, (i * entry) as u32);
                io.lengths.write(i, m.len);
                io.global_seqs.write(i, m.global_seq as f64);
                io.shard_seqs.write(i, m.shard_seq as f64);
            }
            (msgs.len(), msgs[0].slot, msgs[0].len, msgs.iter().map(|m| m.key.clone()).collect())
        });
        let Some((count, first, first_len, keys)) = got else { return env.number(0.0) };
        // The distinct keys of the run (a key equal to one of the last two distinct ones reuses
        // its JS string: runs and alternations of a few keys are common) and each message's index.
        let mut distinct: Vec<usize> = Vec::new();
        let mut recent: [Option<(usize, u32)>; 2] = [None, None];
        for (i, k) in keys.iter().enumerate() {
            let hit = recent.iter().flatten().find(|(p, _)| keys[*p] == *k).map(|(_, d)| *d);
            let d = match hit {
                Some(d) => d,
                None => {
                    let d = distinct.len() as u32;
                    distinct.push(i);
                    recent[1] = recent[0];
                    recent[0] = Some((i, d));
                    d
                }
            };
            io.key_index.write(i, d);
        }
        let arr = env.array(distinct.len())?;
        for (j, d) in distinct.iter().enumerate() {
            env.set_index(arr, j as u32, env.string(keys[*d].as_str())?)?;
        }
        let len = if single { first_len as usize } else { count * entry };
        let owned = single.then_some(self.me());
        let (ta, ab) = env.view(&self.hub, &first, len, owned)?;
        let io_arr = env.deref(&io.io).ok_or_else(|| Coded::new(Code::Internal, "io array collected"))?;
        env.set_index(io_arr, 0, arr)?;
        env.set_index(io_arr, 1, ta)?;
        let node = self.hub.slots().node_of(first.part).unwrap_or_default();
        io.slot.write(0, f64::from(node.0));
        io.slot.write(1, f64::from(self.hub.slots().absolute_index(&first).unwrap_or(0)));
        io.slot.write(2, f64::from(first.generation));
        *self.current.borrow_mut() =
            Some(Current { shard, count, view: Some(env.reference(ab, 1)?), slot: Some(first) });
        env.number(count as f64)
    }

    /// `release(retain)`: the handler of the current run returned. Detaches its window (WV2)
    /// and frees its slots, or, for a single retained message, keeps slot and view until `free`.
    pub(crate) fn release(&self, env: Env, retain: Value) -> Ret {
        let Some(cur) = self.current.borrow_mut().take() else { return Ok(env.undefined()) };
        // Only a shard keeps a received slot past its handler (API.md §8: `meta.retain()` then
        // `shard.free(meta)`); the main thread has no `free`, so its slots always go back.
        let retain = self.shard.is_some() && env.truthy(retain) && cur.count == 1;
        if let Some(v) = cur.view {
            match (retain, cur.slot) {
                (true, Some(slot)) => {
                    if let Some(old) = self.views.borrow_mut().insert(slot, v) {
                        env.detach(old);
                    }
                }
                _ => env.detach(v),
            }
        }
        self.hub.complete(self.recv_dir(), cur.shard, cur.count, |_| retain);
        Ok(env.undefined())
    }

    /// `free(handle)`: frees a retained received slot, or an allocated slot that was never sent,
    /// detaching this thread's view of it first (WV3). False for anything else (a shard only
    /// frees slots of its own partitions).
    pub(crate) fn free(&self, env: Env, handle: Value) -> Ret {
        let Ok(slot) = self.slot_arg(env, handle) else { return env.boolean(false) };
        if self.shard.is_some_and(|s| (slot.part / 2) as usize != s) || !self.hub.owns(&slot, self.me()) {
            return env.boolean(false);
        }
        // Only what this thread holds through `views` (a retained received slot, an allocated
        // one never sent) may be freed: a slot the shard owns because it is still in its lane,
        // taken, or in the run being handled is not this call's to free (WV3, P1), and freeing
        // it would let the other side reuse memory a live view still shows.
        let Some(r) = self.views.borrow_mut().remove(&slot) else { return env.boolean(false) };
        env.detach(r);
        env.boolean(self.hub.free(&slot, self.me()))
    }

    /// `listen(fn)`: `fn` (no arguments) is called on this thread when a parked receive lane
    /// gets work.
    pub(crate) fn listen(&self, env: Env, func: Value) -> Ret {
        if env.type_of(func) != sys::ValueType::napi_function {
            return Err(arg_type(env, "fn", "of type function", func));
        }
        let t = env.tsfn(func, self.shard.is_some())?;
        let shards: Vec<usize> = match self.shard {
            Some(s) => vec![s],
            None => (0..self.hub.shard_count()).collect(),
        };
        for s in shards {
            let w = t.clone();
            self.hub.set_wake(self.recv_dir(), s, Some(Box::new(move || w.call())));
        }
        if let Some(old) = self.tsfn.borrow_mut().replace(t) {
            old.release();
        }
        Ok(env.undefined())
    }

    /// `unlisten()`: no more wake-ups; the thread's loop may exit.
    pub(crate) fn unlisten(&self, env: Env) -> Ret {
        if let Some(t) = self.tsfn.borrow_mut().take() {
            t.release();
        }
        if let Some(s) = self.shard {
            self.hub.set_wake(self.recv_dir(), s, None);
        }
        Ok(env.undefined())
    }
}

fn field(env: Env, h: Value, key: &std::ffi::CStr, name: &str) -> Result<u64, Coded> {
    let f = env.get(h, key).unwrap_or_else(|| env.undefined());
    index_arg(env, f, name)
}
