'use strict'
// Package entry point: the generated napi loader (../index.js) plus the little JS that the
// native classes need to look like Node's own APIs (rest parameters for timer arguments) and to
// reach the addon's raw fast paths for the hottest calls.
const native = require('./native.js')

const { EventLoop } = require('./event-loop.js')
const { Scheduler, TimerQueue } = require('./scheduler.js')

const { __seqloopIsInstance: nativeIsInstance, __seqloopConstructible: nativeConstructible } = native
/** A JS class's own receiver brand (see `guardReceivers`). */
const kIsInstance = Symbol.for('seqloop.isInstance')

function codedTypeError (code, message) {
  const err = new TypeError(message)
  err.code = code
  return err
}

/**
 * Receivers (issue 18). A method or accessor called on the wrong `this` fails before seqloop
 * code runs, with V8's "Illegal invocation", napi-rs's "Failed to unwrap…" or a private-field
 * TypeError. Every method and accessor of every exported class (its whole prototype chain) is
 * wrapped once, here: when a call throws and `this` is not a genuine instance, the caller gets
 * Node's `ERR_INVALID_THIS` TypeError instead. The brand is a JS class's own private field
 * (`static [kIsInstance]`) or a native class's napi type tag (`__seqloopIsInstance`), checked
 * only on that error path; a genuine instance's own errors pass through unchanged.
 */
function guardReceivers (Cls) {
  for (let proto = Cls.prototype; proto != null && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    if (guarded.has(proto)) continue
    guarded.add(proto)
    const Owner = proto.constructor
    const className = Owner === native.NativeEventLoop ? 'EventLoop' : Owner.name
    const isInstance = Object.prototype.hasOwnProperty.call(Owner, kIsInstance)
      ? Owner[kIsInstance]
      : (o) => nativeIsInstance(o, Owner.name)
    for (const key of Reflect.ownKeys(proto)) {
      if (key === 'constructor') continue
      const d = Object.getOwnPropertyDescriptor(proto, key)
      for (const part of ['value', 'get', 'set']) {
        if (typeof d[part] === 'function') d[part] = guard(d[part], className, isInstance)
      }
      Object.defineProperty(proto, key, d)
    }
  }
}

const guarded = new WeakSet()

function guard (fn, className, isInstance) {
  const wrapped = function () {
    try {
      return fn.apply(this, arguments)
    } catch (err) {
      if (!isInstance(this)) throw codedTypeError('ERR_INVALID_THIS', `Value of "this" must be of type ${className}`)
      throw err
    }
  }
  Object.defineProperty(wrapped, 'name', { value: fn.name })
  Object.defineProperty(wrapped, 'length', { value: fn.length })
  return wrapped
}

/**
 * Native classes can be called without `new` (napi gives them no such check); make that a
 * coded TypeError, as Node's own classes do (ERR_CONSTRUCT_CALL_REQUIRED). Classes whose
 * instances only come from factories (`NumaSlabPool.create`, …) refuse `new` with Node's
 * ERR_ILLEGAL_CONSTRUCTOR.
 */
function requireNew (Cls, nativeName) {
  const handler = {
    apply () {
      throw codedTypeError('ERR_CONSTRUCT_CALL_REQUIRED', `Class constructor ${Cls.name} cannot be invoked without 'new'`)
    },
  }
  if (!nativeConstructible(nativeName)) {
    // The static factories construct through this proxy too (napi-rs flags those calls
    // natively), so only a construction that napi-rs refuses becomes the coded error.
    handler.construct = (target, args, newTarget) => {
      try {
        return Reflect.construct(target, args, newTarget)
      } catch (err) {
        if (err != null && typeof err.code === 'string' && err.code.startsWith('ERR_')) throw err
        throw codedTypeError('ERR_ILLEGAL_CONSTRUCTOR', `${Cls.name} cannot be constructed with new; use its static factories`)
      }
    }
  }
  return new Proxy(Cls, handler)
}

const exported = { ...native, Scheduler, TimerQueue, EventLoop }
// Loader internals and napi-rs aliases are not part of the package's API.
for (const internal of ['NativeEventLoop', 'JsTimerQueue', '__napiBindingTarget', '__seqloopIsInstance', '__seqloopConstructible', '__seqloopEventLoopRaw', '__seqloopLiveLoops', '__seqloopTimerQueueRaw', '__seqloopWorkersCreate', '__seqloopWorkersAttach']) {
  delete exported[internal]
}
for (const [name, value] of Object.entries(exported)) {
  if (typeof value === 'function' && /^[A-Z]/.test(name)) {
    guardReceivers(value)
    exported[name] = requireNew(value, value === EventLoop ? 'NativeEventLoop' : name)
  }
}
// ShardedWorkers checks its own receivers (its prototype chain includes EventEmitter's, which
// must not be wrapped).
exported.ShardedWorkers = requireNew(require('./workers.js').ShardedWorkers, 'ShardedWorkers')
module.exports = exported

// Fake timers (seqloop/fake-timers) are also reachable from the main entry.
const fakeTimers = require('./fake-timers.js')
exported.install = fakeTimers.install
exported.withGlobal = fakeTimers.withGlobal
