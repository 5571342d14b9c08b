//! Coded JS errors: the one place where core errors and bad arguments become JS exceptions.
//!
//! Every error seqloop throws is an `Error`, `TypeError` or `RangeError` whose `code` property is
//! a stable string (the contract); the message may change. Extra numeric properties (e.g.
//! `shardId`, `depth`, `capacity` on `ERR_REACTOR_BACKPRESSURE`) are set on the same object.

use std::ptr;

use napi::{sys, Env, Status};

/// Which JS error constructor to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorClass {
    Error,
    Type,
    Range,
}

/// A JS error waiting to be thrown or used as a promise rejection.
#[derive(Debug, Clone)]
pub(crate) struct Coded {
    class: ErrorClass,
    code: &'static str,
    message: String,
    props: Vec<(&'static str, f64)>,
}

/// `Result` of binding helpers that have not touched JS state yet.
pub(crate) type CodedResult<T> = std::result::Result<T, Coded>;

impl Coded {
    pub(crate) fn new(class: ErrorClass, code: &'static str, message: impl Into<String>) -> Self {
        Self { class, code, message: message.into(), props: Vec::new() }
    }

    /// `TypeError` with Node's `ERR_INVALID_ARG_TYPE`.
    pub(crate) fn arg_type(name: &str, expected: &str, got: impl AsRef<str>) -> Self {
        let got = got.as_ref();
        Self::new(
            ErrorClass::Type,
            "ERR_INVALID_ARG_TYPE",
            format!("The \"{name}\" argument must be {expected}. Received {got}"),
        )
    }

    /// `RangeError` with Node's `ERR_OUT_OF_RANGE`.
    pub(crate) fn out_of_range(name: &str, expected: &str, got: impl std::fmt::Display) -> Self {
        Self::new(
            ErrorClass::Range,
            "ERR_OUT_OF_RANGE",
            format!("The value of \"{name}\" is out of range. It must be {expected}. Received {got}"),
        )
    }

    /// A plain `Error` with `code`.
    pub(crate) fn error(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(ErrorClass::Error, code, message)
    }

    /// Marks an error that JS already has pending (thrown by a callback we called): throwing it
    /// again is a no-op, so the original exception propagates.
    pub(crate) fn pending() -> Self {
        Self::new(ErrorClass::Error, "ERR_PENDING", "an exception is already pending")
    }

    /// The error's `code`.
    pub(crate) fn code(&self) -> &'static str {
        self.code
    }

    /// Adds a numeric property to the error object.
    pub(crate) fn with_prop(mut self, name: &'static str, value: f64) -> Self {
        self.props.push((name, value));
        self
    }

    /// Builds the JS error object.
    pub(crate) fn to_raw(&self, env: sys::napi_env) -> napi::Result<sys::napi_value> {
        if self.code == "ERR_PENDING" {
            let mut pending = false;
            // SAFETY: env is live.
            unsafe { sys::napi_is_exception_pending(env, &mut pending) };
            if pending {
                return Err(napi::Error::new(Status::PendingException, self.message.clone()));
            }
        }
        let mut code = ptr::null_mut();
        let mut msg = ptr::null_mut();
        let mut err = ptr::null_mut();
        // SAFETY: `env` is the live env of the current call; the string pointers and lengths come
        // from Rust `&str`s that outlive the calls, and out-pointers are valid locals.
        unsafe {
            check(sys::napi_create_string_utf8(
                env,
                self.code.as_ptr().cast(),
                self.code.len() as isize,
                &mut code,
            ))?;
            check(sys::napi_create_string_utf8(
                env,
                self.message.as_ptr().cast(),
                self.message.len() as isize,
                &mut msg,
            ))?;
            let create = match self.class {
                ErrorClass::Error => sys::napi_create_error,
                ErrorClass::Type => sys::napi_create_type_error,
                ErrorClass::Range => sys::napi_create_range_error,
            };
            check(create(env, code, msg, &mut err))?;
            for (name, value) in &self.props {
                let mut v = ptr::null_mut();
                check(sys::napi_create_double(env, *value, &mut v))?;
                let key = std::ffi::CString::new(*name)
                    .map_err(|_| napi::Error::from_status(Status::InvalidArg))?;
                check(sys::napi_set_named_property(env, err, key.as_ptr(), v))?;
            }
        }
        Ok(err)
    }

    /// Throws the error into `env` and returns the `napi::Error` that tells napi-rs an exception
    /// is already pending (so it does not throw a second one).
    pub(crate) fn throw(self, env: &Env) -> napi::Error {
        match self.to_raw(env.raw()) {
            Ok(err) => {
                // SAFETY: `err` was just created in this env; napi_throw takes any value.
                unsafe { sys::napi_throw(env.raw(), err) };
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
    /// `ERR_TRACE_VERSION` (Error) for an unsupported version, else `ERR_TRACE_INVALID`
    /// (TypeError); the message is the one-line description of what and where.
    fn from(e: crate::sched::TraceError) -> Self {
        let class = match e {
            crate::sched::TraceError::Version { .. } => ErrorClass::Error,
            _ => ErrorClass::Type,
        };
        Self::new(class, e.code(), e.to_string())
    }
}
