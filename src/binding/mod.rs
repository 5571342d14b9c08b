//! The N-API binding: the only code that imports napi. It converts arguments, maps errors to
//! coded JS errors (error.rs) and delegates to the core modules.
//!
//! Every `unsafe` block of the binding is in [`ffi`], behind safe functions and types; the rest
//! of the binding is safe code, which `deny(unsafe_code)` enforces (napi-derive's expansions of
//! `#[napi]` do not trip it), and `scripts/lint.sh` checks that no other file opts out.
#![deny(unsafe_code)]

mod args;
mod convert;
mod error;
mod event_loop;
#[allow(unsafe_code, reason = "the one module of the binding that holds unsafe code")]
mod ffi;
mod hugepage;
mod mesh;
mod raw;
mod receiver;
mod replay;
mod scheduler;
mod slab;
mod timer_queue;
mod topo;
#[cfg(not(target_family = "wasm"))]
mod workers;
