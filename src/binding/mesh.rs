//! JS classes `ReactorMesh` and `ReactorMeshTelemetry` (API.md §6). They convert and delegate
//! to `crate::mesh`.

use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::Value;

use super::args;
use super::convert::{outcome_from_js, outcome_to_js};
use super::error::{Coded, ThrowExt};
use super::topo::{
    enforcement_from_js, shard_from_js, snapshot_from_js, ReactorPlacementManifest, ShardBinding,
    ThreadAffinityAdvice,
};
use crate::mesh::{self, Envelope, MeshConfig, MeshError, MeshTask};
use crate::topo::{FallbackReason, MAX_SHARDS};

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

fn envelope_to_js<'e>(env: &'e Env, e: &Envelope<Value>) -> Result<ReactorEnvelope<'e>> {
    let mut task = Object::new(env)?;
    task.set("kind", e.task.code())?;
    match &e.task {
        MeshTask::HostcallComplete(c) => {
            task.set("callId", c.call_id.as_str())?;
            task.set("outcome", outcome_to_js(env, &c.outcome)?)?;
        }
        MeshTask::InboundEvent(ev) => {
            task.set("eventId", ev.event_id.as_str())?;
            task.set("payload", &ev.payload)?;
        }
    }
    Ok(ReactorEnvelope {
        global_seq: e.global_seq.0 as f64,
        shard_seq: e.shard_seq.0 as f64,
        shard_id: e.shard_id.0,
        task,
    })
}

fn envelopes_to_js<'e>(env: &'e Env, list: &[Envelope<Value>]) -> Result<Vec<ReactorEnvelope<'e>>> {
    list.iter().map(|e| envelope_to_js(env, e)).collect()
}

fn enqueued<'e>(
    env: &'e Env,
    result: std::result::Result<&Envelope<Value>, mesh::Rejected<Value>>,
) -> Result<ReactorEnvelope<'e>> {
    match result {
        Ok(e) => envelope_to_js(env, e),
        Err(rejected) => {
            let MeshError::Backpressure { shard_id, depth, capacity } = rejected.error;
            Err(Coded::error("ERR_REACTOR_BACKPRESSURE", rejected.error.to_string())
                .with_prop("shardId", f64::from(shard_id.0))
                .with_prop("depth", depth as f64)
                .with_prop("capacity", capacity as f64)
                .throw(env))
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
#[napi]
pub struct ReactorMesh {
    inner: mesh::ReactorMesh<Value>,
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
        Ok(Self { inner: mesh::ReactorMesh::new(cfg) })
    }

    /// Number of shards.
    #[napi(getter)]
    pub fn shard_count(&self) -> u32 {
        self.inner.shard_count() as u32
    }

    /// Envelopes queued over all shards. O(1).
    #[napi]
    pub fn total_depth(&self) -> f64 {
        self.inner.total_depth() as f64
    }

    /// True when any shard holds an envelope.
    #[napi]
    pub fn has_pending(&self) -> bool {
        self.inner.has_pending()
    }

    /// Envelopes queued on `shardId`, or null for an unknown shard.
    #[napi(ts_args_type = "shardId: number")]
    pub fn queue_depth(&self, env: Env, shard_id: Unknown) -> Result<Option<f64>> {
        let shard = shard_from_js(&shard_id, "shardId").or_throw(&env)?;
        Ok(shard.and_then(|s| self.inner.queue_depth(s)).map(|d| d as f64))
    }

    /// Queues a hostcall completion on shard `FNV-1a-64(callId) mod shardCount` and returns its
    /// envelope. Throws `ERR_REACTOR_BACKPRESSURE` when that shard is full.
    #[napi(ts_args_type = "callId: string, outcome: HostcallOutcome")]
    pub fn enqueue_hostcall_complete<'e>(
        &mut self,
        env: &'e Env,
        call_id: Unknown,
        outcome: Unknown,
    ) -> Result<ReactorEnvelope<'e>> {
        let call_id = args::string(&call_id, "callId").or_throw(env)?;
        let outcome = outcome_from_js(env, &outcome, "outcome").or_throw(env)?;
        enqueued(env, self.inner.enqueue_hostcall_complete(call_id, outcome))
    }

    /// Queues an event on the next shard round-robin and returns its envelope. Throws
    /// `ERR_REACTOR_BACKPRESSURE` when that shard is full.
    #[napi(ts_args_type = "eventId: string, payload?: unknown")]
    pub fn enqueue_event<'e>(
        &mut self,
        env: &'e Env,
        event_id: Unknown,
        payload: Option<Unknown>,
    ) -> Result<ReactorEnvelope<'e>> {
        let event_id = args::string(&event_id, "eventId").or_throw(env)?;
        let payload = match payload {
            Some(p) => args::json(env, &p, "payload").or_throw(env)?,
            None => Value::Null,
        };
        enqueued(env, self.inner.enqueue_event(event_id, payload))
    }

    /// Removes and returns up to `budget` envelopes of one shard, oldest first (an unknown
    /// shard gives `[]`).
    #[napi(ts_args_type = "shardId: number, budget: number")]
    pub fn drain_shard<'e>(
        &mut self,
        env: &'e Env,
        shard_id: Unknown,
        budget: Unknown,
    ) -> Result<Vec<ReactorEnvelope<'e>>> {
        let shard = shard_from_js(&shard_id, "shardId").or_throw(env)?;
        let budget = args::u53(&budget, "budget").or_throw(env)?;
        let Some(shard) = shard else { return Ok(Vec::new()) };
        let out = self.inner.drain_shard(shard, usize::try_from(budget).unwrap_or(usize::MAX));
        envelopes_to_js(env, &out)
    }

    /// Removes and returns up to `budget` envelopes across all shards in ascending `globalSeq`.
    #[napi(ts_args_type = "budget: number")]
    pub fn drain_global_order<'e>(
        &mut self,
        env: &'e Env,
        budget: Unknown,
    ) -> Result<Vec<ReactorEnvelope<'e>>> {
        let budget = args::u53(&budget, "budget").or_throw(env)?;
        let out = self.inner.drain_global_order(usize::try_from(budget).unwrap_or(usize::MAX));
        envelopes_to_js(env, &out)
    }

    /// Lane depths, high-water marks, rejections and placement, as of now.
    #[napi]
    pub fn telemetry(&self) -> ReactorMeshTelemetry {
        ReactorMeshTelemetry { inner: self.inner.telemetry() }
    }

    /// The placement manifest planned for this mesh.
    #[napi]
    pub fn placement_manifest(&self) -> ReactorPlacementManifest {
        ReactorPlacementManifest { inner: self.inner.placement_manifest().clone() }
    }

    /// The NUMA node of `shardId` (0 for an unknown shard).
    #[napi(ts_args_type = "shardId: number")]
    pub fn preferred_numa_node(&self, env: Env, shard_id: Unknown) -> Result<f64> {
        let shard = shard_from_js(&shard_id, "shardId").or_throw(&env)?;
        Ok(shard.map(|s| self.inner.preferred_numa_node(s).0).unwrap_or(0) as f64)
    }

    /// One advice per shard, all with `enforcement`.
    #[napi(ts_args_type = "enforcement: 'advisory' | 'strict' | 'disabled'")]
    pub fn affinity_advice(&self, env: Env, enforcement: Unknown) -> Result<Vec<ThreadAffinityAdvice>> {
        let e = enforcement_from_js(&enforcement, "enforcement").or_throw(&env)?;
        Ok(self.inner.affinity_advice(e).into_iter().map(|inner| ThreadAffinityAdvice { inner }).collect())
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
