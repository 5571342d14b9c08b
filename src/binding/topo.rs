//! JS classes `ReactorTopologySnapshot`, `ReactorPlacementManifest`, `ThreadAffinityAdvice` and
//! the function `bindCurrentThread` (API.md §5). They convert and delegate to `crate::topo`.

use napi::bindgen_prelude::*;
use napi::{sys, ValueType};
use napi_derive::napi;
use serde_json::Value;

use super::args;
use super::error::{Code, Coded, CodedResult, ThrowExt};
use super::ffi::class::instance_of;
use super::raw;
use crate::topo::{self, AffinityEnforcement, CoreId, NodeId, ShardId};

const ENFORCEMENT_TS: &str = "'advisory' | 'strict' | 'disabled'";

/// One core of a topology snapshot.
#[napi(object)]
pub struct TopologyCore {
    /// OS index of the core's first processing unit (what thread binding and `sched_getcpu` use).
    pub core_id: f64,
    /// OS index of its NUMA node (0 when the machine reports none).
    pub numa_node: f64,
}

/// Where one shard runs.
#[napi(object)]
pub struct ShardBinding {
    /// The shard.
    pub shard_id: u32,
    /// Its core.
    pub core_id: f64,
    /// The core's NUMA node.
    pub numa_node: f64,
}

impl From<&topo::ShardBinding> for ShardBinding {
    fn from(b: &topo::ShardBinding) -> Self {
        Self { shard_id: b.shard_id.0, core_id: b.core_id.0 as f64, numa_node: b.numa_node.0 as f64 }
    }
}

/// What `bindCurrentThread` did: `applied` is true when the calling thread is now bound;
/// otherwise `reason` says why not.
#[napi(object, use_nullable = true)]
#[cfg_attr(
    test,
    allow(dead_code, reason = "built only by bindCurrentThread, which napi registers outside cfg(test)")
)]
pub struct BindResult {
    /// True when the calling thread is now bound to the recommended core.
    pub applied: bool,
    /// Why it was not applied (null when it was).
    pub reason: Option<String>,
}

fn invalid_value(name: &str, expected: &str, got: impl std::fmt::Display) -> Coded {
    Coded::new(Code::InvalidArgValue, format!("The argument '{name}' must be {expected}. Received {got}"))
}

/// `'advisory' | 'strict' | 'disabled'`.
pub(crate) fn enforcement_from_js(v: &Unknown<'_>, name: &str) -> CodedResult<AffinityEnforcement> {
    let code = args::string(v, name)?;
    AffinityEnforcement::from_code(&code)
        .ok_or_else(|| invalid_value(name, ENFORCEMENT_TS, format!("'{code}'")))
}

/// A shard id argument; ids past `u32::MAX` name no shard, so they map to `None`.
pub(crate) fn shard_from_js(v: &Unknown<'_>, name: &str) -> CodedResult<Option<ShardId>> {
    Ok(u32::try_from(args::u53(v, name)?).ok().map(ShardId))
}

/// A `ReactorTopologySnapshot` argument (`undefined`/`null` → None).
pub(crate) fn snapshot_from_js(
    v: Option<Unknown<'_>>,
    name: &str,
) -> CodedResult<Option<topo::TopologySnapshot>> {
    let Some(v) = v else { return Ok(None) };
    match args::ty(&v) {
        ValueType::Undefined | ValueType::Null => Ok(None),
        ValueType::Object => {
            let snap = instance_of::<ReactorTopologySnapshot>(&v)
                .ok_or_else(|| Coded::arg_type(name, "a ReactorTopologySnapshot", "another object"))?;
            Ok(Some(snap.inner.clone()))
        }
        _ => Err(Coded::arg_type(name, "a ReactorTopologySnapshot", args::describe(&v))),
    }
}

fn array<'a>(v: &Unknown<'a>, name: &str, expected: &str) -> CodedResult<Array<'a>> {
    if args::ty(v) != ValueType::Object {
        return Err(Coded::arg_type(name, expected, args::describe(v)));
    }
    args::array(v).ok_or_else(|| Coded::arg_type(name, expected, "an object that is not an Array"))
}

fn element<'a>(arr: &Array<'a>, i: u32, name: &str, expected: &str) -> CodedResult<Unknown<'a>> {
    arr.get::<Unknown>(i).ok().flatten().ok_or_else(|| Coded::arg_type(name, expected, "a hole"))
}

/// A NUMA node id argument: node ids are u32 (`NodeId`) everywhere, as in slot handles.
fn node_from_u53(n: u64, name: &str) -> CodedResult<u32> {
    u32::try_from(n).map_err(|_| Coded::out_of_range(name, ">= 0 and <= 4294967295", n))
}

/// The most `[coreId, numaNode]` pairs a snapshot may have (the bound of synthetic topologies).
const MAX_PAIRS: u64 = topo::synthetic::MAX_SYNTHETIC_PUS;

fn parse_pairs(v: &Unknown<'_>) -> CodedResult<Vec<(u64, u32)>> {
    const PAIR: &str = "a [coreId, numaNode] pair of numbers";
    let arr = array(v, "pairs", "an Array of [coreId, numaNode] pairs")?;
    if u64::from(arr.len()) > MAX_PAIRS {
        return Err(Coded::out_of_range("pairs.length", &format!("<= {MAX_PAIRS}"), arr.len()));
    }
    let mut out = Vec::new();
    out.try_reserve(arr.len() as usize)
        .map_err(|_| Coded::out_of_range("pairs.length", "a length this host has memory for", arr.len()))?;
    for i in 0..arr.len() {
        let name = format!("pairs[{i}]");
        let pair = array(&element(&arr, i, &name, PAIR)?, &name, PAIR)?;
        if pair.len() != 2 {
            return Err(Coded::arg_type(&name, PAIR, format!("an Array of length {}", pair.len())));
        }
        let core = args::u53(&element(&pair, 0, &name, PAIR)?, &format!("{name}[0]"))?;
        let node = node_from_u53(
            args::u53(&element(&pair, 1, &name, PAIR)?, &format!("{name}[1]"))?,
            &format!("{name}[1]"),
        )?;
        out.push((core, node));
    }
    Ok(out)
}

/// The cores of a machine and the NUMA node of each: from this machine (`detect`, via hwloc),
/// from an hwloc synthetic description (`synthetic`), or from explicit pairs
/// (`fromCoreNodePairs`). Cores are sorted by (coreId, numaNode) and de-duplicated.
#[napi]
pub struct ReactorTopologySnapshot {
    pub(crate) inner: topo::TopologySnapshot,
}

#[napi]
impl ReactorTopologySnapshot {
    /// This machine, read through hwloc: one entry per core, `coreId` = OS index of the core's
    /// first processing unit, `numaNode` = OS index of its NUMA node (0 if none). Throws an
    /// Error with code `ERR_TOPOLOGY_UNAVAILABLE` if hwloc cannot read the machine.
    #[napi(factory)]
    pub fn detect(env: Env) -> Result<Self> {
        match topo::TopologySnapshot::detect() {
            Ok(inner) => Ok(Self { inner }),
            Err(e) => Err(Coded::new(Code::TopologyUnavailable, e.to_string()).throw(&env)),
        }
    }

    /// A topology built from an hwloc synthetic description such as
    /// `"pack:2 numa:2 core:4 pu:2"`, in time linear in its size. A description hwloc rejects
    /// throws a TypeError with code `ERR_INVALID_ARG_VALUE`; one naming more than 2^20
    /// processing units (or, with attributes or memory children, more than 4096 objects)
    /// throws a RangeError with code `ERR_OUT_OF_RANGE`.
    #[napi(factory, ts_args_type = "description: string")]
    pub fn synthetic(env: Env, description: Unknown) -> Result<Self> {
        let description = args::string(&description, "description").or_throw(&env)?;
        match topo::TopologySnapshot::synthetic(&description) {
            Ok(inner) => Ok(Self { inner }),
            Err(e @ topo::TopoError::SyntheticTooLarge { .. }) => {
                Err(Coded::new(Code::OutOfRange, e.to_string()).throw(&env))
            }
            Err(e) => {
                Err(invalid_value("description", "a valid hwloc synthetic topology description", e)
                    .throw(&env))
            }
        }
    }

    /// A snapshot of explicit `[coreId, numaNode]` pairs (non-negative safe integers), sorted
    /// and de-duplicated. More than 2^20 pairs is `ERR_OUT_OF_RANGE`.
    #[napi(factory, ts_args_type = "pairs: Array<[number, number]>")]
    pub fn from_core_node_pairs(env: Env, pairs: Unknown) -> Result<Self> {
        let pairs = parse_pairs(&pairs).or_throw(&env)?;
        Ok(Self { inner: topo::TopologySnapshot::from_core_node_pairs(pairs) })
    }

    /// The cores, sorted by (coreId, numaNode).
    #[napi(getter)]
    pub fn cores(&self) -> Vec<TopologyCore> {
        self.inner
            .cores()
            .iter()
            .map(|c| TopologyCore { core_id: c.core_id.0 as f64, numa_node: c.numa_node.0 as f64 })
            .collect()
    }

    /// Where the snapshot came from.
    #[napi(getter, ts_return_type = "'hwloc' | 'synthetic' | 'pairs'")]
    pub fn source(&self) -> &'static str {
        self.inner.source().code()
    }
}

/// The placement of every shard on a core and NUMA node. Layout: NUMA nodes ascending; shard
/// `s` goes to node `s mod k` and to core `(s div k) mod coresOnThatNode`. Without topology (or
/// with an empty one) shard `s` binds core `s` on node 0.
#[napi]
pub struct ReactorPlacementManifest {
    pub(crate) inner: topo::PlacementManifest,
}

#[napi]
impl ReactorPlacementManifest {
    /// Plans `shardCount` shards (at most 65536) over `topology`. Pure and deterministic: equal
    /// inputs give equal manifests on every machine.
    #[napi(factory, ts_args_type = "shardCount: number, topology?: ReactorTopologySnapshot | null")]
    pub fn plan(env: Env, shard_count: Unknown, topology: Option<Unknown>) -> Result<Self> {
        let n = args::u53(&shard_count, "shardCount").or_throw(&env)?;
        if n > topo::MAX_SHARDS as u64 {
            return Err(Coded::out_of_range("shardCount", &format!(">= 0 and <= {}", topo::MAX_SHARDS), n)
                .throw(&env));
        }
        let topology = snapshot_from_js(topology, "topology").or_throw(&env)?;
        Ok(Self { inner: topo::PlacementManifest::plan(n as usize, topology.as_ref()) })
    }

    /// Shards planned.
    #[napi(getter)]
    pub fn shard_count(&self) -> u32 {
        self.inner.shard_count() as u32
    }

    /// Distinct NUMA nodes used (1 for the fallback layouts, 0 for zero shards).
    #[napi(getter)]
    pub fn numa_node_count(&self) -> u32 {
        self.inner.numa_node_count() as u32
    }

    /// One binding per shard, in shard order.
    #[napi(getter)]
    pub fn bindings(&self) -> Vec<ShardBinding> {
        self.inner.bindings().iter().map(ShardBinding::from).collect()
    }

    /// Why shards are not spread over several NUMA nodes, or null.
    #[napi(getter, ts_return_type = "'topology_unavailable' | 'topology_empty' | 'single_numa_node' | null")]
    pub fn fallback_reason(&self) -> Option<&'static str> {
        self.inner.fallback_reason().map(topo::FallbackReason::code)
    }

    /// The NUMA node of `shardId`, or null for a shard outside the manifest.
    #[napi(ts_args_type = "shardId: number")]
    pub fn numa_node_for_shard(&self, env: Env, shard_id: Unknown) -> Result<Option<f64>> {
        let shard = shard_from_js(&shard_id, "shardId").or_throw(&env)?;
        Ok(shard.and_then(|s| self.inner.numa_node_for_shard(s)).map(|n| n.0 as f64))
    }

    /// One advice per binding, in shard order, all with `enforcement`.
    #[napi(
        ts_args_type = "enforcement: 'advisory' | 'strict' | 'disabled'",
        ts_return_type = "ThreadAffinityAdvice[]"
    )]
    pub fn affinity_advice<'e>(&self, env: &'e Env, enforcement: Unknown) -> Result<Array<'e>> {
        let e = enforcement_from_js(&enforcement, "enforcement").or_throw(env)?;
        ThreadAffinityAdvice::list_to_js(env, self.inner.affinity_advice(e))
    }

    /// The diagnostic object with snake_case keys.
    #[napi(
        ts_return_type = "{ shard_count: number; numa_node_count: number; fallback_reason: 'topology_unavailable' | 'topology_empty' | 'single_numa_node' | null; bindings: Array<{ shard_id: number; core_id: number; numa_node: number }> }"
    )]
    pub fn as_json(&self) -> Value {
        self.inner.to_json()
    }
}

fn advice_from_js(v: &Unknown<'_>, name: &str) -> CodedResult<topo::ThreadAffinityAdvice> {
    const SHAPE: &str =
        "a ThreadAffinityAdvice or { shardId, recommendedCore, recommendedNumaNode, enforcement }";
    if args::ty(v) != ValueType::Object {
        return Err(Coded::arg_type(name, SHAPE, args::describe(v)));
    }
    // A genuine instance (napi's type tag checked); plain objects are parsed below.
    if let Some(a) = instance_of::<ThreadAffinityAdvice>(v) {
        return Ok(a.inner);
    }
    let Some(obj) = args::options(Some(*v), name)? else {
        return Err(Coded::arg_type(name, SHAPE, "undefined"));
    };
    let field =
        |key: &str| -> CodedResult<u64> { args::u53(&args::prop(&obj, key)?, &format!("{name}.{key}")) };
    let shard = field("shardId")?;
    let shard_id = u32::try_from(shard)
        .map_err(|_| Coded::out_of_range(&format!("{name}.shardId"), "<= 4294967295", shard))?;
    Ok(topo::ThreadAffinityAdvice {
        shard_id: ShardId(shard_id),
        recommended_core: CoreId(field("recommendedCore")?),
        recommended_numa_node: NodeId(node_from_u53(
            field("recommendedNumaNode")?,
            &format!("{name}.recommendedNumaNode"),
        )?),
        enforcement: enforcement_from_js(&args::prop(&obj, "enforcement")?, &format!("{name}.enforcement"))?,
    })
}

/// Where a shard's thread should run and how strongly (`enforcement`).
#[napi]
pub struct ThreadAffinityAdvice {
    pub(crate) inner: topo::ThreadAffinityAdvice,
}

#[napi]
impl ThreadAffinityAdvice {
    /// Advice from its fields (usually you get advice from `affinityAdvice(enforcement)`).
    #[napi(
        constructor,
        ts_args_type = "advice: { shardId: number; recommendedCore: number; recommendedNumaNode: number; enforcement: 'advisory' | 'strict' | 'disabled' }"
    )]
    pub fn new(env: Env, this: This, advice: Unknown) -> Result<Self> {
        let advice = Self { inner: advice_from_js(&advice, "advice").or_throw(&env)? };
        advice.define_fields(&env, this.object.raw())?;
        Ok(advice)
    }

    /// The shard.
    #[napi(getter)]
    pub fn shard_id(&self) -> u32 {
        self.inner.shard_id.0
    }

    /// The core to run on.
    #[napi(getter)]
    pub fn recommended_core(&self) -> f64 {
        self.inner.recommended_core.0 as f64
    }

    /// That core's NUMA node.
    #[napi(getter)]
    pub fn recommended_numa_node(&self) -> f64 {
        self.inner.recommended_numa_node.0 as f64
    }

    /// How strongly to follow it.
    #[napi(getter, ts_return_type = "'advisory' | 'strict' | 'disabled'")]
    pub fn enforcement(&self) -> &'static str {
        self.inner.enforcement.code()
    }

    /// The diagnostic object with snake_case keys.
    #[napi(
        ts_return_type = "{ shard_id: number; recommended_core: number; recommended_numa_node: number; enforcement: 'advisory' | 'strict' | 'disabled' }"
    )]
    pub fn as_json(&self) -> Value {
        self.inner.to_json()
    }
}

impl ThreadAffinityAdvice {
    /// Plain data (issue 16): the four fields as own enumerable properties of `object`, so
    /// `{ ...advice }` and `JSON.stringify(advice)` keep them; `asJson()` stays a method.
    fn define_fields(&self, env: &Env, object: sys::napi_value) -> Result<()> {
        let a = &self.inner;
        raw::define_fields(
            env,
            object,
            &[
                (c"shardId", env.create_uint32(a.shard_id.0)?.raw()),
                (c"recommendedCore", env.create_double(a.recommended_core.0 as f64)?.raw()),
                (c"recommendedNumaNode", env.create_double(a.recommended_numa_node.0 as f64)?.raw()),
                (c"enforcement", env.create_string(a.enforcement.code())?.raw()),
            ],
        )
    }

    /// A list of advice as JS instances carrying their fields (see `define_fields`).
    pub(crate) fn list_to_js<'e>(env: &'e Env, list: Vec<topo::ThreadAffinityAdvice>) -> Result<Array<'e>> {
        let mut arr = env.create_array(list.len() as u32)?;
        for (i, inner) in list.into_iter().enumerate() {
            let advice = Self { inner };
            let inst = advice.into_instance(env)?;
            let value = inst.value;
            ThreadAffinityAdvice::define_fields(&inst, env, value)?;
            arr.set(i as u32, raw::unknown(env.raw(), value))?;
        }
        Ok(arr)
    }
}

/// Applies `strict` advice to the calling thread: binds it (hwloc cpubind, thread flag) to the
/// processing units of `recommendedCore`. `advisory` and `disabled` advice never bind. A core
/// that does not exist here, or a binding the OS refuses, gives `{ applied: false, reason }`.
/// Binding pins whichever thread calls it, so call it from a worker thread, not the main one.
#[napi(
    ts_args_type = "advice: ThreadAffinityAdvice | { shardId: number; recommendedCore: number; recommendedNumaNode: number; enforcement: 'advisory' | 'strict' | 'disabled' }"
)]
#[cfg_attr(test, allow(dead_code, reason = "napi registers exported functions only outside cfg(test)"))]
pub fn bind_current_thread(env: Env, advice: Unknown) -> Result<BindResult> {
    let advice = advice_from_js(&advice, "advice").or_throw(&env)?;
    let out = topo::bind_current_thread(&advice);
    Ok(BindResult { applied: out.applied, reason: out.reason })
}
