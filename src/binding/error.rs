//! Coded JS errors: the one place where core errors and bad arguments become JS exceptions.
//!
//! Every error seqloop throws is an `Error`, `TypeError` or `RangeError` whose `code` property is
//! a stable string (the contract); the message may change. Extra numeric properties (e.g.
//! `shardId`, `depth`, `capacity` on `ERR_REACTOR_BACKPRESSURE`) are set on the same object.

use napi::{sys, Env, Status};

use super::ffi::{loop_glue, value};

/// Which JS error constructor to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorClass {
    Error,
    Type,
    Range,
}

/// Every stable `code` the native side throws: the contract (README "Errors"). One variant per
/// code, each with the one JS error class the README table gives it, so a code's class cannot
/// differ between call sites. No other file spells a code as a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Code {
    /// `ERR_INVALID_ARG_TYPE`: a wrong argument type.
    InvalidArgType,
    /// `ERR_OUT_OF_RANGE`: a number or size out of its range.
    OutOfRange,
    /// `ERR_INVALID_ARG_VALUE`: a value of the right type that is not allowed.
    InvalidArgValue,
    /// `ERR_CLOCK_FAILED`: a custom clock's `nowMs()` threw.
    ClockFailed,
    /// `ERR_INVALID_RETURN_VALUE`: a custom clock's `nowMs()` returned a bad value.
    InvalidReturnValue,
    /// `ERR_REENTRANT_CALL`: a call into an object that is busy with another call.
    ReentrantCall,
    /// `ERR_TIMER_IDS_EXHAUSTED`: every timer id is pending.
    TimerIdsExhausted,
    /// `ERR_LOOP_REENTRANT`: a run method while another runs.
    LoopReentrant,
    /// `ERR_LOOP_HOOKS`: the loop runner misbehaved or was installed twice.
    LoopHooks,
    /// `ERR_LOOP_UNAVAILABLE`: libuv cannot be reached in this process.
    LoopUnavailable,
    /// `ERR_LOOP_LIMIT`: a run passed its `maxTicks`.
    LoopLimit,
    /// `ERR_LOOP_CLOCK`: a run method that needs the other kind of clock.
    LoopClock,
    /// `ERR_HOSTCALL_PENDING`: a hostcall id that is already pending.
    HostcallPending,
    /// `ERR_UNKNOWN_HOSTCALL`: a completion for no pending hostcall.
    UnknownHostcall,
    /// `ERR_NOT_RECORDING`: a trace asked of an object that does not record.
    NotRecording,
    /// `ERR_TRACE_INVALID`: a malformed trace.
    TraceInvalid,
    /// `ERR_TRACE_VERSION`: a trace version this build does not read.
    TraceVersion,
    /// `ERR_REACTOR_BACKPRESSURE`: a full mesh lane.
    ReactorBackpressure,
    /// `ERR_TOPOLOGY_UNAVAILABLE`: hwloc could not read the machine's topology.
    TopologyUnavailable,
    /// `ERR_SLAB_STALE_HANDLE`: a slab handle that is not live in this pool.
    SlabStaleHandle,
    /// `ERR_SLAB_REGION_FAILED`: the host refused a slab mapping.
    SlabRegionFailed,
    /// `ERR_SLAB_DETACH_FAILED`: a slab view could not be detached.
    SlabDetachFailed,
    /// `ERR_SLAB_EXTERNAL_BUFFERS_UNSUPPORTED`: the runtime forbids external buffers.
    SlabExternalBuffersUnsupported,
    /// `ERR_SLAB_REGION_VIEWS_DISABLED`: `regionView` without `regionViews: true`.
    SlabRegionViewsDisabled,
    /// `ERR_SLAB_VIEW_FAILED`: a slab view could not be made.
    SlabViewFailed,
    /// `ERR_INTERNAL`: a bug in seqloop (the call had no effect).
    Internal,
    /// `ERR_WORKERS_CLOSED`: a send to `ShardedWorkers` after `close()`.
    #[cfg_attr(
        target_family = "wasm",
        allow(dead_code, reason = "ShardedWorkers is not built for WebAssembly")
    )]
    WorkersClosed,
    /// `ERR_WORKER_EXITED`: a shard's worker thread exited (emitted as an `'error'` event).
    #[cfg_attr(
        target_family = "wasm",
        allow(dead_code, reason = "ShardedWorkers is not built for WebAssembly")
    )]
    WorkerExited,
    /// Not a code: marks an error JS already has pending (thrown by a callback seqloop called),
    /// so the original exception propagates unchanged.
    Pending,
}

impl Code {
    /// Every public code (not [`Code::Pending`]), for the README cross-check.
    #[cfg(test)]
    pub(crate) const ALL: &'static [Code] = &[
        Code::InvalidArgType,
        Code::OutOfRange,
        Code::InvalidArgValue,
        Code::ClockFailed,
        Code::InvalidReturnValue,
        Code::ReentrantCall,
        Code::TimerIdsExhausted,
        Code::LoopReentrant,
        Code::LoopHooks,
        Code::LoopUnavailable,
        Code::LoopLimit,
        Code::LoopClock,
        Code::HostcallPending,
        Code::UnknownHostcall,
        Code::NotRecording,
        Code::TraceInvalid,
        Code::TraceVersion,
        Code::ReactorBackpressure,
        Code::TopologyUnavailable,
        Code::SlabStaleHandle,
        Code::SlabRegionFailed,
        Code::SlabDetachFailed,
        Code::SlabExternalBuffersUnsupported,
        Code::SlabRegionViewsDisabled,
        Code::SlabViewFailed,
        Code::Internal,
        Code::WorkersClosed,
        Code::WorkerExited,
    ];

    /// The `code` string JS sees.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Code::InvalidArgType => "ERR_INVALID_ARG_TYPE",
            Code::OutOfRange => "ERR_OUT_OF_RANGE",
            Code::InvalidArgValue => "ERR_INVALID_ARG_VALUE",
            Code::ClockFailed => "ERR_CLOCK_FAILED",
            Code::InvalidReturnValue => "ERR_INVALID_RETURN_VALUE",
            Code::ReentrantCall => "ERR_REENTRANT_CALL",
            Code::TimerIdsExhausted => "ERR_TIMER_IDS_EXHAUSTED",
            Code::LoopReentrant => "ERR_LOOP_REENTRANT",
            Code::LoopHooks => "ERR_LOOP_HOOKS",
            Code::LoopUnavailable => "ERR_LOOP_UNAVAILABLE",
            Code::LoopLimit => "ERR_LOOP_LIMIT",
            Code::LoopClock => "ERR_LOOP_CLOCK",
            Code::HostcallPending => "ERR_HOSTCALL_PENDING",
            Code::UnknownHostcall => "ERR_UNKNOWN_HOSTCALL",
            Code::NotRecording => "ERR_NOT_RECORDING",
            Code::TraceInvalid => "ERR_TRACE_INVALID",
            Code::TraceVersion => "ERR_TRACE_VERSION",
            Code::ReactorBackpressure => "ERR_REACTOR_BACKPRESSURE",
            Code::TopologyUnavailable => "ERR_TOPOLOGY_UNAVAILABLE",
            Code::SlabStaleHandle => "ERR_SLAB_STALE_HANDLE",
            Code::SlabRegionFailed => "ERR_SLAB_REGION_FAILED",
            Code::SlabDetachFailed => "ERR_SLAB_DETACH_FAILED",
            Code::SlabExternalBuffersUnsupported => "ERR_SLAB_EXTERNAL_BUFFERS_UNSUPPORTED",
            Code::SlabRegionViewsDisabled => "ERR_SLAB_REGION_VIEWS_DISABLED",
            Code::SlabViewFailed => "ERR_SLAB_VIEW_FAILED",
            Code::Internal => "ERR_INTERNAL",
            Code::WorkersClosed => "ERR_WORKERS_CLOSED",
            Code::WorkerExited => "ERR_WORKER_EXITED",
            Code::Pending => "ERR_PENDING",
        }
    }

    /// The JS error constructor for this code.
    pub(crate) fn class(self) -> ErrorClass {
        match self {
            Code::InvalidArgType | Code::InvalidArgValue | Code::InvalidReturnValue | Code::TraceInvalid => {
                ErrorClass::Type
            }
            Code::OutOfRange => ErrorClass::Range,
            Code::ClockFailed
            | Code::ReentrantCall
            | Code::TimerIdsExhausted
            | Code::LoopReentrant
            | Code::LoopHooks
            | Code::LoopUnavailable
            | Code::LoopLimit
            | Code::LoopClock
            | Code::HostcallPending
            | Code::UnknownHostcall
            | Code::NotRecording
            | Code::TraceVersion
            | Code::ReactorBackpressure
            | Code::TopologyUnavailable
            | Code::SlabStaleHandle
            | Code::SlabRegionFailed
            | Code::SlabDetachFailed
            | Code::SlabExternalBuffersUnsupported
            | Code::SlabRegionViewsDisabled
            | Code::SlabViewFailed
            | Code::Internal
            | Code::WorkersClosed
            | Code::WorkerExited
            | Code::Pending => ErrorClass::Error,
        }
    }
}

/// A JS error waiting to be thrown or used as a promise rejection.
#[derive(Debug, Clone)]
pub(crate) struct Coded {
    code: Code,
    message: String,
    props: Vec<(&'static str, f64)>,
}

/// `Result` of binding helpers that have not touched JS state yet.
pub(crate) type CodedResult<T> = std::result::Result<T, Coded>;

impl Coded {
    /// An error with `code`, of the class the code has (see [`Code::class`]).
    pub(crate) fn new(code: Code, message: impl Into<String>) -> Self {
        Self { code, message: message.into(), props: Vec::new() }
    }

    /// `TypeError` with Node's `ERR_INVALID_ARG_TYPE`.
    pub(crate) fn arg_type(name: &str, expected: &str, got: impl AsRef<str>) -> Self {
        let got = got.as_ref();
        Self::new(Code::InvalidArgType, format!("The \"{name}\" argument must be {expected}. Received {got}"))
    }

    /// `RangeError` with Node's `ERR_OUT_OF_RANGE`.
    pub(crate) fn out_of_range(name: &str, expected: &str, got: impl std::fmt::Display) -> Self {
        Self::new(
            Code::OutOfRange,
            format!("The value of \"{name}\" is out of range. It must be {expected}. Received {got}"),
        )
    }

    /// Marks an error that JS already has pending (thrown by a callback we called): throwing it
    /// again is a no-op, so the original exception propagates.
    pub(crate) fn pending() -> Self {
        Self::new(Code::Pending, "an exception is already pending")
    }

    /// The error's `code`.
    pub(crate) fn code(&self) -> Code {
        self.code
    }

    /// Adds a numeric property to the error object.
    pub(crate) fn with_prop(mut self, name: &'static str, value: f64) -> Self {
        self.props.push((name, value));
        self
    }

    /// Builds the JS error object.
    pub(crate) fn to_raw(&self, env: sys::napi_env) -> napi::Result<sys::napi_value> {
        if self.code == Code::Pending && value::exception_pending(env) {
            return Err(napi::Error::new(Status::PendingException, self.message.clone()));
        }
        let err = value::new_error(env, self.code.class(), self.code.as_str(), &self.message)?;
        for (name, v) in &self.props {
            let key =
                std::ffi::CString::new(*name).map_err(|_| napi::Error::from_status(Status::InvalidArg))?;
            loop_glue::set_prop(env, err, &key, loop_glue::js_f64(env, *v)?)?;
        }
        Ok(err)
    }

    /// Throws the error into `env` and returns the `napi::Error` that tells napi-rs an exception
    /// is already pending (so it does not throw a second one).
    pub(crate) fn throw(self, env: &Env) -> napi::Error {
        match self.to_raw(env.raw()) {
            Ok(err) => {
                value::throw(env.raw(), err);
                napi::Error::new(Status::PendingException, self.message)
            }
            // The env could not build an error object (it is tearing down): let napi-rs try.
            Err(e) => e,
        }
    }
}

/// `Ok` for `napi_ok`, else the status as a napi error.
pub(crate) fn check(status: sys::napi_status) -> napi::Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(napi::Error::from_status(Status::from(status)))
    }
}

/// Throws a [`Coded`] error: `coded_result.map_err(|e| e.throw(&env))` in one word.
pub(crate) trait ThrowExt<T> {
    fn or_throw(self, env: &Env) -> napi::Result<T>;
}

impl<T> ThrowExt<T> for CodedResult<T> {
    fn or_throw(self, env: &Env) -> napi::Result<T> {
        self.map_err(|e| e.throw(env))
    }
}

impl From<crate::sched::TraceError> for Coded {
    /// `ERR_TRACE_VERSION` for an unsupported version, else `ERR_TRACE_INVALID`; the message is
    /// the one-line description of what and where.
    fn from(e: crate::sched::TraceError) -> Self {
        use crate::sched::TraceError;
        let code = match e {
            TraceError::Version { .. } => Code::TraceVersion,
            TraceError::Empty | TraceError::Invalid { .. } | TraceError::Truncated { .. } => {
                Code::TraceInvalid
            }
        };
        Self::new(code, e.to_string())
    }
}

impl From<crate::sched::SchedError> for Coded {
    /// The scheduler's errors: ids exhausted, or a caller-chosen id that is already pending.
    fn from(e: crate::sched::SchedError) -> Self {
        use crate::sched::SchedError;
        let code = match e {
            SchedError::TimerIdsExhausted { .. } => Code::TimerIdsExhausted,
            SchedError::TimerIdLive { .. } => Code::InvalidArgValue,
        };
        Self::new(code, e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_node_style() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            let s = c.as_str();
            assert!(
                s.starts_with("ERR_") && s[4..].bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
                "{s}"
            );
            assert!(seen.insert(s), "{s} twice");
        }
        assert!(!Code::ALL.contains(&Code::Pending));
    }

    /// The README's error table lists exactly the native codes (and gives each its class); JS-only
    /// codes (fake timers, loader, runners) are listed there too and checked by the node suite.
    #[test]
    fn readme_lists_every_native_code_with_its_class() {
        let readme = include_str!("../../README.md");
        for c in Code::ALL {
            let row = readme
                .lines()
                .find(|l| l.starts_with('|') && l.contains(&format!("`{}`", c.as_str())))
                .unwrap_or_else(|| panic!("README has no error-table row for {}", c.as_str()));
            let class = match c.class() {
                ErrorClass::Error => "Error",
                ErrorClass::Type => "TypeError",
                ErrorClass::Range => "RangeError",
            };
            let own = format!("`{}` ({class})", c.as_str());
            let col = row.split('|').nth(2).unwrap_or("").trim();
            assert!(
                row.contains(&own) || col == class,
                "README row for {} does not say {class}: {row}",
                c.as_str()
            );
        }
    }
}
