//! The N-API binding: the only code that imports napi. It converts arguments, maps errors to
//! coded JS errors (error.rs) and delegates to the core modules.

mod args;
mod convert;
mod error;
mod event_loop;
mod fast;
mod hugepage;
mod mesh;
mod raw;
#[cfg(target_family = "wasm")]
mod raw_wasm;
mod receiver;
mod replay;
mod scheduler;
mod slab;
mod timer_queue;
mod topo;
// The WebAssembly build has no libuv: its stand-in arms JS timers (docs/wasm.md).
#[cfg_attr(target_family = "wasm", path = "uv_wasm.rs")]
mod uv;
#[cfg(target_family = "wasm")]
mod wasm_napi;
