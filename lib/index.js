'use strict'
// Package entry point: the generated napi loader (../index.js) plus the little JS that the
// native classes need to look like Node's own APIs (rest parameters for timer arguments) and to
// reach the addon's raw fast paths for the hottest calls.
const native = require('../index.js')

const kFast = Symbol('seqloop.fast')

/**
 * A deterministic event loop: timers, intervals, immediates, hostcalls, streams and events run
 * by the addon in seq order, with every microtask and nextTick drained after each macrotask.
 */
class EventLoop extends native.NativeEventLoop {
  constructor (options) {
    super(options)
    Object.defineProperty(this, kFast, { value: super.fastPaths() })
  }

  setTimeout (fn, ms, ...args) {
    return this[kFast].setTimeout(fn, ms, args.length === 0 ? undefined : args)
  }

  setInterval (fn, ms, ...args) {
    return this[kFast].setInterval(fn, ms, args.length === 0 ? undefined : args)
  }

  setImmediate (fn, ...args) {
    return this[kFast].setImmediate(fn, args.length === 0 ? undefined : args)
  }

  clearTimeout (id) {
    return this[kFast].clearTimeout(id)
  }

  clearInterval (id) {
    return this[kFast].clearTimeout(id)
  }

  clearImmediate (id) {
    return this[kFast].clearImmediate(id)
  }
}

/**
 * The data-level scheduler. Its hottest methods go through raw N-API functions bound to this
 * instance (see `fastPaths()`), which cost a fraction of a napi-rs method call.
 */
class Scheduler extends native.Scheduler {
  constructor (options) {
    super(options)
    Object.defineProperty(this, kFast, { value: super.fastPaths() })
  }

  setTimeout (delayMs) {
    return this[kFast].setTimeout(delayMs)
  }

  clearTimeout (timerId) {
    return this[kFast].clearTimeout(timerId)
  }

  drainTimers (out) {
    return this[kFast].drainTimers(out)
  }
}

/**
 * Native classes can be called without `new` (napi gives them no such check); make that a
 * coded TypeError, as Node's own classes do (ERR_CONSTRUCT_CALL_REQUIRED).
 */
function requireNew (Cls) {
  return new Proxy(Cls, {
    apply () {
      const err = new TypeError(`Class constructor ${Cls.name} cannot be invoked without 'new'`)
      err.code = 'ERR_CONSTRUCT_CALL_REQUIRED'
      throw err
    },
  })
}

const exported = { ...native, Scheduler, EventLoop }
// Loader internals and napi-rs aliases are not part of the package's API.
for (const internal of ['NativeEventLoop', 'JsTimerQueue', '__napiBindingTarget']) delete exported[internal]
for (const [name, value] of Object.entries(exported)) {
  if (typeof value === 'function' && /^[A-Z]/.test(name)) exported[name] = requireNew(value)
}
module.exports = exported

// Fake timers (seqloop/fake-timers) are also reachable from the main entry.
const fakeTimers = require('./fake-timers.js')
exported.install = fakeTimers.install
exported.withGlobal = fakeTimers.withGlobal
