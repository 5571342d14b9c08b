//! The N-API glue only `ShardedWorkers` needs (`binding/workers/`): the receive side's scratch
//! arrays, written across calls, and the threadsafe function that wakes a parked consumer from
//! another thread. Its raw methods are `fast::raw_fn!` callbacks, its slot views
//! `buffer::external_view`s, its references `buffer`'s and its value reads `value`'s.
//!
//! - K1 (pinned scratch): a [`Scratch`] array is one of lib/receive.js's internal typed arrays
//!   (never handed to user code: the side objects live in lib's private fields and the package's
//!   `exports` do not reach lib/native.js; never detached, transferred or resized), of the element type
//!   the [`ScratchElement`] impl names (checked when registered), kept alive by a strong
//!   reference that is never deleted; so its data pointer stays valid for `len` elements, and
//!   only its env's thread writes it (a `Scratch` is neither `Send` nor `Sync`).
//! - K2 (wake-up lifetime): a threadsafe function is called or released only under its cell's
//!   mutex and only while the cell holds it; its finalizer empties the cell under that mutex
//!   before N-API frees it, and release takes it out of the cell, so it is released once.
//! - K3 (threads): of everything here, only [`Tsfn`] crosses threads, and only through
//!   N-API's threadsafe-function calls, which any thread may make.

use std::ffi::c_void;
use std::marker::PhantomData;
use std::ptr;
use std::sync::{Arc, Mutex, PoisonError};

use napi::sys;

use super::super::error::{Code, Coded};
use super::buffer;

/// An element type of a [`Scratch`] array, with its typed array type (K1).
pub(crate) trait ScratchElement: Copy {
    const TYPE: sys::napi_typedarray_type;
}

impl ScratchElement for u32 {
    const TYPE: sys::napi_typedarray_type = sys::TypedarrayType::uint32_array;
}

impl ScratchElement for f64 {
    const TYPE: sys::napi_typedarray_type = sys::TypedarrayType::float64_array;
}

/// An internal typed array registered once and written on later calls (K1).
pub(crate) struct Scratch<T> {
    data: *mut T,
    len: usize,
    /// Not Send/Sync (K1: only its env's thread writes it).
    _thread: PhantomData<*mut T>,
}

impl<T: ScratchElement> Scratch<T> {
    /// Registers `v`, which must be a typed array of `T`'s type (an internal error otherwise).
    pub(crate) fn new(env: sys::napi_env, v: sys::napi_value) -> Result<Self, Coded> {
        let mut is = false;
        // SAFETY: G2: v is a live value of this call; any value may be asked.
        let st = unsafe { sys::napi_is_typedarray(env, v, &mut is) };
        if st != sys::Status::napi_ok || !is {
            return Err(Coded::new(Code::Internal, "scratch array expected"));
        }
        let (mut ty, mut len, mut data) = (0, 0usize, ptr::null_mut());
        // SAFETY: G2: v is a typed array of this call; out-pointers are valid locals or null.
        let st = unsafe {
            sys::napi_get_typedarray_info(
                env,
                v,
                &mut ty,
                &mut len,
                &mut data,
                ptr::null_mut(),
                ptr::null_mut(),
            )
        };
        if st != sys::Status::napi_ok || ty != T::TYPE {
            return Err(Coded::new(Code::Internal, "scratch array of the wrong type"));
        }
        // K1: the strong reference is never deleted, so the array (and its data) stays alive.
        buffer::create_reference(env, v, 1)?;
        let len = if data.is_null() { 0 } else { len };
        Ok(Self { data: data.cast(), len, _thread: PhantomData })
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Writes element `i` (ignored past the end).
    pub(crate) fn write(&self, i: usize, v: T) {
        if i < self.len {
            // SAFETY: K1: `data` points to `len` live elements of `T` that only this thread
            // touches, and i < len.
            unsafe { self.data.add(i).write(v) };
        }
    }
}

/// A threadsafe-function pointer (K2).
struct TsfnPtr(sys::napi_threadsafe_function);

// SAFETY: K3: N-API's threadsafe-function calls (call, release) may be made from any thread; the
// pointer is only used under its cell's mutex (K2).
unsafe impl Send for TsfnPtr {}

/// The wake-up of a parked consumer: a threadsafe function calling a JS function with no
/// arguments on its env's thread (K2, K3).
#[derive(Clone)]
pub(crate) struct Tsfn {
    cell: Arc<Mutex<Option<TsfnPtr>>>,
}

unsafe extern "C" fn tsfn_finalize(_env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
    // SAFETY: K2: data is the `Arc` cell pointer handed over in `Tsfn::new`, given back once
    // here (N-API calls a threadsafe function's finalizer once).
    let cell = unsafe { Arc::from_raw(data as *const Mutex<Option<TsfnPtr>>) };
    *cell.lock().unwrap_or_else(PoisonError::into_inner) = None;
}

impl Tsfn {
    /// A threadsafe function that calls `func` (no arguments) on `env`'s thread. `keep_alive`:
    /// whether it keeps the env's event loop alive.
    pub(crate) fn new(env: sys::napi_env, func: sys::napi_value, keep_alive: bool) -> Result<Self, Coded> {
        let cell = Arc::new(Mutex::new(None));
        let name = super::loop_glue::js_str(env, "seqloop.workers.wake")
            .map_err(|_| Coded::new(Code::Internal, "could not create a string"))?;
        let data = Arc::into_raw(Arc::clone(&cell)) as *mut c_void;
        let mut t = ptr::null_mut();
        // SAFETY: G1, G2: func is a function of this call's env; no queue limit (producers only
        // call it on an idle transition); one initial thread; K2: the finalizer gets back
        // `data`. A null call_js_cb makes N-API call `func` with no arguments.
        let st = unsafe {
            sys::napi_create_threadsafe_function(
                env,
                func,
                ptr::null_mut(),
                name,
                0,
                1,
                data,
                Some(tsfn_finalize),
                ptr::null_mut(),
                None,
                &mut t,
            )
        };
        if st != sys::Status::napi_ok {
            // SAFETY: K2: creation failed, so no finalizer owns the count taken above.
            drop(unsafe { Arc::from_raw(data as *const Mutex<Option<TsfnPtr>>) });
            return Err(Coded::new(Code::Internal, format!("could not create a wake-up (status {st})")));
        }
        if !keep_alive {
            // SAFETY: G1: t was made on this env's thread just now and is not released yet (K2).
            unsafe { sys::napi_unref_threadsafe_function(env, t) };
        }
        *cell.lock().unwrap_or_else(PoisonError::into_inner) = Some(TsfnPtr(t));
        Ok(Self { cell })
    }

    /// Queues a call (from any thread); a no-op once released or finalized (K2).
    pub(crate) fn call(&self) {
        if let Some(p) = &*self.cell.lock().unwrap_or_else(PoisonError::into_inner) {
            // SAFETY: K2: the function is alive while the cell holds it (we hold the mutex);
            // K3: any thread may call it; nonblocking never waits.
            unsafe {
                sys::napi_call_threadsafe_function(
                    p.0,
                    ptr::null_mut(),
                    sys::ThreadsafeFunctionCallMode::nonblocking,
                )
            };
        }
    }

    /// Releases it (from any thread): no later call reaches JS, and its env may exit.
    pub(crate) fn release(&self) {
        if let Some(p) = self.cell.lock().unwrap_or_else(PoisonError::into_inner).take() {
            // SAFETY: K2: still alive (the cell held it) and released once (taken out of the
            // cell); K3: any thread may release it.
            unsafe {
                sys::napi_release_threadsafe_function(p.0, sys::ThreadsafeFunctionReleaseMode::release)
            };
        }
    }
}
