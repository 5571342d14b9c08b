//! The WebAssembly build's stand-in for `hwloc.rs` (selected in `topo/mod.rs` by target): the
//! `seqloop-wasm32-wasi` package has no hwloc (a C library that cannot be built for WASI) and
//! WASI offers no way to read the host's cores or bind a thread. So detection and synthetic
//! descriptions fail with [`TopoError::Unavailable`] (`ERR_TOPOLOGY_UNAVAILABLE` in JS) and
//! binding reports why it did not happen; snapshots from explicit pairs and placement planning
//! do not need hwloc and work as on native builds (docs/wasm.md).

use super::synthetic::{self, Refusal};
use super::{CoreId, CoreInfo, TopoError};

/// Why nothing here works, shared by every message.
const NO_HWLOC: &str = "the WebAssembly build of seqloop (seqloop-wasm32-wasi) has no hwloc";

/// The real machine's cores: unavailable.
pub(super) fn detect() -> Result<Vec<CoreInfo>, TopoError> {
    Err(TopoError::Unavailable(format!(
        "{NO_HWLOC} and cannot read this machine's topology; use \
         ReactorTopologySnapshot.fromCoreNodePairs() for an explicit one"
    )))
}

/// A synthetic topology: a description outside the bounds or malformed is refused as on a
/// native build (Y1); any other is unavailable (hwloc is what builds and checks them, Y2–Y3).
pub(super) fn synthetic(description: &str) -> Result<Vec<CoreInfo>, TopoError> {
    let description_owned = || description.to_owned();
    match synthetic::plan(description) {
        Err(Refusal::TooLarge(reason)) => {
            return Err(TopoError::SyntheticTooLarge { description: description_owned(), reason })
        }
        Err(Refusal::Invalid(reason)) => {
            return Err(TopoError::InvalidSynthetic { description: description_owned(), reason })
        }
        Ok(_) => {}
    }
    Err(TopoError::Unavailable(format!(
        "{NO_HWLOC} to build the synthetic topology {description:?}; use \
         ReactorTopologySnapshot.fromCoreNodePairs() for an explicit one"
    )))
}

/// Thread binding: never applied.
pub(super) fn bind_current_thread(core: CoreId) -> Result<(), String> {
    Err(format!("{NO_HWLOC}: WASI cannot bind a thread to core {}", core.0))
}
