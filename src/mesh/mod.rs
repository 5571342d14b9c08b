//! `ReactorMesh`: work sharded over bounded per-shard lanes, with a mesh-wide order.
//!
//! Hostcall completions are routed by FNV-1a 64 of their call id (one call, one shard: its
//! chunks stay in order); events go round-robin from shard 0, or by FNV-1a 64 of their id when
//! the producer keys them ([`ReactorMesh::enqueue_event_by_key`]) ([`route`]). The payload type
//! `P` is generic and moved, never cloned: the JS mesh carries JSON values or slab handles (a
//! message body that stays in slab memory while its handle crosses the mesh; see
//! `tests/slab_mesh.rs`). Every enqueue takes a global seq and a seq of its shard *before* the
//! capacity check, so a rejected enqueue uses both up (the original design's behaviour). A full
//! lane rejects with [`MeshError::Backpressure`] and hands the envelope back; nothing queued is
//! touched.
//!
//! `drain_global_order` is a k-way merge (Knuth, TAOCP vol. 3 §5.4.1) of the lanes: each lane is
//! sorted by global seq (M1), so a min-heap of lane heads yields the mesh-wide order in
//! O(log shards) per envelope, where scanning every head would be O(shards).
//!
//! Invariants (M1–M5, cited in code and tests):
//! - M1: within a lane, global and shard seqs strictly increase from front to back.
//! - M2: every queued envelope is in exactly one lane, and `total_depth` is the sum of the lane
//!   lengths, each at most the lane capacity (so `total_depth <= shards × capacity`).
//! - M3 (head index): every non-empty lane has an entry `(front.global_seq, shard)` in `heads`.
//!   Other entries are stale (their seq is no longer that lane's front: global seqs are unique)
//!   and are skipped; `heads` is rebuilt when stale entries pile up, so it stays O(shards).
//! - M4: `drain_global_order` returns envelopes in strictly ascending global seq.
//! - M5: routing depends only on the call id and shard count (hash) or the number of events
//!   routed before (round robin), never on process state such as a random hasher seed.

pub mod lane;
pub mod route;

use std::cmp::Ordering;
use std::collections::binary_heap::PeekMut;
use std::collections::BinaryHeap;

use serde_json::{json, Value};
use thiserror::Error;

use crate::sched::{HostcallCompletion, HostcallOutcome, InboundEvent, Seq};
pub use crate::topo::ShardId;
use crate::topo::{
    AffinityEnforcement, FallbackReason, NodeId, PlacementManifest, ShardBinding, ThreadAffinityAdvice,
    TopologySnapshot, MAX_SHARDS,
};
use lane::Lane;
use route::RoundRobin;

/// Errors of the mesh.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum MeshError {
    /// The destination lane is full.
    #[error("reactor lane {} is full ({depth}/{capacity})", shard_id.0)]
    Backpressure {
        /// The full shard.
        shard_id: ShardId,
        /// Its depth when the enqueue was rejected.
        depth: usize,
        /// Its capacity.
        capacity: usize,
    },
}

/// A rejected enqueue: the reason and the envelope, with the seqs it used up, handed back so a
/// payload that owns a resource can release it.
#[derive(Debug)]
pub struct Rejected<P> {
    /// Why.
    pub error: MeshError,
    /// What was not queued.
    pub envelope: Envelope<P>,
}

/// What an envelope carries: a macrotask without its seq.
#[derive(Debug, Clone, PartialEq)]
pub enum MeshTask<P> {
    /// A completed hostcall (success, error or stream chunk).
    HostcallComplete(HostcallCompletion<P>),
    /// An inbound event.
    InboundEvent(InboundEvent<P>),
}

impl<P> MeshTask<P> {
    /// The snake_case kind code (`hostcall_complete`, `inbound_event`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::HostcallComplete(_) => "hostcall_complete",
            Self::InboundEvent(_) => "inbound_event",
        }
    }
}

/// A task with its place in the mesh.
#[derive(Debug, Clone, PartialEq)]
pub struct Envelope<P> {
    /// Mesh-wide order.
    pub global_seq: Seq,
    /// Order within its shard.
    pub shard_seq: Seq,
    /// The shard it was routed to.
    pub shard_id: ShardId,
    /// The work.
    pub task: MeshTask<P>,
}

/// Mesh configuration.
#[derive(Debug, Clone)]
pub struct MeshConfig {
    /// Shards (lanes). 0 is clamped to 1 and anything above [`MAX_SHARDS`] to `MAX_SHARDS`.
    pub shard_count: usize,
    /// Envelopes each lane holds. 0 is clamped to 1.
    pub lane_capacity: usize,
    /// The topology the placement manifest is planned over (none: identity layout).
    pub topology: Option<TopologySnapshot>,
}

impl Default for MeshConfig {
    fn default() -> Self {
        Self { shard_count: 4, lane_capacity: 1024, topology: None }
    }
}

/// A point-in-time view of the mesh's lanes and placement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshTelemetry {
    /// Current depth of each lane.
    pub queue_depths: Vec<usize>,
    /// Highest depth each lane ever reached (never lowered).
    pub max_queue_depths: Vec<usize>,
    /// Enqueues rejected by backpressure, all lanes together.
    pub rejected_enqueues: u64,
    /// The placement manifest's bindings.
    pub shard_bindings: Vec<ShardBinding>,
    /// The placement manifest's fallback reason.
    pub fallback_reason: Option<FallbackReason>,
}

impl MeshTelemetry {
    /// `{queue_depths, max_queue_depths, rejected_enqueues, shard_bindings[{shard_id, core_id,
    /// numa_node}], fallback_reason}`.
    pub fn to_json(&self) -> Value {
        json!({
            "queue_depths": self.queue_depths,
            "max_queue_depths": self.max_queue_depths,
            "rejected_enqueues": self.rejected_enqueues,
            "shard_bindings": self.shard_bindings.iter().map(ShardBinding::to_json).collect::<Vec<_>>(),
            "fallback_reason": self.fallback_reason.map(FallbackReason::code),
        })
    }
}

/// An entry of the head index (M3): a lane's front global seq. Ordered by seq alone, reversed,
/// so `BinaryHeap` (a max-heap) yields the lowest seq first; seqs are unique, so `shard` never
/// needs to break a tie.
#[derive(Debug, Clone, Copy)]
struct Head {
    seq: u64,
    shard: u32,
}

impl PartialEq for Head {
    fn eq(&self, other: &Self) -> bool {
        self.seq == other.seq
    }
}

impl Eq for Head {}

impl PartialOrd for Head {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Head {
    fn cmp(&self, other: &Self) -> Ordering {
        other.seq.cmp(&self.seq)
    }
}

struct Shard<P> {
    lane: Lane<Envelope<P>>,
    next_seq: Seq,
}

/// The sharded mesh. `P` is the payload type of hostcall values and events.
pub struct ReactorMesh<P = Value> {
    shards: Vec<Shard<P>>,
    /// M3: lane heads as a min-heap of (global seq, shard).
    heads: BinaryHeap<Head>,
    global_seq: Seq,
    rr: RoundRobin,
    total_depth: usize,
    rejected: u64,
    capacity: usize,
    manifest: PlacementManifest,
}

impl<P> std::fmt::Debug for ReactorMesh<P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReactorMesh")
            .field("shard_count", &self.shards.len())
            .field("lane_capacity", &self.capacity)
            .field("total_depth", &self.total_depth)
            .field("global_seq", &self.global_seq)
            .field("rejected", &self.rejected)
            .finish()
    }
}

impl<P> Default for ReactorMesh<P> {
    fn default() -> Self {
        Self::new(MeshConfig::default())
    }
}

impl<P> ReactorMesh<P> {
    /// A mesh of `config.shard_count` lanes of `config.lane_capacity` each. A zero shard count
    /// or capacity is clamped to 1 (a mesh always has somewhere to put work); the placement
    /// manifest is planned for the clamped shard count.
    pub fn new(config: MeshConfig) -> Self {
        let shard_count = config.shard_count.clamp(1, MAX_SHARDS);
        let capacity = config.lane_capacity.max(1);
        Self {
            shards: (0..shard_count)
                .map(|_| Shard { lane: lane::bounded(capacity), next_seq: Seq::ZERO })
                .collect(),
            heads: BinaryHeap::with_capacity(shard_count),
            global_seq: Seq::ZERO,
            rr: RoundRobin::default(),
            total_depth: 0,
            rejected: 0,
            capacity,
            manifest: PlacementManifest::plan(shard_count, config.topology.as_ref()),
        }
    }

    /// Number of shards.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// Capacity of each lane.
    pub fn lane_capacity(&self) -> usize {
        self.capacity
    }

    /// Envelopes queued over all lanes. O(1).
    pub fn total_depth(&self) -> usize {
        self.total_depth
    }

    /// True when any lane holds an envelope.
    pub fn has_pending(&self) -> bool {
        self.total_depth > 0
    }

    /// Depth of one lane, `None` for an unknown shard.
    pub fn queue_depth(&self, shard: ShardId) -> Option<usize> {
        self.shards.get(shard.0 as usize).map(|s| s.lane.len())
    }

    /// The next global seq to be taken.
    pub fn current_global_seq(&self) -> Seq {
        self.global_seq
    }

    /// Routes a completion by FNV-1a 64 of `call_id` (M5) and queues it.
    ///
    /// # Errors
    /// [`Rejected`] with [`MeshError::Backpressure`] when that shard's lane is full.
    pub fn enqueue_hostcall_complete(
        &mut self,
        call_id: String,
        outcome: HostcallOutcome<P>,
    ) -> Result<&Envelope<P>, Rejected<P>> {
        let shard = route::hash_route(&call_id, self.shards.len());
        self.enqueue(shard, MeshTask::HostcallComplete(HostcallCompletion { call_id, outcome }))
    }

    /// Routes an event round-robin (the cursor moves even if the enqueue is rejected) and
    /// queues it.
    ///
    /// # Errors
    /// [`Rejected`] with [`MeshError::Backpressure`] when that shard's lane is full.
    pub fn enqueue_event(&mut self, event_id: String, payload: P) -> Result<&Envelope<P>, Rejected<P>> {
        let shard = self.rr.next(self.shards.len());
        self.enqueue(shard, MeshTask::InboundEvent(InboundEvent { event_id, payload }))
    }

    /// Routes an event by FNV-1a 64 of `event_id`, like a hostcall completion (M5), and queues
    /// it: every event with one id lands on one shard, in order. This is how a payload that must
    /// reach one consumer (a slab handle carrying a message body) is keyed to it.
    ///
    /// # Errors
    /// [`Rejected`] with [`MeshError::Backpressure`] when that shard's lane is full.
    pub fn enqueue_event_by_key(
        &mut self,
        event_id: String,
        payload: P,
    ) -> Result<&Envelope<P>, Rejected<P>> {
        let shard = route::hash_route(&event_id, self.shards.len());
        self.enqueue(shard, MeshTask::InboundEvent(InboundEvent { event_id, payload }))
    }

    /// Routes an event by FNV-1a 64 of `route_key` (to the shard
    /// [`enqueue_event_by_key`](Self::enqueue_event_by_key) would pick for that id) and queues it
    /// with `event_id`: for a payload that carries its key itself, so the envelope need not own
    /// a copy (`event_id` may then be empty, which allocates nothing).
    ///
    /// # Errors
    /// [`Rejected`] with [`MeshError::Backpressure`] when that shard's lane is full.
    pub fn enqueue_event_routed(
        &mut self,
        route_key: &str,
        event_id: String,
        payload: P,
    ) -> Result<&Envelope<P>, Rejected<P>> {
        let shard = route::hash_route(route_key, self.shards.len());
        self.enqueue(shard, MeshTask::InboundEvent(InboundEvent { event_id, payload }))
    }

    /// The shard [`enqueue_hostcall_complete`](Self::enqueue_hostcall_complete) routes `call_id` to.
    pub fn hash_route(&self, call_id: &str) -> ShardId {
        route::hash_route(call_id, self.shards.len())
    }

    fn enqueue(&mut self, shard_id: ShardId, task: MeshTask<P>) -> Result<&Envelope<P>, Rejected<P>> {
        // Seqs are taken before the capacity check: a rejected enqueue uses them up.
        let global_seq = self.global_seq;
        self.global_seq = global_seq.next();
        // Routes are < shard_count (route::hash_route, RoundRobin::next), so this is in bounds.
        let shard = &mut self.shards[shard_id.0 as usize];
        let shard_seq = shard.next_seq;
        shard.next_seq = shard_seq.next();
        let (depth, capacity) = (shard.lane.len(), shard.lane.capacity());
        let envelope = Envelope { global_seq, shard_seq, shard_id, task };
        match shard.lane.push(envelope) {
            Ok(queued) => {
                self.total_depth += 1;
                if depth == 0 {
                    // M3: the new envelope is this lane's head.
                    self.heads.push(Head { seq: global_seq.0, shard: shard_id.0 });
                }
                Ok(queued)
            }
            Err(envelope) => {
                self.rejected += 1;
                let error = MeshError::Backpressure { shard_id, depth, capacity };
                Err(Rejected { error, envelope })
            }
        }
    }

    /// Pops up to `budget` envelopes from one lane, oldest first. An unknown shard gives an
    /// empty list.
    pub fn drain_shard(&mut self, shard: ShardId, budget: usize) -> Vec<Envelope<P>> {
        let Some(s) = self.shards.get_mut(shard.0 as usize) else { return Vec::new() };
        let n = budget.min(s.lane.len());
        let out: Vec<Envelope<P>> = (0..n).map_while(|_| s.lane.pop()).collect();
        self.total_depth -= out.len();
        if !out.is_empty() {
            if let Some(front) = s.lane.front() {
                // M3: the old head entry is now stale; index the new head.
                self.heads.push(Head { seq: front.global_seq.0, shard: shard.0 });
            }
            self.compact_heads();
        }
        out
    }

    /// Pops envelopes from the front of one lane, oldest first, while fewer than `budget` were
    /// taken and `take` accepts the front one (it reads what it needs from the reference; the
    /// envelope is then dropped). The first refused envelope stays at the front, so the lane's
    /// order is never broken (L2). Returns how many were taken; an unknown shard gives 0.
    ///
    /// This is the allocation-free drain: no `Vec` is built, which is what a consumer that copies
    /// a few words per envelope into its own buffer (slab handles) wants.
    pub fn drain_shard_while(
        &mut self,
        shard: ShardId,
        budget: usize,
        mut take: impl FnMut(&Envelope<P>) -> bool,
    ) -> usize {
        let Some(s) = self.shards.get_mut(shard.0 as usize) else { return 0 };
        let mut n = 0;
        while n < budget {
            match s.lane.front() {
                Some(front) if take(front) => {
                    s.lane.pop();
                    n += 1;
                }
                _ => break,
            }
        }
        self.total_depth -= n;
        if n > 0 {
            if let Some(front) = s.lane.front() {
                // M3: the old head entry is now stale; index the new head.
                self.heads.push(Head { seq: front.global_seq.0, shard: shard.0 });
            }
            self.compact_heads();
        }
        n
    }

    /// [`drain_global_order`](Self::drain_global_order) without building a `Vec`: pops envelopes
    /// in ascending global seq (M4) while fewer than `budget` were taken and `take` accepts the
    /// next one. The first refused envelope stays queued, so the mesh-wide order is never broken.
    /// Returns how many were taken.
    pub fn drain_global_order_while(
        &mut self,
        budget: usize,
        take: impl FnMut(&Envelope<P>) -> bool,
    ) -> usize {
        self.merge_drain(budget, take, drop)
    }

    /// Pops up to `budget` envelopes across all lanes in ascending global seq (M4): a k-way
    /// merge of the lane heads, O(log shards) per envelope.
    pub fn drain_global_order(&mut self, budget: usize) -> Vec<Envelope<P>> {
        let mut out = Vec::with_capacity(budget.min(self.total_depth));
        self.merge_drain(budget, |_| true, |e| out.push(e));
        out
    }

    /// The merge behind both global-order drains: while fewer than `budget` were taken, finds
    /// the lane head with the lowest global seq (skipping stale heap entries, M3), stops if
    /// `take` refuses it (it stays queued), else pops it into `sink`. Returns how many.
    fn merge_drain(
        &mut self,
        budget: usize,
        mut take: impl FnMut(&Envelope<P>) -> bool,
        mut sink: impl FnMut(Envelope<P>),
    ) -> usize {
        let mut n = 0;
        while n < budget {
            let Some(mut top) = self.heads.peek_mut() else { break };
            let Head { seq, shard } = *top;
            let lane = &mut self.shards[shard as usize].lane;
            match lane.front() {
                Some(front) if front.global_seq.0 == seq => {
                    if !take(front) {
                        break;
                    }
                }
                _ => {
                    // M3: a stale entry.
                    PeekMut::pop(top);
                    continue;
                }
            }
            let Some(envelope) = lane.pop() else { break };
            match lane.front() {
                // Replacing the top in place sifts once instead of pop + push.
                Some(next) => *top = Head { seq: next.global_seq.0, shard },
                None => {
                    PeekMut::pop(top);
                }
            }
            sink(envelope);
            n += 1;
        }
        self.total_depth -= n;
        n
    }

    /// M3: drops stale head entries once they outnumber the lanes.
    fn compact_heads(&mut self) {
        if self.heads.len() <= 2 * self.shards.len() + 16 {
            return;
        }
        let live: Vec<Head> = self
            .shards
            .iter()
            .enumerate()
            .filter_map(|(i, s)| s.lane.front().map(|f| Head { seq: f.global_seq.0, shard: i as u32 }))
            .collect();
        self.heads = BinaryHeap::from(live);
    }

    /// Current lane depths, high-water marks, rejections and placement.
    pub fn telemetry(&self) -> MeshTelemetry {
        MeshTelemetry {
            queue_depths: self.shards.iter().map(|s| s.lane.len()).collect(),
            max_queue_depths: self.shards.iter().map(|s| s.lane.high_water()).collect(),
            rejected_enqueues: self.rejected,
            shard_bindings: self.manifest.bindings().to_vec(),
            fallback_reason: self.manifest.fallback_reason(),
        }
    }

    /// The placement manifest, planned for this mesh's shard count.
    pub fn placement_manifest(&self) -> &PlacementManifest {
        &self.manifest
    }

    /// The NUMA node of `shard`, node 0 for an unknown shard (MM2).
    pub fn preferred_numa_node(&self, shard: ShardId) -> NodeId {
        self.manifest.numa_node_for_shard(shard).unwrap_or_default()
    }

    /// One advice per shard with `enforcement`.
    pub fn affinity_advice(&self, enforcement: AffinityEnforcement) -> Vec<ThreadAffinityAdvice> {
        self.manifest.affinity_advice(enforcement)
    }
}
