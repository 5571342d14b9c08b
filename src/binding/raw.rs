//! The mesh and slab classes' hot methods as raw N-API callbacks on the class prototypes: which
//! methods, and their bodies. The unsafe glue (receiver checks, bound twins) is
//! `binding/ffi/class.rs`; this file is safe code.
//!
//! napi-rs's method glue costs ~300 ns a call (a native-borrow registry, argument conversion, a
//! type-tag check, an unwrap); a raw callback ~50 ns. So `ReactorMesh.prototype.enqueueSlot`,
//! `NumaSlabPool.prototype.allocateMany` and the other methods listed in [`ReactorMesh`]'s and
//! [`NumaSlabPool`]'s [`RawClass::METHODS`] are plain N-API callbacks, defined on the prototypes
//! napi-rs built, once, when the addon is loaded ([`install`]). A prototype method reads its
//! receiver itself, checking its brand first (R1–R4 in `ffi/class.rs`).
//!
//! Checking the tag and unwrapping cost ~50 ns each, twice the rest of a call. So the first call
//! of any raw method on an instance also gives that instance its own copies of them (R5): the
//! same callbacks' bound twins (`fast::BoundCb`), non-enumerable own properties whose N-API
//! `data` is a strong `Rc` of the instance's state (F1 in `ffi/fast.rs`), so later calls skip the
//! receiver work and cost what the old `fastPaths()` functions cost. They act on that state
//! whatever `this` is (`const f = mesh.drainSlots; f(0, 1, out)` drains `mesh`), and keep the state
//! alive after the instance is collected (the pool's last holder releases its napi references,
//! `fast::EnvRelease`). An instance that cannot take own properties (frozen) keeps the prototype
//! methods.

// napi-derive registers the module-exports hook only outside `cfg(test)`, so the unit-test build
// sees [`install`] (and what only it reaches) as unused.
#![cfg_attr(test, allow(dead_code, reason = "reached through napi's module registration"))]

use std::cell::Cell;
use std::ffi::CStr;
use std::rc::Rc;

use napi::bindgen_prelude::*;
use napi::sys;
use napi_derive::napi;

pub(crate) use super::ffi::class::{define_fields, plain_instance, unknown, IntoJs};
use super::ffi::class::{define_methods, RawClass, RawMethod};
use super::ffi::fast::{self, BoundCb};
use super::mesh::{MeshState, ReactorMesh};
use super::slab::{NumaSlabPool, PoolState};

impl RawClass for ReactorMesh {
    type State = MeshState;
    const NAME: &'static CStr = c"ReactorMesh";
    const METHODS: &'static [(&'static CStr, RawMethod<Self>)] = &[
        (c"enqueueSlot", MESH_ENQUEUE_SLOT),
        (c"tryEnqueueSlot", MESH_TRY_ENQUEUE_SLOT),
        (c"enqueueSlots", MESH_ENQUEUE_SLOTS),
        (c"drainSlots", MESH_DRAIN_SLOTS),
        (c"drainSlotsGlobalOrder", MESH_DRAIN_SLOTS_GLOBAL),
    ];
    fn state(&self) -> &Rc<MeshState> {
        ReactorMesh::state(self)
    }
    fn bound(&self) -> &Cell<bool> {
        ReactorMesh::bound(self)
    }
    fn bind(
        env: sys::napi_env,
        name: &CStr,
        state: &Rc<MeshState>,
        cb: BoundCb<MeshState>,
    ) -> Result<sys::napi_value> {
        fast::bind(env, name, state, cb)
    }
}

impl RawClass for NumaSlabPool {
    type State = PoolState;
    const NAME: &'static CStr = c"NumaSlabPool";
    const METHODS: &'static [(&'static CStr, RawMethod<Self>)] = &[
        (c"allocateInto", POOL_ALLOCATE_INTO),
        (c"allocateMany", POOL_ALLOCATE_MANY),
        (c"deallocate", POOL_DEALLOCATE),
        (c"deallocateMany", POOL_DEALLOCATE_MANY),
        (c"isLive", POOL_IS_LIVE),
        (c"offsetOf", POOL_OFFSET_OF),
        (c"readInto", POOL_READ_INTO),
        (c"writeFrom", POOL_WRITE_FROM),
    ];
    fn state(&self) -> &Rc<PoolState> {
        NumaSlabPool::state(self)
    }
    fn bound(&self) -> &Cell<bool> {
        NumaSlabPool::bound(self)
    }
    fn bind(
        env: sys::napi_env,
        name: &CStr,
        state: &Rc<PoolState>,
        cb: BoundCb<PoolState>,
    ) -> Result<sys::napi_value> {
        fast::bind_releasing(env, name, state, cb)
    }
}

/// Defines `const $name: RawMethod<$class>`, a raw method of `$class` taking `$n` arguments: its
/// prototype callback (R1–R5 in `ffi/class.rs`) and its bound twin (F1–F3 in `ffi/fast.rs`),
/// both running `$body` on the class's state. Safe code: the pairing is checked by types.
macro_rules! raw_method {
    ($name:ident: $class:ident, $n:literal, |$s:ident, $env:ident, $a:ident| $body:expr) => {
        const $name: RawMethod<$class> = {
            struct F;
            impl fast::BoundFn<$n> for F {
                type Target = <$class as RawClass>::State;
                fn run($s: &Self::Target, $env: sys::napi_env, args: &fast::Args<$n>) -> fast::Ret {
                    let $a: &[sys::napi_value] = &args.argv;
                    $body
                }
            }
            RawMethod::of::<F, $n>()
        };
    };
}

raw_method!(MESH_ENQUEUE_SLOT: ReactorMesh, 4, |s, env, a| s.raw_enqueue_slot(env, a, true));
raw_method!(MESH_TRY_ENQUEUE_SLOT: ReactorMesh, 4, |s, env, a| s.raw_enqueue_slot(env, a, false));
raw_method!(MESH_ENQUEUE_SLOTS: ReactorMesh, 3, |s, env, a| s.raw_enqueue_slots(env, a));
raw_method!(MESH_DRAIN_SLOTS: ReactorMesh, 3, |s, env, a| s.raw_drain_slots(env, a));
raw_method!(MESH_DRAIN_SLOTS_GLOBAL: ReactorMesh, 2, |s, env, a| s.raw_drain_slots_global(env, a));

raw_method!(POOL_ALLOCATE_INTO: NumaSlabPool, 3, |s, env, a| s.raw_allocate_into(env, a));
raw_method!(POOL_ALLOCATE_MANY: NumaSlabPool, 3, |s, env, a| s.raw_allocate_many(env, a));
raw_method!(POOL_DEALLOCATE: NumaSlabPool, 3, |s, env, a| s.raw_deallocate(env, a));
raw_method!(POOL_DEALLOCATE_MANY: NumaSlabPool, 2, |s, env, a| s.raw_deallocate_many(env, a));
raw_method!(POOL_IS_LIVE: NumaSlabPool, 3, |s, env, a| s.raw_is_live(env, a));
raw_method!(POOL_OFFSET_OF: NumaSlabPool, 3, |s, env, a| s.raw_offset_of(env, a));
raw_method!(POOL_READ_INTO: NumaSlabPool, 4, |s, env, a| s.raw_copy(env, a, true));
raw_method!(POOL_WRITE_FROM: NumaSlabPool, 4, |s, env, a| s.raw_copy(env, a, false));

/// Runs once per env when the addon is loaded, after napi-rs registered the classes.
#[napi(module_exports)]
pub fn install(exports: Object, env: Env) -> Result<()> {
    define_methods::<ReactorMesh>(&env, &exports)?;
    define_methods::<NumaSlabPool>(&env, &exports)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The methods of `interface <class> { … }` in the declarations header.
    fn declared(header: &str, class: &str) -> Vec<String> {
        let start = header.find(&format!("export interface {class} {{")).expect("interface declared");
        let body = &header[start..];
        let body = &body[..body.find("\n}").expect("interface closed")];
        let mut names: Vec<String> = body
            .lines()
            .filter_map(|l| {
                let l = l.trim_start();
                let end = l.find('(')?;
                let name = &l[..end];
                name.chars().all(|c| c.is_ascii_alphanumeric()).then(|| name.to_string())
            })
            .filter(|n| !n.is_empty())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    fn listed<C: RawClass>(methods: &[(&CStr, RawMethod<C>)]) -> Vec<String> {
        let mut names: Vec<String> = methods.iter().map(|(n, _)| n.to_str().unwrap().to_string()).collect();
        names.sort();
        let len = names.len();
        names.dedup();
        assert_eq!(names.len(), len, "a method is listed twice");
        names
    }

    #[test]
    fn every_raw_method_is_declared_and_every_declared_one_exists() {
        let header = include_str!("header.d.ts");
        assert_eq!(listed(ReactorMesh::METHODS), declared(header, "ReactorMesh"));
        assert_eq!(listed(NumaSlabPool::METHODS), declared(header, "NumaSlabPool"));
    }
}
