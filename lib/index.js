'use strict'
// Package entry point: the generated napi loader (../index.js) plus the little JS that the
// native classes need to look like Node's own APIs (rest parameters for timer arguments) and to
// reach the addon's raw fast paths for the hottest calls.
const native = require('./native.js')

const { AsyncResource } = require('node:async_hooks')
const { Slots } = require('./slots.js')
const { Scheduler, TimerQueue } = require('./scheduler.js')

const { __seqloopIsInstance: nativeIsInstance, __seqloopConstructible: nativeConstructible } = native
/** A JS class's own receiver brand (see `guardReceivers`). */
const kIsInstance = Symbol('seqloop.isInstance')


// Node's own "run the nextTick queue and the microtasks now" (`runNextTicks` in
// lib/internal/process/task_queues.js, kept on `process` for compatibility): exactly what Node's
// timer list calls between two of its timers. Captured once, so later changes to `process`
// cannot redirect it.
const runNextTicks = typeof process._tickCallback === 'function' ? process._tickCallback : undefined

// The EventLoop's native timer functions: one set for the process, each taking the loop's handle
// first, so the call sites below see one target whatever the number of loops.
const {
  setTimeout: rawSetTimeout,
  setInterval: rawSetInterval,
  setImmediate: rawSetImmediate,
  clearTimeout: rawClearTimeout,
  clearImmediate: rawClearImmediate,
  step: rawStep,
  rearm: rawRearm,
} = native.NativeEventLoop.rawFunctions()

/** A scheduled callback as the table holds it (one shape, so property reads stay fast). */
class Entry {
  constructor (fn, args, resource, repeat) {
    this.fn = fn
    this.args = args
    this.resource = resource
    this.repeat = repeat
  }
}

function call (e) {
  if (e.resource !== undefined) {
    return e.args === undefined
      ? e.resource.runInAsyncScope(e.fn, undefined)
      : e.resource.runInAsyncScope(e.fn, undefined, ...e.args)
  }
  return e.args === undefined ? e.fn() : e.fn(...e.args)
}

/**
 * The batch runner. The native driver enters it (with no JS on the stack, through
 * `napi_make_callback`) when a timer or an immediate is due; `step()` hands out the due
 * macrotasks in seq order — a timer id, or minus an immediate id — and 0 when the driver must
 * take over (a hostcall, an event, the end of the run or of its time slice). After each
 * callback the runner drains `process.nextTick` callbacks and microtasks exactly as Node does
 * between two of its own timers (I2). A callback that throws leaves the runner; the driver
 * rejects the run with that very value (E4). Without `process._tickCallback` the runner runs
 * one callback per entry and Node's callback scope drains the queues instead.
 */
function runBatch (table) {
  const { timers, immediates, handle } = table
  for (;;) {
    const key = rawStep(handle)
    if (key === 0) return
    if (key > 0) {
      const e = timers.get(key)
      if (e !== undefined) {
        if (e.repeat) {
          try {
            call(e)
          } finally {
            // Re-armed right after its callback, as Node does, even if it threw (E4).
            if (!rawRearm(handle, key)) timers.delete(key)
          }
        } else {
          timers.delete(key)
          call(e)
        }
      }
    } else {
      const e = immediates.get(-key)
      if (e !== undefined) {
        immediates.delete(-key)
        call(e)
      }
    }
    if (runNextTicks === undefined) return
    runNextTicks()
  }
}

/** Extra callback arguments of a `setTimeout`-style call, or undefined when there are none. */
function extra (args, from) {
  if (args.length <= from) return undefined
  const out = new Array(args.length - from)
  for (let i = from; i < args.length; i++) out[i - from] = args[i]
  return out
}

/**
 * Records the callback of timer or immediate `id` (just scheduled natively, which also checked
 * `fn`) in `slots`, with an AsyncResource of `type` unless the loop has `asyncContext: false`.
 * Returns `id`.
 */
function track (table, slots, id, fn, args, type, repeat) {
  slots.set(id, new Entry(fn, args, table.als ? new AsyncResource(type) : undefined, repeat))
  return id
}

/**
 * A deterministic event loop: timers, intervals, immediates, hostcalls, streams and events run
 * by the addon in seq order, with every microtask and nextTick drained after each macrotask.
 */
class EventLoop extends native.NativeEventLoop {
  #t

  /** The receiver brand of `guardReceivers`: an instance made by this constructor. */
  static [kIsInstance] (o) {
    return typeof o === 'object' && o !== null && #t in o
  }

  constructor (options) {
    super(options)
    // Timer and immediate callbacks live in this table, in JS, keyed by id; the native loop
    // orders them and the runner calls them.
    const table = {
      timers: new Slots(),
      immediates: new Slots(),
      handle: undefined,
      // Like Node's Timeout and Immediate, each callback gets an AsyncResource made where it
      // was scheduled, so AsyncLocalStorage stores (and async_hooks) follow it. Cheap while no
      // hook is enabled.
      als: !(options != null && options.asyncContext === false),
    }
    table.handle = super.fastPaths({ runner: runBatch, table })
    this.#t = table
  }

  setTimeout (fn, ms) {
    const t = this.#t
    return track(t, t.timers, rawSetTimeout(t.handle, fn, ms), fn, extra(arguments, 2), 'seqloop.Timeout', false)
  }

  setInterval (fn, ms) {
    const t = this.#t
    return track(t, t.timers, rawSetInterval(t.handle, fn, ms), fn, extra(arguments, 2), 'seqloop.Timeout', true)
  }

  setImmediate (fn) {
    const t = this.#t
    return track(t, t.immediates, rawSetImmediate(t.handle, fn), fn, extra(arguments, 1), 'seqloop.Immediate', false)
  }

  clearTimeout (id) {
    const t = this.#t
    const pending = rawClearTimeout(t.handle, id)
    // A timer already moved to the macrotask queue is no longer pending but has not run yet.
    return (typeof id === 'number' && t.timers.delete(id)) || pending
  }

  clearInterval (id) {
    return this.clearTimeout(id)
  }

  clearImmediate (id) {
    const t = this.#t
    const queued = rawClearImmediate(t.handle, id)
    if (queued) t.immediates.delete(id)
    return queued
  }
}

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
for (const internal of ['NativeEventLoop', 'JsTimerQueue', '__napiBindingTarget', '__seqloopIsInstance', '__seqloopConstructible', '__seqloopTimerQueueRaw']) {
  delete exported[internal]
}
for (const [name, value] of Object.entries(exported)) {
  if (typeof value === 'function' && /^[A-Z]/.test(name)) {
    guardReceivers(value)
    exported[name] = requireNew(value, value === EventLoop ? 'NativeEventLoop' : name)
  }
}
module.exports = exported

// Fake timers (seqloop/fake-timers) are also reachable from the main entry.
const fakeTimers = require('./fake-timers.js')
exported.install = fakeTimers.install
exported.withGlobal = fakeTimers.withGlobal
