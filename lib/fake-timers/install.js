'use strict'
// withGlobal, createClock and install: the module shape of @sinonjs/fake-timers for one global.
const {
  TIMER_FUNCTIONS, PROMISE_FUNCTIONS, codedError, describe, toEpoch, hijack, checkObject, checkTickDelta
} = require('./common.js')
const { Clock } = require('./clock.js')
const { fillPerformance } = require('./globals.js')
const { makePromiseTimers } = require('./promises.js')
const { hasSignalTimeout, realSignalTimeout, makeSignalTimeout } = require('./diagnostics.js')

const noop = () => undefined

// ---- install -------------------------------------------------------------------------------

function faked (clock, fn) {
  Object.defineProperty(fn, 'clock', { value: clock, writable: true, configurable: true })
  return fn
}

const SEMANTICS = ['sinon', 'node']
const MAX_TO_FAKE = 1024 // most entries `toFake`/`toNotFake` may have (there are ~16 names)

function checkSemantics (semantics, fallback) {
  if (semantics === undefined) return fallback
  if (!SEMANTICS.includes(semantics)) {
    throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `semantics must be 'sinon' or 'node', got ${describe(semantics)}`)
  }
  return semantics
}

/** A boolean option (`failOnPending`, `captureSites`): true, false or absent. */
function checkFlag (value, what) {
  if (value === undefined || value === true || value === false) return value === true
  throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `${what} must be a boolean, got ${describe(value)}`)
}

function checkLoopLimit (loopLimit) {
  if (loopLimit === undefined || loopLimit === null || loopLimit === 0) return undefined
  if (typeof loopLimit !== 'number' || Number.isNaN(loopLimit)) {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `loopLimit must be a number, got ${describe(loopLimit)}`)
  }
  if (!(loopLimit >= 1)) throw codedError(RangeError, 'ERR_OUT_OF_RANGE', `loopLimit must be at least 1, got ${loopLimit}`)
  return loopLimit
}

/** A `toFake`/`toNotFake` list as an array of names (bounded, so a huge array-like cannot OOM). */
function nameList (option, value) {
  if (value === undefined || value === null) return []
  if (typeof value !== 'object' || typeof value.length !== 'number') {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `config.${option} must be an array of names, got ${describe(value)}`)
  }
  if (!(value.length <= MAX_TO_FAKE)) {
    throw codedError(RangeError, 'ERR_OUT_OF_RANGE', `config.${option} has ${value.length} entries; at most ${MAX_TO_FAKE} are allowed`)
  }
  return Array.prototype.slice.call(value)
}

/**
 * Fake timers for `globalObject`: the same four exports as the module, bound to that global.
 * `options.semantics` ('sinon' or 'node') is the default for its clocks.
 */
function withGlobal (globalObject, options) {
  const g = globalObject
  if (g === null || (typeof g !== 'object' && typeof g !== 'function')) {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `withGlobal expects a global object, got ${describe(g)}`)
  }
  checkObject(g, 'The global object')
  checkObject(options, 'withGlobal options')
  const defaultSemantics = checkSemantics(options != null ? options.semantics : undefined, 'sinon')
  if (g.Date === undefined) {
    throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', "The global object has no `Date`: fake timers need one")
  }
  const proc = g.process
  // (no prototype: a `toFake` entry such as 'toString' or '__proto__' must not find anything)
  const present = Object.assign(Object.create(null), {
    setTimeout: Boolean(g.setTimeout),
    clearTimeout: Boolean(g.clearTimeout),
    setInterval: Boolean(g.setInterval),
    clearInterval: Boolean(g.clearInterval),
    Date: true,
    setImmediate: typeof g.setImmediate === 'function',
    clearImmediate: typeof g.clearImmediate === 'function',
    hrtime: Boolean(proc) && typeof proc.hrtime === 'function',
    nextTick: Boolean(proc) && typeof proc.nextTick === 'function',
    performance: Boolean(g.performance) && typeof g.performance.now === 'function',
    queueMicrotask: Object.prototype.hasOwnProperty.call(g, 'queueMicrotask'),
    requestAnimationFrame: typeof g.requestAnimationFrame === 'function',
    cancelAnimationFrame: typeof g.cancelAnimationFrame === 'function',
    requestIdleCallback: typeof g.requestIdleCallback === 'function',
    cancelIdleCallback: typeof g.cancelIdleCallback === 'function',
    Intl: Boolean(g.Intl) && typeof g.Intl === 'object',
    // where the global has one (Node 26, a polyfill): sinon 15.5 fakes `Temporal.Now`
    Temporal: g.Temporal !== null && typeof g.Temporal === 'object' &&
      g.Temporal.Now !== undefined && g.Temporal.Instant !== undefined,
    // seqloop's extension (both semantics): `AbortSignal.timeout` on the fake clock
    AbortSignal: hasSignalTimeout(g)
  })
  // the originals, by the names `toFake` takes (the first five even when missing, as sinon lists them)
  const timers = {
    setTimeout: g.setTimeout,
    clearTimeout: g.clearTimeout,
    setInterval: g.setInterval,
    clearInterval: g.clearInterval,
    Date: g.Date
  }
  for (const name of ['setImmediate', 'clearImmediate', 'hrtime', 'nextTick', 'performance', 'requestAnimationFrame',
    'queueMicrotask', 'cancelAnimationFrame', 'requestIdleCallback', 'cancelIdleCallback', 'Intl', 'Temporal']) {
    if (!present[name]) continue
    timers[name] = name === 'hrtime' || name === 'nextTick' ? proc[name] : g[name]
  }
  // what it fakes is a static method: `timers.AbortSignal.timeout` is the real one
  if (present.AbortSignal) timers.AbortSignal = realSignalTimeout(g)

  const env = {
    global: g,
    timers,
    NativeDate: g.Date,
    NativeIntl: timers.Intl,
    NativeTemporal: timers.Temporal,
    timerObjects: false,
    installed: null, // the clock installed through this withGlobal, if any
    runSoon: null
  }
  if (typeof g.setTimeout === 'function') {
    const probe = g.setTimeout(noop, 0)
    env.timerObjects = probe !== null && typeof probe === 'object'
    if (typeof g.clearTimeout === 'function') g.clearTimeout(probe)
  }
  const soon = present.setImmediate ? g.setImmediate : g.setTimeout
  env.runSoon = typeof soon === 'function' ? (fn) => soon.call(g, fn) : (fn) => Promise.resolve().then(fn)

  function createClock (now, loopLimit, clockOptions) {
    checkObject(clockOptions, 'createClock options')
    const semantics = checkSemantics(clockOptions != null ? clockOptions.semantics : undefined, defaultSemantics)
    const captureSites = checkFlag(clockOptions != null ? clockOptions.captureSites : undefined, 'captureSites')
    return new Clock(env, now, checkLoopLimit(loopLimit), semantics, captureSites)
  }

  function install (config) {
    checkObject(config, 'The install config')
    if (arguments.length > 1 || config instanceof Date || Array.isArray(config) ||
      (config !== undefined && (config === null || typeof config !== 'object'))) {
      throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
        `FakeTimers.install called with ${describe(config)} install requires an object parameter`)
    }
    if (config === undefined) config = {}
    if (g.Date.isFake === true || env.installed !== null) {
      throw codedError(TypeError, 'ERR_INVALID_STATE', "Can't install fake timers twice on the same global object.")
    }
    const hasToFake = Object.prototype.hasOwnProperty.call(config, 'toFake')
    const hasToNotFake = Object.prototype.hasOwnProperty.call(config, 'toNotFake')
    if (hasToFake && hasToNotFake) {
      throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', 'config.toFake and config.toNotFake cannot be used together')
    }
    if (config.target) {
      throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', 'config.target is no longer supported. Use `withGlobal(target)` instead.')
    }
    const semantics = checkSemantics(config.semantics, defaultSemantics)
    const advanceTimeDelta = config.shouldAdvanceTime ? config.advanceTimeDelta || 20 : undefined
    checkTickDelta(advanceTimeDelta)
    const toFake = hasToFake ? nameList('toFake', config.toFake) : []
    const toNotFake = hasToNotFake ? nameList('toNotFake', config.toNotFake) : []
    const all = Object.keys(timers)
    let methods
    if (toFake.length !== 0) {
      methods = toFake
    } else {
      // nothing listed, or `toFake: []`: everything, as sinon 15.5 (the real microtask queues
      // stay with semantics 'node' unless `toFake` names them)
      methods = hasToNotFake ? all.filter((m) => !toNotFake.includes(m)) : all
      if (semantics === 'node') methods = methods.filter((m) => m !== 'nextTick' && m !== 'queueMicrotask')
    }
    const missing = (name) => {
      if (config.ignoreMissingTimers) return
      throw codedError(ReferenceError, 'ERR_MISSING_TIMER', `non-existent timers and/or objects cannot be faked: '${describe(name)}'`)
    }

    const failOnPending = checkFlag(config.failOnPending, 'config.failOnPending')
    const captureSites = checkFlag(config.captureSites, 'config.captureSites') || failOnPending
    const clock = createClock(config.now, config.loopLimit, { semantics, captureSites })
    clock._failOnPending = failOnPending
    clock.shouldClearNativeTimers = config.shouldClearNativeTimers === true
    clock.abortListenerMap = new Map()
    clock.methods = methods
    if (methods.includes('performance') && present.performance &&
      !fillPerformance(clock, env, toEpoch(config.now)) && hasToFake) missing('performance')
    const saved = []
    const faking = new Set()
    for (const name of methods) {
      if (!present[name]) {
        missing(name)
        continue
      }
      if (faking.has(name)) continue
      faking.add(name)
      if (name === 'AbortSignal') {
        hijack(saved, g.AbortSignal, 'timeout', faked(clock, makeSignalTimeout(clock, g)))
        continue
      }
      const owner = name === 'hrtime' || name === 'nextTick' ? proc : g
      clock[`_${name}`] = owner[name]
      let fake = clock[name]
      if (name !== 'Date' && name !== 'Intl' && name !== 'Temporal' && name !== 'performance') fake = faked(clock, fake)
      else if (name === 'performance') faked(clock, fake)
      hijack(saved, owner, name, fake)
    }
    if (g === globalThis) {
      const timersModule = require('node:timers')
      for (const name of TIMER_FUNCTIONS) {
        if (faking.has(name)) hijack(saved, timersModule, name, clock[name])
      }
      const promiseModule = require('node:timers/promises')
      const promiseFakes = makePromiseTimers(clock)
      for (const name of PROMISE_FUNCTIONS) {
        if (faking.has(name)) hijack(saved, promiseModule, name, promiseFakes[name])
      }
    }
    clock._installed = { saved }
    env.installed = clock
    if (config.shouldAdvanceTime) {
      clock.setTickMode({ mode: 'interval', delta: advanceTimeDelta })
    }
    return clock
  }

  return { timers, createClock, install, withGlobal }
}

module.exports = { withGlobal }
