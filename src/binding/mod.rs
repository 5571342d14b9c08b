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
mod receiver;
mod replay;
mod scheduler;
mod slab;
mod timer_queue;
mod topo;
mod uv;
mod workers;
