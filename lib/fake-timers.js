'use strict'
// seqloop/fake-timers: the module shape of @sinonjs/fake-timers (`timers`, `createClock`,
// `install`, `withGlobal`) over seqloop's native `TimerQueue`.
//
// How and why
// - Order lives in native code. Each clock owns two native `TimerQueue`s (through their raw fast
//   paths, ~45 ns a call): one for timeouts, intervals, animation frames and idle callbacks, one
//   for immediates (an immediate due at the same instant as a timeout runs first, as in sinon and
//   as Node does after I/O). Each keeps exact (deadline, seq) order, so finding the next timer
//   never walks the pending set. The queues have no clock: deadlines are absolute fake
//   milliseconds (`mono`, below), and the clock itself is a JS number.
// - JS keeps the callbacks: `byId` maps each timer's serial `n` to its record (the record is
//   also the handle returned to the caller; its public id is ID_START + n). The native queues
//   use `n` as their timer id too, so one map serves both directions. It is a `Slots` (an array
//   window over counter-issued keys), not a `Map`: with 1e5 timers pending, `Map` lookups were a
//   large share of a fired timer's cost. Records are kept small (derived values are getters,
//   rare ones live in side tables), as each field costs every pending timer 8 bytes and every
//   scavenge that copies it.
// - New timers wait in an insertion buffer and reach their native queue in creation order just
//   before the next time query, up to 256 per native call (`insertMany`). Their deadline is
//   absolute, so the buffer may outlive clock moves; a timer set and cleared before the clock is
//   next consulted never crosses into native code.
//   (The buffer was first added when the native id index made an insert then cancel O(pending)
//   after the id counter wrapped; the native queue's id records are O(1) now, and the buffer
//   still saves the two native calls of every set+clear pair.) A lone buffered timer due
//   before every queued one is taken straight from the buffer: a chain of timers never crosses,
//   even past far-off pending timers (each lane keeps a lower bound of its native deadlines).
// - Popping is per batch (see `Lane`): one `popDue` call writes the ids due at the earliest
//   deadlines (up to BATCH ids, the later deadlines whole) into the lane's part of the clock's
//   one `Float64Array`, and the batch runs in (deadline, seq) order. A timer created meanwhile
//   after the batch's last deadline has a later seq, so it runs after the batch; one due within
//   it makes the lane give the batch back to the native queue first (see `Lane.cuts`); a
//   cleared batch entry is skipped (its id is no longer in the lane's map).
// - Time: `now = base + mono`. `mono` is the integer millisecond count the queues see (it only
//   grows, until `reset`); `setSystemTime` only moves `base`, so pending timers keep their
//   distance. Sub-millisecond ticks accumulate in `nanos` for `performance.now` and `hrtime`.
// - Sync methods (`tick`, `next`, `runAll`, ...) call callbacks in a plain loop, as sinon does.
//   Async methods run each timer inside a callback of the ORIGINAL `setImmediate`, so Node's own
//   `processImmediate` drains `process.nextTick` callbacks, then promise reactions and
//   `queueMicrotask` callbacks, between two timers: the order real Node timers produce.
// - Delays clamp as Node clamps (`delay * 1`; NaN, negative and values below 1 mean "as soon as
//   possible", more than 2^31 - 1 means 1), except that "as soon as possible" is 0 fake
//   milliseconds outside a tick (so `tick(0)` runs `setTimeout(fn, 0)`, as with sinon) and 1
//   during one (so a zero-delay timer set by a timer does not run in the same instant).
const { promisify, inspect } = require('node:util')
const native = require('./native.js')
const { Slots } = require('./slots.js')

const { TimerQueue } = native
const {
  insertMany: queueInsertMany,
  cancel: queueCancel,
  peekDeadline: queuePeek,
  create: queueCreate,
  popDue: queuePopDue,
} = TimerQueue.rawFunctions()

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

// Timer record states.
const QUEUED = 0 // in the insertion buffer
const ARMED = 1 // in a native queue, or popped into its lane's batch and not yet taken
const TAKEN = 2 // taken from the lane, about to fire
const DONE = 3 // fired (non-repeating) or cleared

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
const NOT_FAKED_BY_DEFAULT = ['nextTick', 'queueMicrotask']

function codedError (Ctor, code, message) {
  const e = new Ctor(message)
  e.code = code
  return e
}

function describe (v) {
  try {
    return String(v)
  } catch {
    return Object.prototype.toString.call(v)
  }
}

function checkCallback (func) {
  if (typeof func === 'function') return
  if (func === undefined) {
    throw codedError(Error, 'ERR_INVALID_ARG_TYPE', 'Callback must be provided to timer calls')
  }
  throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
    `[ERR_INVALID_CALLBACK]: Callback must be a function. Received ${describe(func)} of type ${typeof func}`)
}

/** Node's delay coercion; see the header for what "as soon as possible" means here. */
function toDelay (delay) {
  const n = delay * 1
  if (!(n >= 1)) return 0
  if (n > TIMEOUT_MAX) return 1
  return Math.trunc(n)
}

const TICK_FORMAT = "tick only understands numbers, 'm:s' and 'h:m:s'. Each part must be two digits"

/** `tick`/`jump` argument → milliseconds (may be fractional). */
function parseTickValue (value) {
  if (typeof value === 'number') {
    if (Number.isNaN(value)) {
      throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', 'Tick value must be a number of milliseconds or a time string, got NaN')
    }
    if (value < 0) throw codedError(TypeError, 'ERR_OUT_OF_RANGE', 'Negative ticks are not supported')
    if (value === Infinity) throw codedError(RangeError, 'ERR_OUT_OF_RANGE', 'Tick value must be finite, got Infinity')
    return value
  }
  if (typeof value === 'bigint') return parseTickValue(Number(value))
  if (typeof value !== 'string') {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
      `Tick value must be a number of milliseconds or a time string, got ${describe(value)}`)
  }
  if (value === '') return 0
  const parts = value.split(':')
  const digits = parts.length === 1 ? /^\d{1,2}$/ : /^\d{2}$/
  if (parts.length > 3 || !parts.every((p) => digits.test(p))) {
    throw codedError(Error, 'ERR_INVALID_ARG_VALUE', TICK_FORMAT)
  }
  let seconds = 0
  for (const p of parts) {
    const n = Number(p)
    if (n >= 60) throw codedError(Error, 'ERR_INVALID_ARG_VALUE', `Invalid time ${value}`)
    seconds = seconds * 60 + n
  }
  return seconds * 1000
}

/** `now` option → epoch milliseconds. */
function toEpoch (now) {
  if (now === undefined) return 0
  if (typeof now === 'number') return now
  if (now instanceof Date || Object.prototype.toString.call(now) === '[object Date]') return now.getTime()
  if (now !== null && typeof now === 'object' && typeof now.epochMilliseconds === 'number') return now.epochMilliseconds
  throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', 'now should be milliseconds since UNIX epoch')
}

function abortError (signal) {
  const e = new Error('The operation was aborted', { cause: signal.reason })
  e.name = 'AbortError'
  e.code = 'ABORT_ERR'
  return e
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

  /** The repeat period of an interval (a delay of 0 repeats every 1 ms), else undefined. */
  get interval () {
    return this.type === 'Interval' ? (this.delay === 0 ? 1 : this.delay) : undefined
  }

  /** True for immediates, which wait in their own lane. */
  get _imm () { return this.type === 'Immediate' }

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
    const clock = this._clock
    if (this._state !== DONE) clock._cancel(this)
    clock._arm(this, this.type === 'Interval' ? this.interval : this.delay)
    if (clock._relisted === null) clock._relisted = new WeakMap()
    clock._relisted.set(this, clock._nextN++)
    return this
  }

  close () {
    this._clock._clearTimer(this, this.type === 'Interval' ? 'clearInterval' : 'clearTimeout')
    return this
  }

  /** Node's `Timeout` exposes this as a data property; here it mirrors `hasRef()`. */
  get refed () { return this._refed }

  [Symbol.toPrimitive] () { return this.id }

  [inspect.custom] (depth, options) {
    const state = this._state === DONE ? 'done' : 'pending'
    return `${this.type} ${inspect({ id: this.id, callAt: this.callAt, delay: this.delay, state }, options)}`
  }
}

/**
 * One native `TimerQueue` and the batch last popped from it. A timer's id in the queue is its
 * serial `n`, the key of the clock's `byId` (shared by both lanes), so no second map is needed.
 * `out[bi..bn]` are the ids not yet taken, in (deadline, seq) order (a cleared one is skipped:
 * it is no longer in `byId`, or `forget` zeroed it), and `out[0]` is the batch's last deadline.
 * A batch spans up to `want` deadlines, every one whole except perhaps the first, so it can be
 * given back (`giveBack`) when a new timer is due before its end. `want` doubles with each batch
 * used up and drops to 1 on a give-back: long runs of pre-set timers cross into native code once
 * per BATCH timers, while a chain of timers each setting the next (which would give a wide batch
 * back every time) pops one deadline at a time.
 */
class Lane {
  constructor (out, byId) {
    // One set of native functions for every lane (`TimerQueue.rawFunctions()`), each taking the
    // lane's queue handle: making a clock binds no native function. The queue itself is made
    // when a first timer reaches it (many clocks never use immediates, or never flush).
    this.h = null
    this.out = out
    this.byId = byId
    this.bi = 1
    this.bn = 0
    this.want = 1
    this.multi = false // the batch spans several deadlines (each whole)
    this.live = 0 // pending timers of this lane (queued, in the batch or taken but not yet fired)
    // A lower bound of the deadlines in the native queue, exact (the earliest) when `exact`:
    // inserts lower it, a pop raises it to the last deadline popped, a cancel makes it inexact.
    this.floor = Infinity
    this.exact = true
  }

  /** Earliest deadline of a pending timer in this lane, or null. Skips cleared batch entries. */
  head () {
    const out = this.out
    const byId = this.byId
    while (this.bi <= this.bn) {
      const t = byId.get(out[this.bi])
      if (t !== undefined) return t._at
      this.bi++
    }
    return this.h === null ? null : queuePeek(this.h)
  }

  /** The next pending timer due at or before `limit`, taken out of the lane, or null. */
  take (limit) {
    const out = this.out
    const byId = this.byId
    for (;;) {
      if (this.bi > this.bn) {
        if (this.h === null) return null
        const n = queuePopDue(this.h, limit, out, this.want)
        if (n === 0) return null
        this.floor = out[0]
        this.exact = false
        if (this.want < MAX_SPAN) this.want *= 2
        this.bi = 1
        this.bn = n
        this.multi = byId.get(out[1])._at !== out[0]
        if (n > 8) this.warm(n)
      }
      const nid = out[this.bi]
      const t = byId.get(nid)
      if (t === undefined) {
        this.bi++
        continue
      }
      if (t._at > limit) return null
      this.bi++
      t._state = TAKEN
      return t
    }
  }

  /**
   * Reads the batch's records ahead of firing them. They were allocated in creation order and
   * fire in deadline order, so each first touch is a cache miss; in this loop the loads do not
   * depend on each other and the CPU overlaps them, instead of taking them one per fired timer.
   */
  warm (n) {
    const out = this.out
    const byId = this.byId
    for (let i = 1; i <= n; i++) {
      const t = byId.get(out[i])
      warmed[i] = t === undefined ? -1 : t._at // a store keeps the load from being optimised out
    }
  }

  /**
   * True when a batch is outstanding and a timer due at `at` must not enter the native queue
   * before it is given back: when it is due before the batch's end, or at it if the batch spans
   * several deadlines (the native queue would otherwise hold a newer timer at a deadline the
   * given-back timers return to). A batch of one deadline may be part of a larger bucket, so it
   * is never given back for a timer at that deadline: that timer goes after the native rest.
   */
  cuts (at) {
    return this.bi <= this.bn && (this.multi ? at <= this.out[0] : at < this.out[0])
  }

  /** Puts the batch's untaken timers back in the native queue, in order (same ids: serials). */
  giveBack () {
    const out = this.out
    const byId = this.byId
    for (let i = this.bi; i <= this.bn; i++) {
      const t = byId.get(out[i])
      if (t === undefined) continue
      this.stage(t)
    }
    commitStaged()
    this.bi = 1
    this.bn = 0
    this.want = 1
  }

  /**
   * Adds `t` to the run of timers `commitStaged` inserts into this lane's native queue. Staging
   * is shared by every lane of the process (nothing runs between staging and committing), so
   * a run staged for another lane is committed first: lanes are independent queues.
   */
  stage (t) {
    if (staging.lane !== this) {
      commitStaged()
      staging.lane = this
    }
    const k = staging.k
    staging.entries[2 * k] = t._n
    staging.entries[2 * k + 1] = t._at
    staging.ts[k] = t
    staging.k = k + 1
    if (k + 1 === STAGE) commitStaged()
  }

  /**
   * True when `at` is before every deadline in the native queue (ties go to the native timers,
   * set earlier). Asks the queue only when `floor` may be stale.
   */
  before (at) {
    if (at < this.floor) return true
    if (this.exact) return false
    const d = queuePeek(this.h)
    this.floor = d === null ? Infinity : d
    this.exact = true
    return at < this.floor
  }

  /** Cancels native timer `n`, wherever it waits. */
  cancel (n) {
    if (queueCancel(this.h, n)) this.exact = false
    else this.forget(n)
  }

  /**
   * Drops cancelled timer `n` from the popped batch (the native queue no longer had it): a batch
   * entry always names a timer still waiting in it, even if that timer is re-armed meanwhile.
   */
  forget (n) {
    const out = this.out
    for (let i = this.bi; i <= this.bn; i++) {
      if (out[i] === n) {
        out[i] = 0 // no timer has n = 0
        return
      }
    }
  }
}

/** Where `Lane.warm` writes what it reads (nothing reads it back). */
const warmed = new Float64Array(BATCH + 1)

/** Timers staged for one `insertMany` call (see `Lane.stage`). */
const staging = { lane: null, k: 0, entries: new Float64Array(2 * STAGE), ts: new Array(STAGE).fill(undefined) }

/** Inserts the staged timers into their lane's native queue, in staging order, in one call. */
function commitStaged () {
  const k = staging.k
  if (k === 0) return
  const ts = staging.ts
  const lane = staging.lane
  staging.k = 0
  staging.lane = null // holds no clock once committed
  if (lane.h === null) lane.h = queueCreate()
  queueInsertMany(lane.h, staging.entries, k)
  let floor = lane.floor
  for (let j = 0; j < k; j++) {
    const t = ts[j]
    ts[j] = undefined
    t._state = ARMED
    if (t._at < floor) {
      floor = t._at
      lane.exact = true // below a lower bound of the rest: the earliest
    }
  }
  lane.floor = floor
}

const PUBLIC_METHODS = [
  'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'setImmediate', 'clearImmediate',
  'requestAnimationFrame', 'cancelAnimationFrame', 'requestIdleCallback', 'cancelIdleCallback',
  'nextTick', 'queueMicrotask', 'countTimers', 'runMicrotasks', 'tick', 'tickAsync', 'next',
  'nextAsync', 'runAll', 'runAllAsync', 'runToLast', 'runToLastAsync', 'runToFrame', 'jump',
  'reset', 'setSystemTime', 'uninstall', 'setTickMode', 'hrtime'
]

/** The fake clock. Every public method is bound, so it can be passed around detached. */
class Clock {
  constructor (env, start, loopLimit) {
    this._env = env
    this._start = toEpoch(start)
    this.loopLimit = loopLimit === undefined ? 1000 : loopLimit
    this._nextN = 1 // public ids are ID_START + n; `byId` is keyed by n (a small integer, not 0)
    this._installed = null
    this._tickMode = { mode: 'manual', counter: 0 }
    this._modeHandle = null
    this.methods = []
    this.shouldClearNativeTimers = false
    this.isNearInfiniteLimit = false
    this._warnedNative = false
    this._stacks = null // timer → stack where it was set, kept only near the loop limit
    this._resetState()
    for (const name of PUBLIC_METHODS) {
      const bound = this[name].bind(this)
      Object.defineProperty(bound, 'name', { value: name })
      this[name] = bound
    }
    const clock = this
    this.hrtime.bigint = function bigint () { return clock._hrtimeBigint() }
    this.performance = { now () { return clock._perfNow() } }
    this.Date = makeDate(this, env.NativeDate)
    if (env.NativeIntl) this.Intl = makeIntl(this, env.NativeIntl)
    this.setTimeout[promisify.custom] = (delay, value) => new Promise((resolve) => clock.setTimeout(resolve, delay, value))
    this.setImmediate[promisify.custom] = (value) => new Promise((resolve) => clock.setImmediate(resolve, value))
  }

  _resetState () {
    this._base = this._start
    this._mono = 0
    this._nanos = 0
    this._byId = new Slots() // n → pending timer record
    const out = new Float64Array(2 * (BATCH + 1))
    this._tl = new Lane(out.subarray(0, BATCH + 1), this._byId)
    this._il = new Lane(out.subarray(BATCH + 1), this._byId)
    // `uninstall` lists pending timers by serial; a refreshed one counts as created when
    // refreshed: it takes a fresh serial, kept here (made on the first refresh; a timer field
    // would cost every timer 8 bytes).
    this._relisted = null
    this._buf = [] // the insertion buffer: _buf[0.._bufLen) (the array itself never shrinks)
    this._bufLen = 0
    this._bufDead = 0
    this._orderSeq = 0
    this._jobs = []
    this._ticking = 0
  }

  /** Current fake time in epoch milliseconds. Assigning it is `setSystemTime(value)`. */
  get now () { return this._base + this._mono }
  set now (value) { this.setSystemTime(value) }

  // ---- scheduling core -------------------------------------------------------------------

  _add (type, func, args, delay) {
    const n = this._nextN++
    const t = new FakeTimer(this, type, n, func, args, delay)
    if (this.isNearInfiniteLimit) {
      if (this._stacks === null) this._stacks = new WeakMap()
      this._stacks.set(t, new Error().stack)
    }
    this._arm(t, delay)
    return t
  }

  /** Makes `t` (not pending) pending again, due `delay` ms from now. */
  _arm (t, delay) {
    if (delay === 0 && this._ticking !== 0) delay = 1
    this._queue(t, this._mono + delay)
    t._createdMono = this._mono
    if (t._imm) this._il.live++
    else this._tl.live++
    this._byId.set(t._n, t)
  }

  /** Queues `t` to fire at `at` (mono ms), after every timer queued before it. */
  _queue (t, at) {
    // Past MAX_MONO (reachable only by running timers due there) a deadline is clamped to the
    // last exact integer rather than refused by the native queue.
    t._at = at <= Number.MAX_SAFE_INTEGER ? at : Number.MAX_SAFE_INTEGER
    t._order = ++this._orderSeq
    t._state = QUEUED
    t._pos = this._bufLen
    this._buf[this._bufLen++] = t
  }

  /** Hands the insertion buffer to the native queues, in creation order. */
  _flush () {
    const buf = this._buf
    const len = this._bufLen
    // A timer due before the end of its lane's popped batch must run inside it: give the batch
    // back to the native queue first (before any of these timers enters it), so the native
    // queue orders them all.
    const tl = this._tl
    const il = this._il
    if (tl.bi <= tl.bn || il.bi <= il.bn) {
      for (let i = 0; i < len; i++) {
        const t = buf[i]
        if (t._state !== QUEUED || t._pos !== i) continue
        const lane = t._imm ? il : tl
        if (lane.cuts(t._at)) lane.giveBack()
      }
    }
    for (let i = 0; i < len; i++) {
      const t = buf[i]
      buf[i] = undefined
      if (t._state !== QUEUED || t._pos !== i) continue
      ;(t._imm ? il : tl).stage(t)
    }
    commitStaged()
    this._bufLen = 0
    this._bufDead = 0
  }

  /** Removes a pending timer from wherever it waits. */
  _cancel (t) {
    this._byId.delete(t._n)
    const lane = t._imm ? this._il : this._tl
    lane.live--
    const state = t._state
    t._state = DONE
    if (state === ARMED) {
      // In the native queue, or popped into the lane's batch (then the native cancel finds
      // nothing and the batch forgets it).
      lane.cancel(t._n)
    } else if (state === QUEUED) {
      const buf = this._buf
      this._bufDead++
      while (this._bufLen !== 0 && buf[this._bufLen - 1]._state !== QUEUED) {
        buf[--this._bufLen] = undefined
        this._bufDead--
      }
      if (this._bufDead > 1024 && this._bufDead * 2 > this._bufLen) this._compactBuffer()
    }
  }

  _compactBuffer () {
    const buf = this._buf
    const len = this._bufLen
    let j = 0
    for (let i = 0; i < len; i++) {
      const t = buf[i]
      buf[i] = undefined
      if (t._state === QUEUED && t._pos === i) {
        t._pos = j
        buf[j++] = t
      }
    }
    this._bufLen = j
    this._bufDead = 0
  }

  /** The next pending timer due at or before `limit` (mono ms), taken out of its lane, or null. */
  _take (limit) {
    if (this._bufLen !== 0) {
      // A lone buffered timer due before everything else (a chain of timers each setting the
      // next, one interval, with or without far-off timers pending) need not cross into native
      // code at all: it is next.
      const t = this._buf[0]
      if (this._bufLen === 1 && t._state === QUEUED && t._pos === 0 && this._leads(t._at)) {
        if (t._at > limit) return null
        this._buf[0] = undefined
        this._bufLen = 0
        this._bufDead = 0
        t._state = TAKEN
        if (t._at > this._mono) this._mono = t._at
        return t
      }
      this._flush()
    }
    const tl = this._tl
    const il = this._il
    let lane
    if (il.live === 0) {
      if (tl.live === 0) return null
      lane = tl
    } else if (tl.live === 0) {
      lane = il
    } else {
      const ai = il.head()
      const at = tl.head()
      lane = at === null || (ai !== null && ai <= at) ? il : tl
    }
    const t = lane.take(limit)
    if (t === null) return null
    if (t._at > this._mono) this._mono = t._at
    return t
  }

  /** True when a timer due at `at` runs before every timer in both lanes (no batch is out). */
  _leads (at) {
    const tl = this._tl
    const il = this._il
    if (tl.live + il.live === 1) return true
    return tl.bi > tl.bn && il.bi > il.bn && tl.before(at) && il.before(at)
  }

  /** Runs one taken timer: re-arms an interval first (so it may clear itself), then calls it. */
  _fire (t) {
    if (t.type === 'Interval') {
      t._createdMono = this._mono
      this._queue(t, t._at + t.interval)
    } else {
      this._byId.delete(t._n)
      if (t._imm) this._il.live--
      else this._tl.live--
      t._state = DONE
    }
    const func = t.func
    switch (t.type) {
      case 'AnimationFrame':
        func(t._at)
        break
      case 'IdleCallback': {
        const clock = this
        func({ didTimeout: true, timeRemaining () { return clock.countTimers() > 0 ? IDLE_MS : 0 } })
        break
      }
      default: {
        const args = t.args
        const self = this._env.timerObjects ? t : undefined
        if (args === undefined || args.length === 0) func.call(self)
        else func.apply(self, args)
      }
    }
  }

  _runJobs () {
    const jobs = this._jobs
    if (jobs.length === 0) return
    let ran = 0
    try {
      while (jobs.length !== 0) {
        if (ran >= this.loopLimit) throw this._loopError(jobs[0])
        const job = jobs.shift()
        ran++
        job.func.apply(undefined, job.args)
      }
    } finally {
      this.isNearInfiniteLimit = false
    }
  }

  _loopError (next) {
    const message = `Aborting after running ${this.loopLimit} timers, assuming an infinite loop!`
    const e = codedError(Error, 'ERR_LOOP_LIMIT', message)
    const stack = next && this._stacks !== null ? this._stacks.get(next) : undefined
    if (stack !== undefined) {
      const frames = stack.split('\n').slice(1).filter((l) => !l.includes(__filename))
      const name = (next.func && next.func.name) || 'anonymous'
      e.stack = `Error: ${message}\n${next.type || 'Job'} - ${name}\n${frames.join('\n')}`
    }
    return e
  }

  /** Pending timers in the order they were created (a refreshed one counts as created then). */
  _pending () {
    const relisted = this._relisted
    const key = (t) => {
      const k = relisted === null ? undefined : relisted.get(t)
      return k === undefined ? t._n : k
    }
    return this._byId.values().sort((a, b) => key(a) - key(b))
  }

  _maxDeadline () {
    let max = -1
    for (const t of this._byId.values()) if (t._at > max) max = t._at
    return max
  }

  /** The mono time `msFloat` ms from now; moves the sub-millisecond part. */
  _advance (msFloat) {
    let whole = Math.floor(msFloat)
    let nanos = this._nanos + Math.floor((msFloat - whole) * 1e6)
    if (nanos >= 1e6) {
      whole += Math.floor(nanos / 1e6)
      nanos %= 1e6
    }
    const target = this._mono + whole
    if (!(target <= MAX_MONO)) {
      throw codedError(RangeError, 'ERR_OUT_OF_RANGE',
        `The clock cannot move more than ${MAX_MONO} ms past its start (asked for ${target} ms)`)
    }
    this._nanos = nanos
    return target
  }

  _runTo (target) {
    this._ticking++
    let failed = false
    let first
    try {
      for (;;) {
        const t = this._take(target)
        if (t === null) break
        try {
          this._fire(t)
          this._runJobs()
        } catch (e) {
          if (!failed) {
            failed = true
            first = e
          }
        }
      }
    } finally {
      this._ticking--
    }
    if (target > this._mono) this._mono = target
    if (failed) throw first
    return this.now
  }

  /** Runs one timer inside a callback of the original setImmediate (real microtask drain). */
  _runInImmediate (limit) {
    return new Promise((resolve) => {
      this._env.runSoon(() => {
        let t = null
        try {
          t = this._take(limit)
          if (t === null) return resolve(null)
          this._fire(t)
          this._runJobs()
          resolve({ error: undefined })
        } catch (e) {
          resolve({ error: e, failed: true })
        }
      })
    })
  }

  async _runToAsync (target) {
    this._ticking++
    let failed = false
    let first
    try {
      for (;;) {
        const r = await this._runInImmediate(target)
        if (r === null) break
        if (r.failed && !failed) {
          failed = true
          first = r.error
        }
      }
    } finally {
      this._ticking--
    }
    if (target > this._mono) this._mono = target
    if (failed) throw first
    return this.now
  }

  _perfNow () { return this._mono + this._nanos / 1e6 }

  _hrtimeBigint () { return BigInt(this._mono) * 1000000n + BigInt(this._nanos) }

  _clearTimer (handle, clearer) {
    if (handle === undefined || handle === null) return
    let t
    if (handle instanceof FakeTimer) {
      t = handle._clock === this ? handle : undefined
      if (t === undefined) return
    } else if (typeof handle === 'number') {
      t = this._byId.get(handle - ID_START)
    } else if (typeof handle === 'string' && handle !== '') {
      t = this._byId.get(Number(handle) - ID_START)
    }
    if (t === undefined) {
      this._clearNative(handle, clearer)
      return
    }
    if (t._state === DONE) return
    if (!CLEARABLE[clearer].includes(t.type)) {
      throw codedError(Error, 'ERR_INVALID_ARG_VALUE',
        `Cannot clear timer: timer created with ${CREATORS[t.type]}() but cleared with ${clearer}()`)
    }
    this._cancel(t)
  }

  _clearNative (handle, clearer) {
    if (!this._env.isNativeTimer(handle)) return
    if (this.shouldClearNativeTimers) {
      const original = this._env.timers[clearer]
      if (typeof original === 'function') original.call(this._env.global, handle)
      return
    }
    if (!this._warnedNative && this._installed) {
      this._warnedNative = true
      const warn = this._env.global.console && this._env.global.console.warn
      if (typeof warn === 'function') {
        warn.call(this._env.global.console,
          `seqloop/fake-timers: ${clearer}() was given a native timer, not one of this clock's. ` +
          'Install with shouldClearNativeTimers: true to clear native timers too.')
      }
    }
  }

  _handle (t) { return this._env.timerObjects ? t : t.id }

  // ---- the timer API -----------------------------------------------------------------------

  setTimeout (func, delay) {
    checkCallback(func)
    const args = arguments.length > 2 ? slice.call(arguments, 2) : NO_ARGS
    return this._handle(this._add('Timeout', func, args, toDelay(delay)))
  }

  clearTimeout (handle) { this._clearTimer(handle, 'clearTimeout') }

  setInterval (func, delay) {
    checkCallback(func)
    const args = arguments.length > 2 ? slice.call(arguments, 2) : NO_ARGS
    return this._handle(this._add('Interval', func, args, toDelay(delay)))
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
    const timeout = options !== null && typeof options === 'object' ? options.timeout : undefined
    return this._add('IdleCallback', func, NO_ARGS, timeout === undefined ? 0 : toDelay(timeout)).id
  }

  cancelIdleCallback (id) { this._clearTimer(id, 'cancelIdleCallback') }

  nextTick (func, ...args) {
    if (typeof func !== 'function') {
      throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
        `The "callback" argument must be of type function. Received ${describe(func)}`)
    }
    this._jobs.push({ func, args, type: 'nextTick' })
  }

  queueMicrotask (func) {
    if (typeof func !== 'function') {
      throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
        `The "callback" argument must be of type function. Received ${describe(func)}`)
    }
    this._jobs.push({ func, args: [], type: 'queueMicrotask' })
  }

  /** Timers, immediates, frames, idle callbacks and faked microtasks still waiting. */
  countTimers () { return this._byId.size + this._jobs.length }

  runMicrotasks () { this._runJobs() }

  // ---- moving time ---------------------------------------------------------------------------

  tick (value) {
    const target = this._advance(parseTickValue(value))
    this._runJobs()
    return this._runTo(target)
  }

  async tickAsync (value) {
    const target = this._advance(parseTickValue(value))
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

  async nextAsync () {
    this._runJobs()
    this._ticking++
    let r
    try {
      r = await this._runInImmediate(Infinity)
    } finally {
      this._ticking--
    }
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

  async runAllAsync () {
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
    let next
    let best = Infinity
    for (const t of this._pending()) {
      if (t._at < best || (t._at === best && t._imm)) {
        best = t._at
        next = t
      }
    }
    return this._loopError(next)
  }

  runToLast () {
    this._runJobs()
    const last = this._maxDeadline()
    if (last < 0) return this.now
    return this._runTo(Math.max(last, this._mono))
  }

  async runToLastAsync () {
    this._runJobs()
    await new Promise((resolve) => this._env.runSoon(resolve))
    const last = this._maxDeadline()
    if (last < 0) return this.now
    return this._runToAsync(Math.max(last, this._mono))
  }

  runToFrame () {
    return this.tick(FRAME_MS - (this._mono % FRAME_MS))
  }

  /** Moves time forward firing each due timer once, all at the new time, in creation order. */
  jump (value) {
    const target = this._advance(parseTickValue(value))
    this._runJobs()
    const due = []
    for (let t = this._take(target); t !== null; t = this._take(target)) due.push(t)
    due.sort((a, b) => (a._imm === b._imm ? a._order - b._order : a._imm ? -1 : 1))
    this._mono = target
    this._ticking++
    let failed = false
    let first
    try {
      for (const t of due) {
        if (t._state !== TAKEN) continue
        t._at = target
        try {
          this._fire(t)
          this._runJobs()
        } catch (e) {
          if (!failed) {
            failed = true
            first = e
          }
        }
      }
    } finally {
      this._ticking--
    }
    if (failed) throw first
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
    if (prev !== undefined) {
      if (!Array.isArray(prev)) {
        throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `The "time" argument must be an instance of Array. Received ${describe(prev)}`)
      }
      if (prev.length !== 2) {
        throw codedError(RangeError, 'ERR_OUT_OF_RANGE', `The value of "time" is out of range. It must be 2. Received ${prev.length}`)
      }
      sec -= prev[0]
      nsec -= prev[1]
      if (nsec < 0) {
        sec -= 1
        nsec += 1e9
      }
    }
    return [sec, nsec]
  }

  setTickMode (config) {
    const mode = config && config.mode
    if (mode !== 'manual' && mode !== 'nextAsync' && mode !== 'interval') {
      throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', `Unknown tick mode ${describe(mode)}: expected 'manual', 'nextAsync' or 'interval'`)
    }
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
          await this.nextAsync()
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

  /** Restores every faked global exactly and returns the timers still pending. */
  uninstall () {
    const pending = this._pending()
    this._stopTickMode()
    const installed = this._installed
    if (installed === null) return pending
    this._installed = null
    for (let i = installed.saved.length - 1; i >= 0; i--) restore(installed.saved[i])
    this._env.installedOn.delete(installed.target)
    this.methods = []
    return pending
  }
}

// ---- Date and Intl -------------------------------------------------------------------------

function makeDate (clock, NativeDate) {
  function ClockDate (...args) {
    if (new.target === undefined) return new NativeDate(clock.now).toString()
    if (args.length === 0) return Reflect.construct(NativeDate, [clock.now], new.target)
    return Reflect.construct(NativeDate, args, new.target)
  }
  Object.setPrototypeOf(ClockDate, NativeDate)
  ClockDate.prototype = Object.create(NativeDate.prototype, {
    constructor: { value: ClockDate, writable: true, configurable: true }
  })
  Object.defineProperties(ClockDate, {
    clock: { value: clock, writable: true, configurable: true },
    isFake: { value: true, writable: true, configurable: true },
    now: { value: function now () { return clock.now }, writable: true, configurable: true },
    toString: { value: function toString () { return NativeDate.toString() }, writable: true, configurable: true },
    [Symbol.hasInstance]: { value: (v) => v instanceof NativeDate, configurable: true }
  })
  return ClockDate
}

function makeIntl (clock, NativeIntl) {
  const fake = {}
  for (const key of Reflect.ownKeys(NativeIntl)) {
    Object.defineProperty(fake, key, Object.getOwnPropertyDescriptor(NativeIntl, key))
  }
  const NativeDTF = NativeIntl.DateTimeFormat
  const when = (d) => (d === undefined ? clock.now : d)
  class ClockDateTimeFormat extends NativeDTF {
    get format () {
      const format = super.format
      return (date) => format(when(date))
    }

    formatToParts (date) { return super.formatToParts(when(date)) }
  }
  function DateTimeFormat (locales, options) {
    return new ClockDateTimeFormat(locales, options)
  }
  DateTimeFormat.prototype = ClockDateTimeFormat.prototype
  DateTimeFormat.supportedLocalesOf = NativeDTF.supportedLocalesOf.bind(NativeDTF)
  Object.defineProperty(fake, 'DateTimeFormat', { value: DateTimeFormat, writable: true, configurable: true })
  Object.defineProperty(fake, 'clock', { value: clock, writable: true, configurable: true })
  return fake
}

function makePerformance (clock, real) {
  const fake = {}
  const seen = new Set(['constructor'])
  for (let o = real; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) {
    for (const key of Reflect.ownKeys(o)) {
      if (seen.has(key)) continue
      seen.add(key)
      const d = Object.getOwnPropertyDescriptor(o, key)
      if (typeof d.value === 'function') {
        fake[key] = d.value.bind(real)
      } else {
        Object.defineProperty(fake, key, { get: () => real[key], enumerable: true, configurable: true })
      }
    }
  }
  fake.now = function now () { return clock._perfNow() }
  Object.defineProperty(fake, 'timeOrigin', { value: clock._start, enumerable: true, configurable: true })
  Object.defineProperty(fake, 'clock', { value: clock, configurable: true })
  return fake
}

// ---- timers/promises ---------------------------------------------------------------------

function makePromiseTimers (clock) {
  function wait (schedule, value, options) {
    const signal = options && options.signal
    if (signal && signal.aborted) return Promise.reject(abortError(signal))
    return new Promise((resolve, reject) => {
      let onAbort
      const h = schedule(() => {
        if (signal) signal.removeEventListener('abort', onAbort)
        resolve(value)
      })
      if (signal) {
        onAbort = () => {
          clock._clearTimer(h, h.type === 'Immediate' ? 'clearImmediate' : 'clearTimeout')
          reject(abortError(signal))
        }
        signal.addEventListener('abort', onAbort, { once: true })
      }
    })
  }
  return {
    setTimeout: function setTimeout (delay, value, options) {
      return wait((fn) => clock._add('Timeout', fn, NO_ARGS, toDelay(delay)), value, options)
    },
    setImmediate: function setImmediate (value, options) {
      return wait((fn) => clock._add('Immediate', fn, NO_ARGS, 0), value, options)
    },
    setInterval: async function * setInterval (delay, value, options) {
      const signal = options && options.signal
      if (signal && signal.aborted) throw abortError(signal)
      let due = 0
      let wake = null
      const h = clock._add('Interval', () => {
        due++
        if (wake !== null) wake()
      }, NO_ARGS, toDelay(delay))
      const onAbort = () => { if (wake !== null) wake() }
      if (signal) signal.addEventListener('abort', onAbort, { once: true })
      try {
        for (;;) {
          if (due === 0) await new Promise((resolve) => { wake = resolve })
          wake = null
          if (signal && signal.aborted) throw abortError(signal)
          if (due === 0) continue
          due--
          yield value
        }
      } finally {
        if (h._state !== DONE) clock._cancel(h)
        if (signal) signal.removeEventListener('abort', onAbort)
      }
    }
  }
}

// ---- install -------------------------------------------------------------------------------

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

function faked (clock, name, fn) {
  Object.defineProperty(fn, 'clock', { value: clock, configurable: true })
  return fn
}

/**
 * Fake timers for `globalObject`: the same four exports as the module, bound to that global.
 */
function withGlobal (globalObject) {
  const g = globalObject
  if (g === null || (typeof g !== 'object' && typeof g !== 'function')) {
    throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE', `withGlobal expects a global object, got ${describe(g)}`)
  }
  const timers = {
    setTimeout: g.setTimeout,
    clearTimeout: g.clearTimeout,
    setInterval: g.setInterval,
    clearInterval: g.clearInterval,
    Date: g.Date
  }
  if (typeof g.setImmediate === 'function') {
    timers.setImmediate = g.setImmediate
    timers.clearImmediate = g.clearImmediate
  }
  const proc = g.process
  if (proc && typeof proc.hrtime === 'function') timers.hrtime = proc.hrtime
  if (proc && typeof proc.nextTick === 'function') timers.nextTick = proc.nextTick
  if (g.performance && typeof g.performance.now === 'function') timers.performance = g.performance
  if (typeof g.queueMicrotask === 'function') timers.queueMicrotask = g.queueMicrotask
  for (const name of ['requestAnimationFrame', 'cancelAnimationFrame', 'requestIdleCallback', 'cancelIdleCallback']) {
    if (typeof g[name] === 'function') timers[name] = g[name]
  }
  if (g.Intl && typeof g.Intl.DateTimeFormat === 'function') timers.Intl = g.Intl

  const env = {
    global: g,
    timers,
    NativeDate: typeof g.Date === 'function' ? g.Date : Date,
    NativeIntl: timers.Intl,
    timerObjects: false,
    installedOn: new WeakMap(),
    nativeTimerClass: null,
    isNativeTimer: (h) => (typeof h === 'number' && h < ID_START) ||
      (env.nativeTimerClass !== null && h instanceof env.nativeTimerClass),
    runSoon: null
  }
  if (typeof timers.setTimeout === 'function') {
    const probe = timers.setTimeout.call(g, () => {}, 0)
    env.timerObjects = probe !== null && typeof probe === 'object'
    if (env.timerObjects) env.nativeTimerClass = probe.constructor
    timers.clearTimeout.call(g, probe)
  }
  if (typeof timers.setImmediate === 'function') {
    env.runSoon = (fn) => timers.setImmediate.call(g, fn)
  } else if (typeof timers.setTimeout === 'function') {
    env.runSoon = (fn) => timers.setTimeout.call(g, fn, 0)
  } else {
    env.runSoon = (fn) => Promise.resolve().then(fn)
  }

  function createClock (now, loopLimit) {
    return new Clock(env, now, loopLimit)
  }

  function install (config) {
    if (config === undefined) config = {}
    if (config === null || typeof config !== 'object') {
      throw codedError(TypeError, 'ERR_INVALID_ARG_TYPE',
        `FakeTimers.install called with ${describe(config)} install requires an object parameter`)
    }
    const target = config.target || g
    if (env.installedOn.has(target) || (target.Date && target.Date.isFake === true)) {
      throw codedError(TypeError, 'ERR_INVALID_STATE', "Can't install fake timers twice on the same global object.")
    }
    if (config.toFake && config.toNotFake) {
      throw codedError(TypeError, 'ERR_INVALID_ARG_VALUE', 'config.toFake and config.toNotFake cannot be used together')
    }
    const available = Object.keys(timers)
    let methods
    if (config.toFake) {
      methods = Array.from(config.toFake)
      const missing = methods.filter((m) => !available.includes(m))
      if (missing.length !== 0 && !config.ignoreMissingTimers) {
        throw codedError(ReferenceError, 'ERR_INVALID_ARG_VALUE',
          `non-existent timers and/or objects cannot be faked: '${missing.join("', '")}'`)
      }
    } else if (config.toNotFake) {
      methods = available.filter((m) => !config.toNotFake.includes(m))
    } else {
      methods = available.filter((m) => !NOT_FAKED_BY_DEFAULT.includes(m))
    }

    const clock = createClock(config.now, config.loopLimit)
    clock.methods = methods
    clock.shouldClearNativeTimers = config.shouldClearNativeTimers === true
    const saved = []
    const fakeMethods = new Set()
    for (const name of methods) {
      if (!available.includes(name)) continue
      fakeMethods.add(name)
      switch (name) {
        case 'Date': hijack(saved, target, 'Date', clock.Date); break
        case 'Intl': hijack(saved, target, 'Intl', clock.Intl); break
        case 'performance': hijack(saved, target, 'performance', makePerformance(clock, timers.performance)); break
        case 'hrtime': hijack(saved, target.process, 'hrtime', faked(clock, name, clock.hrtime)); break
        case 'nextTick': hijack(saved, target.process, 'nextTick', faked(clock, name, clock.nextTick)); break
        default: hijack(saved, target, name, faked(clock, name, clock[name]))
      }
    }
    if (target === globalThis) {
      const timersModule = require('node:timers')
      for (const name of TIMER_FUNCTIONS) {
        if (fakeMethods.has(name)) hijack(saved, timersModule, name, clock[name])
      }
      const promiseModule = require('node:timers/promises')
      const promiseFakes = makePromiseTimers(clock)
      for (const name of PROMISE_FUNCTIONS) {
        if (fakeMethods.has(name)) hijack(saved, promiseModule, name, promiseFakes[name])
      }
    }
    clock._installed = { target, saved }
    env.installedOn.set(target, clock)
    if (config.shouldAdvanceTime) clock.setTickMode({ mode: 'interval', delta: config.advanceTimeDelta === undefined ? 20 : config.advanceTimeDelta })
    return clock
  }

  return { timers, createClock, install, withGlobal }
}

const defaultTimers = withGlobal(globalThis)

module.exports = {
  timers: defaultTimers.timers,
  createClock: defaultTimers.createClock,
  install: defaultTimers.install,
  withGlobal
}
