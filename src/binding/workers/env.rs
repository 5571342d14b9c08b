//! The JS values `ShardedWorkers`' raw methods read and make, through `ffi`'s safe functions:
//! [`Env`] wraps the env of one raw call (G1) and the values are the call's own (G2). Slot
//! views are `ffi::buffer` external ArrayBuffers whose finalizer token frees an unsent slot.

use std::ffi::CStr;
use std::sync::Arc;

use napi::sys;

use super::super::error::{Code, Coded};
use super::super::ffi::{buffer, fast, loop_glue, value};
use crate::workers::{Hub, Owner, SlotRef};

pub(crate) use super::super::ffi::value::TypedOut;
pub(crate) use super::super::ffi::workers::{Scratch, Tsfn};

/// A raw value of the current call.
pub(crate) type Value = sys::napi_value;
/// A method's outcome: a value, or the error to throw.
pub(crate) type Ret = fast::Ret;

/// The env of one raw call (G1 in `ffi/mod.rs`).
#[derive(Clone, Copy)]
pub(crate) struct Env(pub(crate) sys::napi_env);

fn internal(what: &str) -> Coded {
    Coded::new(Code::Internal, format!("N-API {what} failed"))
}

/// What an owned slot view's finalizer frees: the slot, if it is still that owner's with that
/// generation when the view is collected (a no-op otherwise, P2).
struct FreeOnCollect {
    hub: Arc<Hub>,
    slot: SlotRef,
    owner: Owner,
}

impl Drop for FreeOnCollect {
    fn drop(&mut self) {
        self.hub.free_collected(&self.slot, self.owner);
    }
}

impl Env {
    pub(crate) fn undefined(self) -> Value {
        fast::undefined(self.0)
    }

    pub(crate) fn null(self) -> Ret {
        fast::null(self.0)
    }

    pub(crate) fn object(self) -> Ret {
        loop_glue::new_object(self.0).map_err(|_| internal("create_object"))
    }

    pub(crate) fn number(self, n: f64) -> Ret {
        fast::to_number(self.0, n)
    }

    pub(crate) fn boolean(self, b: bool) -> Ret {
        fast::to_bool(self.0, b)
    }

    pub(crate) fn string(self, s: &str) -> Ret {
        loop_glue::js_str(self.0, s).map_err(|_| internal("create_string"))
    }

    pub(crate) fn array(self, len: usize) -> Ret {
        value::new_array(self.0, len).map_err(|_| internal("create_array"))
    }

    pub(crate) fn set(self, obj: Value, key: &CStr, v: Value) -> Result<(), Coded> {
        loop_glue::set_prop(self.0, obj, key, v).map_err(|_| internal("set_named_property"))
    }

    pub(crate) fn get(self, obj: Value, key: &CStr) -> Option<Value> {
        fast::named_property(self.0, obj, key)
    }

    pub(crate) fn set_index(self, arr: Value, i: u32, v: Value) -> Result<(), Coded> {
        fast::set_element(self.0, arr, i, v).map_err(|_| internal("set_element"))
    }

    pub(crate) fn index(self, arr: Value, i: u32) -> Option<Value> {
        value::element(self.0, arr, i)
    }

    /// The length of a JS array, `None` for anything else.
    pub(crate) fn array_len(self, v: Value) -> Option<u32> {
        value::is_array(self.0, v).then(|| value::array_length(self.0, v))
    }

    pub(crate) fn type_of(self, v: Value) -> sys::napi_valuetype {
        value::type_of(self.0, v)
    }

    /// A JS number, `None` for anything else.
    pub(crate) fn to_f64(self, v: Value) -> Option<f64> {
        value::number(self.0, v)
    }

    /// `a === b`.
    pub(crate) fn strict_equals(self, a: Value, b: Value) -> bool {
        value::strict_equals(self.0, a, b)
    }

    /// A value's truthiness (for internal flags).
    pub(crate) fn truthy(self, v: Value) -> bool {
        value::truthy(self.0, v)
    }

    /// `f` of a JS string as UTF-8 (no copy for a short one); `None` for a non-string.
    pub(crate) fn with_string<R>(self, v: Value, f: impl FnOnce(&str) -> R) -> Option<R> {
        value::with_string(self.0, v, f)
    }

    /// A JS string as UTF-8, `None` for a non-string.
    pub(crate) fn string_of(self, v: Value) -> Option<String> {
        value::string(self.0, v)
    }

    /// The bytes of a TypedArray, DataView or ArrayBuffer (T1: read them before JS runs again).
    pub(crate) fn bytes(self, v: Value) -> Option<TypedOut<u8>> {
        value::buffer_bytes(self.0, v)
    }

    /// A typed array's length and its first `max` elements as numbers (see
    /// [`value::typed_numbers`]); `None` for anything else.
    pub(crate) fn typed_numbers(self, v: Value, max: usize) -> Option<(usize, Option<Vec<f64>>)> {
        value::typed_numbers(self.0, v, max)
    }

    /// A `Uint8Array` over `len` bytes of `hub`'s memory from `slot` on (a batch window spans
    /// the run of slots after it), with its `ArrayBuffer`. The buffer keeps the region mapped
    /// (`ffi/buffer.rs` V3); with `owned`, its finalizer frees the slot if it is still that
    /// owner's when the view is collected.
    pub(crate) fn view(
        self,
        hub: &Arc<Hub>,
        slot: &SlotRef,
        len: usize,
        owned: Option<Owner>,
    ) -> Result<(Value, Value), Coded> {
        let (region, offset) = hub
            .slots()
            .place(slot.part, slot.index)
            .ok_or_else(|| Coded::new(Code::Internal, "slot out of range"))?;
        let token = owned.map(|owner| FreeOnCollect { hub: Arc::clone(hub), slot: *slot, owner });
        let ab = buffer::external_view(self.0, region, offset, len, token)?;
        Ok((buffer::uint8_view(self.0, ab, len)?, ab))
    }

    /// A strong (`count` 1) or weak (0) reference.
    pub(crate) fn reference(self, v: Value, count: u32) -> Result<Ref, Coded> {
        buffer::create_reference(self.0, v, count).map(Ref)
    }

    /// The referenced value, `None` once collected.
    pub(crate) fn deref(self, r: &Ref) -> Option<Value> {
        buffer::reference_value(self.0, r.0)
    }

    /// Deletes a reference (X2: consumed, so deleted once).
    pub(crate) fn unref(self, r: Ref) {
        buffer::delete_reference(self.0, r.0);
    }

    /// Detaches the ArrayBuffer behind `r` (if still alive and attached) and deletes the
    /// reference.
    pub(crate) fn detach(self, r: Ref) {
        if let Some((ab, false)) = buffer::buffer_state(self.0, r.0) {
            // A failure leaves the view attached to still-mapped memory (`ffi/buffer.rs` V3):
            // nothing to undo.
            let _ = buffer::detach(self.0, ab);
        }
        self.unref(r);
    }

    /// Copies `bytes` into a fresh `Uint8Array`.
    pub(crate) fn copy(self, bytes: &[u8]) -> Ret {
        buffer::uint8_copy(self.0, bytes)
    }

    /// A registered scratch array (see `ffi::workers`, K1).
    pub(crate) fn scratch<T: super::super::ffi::workers::ScratchElement>(
        self,
        v: Value,
    ) -> Result<Scratch<T>, Coded> {
        Scratch::new(self.0, v)
    }

    /// A wake-up calling `func` on this thread (see `ffi::workers`, K2).
    pub(crate) fn tsfn(self, func: Value, keep_alive: bool) -> Result<Tsfn, Coded> {
        Tsfn::new(self.0, func, keep_alive)
    }
}

/// A napi reference, used and deleted on its env's thread only (X2: deleted once, by value).
#[derive(Debug)]
pub(crate) struct Ref(sys::napi_ref);
