//! Every `unsafe` block of the binding: the N-API and libuv glue, behind safe functions and types
//! the rest of `src/binding` calls (see docs/architecture.md, "Where the unsafe code lives").
//!
//! - `fast.rs`: raw N-API callbacks (bound to an `Rc` target, or process-wide over handles),
//!   their argument reads and the JS values they return (F1–F3, H1–H2);
//! - `buffer.rs`: external ArrayBuffers over slab regions, their references, detaching and
//!   copies (V3, B1–B2);
//! - `class.rs`: raw prototype methods and their receiver checks, bound twins, own data
//!   properties of plain-data instances, type-tag brands and class casts (R1–R5);
//! - `loop_glue.rs`: the EventLoop's stash, references, scopes, promises and async contexts
//!   (N1–N5);
//! - `uv.rs`: the libuv timer and idle handles of an EventLoop run (U1–U4);
//! - `value.rs`: reads of JS values (numbers, strings, typed arrays, casts, properties) (A1, T1).

pub(crate) mod buffer;
pub(crate) mod class;
pub(crate) mod fast;
pub(crate) mod loop_glue;
pub(crate) mod uv;
pub(crate) mod value;
