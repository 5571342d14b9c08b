//! Receiver checks for every exported class: the brand behind `ERR_INVALID_THIS`.
//!
//! A method called on the wrong `this` (`Scheduler.prototype.tick.call({})`) fails before any
//! seqloop code runs: V8 throws "Illegal invocation", napi-rs "Failed to unwrap…", a JS facade
//! "Cannot read private member". The package entry point (lib/index.js) wraps every method and
//! accessor of every exported class; when a call throws, it asks [`is_instance`] whether `this`
//! really is an instance of the class, and if not throws Node's `ERR_INVALID_THIS` instead. The
//! check runs only on that error path, so correct calls cost one JS frame more.
//!
//! The brand is the napi type tag napi-rs stamps on every instance it wraps (napi8): it cannot
//! be forged from JS, and a Proxy, a prototype-spoofed object or another class's instance lacks
//! it. [`CLASSES`] lists every class; a test checks it covers every export.

// napi-derive registers free functions only outside `cfg(test)`, so the unit-test build of the
// crate sees this module's functions (and what only they use) as unused.
#![cfg_attr(test, allow(dead_code, reason = "referenced only by napi's module registration"))]

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

use super::args;
use super::error::{Code, Coded, ThrowExt};

/// True when `v` carries `T`'s type tag (on the WebAssembly build, which has none: napi-rs's
/// class record, `ffi/class_wasm.rs`).
fn tagged<T: TypeTag + 'static>(env: sys::napi_env, v: sys::napi_value) -> bool {
    super::ffi::class::has_tag::<T>(env, v)
}

type Check = fn(sys::napi_env, sys::napi_value) -> bool;

/// Every exported class by its JS name (the native one for classes the entry point subclasses):
/// its brand check and whether JS may construct it (`false`: instances come from factories).
const CLASSES: &[(&str, Check, bool)] = &[
    ("Scheduler", tagged::<super::scheduler::Scheduler>, true),
    ("DeterministicClock", tagged::<super::scheduler::DeterministicClock>, true),
    ("WallClock", tagged::<super::scheduler::WallClock>, true),
    ("NativeEventLoop", tagged::<super::event_loop::NativeEventLoop>, true),
    ("TimerQueue", tagged::<super::timer_queue::JsTimerQueue>, true),
    ("ReactorMesh", tagged::<super::mesh::ReactorMesh>, true),
    ("ReactorMeshTelemetry", tagged::<super::mesh::ReactorMeshTelemetry>, false),
    ("NumaSlab", tagged::<super::slab::NumaSlab>, true),
    ("NumaSlabPool", tagged::<super::slab::NumaSlabPool>, false),
    ("NumaSlabTelemetry", tagged::<super::slab::NumaSlabTelemetry>, false),
    ("HugepageStatus", tagged::<super::hugepage::HugepageStatus>, false),
    ("ReactorTopologySnapshot", tagged::<super::topo::ReactorTopologySnapshot>, false),
    ("ReactorPlacementManifest", tagged::<super::topo::ReactorPlacementManifest>, false),
    ("ThreadAffinityAdvice", tagged::<super::topo::ThreadAffinityAdvice>, true),
    // A JS class (lib/workers.js) that checks its own receivers with a private field: no value
    // carries a native brand for it; instances come from `ShardedWorkers.start`.
    ("ShardedWorkers", |_, _| false, false),
];

fn class_entry(name: &str) -> Option<&'static (&'static str, Check, bool)> {
    CLASSES.iter().find(|(n, _, _)| *n == name)
}

fn unknown_class(env: &Env, name: &str) -> Error {
    Coded::new(Code::Internal, format!("no receiver brand for class '{name}'")).throw(env)
}

/// Internal: whether `value` is a genuine instance of the class `className` (its type tag).
#[napi(js_name = "__seqloopIsInstance", skip_typescript)]
pub fn is_instance(env: Env, value: Unknown, class_name: Unknown) -> Result<bool> {
    let name = args::string(&class_name, "className").or_throw(&env)?;
    let (_, check, _) = class_entry(&name).ok_or_else(|| unknown_class(&env, &name))?;
    Ok(check(env.raw(), value.raw()))
}

/// Internal: whether JS may construct the class `className` (false for factory-only classes).
#[napi(js_name = "__seqloopConstructible", skip_typescript)]
pub fn constructible(env: Env, class_name: Unknown) -> Result<bool> {
    let name = args::string(&class_name, "className").or_throw(&env)?;
    let (_, _, can) = class_entry(&name).ok_or_else(|| unknown_class(&env, &name))?;
    Ok(*can)
}
