//! Every `unsafe` block of the binding: the N-API and libuv glue, behind safe functions and types
//! the rest of `src/binding` calls (see docs/architecture.md, "Where the unsafe code lives").
//!
//! Two invariants hold for the whole binding, and most `// SAFETY:` comments here cite them:
//! - G1 (live env): a `napi_env` passed to these functions is the env of the N-API call (or
//!   libuv callback) being served, on its JS thread, and not torn down: N-API hands it to a
//!   callback, and the binding never stores one past a call except in state that checks
//!   `fast::env_closing()` first (the EventLoop's N1).
//! - G2 (values of the current call): a raw `napi_value` the binding passes here is a value of
//!   that env received or made during the current call, whose handle scope is still open (no
//!   `napi_value` is stored across calls; values kept longer are napi references).
//!
//! The others are local to one file: F1–F3 and H1–H2 (`fast.rs`), R1–R5 (`class.rs`), T1
//! (`value.rs`), V3 and X1–X2 (`buffer.rs`), N1–N5 (`loop_glue.rs`), U1–U5 (`uv.rs`), K1–K3
//! (`workers.rs`); on the WebAssembly build (`cfg(target_family = "wasm")`, docs/wasm.md) also
//! R1w (`class_wasm.rs`), J1–J4 (`uv_wasm.rs`, which replaces `uv.rs`) and S1 (`wasm_napi.rs`).
//!
//! - `fast.rs`: raw N-API callbacks (bound to an `Rc` target, or process-wide over handles),
//!   their argument reads and the JS values they return (F1–F3, H1–H2);
//! - `buffer.rs`: external ArrayBuffers over slab regions, their references, detaching and
//!   copies (V3, X1–X2);
//! - `class.rs`: raw prototype methods and their receiver checks, bound twins, own data
//!   properties of plain-data instances, type-tag brands and class casts (R1–R5);
//! - `loop_glue.rs`: the EventLoop's stash, references, scopes, promises and async contexts
//!   (N1–N5);
//! - `uv.rs`: the libuv timer and idle handles of an EventLoop run (U1–U5);
//! - `value.rs`: reads of JS values (numbers, strings, typed arrays, any buffer's bytes, casts,
//!   properties) (G2, T1);
//! - `workers.rs`: ShardedWorkers' scratch arrays written across calls and the threadsafe
//!   function that wakes a parked consumer from another thread (K1–K3).
//!
//! WebAssembly only:
//! - `class_wasm.rs`: the receiver brand without type tags, napi-rs's class record (R1w);
//! - `loop_glue_wasm.rs`: `loop_glue.rs`'s async contexts, make_callback and settle_in_scope
//!   without async contexts, draining nextTicks and microtasks explicitly (N1–N3);
//! - `uv_wasm.rs`: the run's timer as JS `setTimeout`/`setImmediate`, the real ones (J1–J4);
//! - `wasm_napi.rs`: emnapi's `napi` import module and the typed-array write-back (S1).

pub(crate) mod buffer;
pub(crate) mod class;
// The WebAssembly build's receiver brands: napi-rs stamps no type tags there (docs/wasm.md).
#[cfg(target_family = "wasm")]
mod class_wasm;
pub(crate) mod fast;
pub(crate) mod loop_glue;
// The WebAssembly build has no async contexts or callback scopes (docs/wasm.md).
#[cfg(target_family = "wasm")]
mod loop_glue_wasm;
// The WebAssembly build has no libuv: its stand-in arms JS timers (docs/wasm.md).
#[cfg_attr(target_family = "wasm", path = "uv_wasm.rs")]
mod uv;
#[cfg(target_family = "wasm")]
pub(crate) use uv::set_real_timers;
pub(crate) mod value;
// emnapi's `napi` import module and the typed-array write-back (docs/wasm.md).
#[cfg(target_family = "wasm")]
mod wasm_napi;
#[cfg(not(target_family = "wasm"))]
pub(crate) mod workers;
