'use strict'
// The timer record, which is also the handle Node-shaped globals return.
const { inspect } = require('node:util')
const { ID_START, DONE, codedError } = require('./common.js')

/** Node's code for a method called on an object that is not a timer handle. */
function checkThis (t, method) {
  if (!(t instanceof FakeTimer)) {
    throw codedError(TypeError, 'ERR_INVALID_THIS', `${method}() must be called on a fake timer handle`)
  }
}

/**
 * A pending timer. In Node it is also the handle `setTimeout` returns, shaped like Node's
 * `Timeout`: `ref`, `unref`, `hasRef`, `refresh`, `close` and a numeric `Symbol.toPrimitive`.
 */
class FakeTimer {
  // Every field costs 8 bytes on each of the timers a test suite may keep pending (1e5 in the
  // bench) and in every scavenge that copies them, so what can be derived is a getter.
  constructor (clock, type, n, func, args, delay) {
    this._n = n // the key in the clock's `byId` and the id in the native queue
    this.type = type
    this.func = func
    this.args = args
    this.delay = delay
    this._clock = clock
    this._refed = true
    this._state = DONE
    this._at = 0
    this._createdMono = clock._mono
    this._order = 0
    this._pos = -1 // index in the insertion buffer while QUEUED
  }

  /**
   * The public id (what `+handle` gives). A getter: ids are above 2^31, so a field would hold a
   * separate 16-byte heap number per timer.
   */
  get id () { return ID_START + this._n }

  /** The repeat period of an interval, else undefined (NaN for a sinon interval of NaN ms). */
  get interval () {
    if (this.type !== 'Interval') return undefined
    const nan = this._clock._nanIntervals
    return nan !== null && nan.has(this) ? NaN : this.delay
  }

  /** True for immediates, which wait in their own lane. */
  get _imm () { return this.type === 'Immediate' }

  /** True for an idle callback without a timeout: it waits in the clock's `_idle` list. */
  get _idleLast () { return this.type === 'IdleCallback' && this.delay === 0 }

  /** Absolute time (fake epoch ms) the timer is due at. */
  get callAt () { return this._clock._base + this._at }

  /** Absolute time (fake epoch ms) the timer was created (or last re-armed) at. */
  get createdAt () { return this._clock._base + this._createdMono }

  ref () {
    this._refed = true
    return this
  }

  unref () {
    this._refed = false
    return this
  }

  hasRef () { return this._refed }

  /** Re-arms the timer `delay` ms from now, even if it already fired (as Node does). */
  refresh () {
    checkThis(this, 'refresh')
    const clock = this._clock
    if (this._state !== DONE) clock._cancel(this)
    clock._arm(this, this.delay)
    if (clock._relisted === null) clock._relisted = new WeakMap()
    clock._relisted.set(this, clock._nextN++)
    return this
  }

  close () {
    checkThis(this, 'close')
    this._clock._clearTimer(this, this.type === 'Interval' ? 'clearInterval' : 'clearTimeout')
    return this
  }

  /** Node's `Timeout` exposes this as a data property; here it mirrors `hasRef()`. */
  get refed () { return this._refed }

  [Symbol.toPrimitive] () { return this.id }

  [inspect.custom] (depth, options) {
    checkThis(this, 'inspect')
    const state = this._state === DONE ? 'done' : 'pending'
    return `${this.type} ${inspect({ id: this.id, callAt: this.callAt, delay: this.delay, state }, options)}`
  }
}

module.exports = { FakeTimer }
