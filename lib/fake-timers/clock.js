'use strict'
// The fake clock's public API (sinon's clock methods) over the scheduling core.
const { promisify } = require('node:util')
const {
  slice, NO_ARGS, FRAME_MS, DONE, TAKEN, checkCallback, sinonDelay, sinonInterval, nodeDelay,
  parseTickValue, toEpoch, codedError, describe, restore, checkObject, checkTickDelta
} = require('./common.js')
const { ClockCore } = require('./clock-core.js')
const { makeDate, makeIntl, makeTemporal, durationMs } = require('./globals.js')
const { pendingList, pendingError, culprit } = require('./diagnostics.js')

const PUBLIC_METHODS = [
  'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate',
  'requestAnimationFrame', 'cancelAnimationFrame', 'requestIdleCallback', 'cancelIdleCallback',
  'nextTick', 'queueMicrotask', 'countTimers', 'runMicrotasks', 'tick', 'tickAsync', 'next',
  'nextAsync', 'runAll', 'runAllAsync', 'runToLast', 'runToLastAsync', 'runToFrame', 'jump',
  'reset', 'setSystemTime', 'uninstall', 'setTickMode', 'hrtime', 'pending'
]

/** The fake clock. Every public method is bound, so it can be passed around detached. */
class Clock extends ClockCore {
  constructor (env, start, loopLimit, semantics, captureSites) {
    super()
    this._env = env
    // `semantics: 'node'`: handles as `this`, Node's delay coercion and 1 ms floor (see README)
    this._node = semantics === 'node'
    this._start = Math.floor(toEpoch(start))
    this.loopLimit = loopLimit || 1000
    this._nextN = 1 // public ids are ID_START + n; `byId` is keyed by n (a small integer, not 0)
    this._installed = null
    this._tickMode = { mode: 'manual', counter: 0, delta: undefined }
    this._modeHandle = null
    this.methods = []
    this.shouldClearNativeTimers = false
    this.isNearInfiniteLimit = false
    this._warnedNative = false
    this._stacks = null // timer → Error made where it was set (see diagnostics.js for when)
    this._sites = captureSites === true // keep every timer's creation site
    this._failOnPending = false // `uninstall` throws ERR_PENDING_TIMERS when timers are left
    this._signalTimers = null // the timers behind the fake AbortSignal.timeout (a WeakSet)
    this._rearmed = null // timers created while a run was at its loop limit (a WeakSet)
    this._resetState()
    for (const name of PUBLIC_METHODS) {
      const bound = this[name].bind(this)
      Object.defineProperty(bound, 'name', { value: name })
      this[name] = bound
    }
    const clock = this
    this.hrtime.bigint = function bigint () { return clock._hrtimeBigint() }
    if (env.timers.performance !== undefined) {
      this.performance = Object.create(null)
      this.performance.now = function now () { return clock._perfNow() }
    }
    this.Date = makeDate(this, env.NativeDate)
    if (env.NativeIntl) this.Intl = makeIntl(this, env.NativeIntl)
    if (env.NativeTemporal) this.Temporal = makeTemporal(this, env.NativeTemporal)
    this.setTimeout[promisify.custom] = (delay, value) => new Promise((resolve) => clock.setTimeout(resolve, delay, value))
    this.setImmediate[promisify.custom] = (value) => new Promise((resolve) => clock.setImmediate(resolve, value))
  }

  /** The semantics this clock was made with: 'sinon' (the default) or 'node'. */
  get semantics () { return this._node ? 'node' : 'sinon' }

  /** The pending timers by id (a new Map on each read, as a view). */
  get timers () {
    const map = new Map()
    for (const t of this._pending()) map.set(t.id, t)
    return map
  }

  // ---- the timer API -----------------------------------------------------------------------

  /** A delay as this clock's semantics coerce it. */
  _delay (delay) { return this._node ? nodeDelay(delay) : sinonDelay(delay) }

  setTimeout (func, delay) {
    checkCallback(func)
    const args = arguments.length > 2 ? slice.call(arguments, 2) : NO_ARGS
    return this._handle(this._add('Timeout', func, args, this._delay(delay)))
  }

  clearTimeout (handle) { this._clearTimer(handle, 'clearTimeout') }

  setInterval (func, delay) {
    checkCallback(func)
    const args = arguments.length > 2 ? slice.call(arguments, 2) : NO_ARGS
    return this._handle(this._addInterval(func, args, delay))
  }

  _addInterval (func, args, delay) {
    if (this._node) return this._add('Interval', func, args, nodeDelay(delay))
    const every = sinonInterval(delay)
    if (every === every) return this._add('Interval', func, args, every)
    const t = this._add('Interval', func, args, 0)
    if (this._nanIntervals === null) this._nanIntervals = new WeakSet()
    this._nanIntervals.add(t)
    return t
  }

  clearInterval (handle) { this._clearTimer(handle, 'clearInterval') }

  setImmediate (func) {
    checkCallback(func)
    const args = arguments.length > 1 ? slice.call(arguments, 1) : NO_ARGS
    return this._handle(this._add('Immediate', func, args, 0))
  }

  clearImmediate (handle) { this._clearTimer(handle, 'clearImmediate') }

  requestAnimationFrame (func) {
    checkCallback(func)
    return this._add('AnimationFrame', func, NO_ARGS, FRAME_MS - (this._mono % FRAME_MS)).id
  }

  cancelAnimationFrame (id) { this._clearTimer(id, 'cancelAnimationFrame') }

  requestIdleCallback (func, options) {
    checkCallback(func)
    checkObject(options, 'requestIdleCallback options')
    const timeout = options !== null && typeof options === 'object' ? options.timeout : undefined
    return this._add('IdleCallback', func, NO_ARGS, timeout === undefined ? 0 : this._delay(timeout)).id
  }

  cancelIdleCallback (id) { this._clearTimer(id, 'cancelIdleCallback') }

  nextTick (func, ...args) {
    if (typeof func !== 'function') {
      throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
        `The "callback" argument must be of type function. Received ${describe(func)}`)
    }
    this._jobs.push({ func, args, kind: 'nextTick', stack: this.isNearInfiniteLimit ? new Error().stack : undefined })
  }

  queueMicrotask (func) {
    if (typeof func !== 'function') {
      throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
        `The "callback" argument must be of type function. Received ${describe(func)}`)
    }
    this._jobs.push({ func, args: NO_ARGS, kind: 'queueMicrotask', stack: this.isNearInfiniteLimit ? new Error().stack : undefined })
  }

  /**
   * The pending timers, in creation order: `{ id, kind, delay, callAt, createdAt }` each, where
   * `createdAt` is the creation site (stack frames outside seqloop) when it was captured, else null.
   */
  pending () { return pendingList(this) }

  /** Timers, immediates, frames, idle callbacks and faked microtasks still waiting. */
  countTimers () { return this._byId.size + this._jobs.length }

  runMicrotasks () { this._runJobs() }

  // ---- moving time ---------------------------------------------------------------------------

  /** A tick value in ms: a number, a time string, or (as in sinon 15.5) a Temporal.Duration. */
  _tickMs (value) {
    checkObject(value, 'The tick value')
    if (value !== null && typeof value === 'object' && typeof value.total === 'function') {
      return parseTickValue(durationMs(value, this._env.NativeTemporal, this.now))
    }
    return parseTickValue(value)
  }

  tick (value) {
    const target = this._advance(this._tickMs(value))
    this._runJobs()
    return this._runTo(target)
  }

  tickAsync (value) { return this._paused(() => this._tickAsync(value)) }

  async _tickAsync (value) {
    const target = this._advance(this._tickMs(value))
    this._runJobs()
    return this._runToAsync(target)
  }

  next () {
    this._runJobs()
    this._step()
    return this.now
  }

  /** Fires the next timer, whenever it is due, and the jobs it queues. */
  _step () {
    const t = this._take(Infinity)
    if (t === null) return
    this._ticking++
    try {
      this._fire(t)
      this._runJobs()
    } finally {
      this._ticking--
    }
  }

  nextAsync () { return this._paused(() => this._nextAsync()) }

  async _nextAsync () {
    this._runJobs()
    this._ticking++
    let r
    try {
      r = await this._runInImmediate(Infinity)
    } finally {
      this._ticking--
    }
    // one more macrotask, so promise chains the timer started settle before this one does
    await this._soon()
    if (r !== null && r.failed) throw r.error
    return this.now
  }

  runAll () {
    this._runJobs()
    for (let i = 0; i < this.loopLimit; i++) {
      if (this._byId.size === 0) {
        this.isNearInfiniteLimit = false
        return this.now
      }
      if (i === this.loopLimit - 1) this.isNearInfiniteLimit = true
      this._runJobs()
      this._step()
    }
    throw this._loopErrorForNext()
  }

  runAllAsync () { return this._paused(() => this._runAllAsync()) }

  async _runAllAsync () {
    this._runJobs()
    this._ticking++
    try {
      // Each step first yields (the timer runs inside an original setImmediate callback), so
      // timers created by pending promise reactions are seen before deciding that none is left.
      for (let i = 0; i < this.loopLimit; i++) {
        if (i === this.loopLimit - 1) this.isNearInfiniteLimit = true
        const r = await this._runInImmediate(Infinity)
        if (r === null) {
          this.isNearInfiniteLimit = false
          return this.now
        }
        if (r.failed) throw r.error
      }
      const last = await this._runInImmediate(-1)
      if (last === null && this._byId.size === 0) return this.now
    } finally {
      this._ticking--
    }
    throw this._loopErrorForNext()
  }

  _loopErrorForNext () {
    this.isNearInfiniteLimit = false
    return this._loopError(culprit(this))
  }

  runToLast () {
    this._runJobs()
    const last = this._maxDeadline()
    if (last < 0) return this.now
    return this._runTo(Math.max(last, this._mono))
  }

  /** A promise that settles in a callback of the original setImmediate. */
  _soon () { return new Promise((resolve) => this._env.runSoon(resolve)) }

  runToLastAsync () { return this._paused(() => this._runToLastAsync()) }

  async _runToLastAsync () {
    this._runJobs()
    await this._soon()
    const last = this._maxDeadline()
    if (last < 0) return this.now
    return this._runToAsync(Math.max(last, this._mono))
  }

  runToFrame () {
    return this.tick(FRAME_MS - (this._mono % FRAME_MS))
  }

  /** Moves time forward firing each due timer once, all at the new time, in creation order. */
  jump (value) {
    const target = this._advance(this._tickMs(value))
    this._runJobs()
    const due = []
    for (let t = this._take(target); t !== null; t = this._take(target)) due.push(t)
    due.sort((a, b) => (a._imm === b._imm ? a._order - b._order : a._imm ? -1 : 1))
    this._mono = target
    this._ticking++
    const errors = { failed: false, first: undefined }
    try {
      for (const t of due) {
        if (t._state !== TAKEN) continue
        t._at = target
        this._fireKeeping(t, errors)
      }
    } finally {
      this._ticking--
    }
    if (errors.failed) throw errors.first
    return this._runTo(target)
  }

  /** Drops every timer and microtask and goes back to the start time. */
  reset () {
    for (const t of this._byId.values()) t._state = DONE
    this._resetState()
  }

  /** Changes `now` (and Date) without moving timers: they keep their distance from now. */
  setSystemTime (now) {
    this._base = toEpoch(now) - this._mono
  }

  hrtime (prev) {
    let sec = Math.floor(this._mono / 1000)
    let nsec = (this._mono % 1000) * 1e6 + this._nanos
    checkObject(prev, 'The "time" argument')
    if (Array.isArray(prev)) { // anything else is ignored, as sinon does
      if (prev.length !== 2) {
        throw codedError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "time" is out of range. It must be 2. Received ${prev.length}`)
      }
      if (prev[1] > 1e9) {
        throw codedError(RangeError, 'ERR_OUT_OF_RANGE', "Number of nanoseconds can't exceed a billion")
      }
      sec -= prev[0]
      nsec -= prev[1]
      if (nsec < 0) {
        sec -= 1
        nsec += 1e9
      }
    } else if (prev !== undefined && this._node) {
      throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "time" argument must be an instance of Array. Received ${describe(prev)}`)
    }
    return [sec, nsec]
  }

  /** Runs an async method with a `nextAsync` tick mode paused (as sinon does). */
  async _paused (run) {
    if (this._tickMode.mode !== 'nextAsync') return run()
    this.setTickMode({ mode: 'manual' })
    try {
      return await run()
    } finally {
      this.setTickMode({ mode: 'nextAsync' })
    }
  }

  setTickMode (config) {
    checkObject(config, 'The tick mode')
    const mode = config && config.mode
    if (mode !== 'manual' && mode !== 'nextAsync' && mode !== 'interval') {
      throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `Unknown tick mode ${describe(mode)}: expected 'manual', 'nextAsync' or 'interval'`)
    }
    if (mode === 'interval') checkTickDelta(config.delta)
    if (mode === this._tickMode.mode && config.delta === this._tickMode.delta) return
    this._stopTickMode()
    this._tickMode = { mode, counter: this._tickMode.counter + 1, delta: config.delta }
    if (mode === 'interval') this._startInterval(config.delta === undefined ? 20 : config.delta)
    else if (mode === 'nextAsync') this._startNextAsync()
  }

  _startInterval (delta) {
    const env = this._env
    const handle = env.timers.setInterval.call(env.global, () => this.tick(delta), delta)
    this._modeHandle = () => env.timers.clearInterval.call(env.global, handle)
  }

  _startNextAsync () {
    const counter = this._tickMode.counter
    const env = this._env
    let idle = null
    const step = async () => {
      idle = null
      if (this._tickMode.counter !== counter) return
      if (this._byId.size !== 0) {
        try {
          await this._nextAsync()
        } catch {}
        env.runSoon(step)
      } else {
        idle = env.timers.setTimeout.call(env.global, step, 1)
        if (idle && typeof idle.unref === 'function') idle.unref()
      }
    }
    env.runSoon(step)
    this._modeHandle = () => {
      if (idle !== null) env.timers.clearTimeout.call(env.global, idle)
    }
  }

  _stopTickMode () {
    if (this._modeHandle !== null) {
      this._modeHandle()
      this._modeHandle = null
    }
  }

  /**
   * Restores every faked global exactly and returns the timers still pending. Installed with
   * `failOnPending: true`, it then throws ERR_PENDING_TIMERS if any (ref'd) timer is left.
   */
  uninstall () {
    const pending = this._pending()
    if (this._tickMode.mode !== 'manual') this.setTickMode({ mode: 'manual' })
    const installed = this._installed
    if (installed === null) return pending
    this._installed = null
    for (let i = installed.saved.length - 1; i >= 0; i--) restore(installed.saved[i])
    if (this._env.installed === this) this._env.installed = null
    for (const [listener, signal] of this.abortListenerMap) signal.removeEventListener('abort', listener)
    this.abortListenerMap.clear()
    this.methods = []
    const leaked = this._failOnPending ? pendingError(this, pending) : null
    if (leaked !== null) throw leaked
    return pending
  }
}

module.exports = { Clock }
