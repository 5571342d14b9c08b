//! The N-API binding: the only code that imports napi. It converts arguments, maps errors to
//! coded JS errors (error.rs) and delegates to the core modules.

mod args;
mod convert;
mod error;
mod mesh;
mod scheduler;
mod topo;
