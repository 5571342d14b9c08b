'use strict'
// The EventLoop facade: the native loop (`NativeEventLoop`, src/binding/event_loop/) orders
// timers, immediates, hostcalls, streams and events; this class keeps the timer and immediate
// callbacks in JS, adds the `...args` rest parameters of Node's timer functions, and runs due
// callbacks in batches (see `runBatch`). The native side's internal entry points (the hooks
// method, the process-wide raw timer functions, the live-loop counter) are taken here and are
// not part of the package's API.
const native = require('./native.js')

const { AsyncResource } = require('node:async_hooks')
const { Slots } = require('./slots.js')

/** A JS class's own receiver brand (see `guardReceivers` in lib/index.js). */
const kIsInstance = Symbol.for('seqloop.isInstance')

// Installs the batch runner; taken off the native prototype so only this facade can call it.
const installHooks = native.NativeEventLoop.prototype.__seqloopHooks
delete native.NativeEventLoop.prototype.__seqloopHooks

// The WebAssembly build's run driver arms JS timers (src/binding/ffi/uv_wasm.rs): these, the real
// ones as the package loads, never a fake clock's installed later (docs/wasm.md).
if (typeof native.__seqloopWasmTimers === 'function') {
  native.__seqloopWasmTimers({ setTimeout, clearTimeout, setImmediate, clearImmediate })
}

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
} = native.__seqloopEventLoopRaw()

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
    table.handle = installHooks.call(this, { runner: runBatch, table })
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

// The WebAssembly build (docs/wasm.md) has no N-API async contexts (emnapi implements
// `napi_async_init` only with @emnapi/node-binding), so its stream and event listeners would run
// in the async context of the run instead of the one they were registered in. Bound here to the
// registration's context, they see the same AsyncLocalStorage stores as with the native addon.
if (native.__napiBindingTarget === 'wasm32-wasi') {
  const { onStream: nativeOnStream, onEvent: nativeOnEvent } = native.NativeEventLoop.prototype
  const bound = (fn) => (typeof fn === 'function' ? AsyncResource.bind(fn) : fn)
  const method = (value) => ({ value, writable: true, configurable: true, enumerable: false })
  Object.defineProperties(EventLoop.prototype, {
    onStream: method(function onStream (callId, fn) {
      return nativeOnStream.call(this, callId, bound(fn))
    }),
    onEvent: method(function onEvent (fn) {
      return nativeOnEvent.call(this, bound(fn))
    }),
  })
}

/** Internals for seqloop's own tests (not reachable through the package's exports map). */
const internals = {
  /** A handle of `loop` for `rawFunctions`; with `hooks`, installs its batch runner (once). */
  loopHandle: (loop, hooks) => installHooks.call(loop, hooks),
  rawFunctions: native.__seqloopEventLoopRaw,
  liveCount: native.__seqloopLiveLoops,
}

module.exports = { EventLoop, internals }
