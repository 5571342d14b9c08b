//! The WebAssembly build's memory functions for `region.rs` (included there by target): WASI
//! has no mmap, munmap, madvise or mbind, so a region is a zeroed allocation from the module's
//! own heap. Same names and contracts as the native functions, so `SlabRegion` is one type:
//! - `map_anonymous` allocates `len` zeroed bytes (R3); any extra flag (only explicit hugepages
//!   ask for one, and the wasm build never does) is refused.
//! - `unmap` gives back exactly what `map_anonymous` allocated (R2: once, from `Drop`).
//! - `map_aligned` and `advise_hugepage` are transparent-hugepage steps the wasm build skips;
//!   they refuse rather than hand out memory `unmap` could not free.
//! - `bind` never binds: WASI has no NUMA policy.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::io;
use std::ptr::NonNull;

use super::{NodeId, NumaBinding};

/// The alignment of every region allocation: more than any slot entry needs for plain bytes,
/// and what `unmap` must pass back.
const ALIGN: usize = 16;

/// The page size regions are rounded to. Heap allocations have no pages; 4 KiB keeps the
/// mapped-size arithmetic and the reports the same as on a native build.
pub(super) fn base_page_size() -> usize {
    4096
}

fn layout(len: usize) -> io::Result<Layout> {
    Layout::from_size_align(len, ALIGN).map_err(|_| io::Error::from(io::ErrorKind::OutOfMemory))
}

/// `len` (> 0) zeroed bytes from the heap; `extra_flags` must be 0.
pub(super) fn map_anonymous(len: usize, extra_flags: libc::c_int) -> io::Result<NonNull<u8>> {
    if extra_flags != 0 || len == 0 {
        return Err(io::ErrorKind::Unsupported.into());
    }
    let layout = layout(len)?;
    // SAFETY: the layout has a non-zero size (checked above) and a valid power-of-two alignment.
    let p = unsafe { alloc_zeroed(layout) };
    NonNull::new(p).ok_or_else(|| io::Error::from(io::ErrorKind::OutOfMemory))
}

/// Frees a region allocated by [`map_anonymous`].
///
/// # Safety
/// `addr .. addr + len` must be exactly an allocation [`map_anonymous`] returned for `len`, and
/// nothing may use it again.
pub(super) unsafe fn unmap(addr: *mut u8, len: usize) {
    if len > 0 {
        if let Ok(layout) = layout(len) {
            // SAFETY: the caller guarantees `addr` came from `alloc_zeroed` with this very layout
            // (same length, `ALIGN`) and is dead.
            unsafe { dealloc(addr, layout) };
        }
    }
}

/// No transparent hugepages here (the wasm build never takes that step).
pub(super) fn map_aligned(_len: usize, _align: usize) -> io::Result<NonNull<u8>> {
    Err(io::ErrorKind::Unsupported.into())
}

/// No explicit hugepages here (the wasm build never takes that step).
pub(super) fn hugetlb_flags(_page: usize) -> libc::c_int {
    -1
}

/// No madvise here.
pub(super) fn advise_hugepage(_p: NonNull<u8>, _len: usize) -> io::Result<()> {
    Err(io::ErrorKind::Unsupported.into())
}

/// Never binds: WASI has no memory policy.
pub(super) fn bind(_ptr: NonNull<u8>, _len: usize, _node: NodeId, _host_nodes: &[u32]) -> NumaBinding {
    NumaBinding::NotBound("the WebAssembly build cannot bind memory to a NUMA node".into())
}
