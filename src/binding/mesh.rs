//! JS classes `ReactorMesh` and `ReactorMeshTelemetry` (API.md §6). They convert and delegate
//! to `crate::mesh`.
//!
//! # Slab handles as payloads (API.md §7, last item)
//! The core mesh is generic over its payload; this binding's payload is either a JSON value or a
//! slab handle ([`Payload`]). `enqueueSlot(key, handle)` queues an `inbound_event` whose payload
//! is the handle: the message body stays in slab memory and only (nodeId, slotIndex,
//! generation) crosses the mesh. Ownership travels with the envelope by convention: the producer
//! stops touching the slot once the enqueue succeeded (a rejected enqueue leaves it with the
//! producer, who may free it), and the consumer that drains the handle reads the slot and frees
//! it. The mesh never dereferences a handle, so it needs no pool; liveness is checked by the pool
//! when the consumer reads (`readInto`, `offsetOf`) or frees.
//!
//! `drainSlots`/`drainSlotsGlobalOrder` write handles as triples into a caller-owned
//! `Float64Array` and stop at the first envelope that is not a slot message (that one stays
//! first in line for `drainShard`/`drainGlobalOrder`), so the mesh's order is never broken.
//! `enqueueSlot`, `tryEnqueueSlot`, `enqueueSlots` and both slot drains are raw N-API callbacks
//! on the class (`raw.rs`, [`MeshState`]'s `raw_*` methods).

use std::cell::RefCell;
use std::rc::Rc;

use rustc_hash::FxHashMap;

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;
use serde_json::Value;

use super::args;
use super::convert::{outcome_from_js, outcome_to_js_with};
use super::error::{Code, Coded, CodedResult, ThrowExt};
use super::ffi::fast;
use super::raw::{self, IntoJs};
use super::slab::{handle_from_triple, handle_to_js, slot_args, write_triple};
use super::topo::{
    enforcement_from_js, shard_from_js, snapshot_from_js, ReactorPlacementManifest, ShardBinding,
    ThreadAffinityAdvice,
};
use crate::mesh::{self, Envelope, MeshConfig, MeshError, MeshTask, ShardId};
use crate::sched::HostcallOutcome;
use crate::slab::SlabHandle;
use crate::topo::{FallbackReason, MAX_SHARDS};

/// What an envelope of the JS mesh carries: a JSON value (events, hostcall values) or a slab
/// handle (`enqueueSlot`). The JSON value is boxed so the enum, and with it every envelope a
/// lane moves, stays small (24 bytes): slot messages are the hot path and the JSON path pays
/// one box next to converting the value anyway.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Payload {
    /// A JSON-compatible value, converted at enqueue.
    Json(Box<Value>),
    /// A slot whose bytes are the message body, and the key it was routed by (empty for
    /// round-robin): the envelope's `eventId`, shared by every message of that key, so keying a
    /// message allocates nothing (the envelope's own `event_id` stays empty). A thin `Rc` keeps
    /// the payload at 24 bytes.
    Slot(SlabHandle, SlotKey),
}

fn set_payload<'e>(o: &mut Object<'e>, key: &str, p: &Payload) -> Result<()> {
    match p {
        Payload::Json(v) => o.set(key, &**v),
        Payload::Slot(h, _) => o.set(key, handle_to_js(h)),
    }
}

/// The shared routing key of slot messages ([`Payload::Slot`]).
type SlotKey = Rc<String>;

fn json_outcome(o: HostcallOutcome<Value>) -> HostcallOutcome<Payload> {
    match o {
        HostcallOutcome::Success { value } => {
            HostcallOutcome::Success { value: Payload::Json(Box::new(value)) }
        }
        HostcallOutcome::Error { code, message } => HostcallOutcome::Error { code, message },
        HostcallOutcome::StreamChunk { sequence, chunk, is_final } => {
            HostcallOutcome::StreamChunk { sequence, chunk: Payload::Json(Box::new(chunk)), is_final }
        }
    }
}

/// The slot handle of a slot message, `None` for any other envelope.
fn slot_of(e: &Envelope<Payload>) -> Option<SlabHandle> {
    match &e.task {
        MeshTask::InboundEvent(ev) => match ev.payload {
            Payload::Slot(h, _) => Some(h),
            Payload::Json(_) => None,
        },
        MeshTask::HostcallComplete(_) => None,
    }
}

/// A task with its place in the mesh. `task` is a `Macrotask` without `seq`.
#[napi(object)]
pub struct ReactorEnvelope<'e> {
    /// Mesh-wide order.
    pub global_seq: f64,
    /// Order within its shard.
    pub shard_seq: f64,
    /// The shard it was routed to.
    pub shard_id: u32,
    /// The work.
    #[napi(
        ts_type = "{ kind: 'hostcall_complete'; callId: string; outcome: HostcallOutcome } | { kind: 'inbound_event'; eventId: string; payload: unknown }"
    )]
    pub task: Object<'e>,
}

fn envelope_to_js<'e>(env: &'e Env, e: &Envelope<Payload>) -> Result<ReactorEnvelope<'e>> {
    let mut task = Object::new(env)?;
    task.set("kind", e.task.code())?;
    match &e.task {
        MeshTask::HostcallComplete(c) => {
            task.set("callId", c.call_id.as_str())?;
            task.set("outcome", outcome_to_js_with(env, &c.outcome, set_payload)?)?;
        }
        MeshTask::InboundEvent(ev) => {
            let id = match &ev.payload {
                Payload::Slot(_, key) => key.as_str(),
                Payload::Json(_) => ev.event_id.as_str(),
            };
            task.set("eventId", id)?;
            set_payload(&mut task, "payload", &ev.payload)?;
        }
    }
    Ok(ReactorEnvelope {
        global_seq: e.global_seq.0 as f64,
        shard_seq: e.shard_seq.0 as f64,
        shard_id: e.shard_id.0,
        task,
    })
}

fn envelopes_to_js<'e>(env: &'e Env, list: &[Envelope<Payload>]) -> Result<Vec<ReactorEnvelope<'e>>> {
    list.iter().map(|e| envelope_to_js(env, e)).collect()
}

fn enqueued<'e>(
    env: &'e Env,
    result: std::result::Result<&Envelope<Payload>, mesh::Rejected<Payload>>,
) -> Result<ReactorEnvelope<'e>> {
    match result {
        Ok(e) => envelope_to_js(env, e),
        Err(rejected) => Err(backpressure(&rejected.error).throw(env)),
    }
}

fn backpressure(error: &MeshError) -> Coded {
    let MeshError::Backpressure { shard_id, depth, capacity } = *error;
    Coded::new(Code::ReactorBackpressure, error.to_string())
        .with_prop("shardId", f64::from(shard_id.0))
        .with_prop("depth", depth as f64)
        .with_prop("capacity", capacity as f64)
}

fn busy() -> Coded {
    Coded::new(Code::ReentrantCall, "the reactor mesh is busy with another call (a reentrant call)")
}

/// A mesh's state: what its napi-rs methods and its raw methods (`raw.rs`) work on.
pub(crate) struct MeshState {
    mesh: RefCell<mesh::ReactorMesh<Payload>>,
    /// The routing keys of slot messages, shared by every message of a key ([`Payload::Slot`]);
    /// emptied when it reaches [`MAX_KEYS`] (queued messages keep their own `Rc`).
    keys: RefCell<FxHashMap<Box<str>, SlotKey>>,
    /// The empty key of round-robin slot messages.
    no_key: SlotKey,
}

/// Most distinct slot-message keys [`MeshState`] keeps for reuse.
const MAX_KEYS: usize = 4096;

impl MeshState {
    fn borrow_mut(&self) -> CodedResult<std::cell::RefMut<'_, mesh::ReactorMesh<Payload>>> {
        self.mesh.try_borrow_mut().map_err(|_| busy())
    }

    fn borrow(&self) -> CodedResult<std::cell::Ref<'_, mesh::ReactorMesh<Payload>>> {
        self.mesh.try_borrow().map_err(|_| busy())
    }

    fn new(mesh: mesh::ReactorMesh<Payload>) -> Self {
        Self { mesh: RefCell::new(mesh), keys: RefCell::default(), no_key: SlotKey::default() }
    }

    /// The shared copy of a slot-message key.
    fn intern(&self, key: &str) -> CodedResult<SlotKey> {
        let mut keys = self.keys.try_borrow_mut().map_err(|_| busy())?;
        if let Some(k) = keys.get(key) {
            return Ok(Rc::clone(k));
        }
        if keys.len() >= MAX_KEYS {
            keys.clear();
        }
        let k = SlotKey::new(key.to_owned());
        keys.insert(key.into(), Rc::clone(&k));
        Ok(k)
    }

    /// Queues a slot message: by FNV-1a 64 of `key`, or round-robin without one. The shard, or
    /// the rejection (the handle stays the producer's).
    fn enqueue_slot(
        &self,
        key: Option<SlotKey>,
        h: SlabHandle,
    ) -> CodedResult<std::result::Result<ShardId, MeshError>> {
        let mut m = self.borrow_mut()?;
        let r = match key {
            Some(k) => m.enqueue_event_routed(&Rc::clone(&k), String::new(), Payload::Slot(h, k)),
            None => m.enqueue_event(String::new(), Payload::Slot(h, Rc::clone(&self.no_key))),
        };
        Ok(r.map(|e| e.shard_id).map_err(|rej| rej.error))
    }

    /// Queues the first `count` triples of `handles` under one key, in order; stops at the
    /// first rejection. Returns how many were queued (the rest stay the producer's).
    fn enqueue_slots(
        &self,
        key: Option<SlotKey>,
        handles: &fast::TypedOut<f64>,
        count: u64,
    ) -> CodedResult<usize> {
        let count = handles.triple_count(count)?;
        // Parse everything first: a bad triple queues nothing.
        let mut list = Vec::with_capacity(count);
        for i in 0..count {
            let h = handle_from_triple(handles, 3 * i, "handles")?.ok_or_else(|| {
                Coded::out_of_range(&format!("handles[{}]", 3 * i), "<= 4294967295", "a larger id")
            })?;
            list.push(h);
        }
        let mut m = self.borrow_mut()?;
        let mut n = 0;
        for h in list {
            let r = match &key {
                Some(k) => m.enqueue_event_routed(k, String::new(), Payload::Slot(h, Rc::clone(k))),
                None => m.enqueue_event(String::new(), Payload::Slot(h, Rc::clone(&self.no_key))),
            };
            if r.is_err() {
                break;
            }
            n += 1;
        }
        Ok(n)
    }

    /// Drains slot messages of one shard (or all shards in global order, `shard: None`) as
    /// triples into `out`; stops at the first envelope that is not one.
    fn drain_slots(
        &self,
        shard: Option<Option<ShardId>>,
        budget: u64,
        out: &fast::TypedOut<f64>,
    ) -> CodedResult<usize> {
        let budget = usize::try_from(budget).unwrap_or(usize::MAX).min(out.len / 3);
        let mut n = 0;
        let mut take = |e: &Envelope<Payload>| match slot_of(e) {
            Some(h) => {
                write_triple(out, 3 * n, &h);
                n += 1;
                true
            }
            None => false,
        };
        let mut m = self.borrow_mut()?;
        match shard {
            Some(Some(s)) => m.drain_shard_while(s, budget, &mut take),
            Some(None) => 0,
            None => m.drain_global_order_while(budget, &mut take),
        };
        Ok(n)
    }

    /// `enqueueSlot(key, handle)` / `enqueueSlot(key, nodeId, slotIndex, generation)`: the shard
    /// id; a full shard throws `ERR_REACTOR_BACKPRESSURE` (`throwing`) or gives `false`.
    pub(crate) fn raw_enqueue_slot(
        &self,
        env: sys::napi_env,
        a: &[sys::napi_value],
        throwing: bool,
    ) -> fast::Ret {
        let key = self.key_from_raw(env, a[0])?;
        let (h, _) = slot_args(env, a, 1)?;
        let h = h.ok_or_else(|| Coded::out_of_range("nodeId/slotIndex", "<= 4294967295", "a larger id"))?;
        match self.enqueue_slot(key, h)? {
            Ok(shard) if throwing => fast::to_number(env, f64::from(shard.0)),
            Ok(_) => fast::to_bool(env, true),
            Err(e) if throwing => Err(backpressure(&e)),
            Err(_) => fast::to_bool(env, false),
        }
    }

    /// `enqueueSlots(key, handles, count)`.
    pub(crate) fn raw_enqueue_slots(&self, env: sys::napi_env, a: &[sys::napi_value]) -> fast::Ret {
        let key = self.key_from_raw(env, a[0])?;
        let count = fast::u53(env, a[2], "count")?;
        let handles = fast::float64_array(env, a[1], "handles")?;
        fast::to_number(env, self.enqueue_slots(key, &handles, count)? as f64)
    }

    /// `drainSlots(shardId, budget, out)`.
    pub(crate) fn raw_drain_slots(&self, env: sys::napi_env, a: &[sys::napi_value]) -> fast::Ret {
        let shard = fast::u53(env, a[0], "shardId")?;
        let budget = fast::u53(env, a[1], "budget")?;
        let out = fast::float64_array(env, a[2], "out")?;
        let shard = u32::try_from(shard).ok().map(ShardId);
        fast::to_number(env, self.drain_slots(Some(shard), budget, &out)? as f64)
    }

    /// `drainSlotsGlobalOrder(budget, out)`.
    pub(crate) fn raw_drain_slots_global(&self, env: sys::napi_env, a: &[sys::napi_value]) -> fast::Ret {
        let budget = fast::u53(env, a[0], "budget")?;
        let out = fast::float64_array(env, a[1], "out")?;
        fast::to_number(env, self.drain_slots(None, budget, &out)? as f64)
    }
}

impl MeshState {
    /// A routing key: a string (interned), or `null`/`undefined` for round-robin.
    fn key_from_raw(&self, env: sys::napi_env, v: sys::napi_value) -> CodedResult<Option<SlotKey>> {
        // A string (the common case) in one napi call, without a copy of its own; the type only
        // when it is not one.
        if let Some(key) = fast::with_string(env, v, |s| self.intern(s)) {
            return key.map(Some);
        }
        match fast::type_of(env, v) {
            sys::ValueType::napi_undefined | sys::ValueType::napi_null => Ok(None),
            _ => Err(Coded::arg_type("key", "of type string, null or undefined", fast::describe(env, v))),
        }
    }
}

/// Work sharded over bounded per-shard lanes, with a mesh-wide order.
///
/// - Hostcall completions go to shard `FNV-1a-64(utf8(callId)) mod shardCount` (stable across
///   processes and machines: one call's chunks stay on one shard, in order).
/// - Events go round-robin from shard 0; the cursor moves even when the enqueue is rejected.
/// - Every enqueue takes a global seq and a shard seq before the capacity check, so a rejected
///   enqueue uses both up.
/// - A full lane throws `ERR_REACTOR_BACKPRESSURE` (with numeric `shardId`, `depth`,
///   `capacity`); nothing already queued is lost.
/// - `drainGlobalOrder` merges the lanes by ascending `globalSeq`.
/// - `enqueueSlot(key, handle)` carries a slab handle as an event payload (zero-copy message
///   bodies); `drainSlots`/`drainSlotsGlobalOrder` return such handles compactly (raw methods,
///   declared in header.d.ts).
#[napi]
pub struct ReactorMesh {
    state: Rc<MeshState>,
    /// Whether this instance got its own bound methods (`raw.rs`, R5).
    bound: std::cell::Cell<bool>,
}

#[napi]
impl ReactorMesh {
    /// `new ReactorMesh({ shardCount = 4, laneCapacity = 1024, topology })`. A zero `shardCount`
    /// or `laneCapacity` is clamped to 1 (a mesh always has somewhere to put work); `shardCount`
    /// may be at most 65536. The placement manifest is planned over `topology` for the (clamped)
    /// shard count.
    #[napi(
        constructor,
        ts_args_type = "config?: { shardCount?: number; laneCapacity?: number; topology?: ReactorTopologySnapshot | null }"
    )]
    pub fn new(env: Env, config: Option<Unknown>) -> Result<Self> {
        let opts = args::options(config, "config").or_throw(&env)?;
        let mut cfg = MeshConfig::default();
        if let Some(o) = &opts {
            let v = args::prop(o, "shardCount").or_throw(&env)?;
            if !args::is_undefined(&v) {
                let n = args::u53(&v, "config.shardCount").or_throw(&env)?;
                if n > MAX_SHARDS as u64 {
                    return Err(
                        Coded::out_of_range("config.shardCount", &format!("<= {MAX_SHARDS}"), n).throw(&env)
                    );
                }
                cfg.shard_count = n as usize;
            }
            let v = args::prop(o, "laneCapacity").or_throw(&env)?;
            if !args::is_undefined(&v) {
                let n = args::u53(&v, "config.laneCapacity").or_throw(&env)?;
                cfg.lane_capacity = usize::try_from(n).unwrap_or(usize::MAX);
            }
            let v = args::prop(o, "topology").or_throw(&env)?;
            cfg.topology = snapshot_from_js(Some(v), "config.topology").or_throw(&env)?;
        }
        Ok(Self {
            state: Rc::new(MeshState::new(mesh::ReactorMesh::new(cfg))),
            bound: std::cell::Cell::new(false),
        })
    }

    /// Number of shards.
    #[napi(getter)]
    pub fn shard_count(&self, env: Env) -> Result<u32> {
        Ok(self.mesh(&env)?.shard_count() as u32)
    }

    /// Envelopes queued over all shards. O(1).
    #[napi]
    pub fn total_depth(&self, env: Env) -> Result<f64> {
        Ok(self.mesh(&env)?.total_depth() as f64)
    }

    /// True when any shard holds an envelope.
    #[napi]
    pub fn has_pending(&self, env: Env) -> Result<bool> {
        Ok(self.mesh(&env)?.has_pending())
    }

    /// Envelopes queued on `shardId`, or null for an unknown shard.
    #[napi(ts_args_type = "shardId: number")]
    pub fn queue_depth(&self, env: Env, shard_id: Unknown) -> Result<Option<f64>> {
        let shard = shard_from_js(&shard_id, "shardId").or_throw(&env)?;
        Ok(shard.and_then(|s| self.mesh(&env).ok()?.queue_depth(s)).map(|d| d as f64))
    }

    /// Queues a hostcall completion on shard `FNV-1a-64(callId) mod shardCount` and returns its
    /// envelope. Throws `ERR_REACTOR_BACKPRESSURE` when that shard is full.
    #[napi(ts_args_type = "callId: string, outcome: HostcallOutcome")]
    pub fn enqueue_hostcall_complete<'e>(
        &self,
        env: &'e Env,
        call_id: Unknown,
        outcome: Unknown,
    ) -> Result<ReactorEnvelope<'e>> {
        let call_id = args::string(&call_id, "callId").or_throw(env)?;
        let outcome = json_outcome(outcome_from_js(env, &outcome, "outcome").or_throw(env)?);
        let mut m = self.state.borrow_mut().or_throw(env)?;
        enqueued(env, m.enqueue_hostcall_complete(call_id, outcome))
    }

    /// Queues an event on the next shard round-robin and returns its envelope. Throws
    /// `ERR_REACTOR_BACKPRESSURE` when that shard is full.
    #[napi(ts_args_type = "eventId: string, payload?: unknown")]
    pub fn enqueue_event<'e>(
        &self,
        env: &'e Env,
        event_id: Unknown,
        payload: Option<Unknown>,
    ) -> Result<ReactorEnvelope<'e>> {
        let event_id = args::string(&event_id, "eventId").or_throw(env)?;
        let payload = match payload {
            Some(p) => args::json(env, &p, "payload").or_throw(env)?,
            None => Value::Null,
        };
        let mut m = self.state.borrow_mut().or_throw(env)?;
        enqueued(env, m.enqueue_event(event_id, Payload::Json(Box::new(payload))))
    }

    /// Removes and returns up to `budget` envelopes of one shard, oldest first (an unknown
    /// shard gives `[]`).
    #[napi(ts_args_type = "shardId: number, budget: number")]
    pub fn drain_shard<'e>(
        &self,
        env: &'e Env,
        shard_id: Unknown,
        budget: Unknown,
    ) -> Result<Vec<ReactorEnvelope<'e>>> {
        let shard = shard_from_js(&shard_id, "shardId").or_throw(env)?;
        let budget = args::u53(&budget, "budget").or_throw(env)?;
        let Some(shard) = shard else { return Ok(Vec::new()) };
        let out = self
            .state
            .borrow_mut()
            .or_throw(env)?
            .drain_shard(shard, usize::try_from(budget).unwrap_or(usize::MAX));
        envelopes_to_js(env, &out)
    }

    /// Removes and returns up to `budget` envelopes across all shards in ascending `globalSeq`.
    #[napi(ts_args_type = "budget: number")]
    pub fn drain_global_order<'e>(&self, env: &'e Env, budget: Unknown) -> Result<Vec<ReactorEnvelope<'e>>> {
        let budget = args::u53(&budget, "budget").or_throw(env)?;
        let out = self
            .state
            .borrow_mut()
            .or_throw(env)?
            .drain_global_order(usize::try_from(budget).unwrap_or(usize::MAX));
        envelopes_to_js(env, &out)
    }

    /// Lane depths, high-water marks, rejections and placement, as of now.
    #[napi(ts_return_type = "ReactorMeshTelemetry")]
    pub fn telemetry<'e>(&self, env: &'e Env) -> Result<Unknown<'e>> {
        let t = ReactorMeshTelemetry { inner: self.mesh(env)?.telemetry() };
        let fields = [
            (c"queueDepths", t.queue_depths().into_js(env)?),
            (c"maxQueueDepths", t.max_queue_depths().into_js(env)?),
            (c"rejectedEnqueues", t.rejected_enqueues().into_js(env)?),
            (c"shardBindings", t.shard_bindings().into_js(env)?),
            (c"fallbackReason", t.fallback_reason().into_js(env)?),
        ];
        raw::plain_instance(env, t, &fields)
    }

    /// The placement manifest planned for this mesh.
    #[napi]
    pub fn placement_manifest(&self, env: Env) -> Result<ReactorPlacementManifest> {
        Ok(ReactorPlacementManifest { inner: self.mesh(&env)?.placement_manifest().clone() })
    }

    /// The NUMA node of `shardId` (0 for an unknown shard).
    #[napi(ts_args_type = "shardId: number")]
    pub fn preferred_numa_node(&self, env: Env, shard_id: Unknown) -> Result<f64> {
        let shard = shard_from_js(&shard_id, "shardId").or_throw(&env)?;
        let m = self.mesh(&env)?;
        Ok(shard.map(|s| m.preferred_numa_node(s).0).unwrap_or(0) as f64)
    }

    /// One advice per shard, all with `enforcement`.
    #[napi(
        ts_args_type = "enforcement: 'advisory' | 'strict' | 'disabled'",
        ts_return_type = "ThreadAffinityAdvice[]"
    )]
    pub fn affinity_advice<'e>(&self, env: &'e Env, enforcement: Unknown) -> Result<Array<'e>> {
        let e = enforcement_from_js(&enforcement, "enforcement").or_throw(env)?;
        let list = self.mesh(env)?.affinity_advice(e);
        ThreadAffinityAdvice::list_to_js(env, list)
    }
}

impl ReactorMesh {
    /// The state the raw methods work on (`raw.rs`).
    pub(crate) fn state(&self) -> &Rc<MeshState> {
        &self.state
    }

    /// Set once this instance got its own bound methods (`raw.rs`, R5).
    pub(crate) fn bound(&self) -> &std::cell::Cell<bool> {
        &self.bound
    }

    fn mesh(&self, env: &Env) -> Result<std::cell::Ref<'_, mesh::ReactorMesh<Payload>>> {
        self.state.borrow().or_throw(env)
    }
}

/// A point-in-time view of a `ReactorMesh`.
#[napi]
pub struct ReactorMeshTelemetry {
    inner: mesh::MeshTelemetry,
}

#[napi]
impl ReactorMeshTelemetry {
    /// Current depth of each shard.
    #[napi(getter)]
    pub fn queue_depths(&self) -> Vec<f64> {
        self.inner.queue_depths.iter().map(|&d| d as f64).collect()
    }

    /// Highest depth each shard ever reached.
    #[napi(getter)]
    pub fn max_queue_depths(&self) -> Vec<f64> {
        self.inner.max_queue_depths.iter().map(|&d| d as f64).collect()
    }

    /// Enqueues rejected by backpressure, all shards together.
    #[napi(getter)]
    pub fn rejected_enqueues(&self) -> f64 {
        self.inner.rejected_enqueues as f64
    }

    /// The placement manifest's bindings.
    #[napi(getter)]
    pub fn shard_bindings(&self) -> Vec<ShardBinding> {
        self.inner.shard_bindings.iter().map(ShardBinding::from).collect()
    }

    /// The placement manifest's fallback reason, or null.
    #[napi(getter, ts_return_type = "'topology_unavailable' | 'topology_empty' | 'single_numa_node' | null")]
    pub fn fallback_reason(&self) -> Option<&'static str> {
        self.inner.fallback_reason.map(FallbackReason::code)
    }

    /// The diagnostic object with snake_case keys.
    #[napi(
        ts_return_type = "{ queue_depths: number[]; max_queue_depths: number[]; rejected_enqueues: number; shard_bindings: Array<{ shard_id: number; core_id: number; numa_node: number }>; fallback_reason: 'topology_unavailable' | 'topology_empty' | 'single_numa_node' | null }"
    )]
    pub fn as_json(&self) -> Value {
        self.inner.to_json()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_and_envelope_stay_small() {
        assert!(std::mem::size_of::<Payload>() <= 24, "{}", std::mem::size_of::<Payload>());
        assert!(
            std::mem::size_of::<Envelope<Payload>>() <= 96,
            "{}",
            std::mem::size_of::<Envelope<Payload>>()
        );
    }
}
