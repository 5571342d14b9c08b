'use strict'
// `test.setupFiles: ['seqloop/vitest']`: every `vi` timer method runs on a seqloop clock.
//
// Why the `vi` methods and not a smaller seam: Vitest bundles its own copy of
// `@sinonjs/fake-timers` and keeps its FakeTimers object in a closure inside `createVitest()`,
// reachable from nothing a setup file can touch (no export, no global, no field on `vi`). What is
// reachable is `vi` itself: a plain object whose timer methods all delegate to that FakeTimers
// object. `useSeqloopTimers(vi)` replaces exactly those methods with forwards to `ViTimers`, the
// same state machine on seqloop's `withGlobal(globalThis)`, following the semantics of the Vitest
// release it runs under (scripts/vitest-suite.sh runs Vitest's own FakeTimers suite against
// ViTimers, with the rules of that suite's release):
//
// - `useFakeTimers(config?)` merges `config` over the project's `test.fakeTimers` (read from
//   Vitest's worker state at each call, so `vi.setConfig` applies) and installs with
//   `ignoreMissingTimers: true`. Without `toFake`/`toNotFake`, everything but `nextTick` and
//   `queueMicrotask` is faked; with only `toNotFake`, those two are added to it from Vitest 5.0.1
//   on (5.0.0 and its pre-releases fake them unless listed: RULES below). The start time is
//   the date set by an earlier `vi.setSystemTime`, else the current (fake or real) `Date.now()`.
//   Faking `nextTick` in a child-process pool is refused, as Vitest does.
// - `setSystemTime(time)` before `useFakeTimers` fakes only `Date` (and `Temporal` where present)
//   at that time; after it, it moves the fake clock without firing timers. A Temporal.Instant or
//   ZonedDateTime counts by its epoch milliseconds from Vitest 5.1.0 on.
// - every advance/run method throws Vitest's "timers APIs are not mocked" error when not faking.
// - `advanceTimersToNextTimer(Async)` runs the next timer and then every timer due at that time.
//
// The replaced methods are checked to exist first (and `setTimerTickMode`, `advanceTimersToNextFrame`
// only replaced when this Vitest has them) and replaced all or none; a Vitest whose `vi` lacks one,
// or whose `vi` cannot be changed, throws `ERR_UNSUPPORTED_RUNNER` at setup instead of running half
// on sinon.

const { withGlobal } = require('./fake-timers')

const REQUIRED = [
  'useFakeTimers', 'useRealTimers', 'isFakeTimers', 'advanceTimersByTime', 'advanceTimersByTimeAsync',
  'advanceTimersToNextTimer', 'advanceTimersToNextTimerAsync', 'runAllTimers', 'runAllTimersAsync',
  'runOnlyPendingTimers', 'runOnlyPendingTimersAsync', 'runAllTicks', 'getTimerCount', 'clearAllTimers',
  'setSystemTime', 'getMockedSystemTime', 'getRealSystemTime'
]
const OPTIONAL = ['advanceTimersToNextFrame', 'setTimerTickMode']
// Vitest 4 passes `toNotFake` through beside its own `toFake` and mocks `Date` alone without a
// clock; these semantics are Vitest 5's.
const SUPPORTED_MAJORS = [5]
const NODE_INTERNAL = ['nextTick', 'queueMicrotask']
// Where Vitest 5 releases differ, the first release with the later behaviour (read from each
// release's published dist; nothing else in FakeTimers or the `vi` timer methods changed from 5.0.0
// to 5.1.2): `toNotFake` alone keeps NODE_INTERNAL real (5.0.0 faked them unless listed), and
// `setSystemTime` reads a Temporal object's epoch milliseconds (5.0.x passes it to `new Date`).
const RULES = { toNotFakeKeepsNodeInternals: '5.0.1', temporalSystemTime: '5.1.0' }
const NOT_MOCKED = 'A function to advance timers was called but the timers APIs are not mocked. ' +
  'Call `vi.useFakeTimers()` in the test file first.'

const controllers = new WeakMap() // vi → its ViTimers
let lastVi = null // the `vi` set up last: currentClock()'s default

function unsupported (message) {
  const e = new Error(`seqloop/vitest: ${message}`)
  e.code = 'ERR_UNSUPPORTED_RUNNER'
  return e
}

/** [major, minor, patch, isRelease] of a semver string (a pre-release sorts below its release). */
function semver (version) {
  const m = /^(\d+)\.(\d+)\.(\d+)(-)?/.exec(String(version))
  return m ? [Number(m[1]), Number(m[2]), Number(m[3]), m[4] ? 0 : 1] : null
}

/** Whether `version` (a Vitest release; undefined: the latest) has the behaviour from `since` on. */
function hasRule (version, since) {
  if (version === undefined) return true
  const a = semver(version)
  const b = semver(since)
  if (a === null) return true
  for (let i = 0; i < 4; i++) if (a[i] !== b[i]) return a[i] > b[i]
  return true
}

function isChildProcess () {
  return typeof process !== 'undefined' && !!process.send
}

/** A Temporal.Instant or ZonedDateTime counts by its epoch milliseconds, as in Vitest. */
function epochOf (time) {
  return time && typeof time === 'object' && 'epochMilliseconds' in time ? time.epochMilliseconds : time
}

/**
 * Vitest's FakeTimers on seqloop's clock: the same constructor (`{ global, config }`), methods and
 * meaning, so `vi` only forwards to it (and Vitest's own FakeTimers tests can run against it).
 */
class ViTimers {
  /**
   * `vitestVersion`: the Vitest release whose rules to follow where 5.x releases differ (RULES);
   * undefined follows the latest.
   */
  constructor ({ global = globalThis, config, vitestVersion } = {}, lazy = false) {
    this._global = global
    this._fakeApi = lazy ? null : withGlobal(global)
    this._userConfig = config
    this._version = vitestVersion
    this._realNow = global.Date.now.bind(global.Date)
    this._clock = null
    this._fakingTime = false
    this._fakingDate = null // a Date while only Date is faked (setSystemTime before useFakeTimers)
  }

  /**
   * seqloop's `withGlobal(global)`: made by the constructor, as Vitest's FakeTimers does, or (for
   * `vi`, whose FakeTimers Vitest makes on the first timer call) on first use, so what a test file
   * adds to the global before that (a Temporal polyfill, say) is seen and faked.
   */
  get _fake () {
    if (this._fakeApi === null) this._fakeApi = withGlobal(this._global)
    return this._fakeApi
  }

  /** The installed seqloop clock, or null. */
  get clock () { return this._clock }

  configure (config) { this._userConfig = config }

  useFakeTimers () {
    const now = this._fakingDate || Date.now()
    if (this._clock !== null) this._clock.uninstall()
    this._clock = null
    this._fakingDate = null
    let toFake = this._userConfig?.toFake
    if (isChildProcess() && toFake?.includes('nextTick')) {
      throw new Error('process.nextTick cannot be mocked inside child_process')
    }
    let toNotFake = this._userConfig?.toNotFake
    if (toFake === undefined && toNotFake === undefined) {
      toFake = Object.keys(this._fake.timers).filter((name) => !NODE_INTERNAL.includes(name))
    } else if (toFake === undefined && hasRule(this._version, RULES.toNotFakeKeepsNodeInternals)) {
      toNotFake = [...toNotFake, ...NODE_INTERNAL.filter((name) => !toNotFake.includes(name))]
    }
    if (isChildProcess() && toNotFake && !toNotFake.includes('nextTick')) toNotFake = [...toNotFake, 'nextTick']
    this._clock = this._fake.install({
      now,
      ...this._userConfig,
      ...(toFake && { toFake }),
      ...(toNotFake && { toNotFake }),
      ignoreMissingTimers: true
    })
    this._fakingTime = true
  }

  useRealTimers () {
    if (this._clock !== null) this._clock.uninstall()
    this._clock = null
    this._fakingTime = false
    this._fakingDate = null
  }

  dispose () { this.useRealTimers() }

  isFakeTimers () { return this._fakingTime }

  _checked () {
    if (!this._fakingTime) throw new Error(NOT_MOCKED)
    return this._clock
  }

  runAllTimers () { this._checked().runAll() }
  async runAllTimersAsync () { await this._checked().runAllAsync() }
  runOnlyPendingTimers () { this._checked().runToLast() }
  async runOnlyPendingTimersAsync () { await this._checked().runToLastAsync() }
  advanceTimersByTime (ms) { this._checked().tick(ms) }
  async advanceTimersByTimeAsync (ms) { await this._checked().tickAsync(ms) }
  advanceTimersToNextFrame () { this._checked().runToFrame() }
  runAllTicks () { this._checked().runMicrotasks() }

  advanceTimersToNextTimer (steps = 1) {
    const clock = this._checked()
    for (let i = steps; i > 0; i--) {
      clock.next()
      clock.tick(0) // every other timer due at that same time, too
      if (clock.countTimers() === 0) break
    }
  }

  async advanceTimersToNextTimerAsync (steps = 1) {
    const clock = this._checked()
    for (let i = steps; i > 0; i--) {
      await clock.nextAsync()
      clock.tick(0)
      if (clock.countTimers() === 0) break
    }
  }

  /** Drops every pending timer and keeps the current fake time. */
  reset () {
    const clock = this._checked()
    const { now } = clock
    clock.reset()
    clock.setSystemTime(now)
  }

  setSystemTime (time) {
    const t = hasRule(this._version, RULES.temporalSystemTime) ? epochOf(time) : time
    const date = t === undefined || t instanceof Date ? t : new Date(t)
    if (this._fakingTime) {
      this._clock.setSystemTime(date)
    } else if (this._fakingDate) {
      this._fakingDate = date ?? new Date(this._realNow())
      this._clock.setSystemTime(this._fakingDate)
    } else {
      this._fakingDate = date ?? new Date(this._realNow())
      this._clock = this._fake.install({ now: this._fakingDate, toFake: ['Date', 'Temporal'], ignoreMissingTimers: true })
    }
  }

  getMockedSystemTime () {
    return this._fakingTime ? new Date(this._clock.now) : this._fakingDate
  }

  getRealSystemTime () { return this._realNow() }

  getTimerCount () { return this._checked().countTimers() }

  clearAllTimers () { if (this._fakingTime) this._clock.reset() }

  setTimerTickMode (mode, interval) {
    const clock = this._checked()
    if (mode === 'manual') clock.setTickMode({ mode: 'manual' })
    else if (mode === 'nextTimerAsync') clock.setTickMode({ mode: 'nextAsync' })
    else if (mode === 'interval') clock.setTickMode({ mode: 'interval', delta: interval })
    else throw new Error(`Invalid tick mode: ${mode}`)
  }
}

/**
 * Makes `vi`'s timer methods run on a seqloop clock. Idempotent per `vi`; returns the ViTimers
 * behind them (its `clock` is the installed seqloop clock, or null).
 * `options.global` (default globalThis) is the global to fake; `options.config()` returns the
 * project's `fakeTimers` config (default: read from Vitest's worker state at each call);
 * `options.vitestVersion` is the running Vitest's version (default: the latest's rules).
 */
function useSeqloopTimers (vi, options = {}) {
  if (vi === null || typeof vi !== 'object') {
    throw unsupported(`expected Vitest's \`vi\` object, got ${vi === null ? 'null' : typeof vi}`)
  }
  const existing = controllers.get(vi)
  if (existing) return existing
  const missing = REQUIRED.filter((name) => typeof vi[name] !== 'function')
  if (missing.length !== 0) {
    throw unsupported(`this Vitest's \`vi\` has no ${missing.join(', ')}; supported: Vitest 5`)
  }
  const global = options.global || globalThis
  const project = options.config || (() => {
    const state = global.__vitest_worker__
    if (!state || !state.config) {
      throw unsupported("Vitest's worker state is not there: load seqloop/vitest from `test.setupFiles`")
    }
    return state.config.fakeTimers
  })
  const timers = new ViTimers({ global, vitestVersion: options.vitestVersion }, true)
  const methods = {
    useFakeTimers (config) {
      const base = project()
      if (isChildProcess() && (config?.toFake?.includes('nextTick') || base?.toFake?.includes('nextTick'))) {
        throw new Error('vi.useFakeTimers({ toFake: ["nextTick"] }) is not supported in node:child_process. ' +
          'Use --pool=threads if mocking nextTick is required.')
      }
      timers.configure(config ? { ...base, ...config } : base)
      timers.useFakeTimers()
      return vi
    },
    isFakeTimers () { return timers.isFakeTimers() },
    getTimerCount () { return timers.getTimerCount() },
    getMockedSystemTime () { return timers.getMockedSystemTime() },
    getRealSystemTime () { return timers.getRealSystemTime() },
    // `vi` takes no step count: one timer per call
    advanceTimersToNextTimer () { timers.advanceTimersToNextTimer(); return vi },
    async advanceTimersToNextTimerAsync () { await timers.advanceTimersToNextTimerAsync(); return vi }
  }
  for (const name of ['useRealTimers', 'advanceTimersByTime', 'advanceTimersToNextFrame', 'runAllTimers',
    'runOnlyPendingTimers', 'runAllTicks', 'clearAllTimers', 'setSystemTime', 'setTimerTickMode']) {
    methods[name] = function (...args) { timers[name](...args); return vi }
  }
  for (const name of ['advanceTimersByTimeAsync', 'runAllTimersAsync', 'runOnlyPendingTimersAsync']) {
    methods[name] = async function (...args) { await timers[name](...args); return vi }
  }
  const originals = []
  for (const name of [...REQUIRED, ...OPTIONAL]) {
    if (typeof vi[name] !== 'function') continue // an optional method this Vitest does not have
    const original = vi[name]
    try {
      vi[name] = methods[name]
    } catch {} // a read-only method throws here (strict mode); the check below reports it
    if (vi[name] !== methods[name]) {
      for (const [n, fn] of originals) vi[n] = fn // all or nothing: never half on sinon
      throw unsupported(`cannot replace vi.${name} (is \`vi\` frozen?)`)
    }
    originals.push([name, original])
  }
  controllers.set(vi, timers)
  lastVi = vi
  return timers
}

/** Throws `ERR_UNSUPPORTED_RUNNER` unless `version` is a Vitest release this module follows. */
function checkVersion (version) {
  const major = Number(String(version).split('.')[0])
  if (!SUPPORTED_MAJORS.includes(major)) {
    throw unsupported(`Vitest ${version} is not supported (supported: Vitest ${SUPPORTED_MAJORS.join(', ')}); ` +
      'its fake timers follow other rules, so seqloop does not stand in for them')
  }
}

/** The seqloop clock behind `vi` (default: the `vi` set up last), or null when not faking. */
function currentClock (vi = lastVi) {
  const timers = vi === null ? undefined : controllers.get(vi)
  return timers ? timers.clock : null
}

module.exports = { useSeqloopTimers, currentClock, checkVersion, ViTimers }
