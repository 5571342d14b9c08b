//! The binding of `ShardedWorkers` (API.md §8): internal functions that lib/workers.js and
//! lib/worker.js build the public classes on.
//!
//! `__seqloopWorkers()` gives `{ create(manifest, laneCapacity, slabCapacity, entrySize, record,
//! hugepages), attach(hubId, shardId) }`. `create` makes a [`Hub`] on the main thread and
//! registers it by id; each worker thread's instance of the addon (the same shared library, so
//! the same registry) `attach`es to it. Both return one object of raw methods bound to that
//! thread's [`Side`]: the hot ones (send, sendBatch, take, release, …) cost one N-API call each.
//! Cold results (telemetry, traces, pinning) are JSON strings the JS layer parses.

mod env;
mod side;

use std::collections::HashMap;
use std::ffi::CStr;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};

use napi::bindgen_prelude::*;
use napi_derive::napi;
use serde_json::json;

use super::error::{Code, Coded};
use super::ffi::fast::{self, BoundCb};
use super::ffi::value;
use super::topo::ReactorPlacementManifest;
use crate::topo::affinity::AffinityEnforcement;
use crate::topo::hugepage::HugepageConfig;
use crate::workers::{Direction, Hub, HubConfig, SlotRef};
use env::{Env, Value};
use side::Side;

/// Hubs by id, so worker threads can attach (weak: the main side owns the hub).
static HUBS: Mutex<Option<HashMap<u64, Weak<Hub>>>> = Mutex::new(None);
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A raw method of a [`Side`] (`fast::raw_fn!`, so its callback can only be bound to a
/// `Side`), with the env wrapped and the first `$n` arguments as an array.
macro_rules! method {
    ($name:ident, $n:literal, |$s:ident, $env:ident, $a:ident| $body:expr) => {
        fast::raw_fn!($name: Side, $n, |$s, raw_env, args| {
            let $env = Env(raw_env);
            let $a = &args.argv;
            $body
        });
    };
}

method!(m_shard_for, 1, |s, env, a| s.shard_for(env, a[0]));
method!(m_allocate, 1, |s, env, a| s.allocate(env, a[0]));
method!(m_send, 3, |s, env, a| s.send(env, a[0], a[1], a[2], true));
method!(m_try_send, 3, |s, env, a| s.send(env, a[0], a[1], a[2], false));
method!(m_send_bytes, 2, |s, env, a| s.send_bytes(env, a[0], a[1]));
method!(m_send_batch, 6, |s, env, a| s.send_batch(env, a[0], a[1], a[2], [a[3], a[4], a[5]]));
method!(m_setup, 7, |s, env, a| s.setup(env, a));
method!(m_take, 2, |s, env, a| s.take(env, a[0], a[1]));
method!(m_release, 1, |s, env, a| s.release(env, a[0]));
method!(m_free, 1, |s, env, a| s.free(env, a[0]));
method!(m_listen, 1, |s, env, a| s.listen(env, a[0]));
method!(m_unlisten, 0, |s, env, _a| s.unlisten(env));
method!(m_close, 0, |s, env, _a| {
    s.hub.close();
    Ok(env.undefined())
});
method!(m_reclaim, 1, |s, env, a| {
    let shard = shard_arg(&s.hub, env, a[0])?;
    env.number(s.hub.reclaim(shard) as f64)
});
method!(m_undelivered, 1, |s, env, a| {
    let shard = shard_arg(&s.hub, env, a[0])?;
    let list = s.hub.take_undelivered(shard);
    let arr = env.array(list.len())?;
    for (i, u) in list.iter().enumerate() {
        let o = env.object()?;
        env.set(o, c"key", env.string(&u.key)?)?;
        env.set(o, c"bytes", env.copy(&u.bytes)?)?;
        env.set(o, c"globalSeq", env.number(u.global_seq as f64)?)?;
        env.set_index(arr, i as u32, o)?;
    }
    Ok(arr)
});
method!(m_counters, 0, |s, env, _a| {
    let h = &s.hub;
    let shards: Vec<_> = (0..h.shard_count())
        .map(|i| {
            let (max_depth, rejected, handled) = h.lane_counters(Direction::Down, i);
            let (up_max, up_rejected, up_handled) = h.lane_counters(Direction::Up, i);
            json!({
                "depth": h.depth(Direction::Down, i), "maxDepth": max_depth, "rejected": rejected,
                "handled": handled, "upDepth": h.depth(Direction::Up, i), "upMaxDepth": up_max,
                "upRejected": up_rejected, "upHandled": up_handled,
                "numaNode": h.slots().node_of(SlotRef::part_of(i, Direction::Down)).map(|n| n.0),
                "slotsInUse": h.slots().in_use(SlotRef::part_of(i, Direction::Down))
                    + h.slots().in_use(SlotRef::part_of(i, Direction::Up)),
            })
        })
        .collect();
    env.string(
        &json!({ "shards": shards, "slotNodes": h.slots().nodes().iter().map(|n| n.0).collect::<Vec<_>>() })
            .to_string(),
    )
});
method!(m_trace, 1, |s, env, a| {
    let shard =
        if env.to_f64(a[0]).is_some_and(|n| n < 0.0) { None } else { Some(shard_arg(&s.hub, env, a[0])?) };
    match s.hub.trace(shard) {
        Some(t) => env.string(&t.to_json().to_string()),
        None => Err(Coded::new(Code::NotRecording, "these workers were started without record: true")),
    }
});
method!(m_exited_error, 3, |s, env, a| {
    let shard = shard_arg(&s.hub, env, a[0])?;
    let code = env.to_f64(a[1]).unwrap_or(f64::NAN);
    let why = env.string_of(a[2]).unwrap_or_default();
    let err =
        Coded::new(Code::WorkerExited, format!("the worker of shard {shard} exited (code {code}){why}"))
            .with_prop("shardId", shard as f64)
            .with_prop("exitCode", code);
    err.to_raw(env.0).map_err(|_| Coded::new(Code::Internal, "could not make an error"))
});
method!(m_pin, 1, |s, env, a| {
    let code = env.string_of(a[0]).unwrap_or_default();
    let enforcement = AffinityEnforcement::from_code(&code).ok_or_else(|| {
        Coded::new(Code::InvalidArgValue, "enforcement must be 'strict', 'advisory' or 'disabled'")
    })?;
    let p = s.hub.pin_current_thread(s.shard.unwrap_or(0), enforcement);
    env.string(&json!({ "pinned": p.pinned, "cpu": p.cpu, "reason": p.reason }).to_string())
});

fn shard_arg(hub: &Hub, env: Env, v: Value) -> std::result::Result<usize, Coded> {
    match env.to_f64(v) {
        Some(n) if n >= 0.0 && n.fract() == 0.0 && (n as usize) < hub.shard_count() => Ok(n as usize),
        Some(n) => Err(Coded::out_of_range("shardId", &format!("an integer in 0..{}", hub.shard_count()), n)),
        None => Err(Coded::arg_type("shardId", "of type number", "another type")),
    }
}

/// Methods of every side.
const COMMON: &[(&CStr, BoundCb<Side>)] = &[
    (c"shardFor", m_shard_for),
    (c"allocate", m_allocate),
    (c"send", m_send),
    (c"trySend", m_try_send),
    (c"sendBytes", m_send_bytes),
    (c"sendBatch", m_send_batch),
    (c"setup", m_setup),
    (c"take", m_take),
    (c"release", m_release),
    (c"free", m_free),
    (c"listen", m_listen),
    (c"unlisten", m_unlisten),
];
/// Methods of the main side only.
const MAIN: &[(&CStr, BoundCb<Side>)] = &[
    (c"close", m_close),
    (c"reclaim", m_reclaim),
    (c"undelivered", m_undelivered),
    (c"counters", m_counters),
    (c"trace", m_trace),
    (c"exitedError", m_exited_error),
];
/// Methods of a shard side only.
const SHARD: &[(&CStr, BoundCb<Side>)] = &[(c"pin", m_pin)];

fn side_object<'e>(env: &'e napi::Env, side: Side, extra: &[(&CStr, BoundCb<Side>)]) -> Result<Object<'e>> {
    let methods: Vec<(&CStr, BoundCb<Side>)> = COMMON.iter().chain(extra).copied().collect();
    fast::bound_object(env, &Rc::new(side), fast::bind, &methods)
}

fn throw(env: &napi::Env, e: Coded) -> napi::Error {
    e.throw(env)
}

/// Internal (lib/workers.js; lib/index.js removes it from the exports): `create(manifest,
/// laneCapacity, slabCapacity, entrySize, record, hugepages)`, a new hub and the main side's
/// methods (plus `id`).
#[napi(js_name = "__seqloopWorkersCreate", skip_typescript)]
#[cfg_attr(test, allow(dead_code, reason = "napi registers exported functions only outside cfg(test)"))]
pub fn workers_create<'e>(
    env: &'e napi::Env,
    manifest: &ReactorPlacementManifest,
    lane_capacity: u32,
    slab_capacity: u32,
    entry_size: u32,
    record: bool,
    hugepages: bool,
) -> Result<Unknown<'e>> {
    let config = HubConfig {
        placement: manifest.inner.clone(),
        lane_capacity: lane_capacity.max(1) as usize,
        slab_capacity: slab_capacity.max(1),
        entry_size: entry_size.max(1) as usize,
        record,
        hugepages: HugepageConfig { enabled: hugepages, ..HugepageConfig::default() },
    };
    let hub = Hub::new(config).map_err(|e| {
        throw(env, Coded::new(Code::SlabRegionFailed, format!("could not map the slot regions: {e}")))
    })?;
    let hub = Arc::new(hub);
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    {
        let mut reg = HUBS.lock().unwrap_or_else(PoisonError::into_inner);
        let map = reg.get_or_insert_with(HashMap::new);
        map.retain(|_, w| w.strong_count() > 0);
        map.insert(id, Arc::downgrade(&hub));
    }
    let mut obj = side_object(env, Side::new(hub, None), MAIN)?;
    obj.set("id", id as f64)?;
    Ok(value::unknown(env.raw(), obj.raw()))
}

/// Internal (lib/worker.js): `attach(hubId, shardId)`, the methods of shard `shardId`'s side of
/// a live hub, for that shard's worker thread (see the module doc).
#[napi(js_name = "__seqloopWorkersAttach", skip_typescript)]
#[cfg_attr(test, allow(dead_code, reason = "napi registers exported functions only outside cfg(test)"))]
pub fn workers_attach(env: &napi::Env, id: f64, shard: u32) -> Result<Unknown<'_>> {
    let hub = HUBS
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .as_ref()
        .and_then(|m| m.get(&(id as u64)))
        .and_then(Weak::upgrade)
        .ok_or_else(|| throw(env, Coded::new(Code::WorkersClosed, "these workers are gone")))?;
    if shard as usize >= hub.shard_count() {
        return Err(throw(env, Coded::out_of_range("shardId", "a shard of these workers", shard)));
    }
    let obj = side_object(env, Side::new(hub, Some(shard as usize)), SHARD)?;
    Ok(value::unknown(env.raw(), obj.raw()))
}
