'use strict'
// seqloop/fake-timers: constants, coded errors and the coercions (delays, tick values, epochs)
// shared by the other files of lib/fake-timers/.
const { slice } = Array.prototype
/** The `args` of a timer set without extra arguments (one shared frozen array, not one each). */
const NO_ARGS = Object.freeze([])
const ID_START = 1e12 // far above Node's async ids: a number tells a fake timer from a native one
const TIMEOUT_MAX = 2 ** 31 - 1
// Fake ms since the start that the clock may reach: every deadline (at most TIMEOUT_MAX ms
// ahead) stays an exact integer, as the native queue requires.
const MAX_MONO = Number.MAX_SAFE_INTEGER - TIMEOUT_MAX
const FRAME_MS = 16
const IDLE_MS = 50
const BATCH = 256 // most timers one popDue call hands back (per lane)
const STAGE = 256 // most timers one insertMany call hands over (per lane)
const MAX_SPAN = 256 // most deadlines one popDue call hands back
const TICK_BOUND = 1e7 // most timers one tick fires (see Clock._tickBound)

// Timer record states.
const QUEUED = 0 // in the insertion buffer
const ARMED = 1 // in a native queue, or popped into its lane's batch and not yet taken
const TAKEN = 2 // taken from the lane, about to fire
const DONE = 3 // fired (non-repeating) or cleared
const IDLE = 4 // an idle callback without a timeout, in the clock's `_idle` list
const PARKED = 5 // an interval of NaN ms after its first run (pending, never due)

const CREATORS = {
  Timeout: 'setTimeout',
  Interval: 'setInterval',
  Immediate: 'setImmediate',
  AnimationFrame: 'requestAnimationFrame',
  IdleCallback: 'requestIdleCallback'
}
const CLEARABLE = {
  clearTimeout: ['Timeout', 'Interval'],
  clearInterval: ['Timeout', 'Interval'],
  clearImmediate: ['Immediate'],
  cancelAnimationFrame: ['AnimationFrame'],
  cancelIdleCallback: ['IdleCallback']
}
const TIMER_FUNCTIONS = ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate']
const PROMISE_FUNCTIONS = ['setTimeout', 'setImmediate', 'setInterval']

function codedError (Ctor, code, message) {
  const e = new Ctor(message)
  e.code = code
  return e
}

function describe (v) {
  try {
    return String(v)
  } catch {
    try {
      return Object.prototype.toString.call(v)
    } catch {
      return `[${typeof v}]` // a revoked proxy
    }
  }
}

/** Refuses, with a coded TypeError, an object whose properties cannot be read (a revoked proxy). */
function checkObject (v, what) {
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return
  try {
    Reflect.getPrototypeOf(v)
  } catch {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `${what} cannot be read (a revoked proxy?)`)
  }
}

/** A tick mode's `delta` (real and fake ms per step): a positive finite number, or undefined. */
function checkTickDelta (delta) {
  if (delta === undefined) return
  if (typeof delta !== 'number') {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `The tick delta must be a number of milliseconds, got ${describe(delta)}`)
  }
  if (!(delta > 0 && delta <= TIMEOUT_MAX)) {
    throw codedError(RangeError, 'ERR_OUT_OF_RANGE', `The tick delta must be more than 0 and at most ${TIMEOUT_MAX} ms, got ${delta}`)
  }
}

function checkCallback (func) {
  if (typeof func === 'function') return
  if (func === undefined) {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', 'Callback must be provided to timer calls')
  }
  throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
    `[ERR_INVALID_CALLBACK]: Callback must be a function. Received ${describe(func)} of type ${typeof func}`)
}

/**
 * `convert(value)` (a delay or handle coerced as sinon or Node coerce it), with a code on an error
 * the engine raises on the way: the same class and message as sinon's (or Node's), `code`
 * `ERR_INVALID_ARG_TYPE` on a TypeError (a Symbol, an object with no usable `valueOf`/`toString`
 * or `Symbol.toPrimitive`, a detached typed array) or `ERR_OUT_OF_RANGE` on a RangeError (a string
 * past the engine's length limit, an array nested deep enough to overflow the stack), and the
 * engine's error as `cause`. Anything else (what the caller's own `valueOf`/`toString` threw)
 * propagates as it is.
 */
function coerce (convert, value) {
  try {
    return convert(value)
  } catch (err) {
    const Ctor = err instanceof TypeError ? TypeError : err instanceof RangeError ? RangeError : null
    if (Ctor === null) throw err
    const e = new Ctor(err.message, { cause: err })
    e.code = Ctor === TypeError ? 'ERR_INVALID_ARG_TYPE' : 'ERR_OUT_OF_RANGE'
    throw e
  }
}

const parseDelay = (delay) => parseInt(delay, 10)
const parseDelayString = (delay) => parseInt(String(delay), 10)

/**
 * sinon's delay coercion (the default): non-numbers through `parseInt`, NaN and ±Infinity are 0,
 * more than 2^31 - 1 is 1, negative is 0. The result may keep a fraction (it is the timer's
 * `delay`); `wholeMs` gives the milliseconds the deadline moves by.
 */
function sinonDelay (delay) {
  if (typeof delay !== 'number') delay = coerce(parseDelay, delay)
  if (!(delay > 0) || delay === Infinity) return 0 // NaN, negative, ±Infinity
  if (delay > TIMEOUT_MAX) return 1
  return delay
}

/** sinon's interval coercion: `parseInt(String(delay))`, more than 2^31 - 1 is 1; NaN stays NaN. */
function sinonInterval (delay) {
  const n = typeof delay === 'number' ? parseDelayString(delay) : coerce(parseDelayString, delay)
  if (n > TIMEOUT_MAX) return 1
  return n > 0 ? n : n === n ? 0 : NaN
}

/** The whole milliseconds of a coerced delay, as sinon reads it (`parseInt(String(delay))`). */
function wholeMs (d) {
  return Number.isInteger(d) ? d : (parseInt(String(d), 10) || 0)
}

/** Node's delay coercion (`semantics: 'node'`): Number(delay); outside [1, 2^31 - 1] it is 1. */
function nodeDelay (delay) {
  if (typeof delay !== 'number') delay = coerce(Number, delay)
  if (!(delay >= 1 && delay <= TIMEOUT_MAX)) return 1
  return Math.trunc(delay)
}

const TICK_FORMAT = "tick only understands numbers, 'm:s' and 'h:m:s'. Each part must be two digits"

/** `tick`/`jump` argument → milliseconds (may be fractional). */
function parseTickValue (value) {
  if (typeof value === 'number') {
    if (Number.isNaN(value)) {
      throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', 'Tick value must be a number of milliseconds or a time string, got NaN')
    }
    if (value < 0) throw codedError(RangeError, 'ERR_OUT_OF_RANGE', 'Negative ticks are not supported')
    if (value === Infinity) throw codedError(RangeError, 'ERR_OUT_OF_RANGE', 'Tick value must be finite, got Infinity')
    return value
  }
  if (typeof value === 'bigint') return parseTickValue(Number(value))
  // sinon reads a missing or empty tick value as 0
  if (value === undefined || value === null || value === '') return 0
  if (typeof value !== 'string') {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
      `Tick value must be a number of milliseconds or a time string, got ${describe(value)}`)
  }
  const parts = value.split(':')
  // 'h:m:s', 'm:s' or 's': the last part has one or two digits, the others two
  if (parts.length > 3 || !parts.every((p, i) => (i === parts.length - 1 ? /^\d{1,2}$/ : /^\d{2}$/).test(p))) {
    throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', TICK_FORMAT)
  }
  let seconds = 0
  for (const p of parts) {
    const n = Number(p)
    if (n >= 60) throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `Invalid time ${value}`)
    seconds = seconds * 60 + n
  }
  return seconds * 1000
}

/** `now` option → epoch milliseconds. */
function toEpoch (now) {
  if (!now) return 0
  if (typeof now === 'number') return now
  checkObject(now, 'now')
  if (typeof now.getTime === 'function') return now.getTime() // a Date, from any realm
  if (typeof now === 'object' && typeof now.epochMilliseconds === 'number') return now.epochMilliseconds
  throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', 'now should be milliseconds since UNIX epoch')
}

function abortError (signal) {
  const e = new Error('The operation was aborted', { cause: signal.reason })
  e.name = 'AbortError'
  e.code = 'ABORT_ERR'
  return e
}


/** Replaces `target[name]`, saving its descriptor (or its absence) for `restore`. */
function hijack (saved, target, name, value) {
  const desc = Object.getOwnPropertyDescriptor(target, name)
  saved.push({ target, name, desc })
  if (desc === undefined || desc.configurable) {
    Object.defineProperty(target, name, {
      value,
      writable: true,
      configurable: true,
      enumerable: desc === undefined ? true : desc.enumerable
    })
  } else {
    target[name] = value
  }
}

function restore ({ target, name, desc }) {
  if (desc === undefined) {
    delete target[name]
  } else if (Object.getOwnPropertyDescriptor(target, name)?.configurable !== false) {
    Object.defineProperty(target, name, desc)
  } else {
    target[name] = desc.value
  }
}

module.exports = {
  slice,
  NO_ARGS,
  ID_START,
  TIMEOUT_MAX,
  MAX_MONO,
  FRAME_MS,
  IDLE_MS,
  BATCH,
  STAGE,
  MAX_SPAN,
  TICK_BOUND,
  QUEUED,
  ARMED,
  TAKEN,
  DONE,
  IDLE,
  PARKED,
  CREATORS,
  CLEARABLE,
  TIMER_FUNCTIONS,
  PROMISE_FUNCTIONS,
  codedError,
  describe,
  checkObject,
  checkTickDelta,
  checkCallback,
  coerce,
  sinonDelay,
  sinonInterval,
  wholeMs,
  nodeDelay,
  parseTickValue,
  toEpoch,
  abortError,
  hijack,
  restore
}
