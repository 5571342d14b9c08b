//! The JS class `NumaSlabTelemetry`.

use napi_derive::napi;

use crate::slab::{self as core};

/// A pool telemetry snapshot (`asJson()` has the keys of API.md §7).
#[napi]
pub struct NumaSlabTelemetry {
    pub(super) inner: core::SlabTelemetry,
}

#[napi]
impl NumaSlabTelemetry {
    /// Number of nodes.
    #[napi(getter)]
    pub fn node_count(&self) -> u32 {
        self.inner.per_node.len() as u32
    }
    /// Successful allocations, all nodes.
    #[napi(getter)]
    pub fn total_allocs(&self) -> f64 {
        self.inner.total_allocs() as f64
    }
    /// Successful frees, all nodes.
    #[napi(getter)]
    pub fn total_frees(&self) -> f64 {
        self.inner.total_frees() as f64
    }
    /// Live slots, all nodes.
    #[napi(getter)]
    pub fn total_in_use(&self) -> f64 {
        self.inner.total_in_use() as f64
    }
    /// Slots retired for good: freed after their view was moved out of reach (e.g. by
    /// `ArrayBuffer.prototype.transfer()`), or reused 2^32 − 1 times. Never handed out again.
    #[napi(getter)]
    pub fn retired_slots(&self) -> f64 {
        self.inner.total_retired() as f64
    }
    /// Allocations served away from the preferred node.
    #[napi(getter)]
    pub fn cross_node_allocs(&self) -> f64 {
        self.inner.cross_node_allocs as f64
    }
    /// Allocations made while the hugepage status was active.
    #[napi(getter)]
    pub fn hugepage_backed_allocs(&self) -> f64 {
        self.inner.hugepage_backed_allocs as f64
    }

    /// The stable diagnostic object (snake_case keys, ratios in basis points of 10000).
    #[napi(ts_return_type = "Record<string, unknown>")]
    pub fn as_json(&self) -> serde_json::Value {
        self.inner.to_json()
    }
}
